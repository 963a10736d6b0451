#include "issuer/acme/client.h"

#include <gtest/gtest.h>

#include <deque>

#include "crypto/encoding.h"

namespace certvault::issuer::acme {
namespace {

using nlohmann::json;

HttpResponse Problem(int status, const std::string& type, const std::string& detail,
                     std::string nonce = "") {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = json({{"type", "urn:ietf:params:acme:error:" + type}, {"detail", detail}}).dump();
  r.replay_nonce = std::move(nonce);
  return r;
}

HttpResponse Ok(std::string body, std::string nonce = "") {
  HttpResponse r;
  r.status = 200;
  r.body = std::move(body);
  r.replay_nonce = std::move(nonce);
  return r;
}

// Answers from a script and records what was sent.
class FakeTransport : public HttpTransport {
 public:
  Result<HttpResponse> Send(const HttpRequest& request) override {
    sent.push_back(request);
    if (request.method == "HEAD") {
      ++heads;
      return Ok("", "head-nonce-" + std::to_string(heads));
    }
    if (script.empty()) return Fail(Error::Unavailable("script ran out"));
    auto next = script.front();
    script.pop_front();
    return next;
  }
  std::deque<Result<HttpResponse>> script;
  std::vector<HttpRequest> sent;
  int heads = 0;
};

const char kDirectory[] = R"({"newNonce":"https://ca/nonce","newAccount":"https://ca/acct",
  "newOrder":"https://ca/order","meta":{"externalAccountRequired":true,
  "termsOfService":"https://ca/tos"}})";

json Protected(const HttpRequest& request) {
  const json jws = json::parse(request.body);
  return json::parse(*crypto::Base64UrlDecode(jws["protected"].get<std::string>()));
}

class AcmeClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AcmeClient::Options options;
    options.sleep = [this](std::chrono::milliseconds d) { slept.push_back(d.count()); };
    client = std::make_unique<AcmeClient>(transport, options);
    transport.script.push_back(Ok(kDirectory));
    ASSERT_TRUE(client->LoadDirectory("https://ca/dir"));
    client->SetAccountKey(*crypto::PrivateKey::Generate({crypto::KeyKind::kEc, 0, "P-256"}));
    client->SetAccountUrl("https://ca/acct/1");
  }
  FakeTransport transport;
  std::vector<int64_t> slept;
  std::unique_ptr<AcmeClient> client;
};

TEST_F(AcmeClientTest, ReadsTheDirectory) {
  EXPECT_EQ(client->directory().new_order, "https://ca/order");
  EXPECT_TRUE(client->directory().external_account_required);
  EXPECT_EQ(client->directory().terms_of_service, "https://ca/tos");
  transport.script.push_back(Ok(R"({"newNonce":"x"})"));
  auto bad = client->LoadDirectory("https://ca/dir");
  ASSERT_FALSE(bad);
  EXPECT_FALSE(bad.error().retryable());
}

TEST_F(AcmeClientTest, TakesNoncesFromResponsesAndAsksNewNonceWhenOutOfThem) {
  transport.script.push_back(Ok("{}", "from-response"));
  transport.script.push_back(Ok("{}"));
  transport.script.push_back(Ok("{}"));
  ASSERT_TRUE(client->PostAsGet("https://ca/order/1"));
  ASSERT_TRUE(client->PostAsGet("https://ca/order/2"));
  ASSERT_TRUE(client->Post("https://ca/order/3", "{}"));
  // The directory GET carried no nonce: one HEAD; the next uses the first response's nonce; the
  // second response had none: another HEAD.
  ASSERT_EQ(transport.heads, 2);
  std::vector<std::string> nonces;
  for (const HttpRequest& r : transport.sent) {
    if (r.method == "POST") {
      EXPECT_EQ(r.content_type, "application/jose+json");
      nonces.push_back(Protected(r)["nonce"]);
      EXPECT_EQ(Protected(r)["kid"], "https://ca/acct/1");
    }
  }
  EXPECT_EQ(nonces, (std::vector<std::string>{"head-nonce-1", "from-response", "head-nonce-2"}));
}

TEST_F(AcmeClientTest, NewAccountCarriesTheJwk) {
  transport.script.push_back(Ok("{}"));
  ASSERT_TRUE(client->Post("https://ca/acct", "{}", /*use_jwk=*/true));
  const json prot = Protected(transport.sent.back());
  EXPECT_TRUE(prot.contains("jwk"));
  EXPECT_FALSE(prot.contains("kid"));
}

TEST_F(AcmeClientTest, RetriesBadNonceWithTheFreshNonce) {
  transport.script.push_back(Problem(400, "badNonce", "stale", "fresh-1"));
  transport.script.push_back(Problem(400, "badNonce", "stale", "fresh-2"));
  transport.script.push_back(Ok(R"({"status":"valid"})"));
  auto got = client->PostAsGet("https://ca/order/1");
  ASSERT_TRUE(got) << got.error().message();
  const auto& sent = transport.sent;
  EXPECT_EQ(Protected(sent[sent.size() - 2])["nonce"], "fresh-1");
  EXPECT_EQ(Protected(sent.back())["nonce"], "fresh-2");
}

TEST_F(AcmeClientTest, GivesUpOnBadNonceAfterFiveRetriesRetryably) {
  for (int i = 0; i < 20; ++i) transport.script.push_back(Problem(400, "badNonce", "stale", "n"));
  auto got = client->PostAsGet("https://ca/order/1");
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().retryable());
  int posts = 0;
  for (const HttpRequest& r : transport.sent) posts += r.method == "POST";
  EXPECT_EQ(posts, 6);
}

TEST_F(AcmeClientTest, WaitsOutShortRetryAfterAndHandsBackLongOnes) {
  HttpResponse limited = Problem(429, "rateLimited", "slow down", "n1");
  limited.retry_after = 2;
  transport.script.push_back(limited);
  transport.script.push_back(Ok("{}"));
  ASSERT_TRUE(client->PostAsGet("https://ca/order/1"));
  EXPECT_EQ(slept, std::vector<int64_t>{2000});
  EXPECT_FALSE(client->retry_after());

  limited.retry_after = 3600;
  transport.script.push_back(limited);
  auto got = client->PostAsGet("https://ca/order/1");
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().retryable());
  EXPECT_EQ(got.error().code(), "AcmeRateLimited");
  EXPECT_NE(got.error().message().find("slow down"), std::string::npos);
  EXPECT_EQ(client->retry_after(), 3600);
  EXPECT_EQ(slept.size(), 1u);
}

TEST_F(AcmeClientTest, StopsWaitingAfterTwoRetryAfters) {
  HttpResponse down = Problem(503, "serverInternal", "maintenance", "n");
  down.retry_after = 1;
  for (int i = 0; i < 5; ++i) transport.script.push_back(down);
  auto got = client->PostAsGet("https://ca/order/1");
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().retryable());
  EXPECT_EQ(slept.size(), 2u);
  EXPECT_EQ(client->retry_after(), 1);
}

TEST_F(AcmeClientTest, ConnectionFailuresAreRetryable) {
  transport.script.push_back(Fail(Error(ErrorKind::kUnavailable, "ConnectionFailed", "refused")));
  auto got = client->PostAsGet("https://ca/order/1");
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().retryable());
}

TEST(AcmeProblemTest, ClassifiesProblemDocuments) {
  Error rejected = ProblemError(Problem(400, "rejectedIdentifier", "no .test names here"));
  EXPECT_FALSE(rejected.retryable());
  EXPECT_EQ(rejected.code(), "AcmeError");
  EXPECT_EQ(rejected.inner_code(), "rejectedIdentifier");
  EXPECT_NE(rejected.message().find("no .test names here"), std::string::npos);

  EXPECT_TRUE(ProblemError(Problem(429, "rateLimited", "x")).retryable());
  EXPECT_TRUE(ProblemError(Problem(500, "serverInternal", "x")).retryable());
  EXPECT_TRUE(ProblemError(Problem(400, "badNonce", "x")).retryable());
  EXPECT_FALSE(ProblemError(Problem(403, "unauthorized", "x")).retryable());
  EXPECT_FALSE(ProblemError(Problem(400, "externalAccountRequired", "x")).retryable());
  EXPECT_EQ(ProblemType(Problem(400, "badNonce", "x")), "badNonce");

  HttpResponse html;
  html.status = 502;
  html.body = "<html>bad gateway</html>";
  EXPECT_TRUE(ProblemError(html).retryable());
  EXPECT_EQ(ProblemType(html), "");
  html.status = 404;
  Error not_found = ProblemError(html);
  EXPECT_FALSE(not_found.retryable());
  EXPECT_NE(not_found.message().find("HTTP 404"), std::string::npos);
}

TEST(AcmeProblemTest, DescribesSubproblems) {
  const json problem = {{"type", "urn:ietf:params:acme:error:malformed"},
                        {"detail", "some identifiers were rejected"},
                        {"subproblems",
                         {{{"type", "urn:ietf:params:acme:error:rejectedIdentifier"},
                           {"detail", "forbidden name"},
                           {"identifier", {{"type", "dns"}, {"value", "bad.example"}}}}}}};
  EXPECT_EQ(DescribeProblem(problem),
            "some identifiers were rejected (malformed); bad.example: forbidden name "
            "(rejectedIdentifier)");
  EXPECT_EQ(DescribeProblem(json()), "no details given");
}

}  // namespace
}  // namespace certvault::issuer::acme
