// Command logic against a scripted HttpClient: which requests go out, what is printed.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/api_client.h"
#include "cli/cert_commands.h"
#include "cli/command_context.h"
#include "cli/files.h"
#include "cli/pem.h"
#include "cli/secret_commands.h"
#include "cli/testing/fake_http_client.h"
#include "cli/vault_commands.h"
#include "crypto/encoding.h"
#include "crypto/key.h"
#include "crypto/x509.h"

// Designated initializers name only the fields a test cares about; GCC 12 warns about the rest.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace certvault::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::FakeHttpClient;

std::string Header(const HttpRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

class CommandsTest : public ::testing::Test {
 protected:
  CommandsTest()
      : api_(http_, ClientConfig{.server = "https://localhost:8443",
                                 .vault = "team",
                                 .token_url = "https://localhost:8443/oauth2/token",
                                 .client_id = "admin",
                                 .client_secret = "s3cret"}),
        ctx_{.api = api_, .out = out_, .err = err_, .sleep = [this](auto d) { slept_ += d; }} {
    dir_ = fs::temp_directory_path() /
           ("cv_cli_cmd_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  ~CommandsTest() override { fs::remove_all(dir_); }

  static std::string Op(const std::string& status, const std::string& issuer = "Self") {
    return json{{"id", "https://team.localhost:8443/certificates/web/pending"},
                {"issuer", {{"name", issuer}}},
                {"csr", crypto::Base64Encode("csr-der")},
                {"status", status},
                {"request_id", "r1"}}
        .dump();
  }
  static std::string Cert(const std::string& name) {
    return json{{"id", "https://team.localhost:8443/certificates/" + name + "/0123"},
                {"attributes", {{"enabled", true}}}}
        .dump();
  }

  FakeHttpClient http_;
  ApiClient api_;
  std::ostringstream out_, err_;
  std::chrono::milliseconds slept_{0};
  CommandContext ctx_;
  fs::path dir_;
};

TEST_F(CommandsTest, CreateSelfWaitsThenPrintsCertificate) {
  http_.ThenToken()
      .Then(202, Op("inProgress"))
      .Then(200, Op("inProgress"))
      .Then(200, Op("completed"))
      .Then(200, Cert("web"));
  CertCreateArgs args{.name = "web", .dns = {"web.example.com"}, .kty = "EC"};
  auto s = CertCreate(ctx_, args);
  ASSERT_TRUE(s) << s.error().message();
  ASSERT_EQ(http_.requests.size(), 5u);

  const HttpRequest& token = http_.requests[0];
  EXPECT_EQ(token.method, "POST");
  EXPECT_EQ(token.url, "https://localhost:8443/oauth2/token");
  EXPECT_EQ(token.body, "grant_type=client_credentials&client_id=admin&client_secret=s3cret");

  const HttpRequest& create = http_.requests[1];
  EXPECT_EQ(create.method, "POST");
  EXPECT_EQ(create.url, "https://localhost:8443/certificates/web/create?api-version=7.5");
  EXPECT_EQ(Header(create, "Host"), "team.localhost:8443");
  EXPECT_EQ(Header(create, "Authorization"), "Bearer tok");
  json body = json::parse(create.body);
  EXPECT_EQ(body["policy"]["key_props"]["kty"], "EC");
  EXPECT_EQ(body["policy"]["key_props"]["crv"], "P-256");
  EXPECT_EQ(body["policy"]["x509_props"]["subject"], "CN=web");
  EXPECT_EQ(body["policy"]["x509_props"]["sans"]["dns_names"][0], "web.example.com");
  EXPECT_EQ(body["policy"]["issuer"]["name"], "Self");

  EXPECT_EQ(http_.requests[2].url,
            "https://localhost:8443/certificates/web/pending?api-version=7.5");
  EXPECT_EQ(http_.requests[4].url, "https://localhost:8443/certificates/web?api-version=7.5");
  EXPECT_GT(slept_.count(), 0);
  EXPECT_NE(out_.str().find("name     web"), std::string::npos) << out_.str();
  EXPECT_EQ(err_.str(), "");  // not a terminal: no progress
}

TEST_F(CommandsTest, CreateShowsProgressOnTerminal) {
  ctx_.progress = true;
  http_.ThenToken().Then(202, Op("inProgress")).Then(200, Op("completed")).Then(200, Cert("web"));
  ASSERT_TRUE(CertCreate(ctx_, {.name = "web"}));
  EXPECT_EQ(err_.str(), "waiting for issuance.... completed\n");
}

TEST_F(CommandsTest, CreateWithUnknownIssuerPrintsCsrWithoutWaiting) {
  http_.ThenToken().Then(202, Op("inProgress", "Unknown"));
  ASSERT_TRUE(CertCreate(ctx_, {.name = "web", .issuer = "Unknown"}));
  EXPECT_EQ(http_.requests.size(), 2u);
  EXPECT_NE(out_.str().find("-----BEGIN CERTIFICATE REQUEST-----"), std::string::npos);
  EXPECT_NE(out_.str().find("status      inProgress"), std::string::npos) << out_.str();
}

TEST_F(CommandsTest, CreateFailureCarriesTheOperationError) {
  json failed = json::parse(Op("failed"));
  failed["error"] = {{"code", "IssuerUnavailable"}, {"message", "CA down"}};
  http_.ThenToken().Then(202, failed.dump());
  auto s = CertCreate(ctx_, {.name = "web"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), "IssuerUnavailable");
  std::ostringstream err;
  EXPECT_EQ(ReportError(s.error(), err), 1);
  EXPECT_EQ(err.str(), "error: IssuerUnavailable: CA down\n");
}

TEST_F(CommandsTest, CreateWaitIsBounded) {
  http_.ThenToken().Then(202, Op("inProgress"));
  for (int i = 0; i < 10; ++i) http_.Then(200, Op("inProgress"));
  auto s = CertCreate(ctx_, {.name = "web", .wait_seconds = 2});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), "ClientError");
  EXPECT_NE(s.error().message().find("certvault cert pending web"), std::string::npos);
  EXPECT_LE(slept_, std::chrono::milliseconds(4000));
}

TEST(BuildCreateBody, MapsOptions) {
  auto body = BuildCreateBody({.name = "n",
                               .subject = "CN=x, O=y",
                               .kty = "RSA",
                               .size = 3072,
                               .validity_months = 6,
                               .validity = "PT10M",
                               .content_type = "pem",
                               .not_exportable = true,
                               .tags = {"Recipient=a@b.c", "env=prod"}});
  ASSERT_TRUE(body);
  const json& p = (*body)["policy"];
  EXPECT_EQ(p["key_props"]["key_size"], 3072);
  EXPECT_FALSE(p["key_props"].contains("crv"));
  EXPECT_EQ(p["key_props"]["exportable"], false);
  EXPECT_EQ(p["x509_props"]["validity_duration"], "PT10M");
  EXPECT_FALSE(p["x509_props"].contains("validity_months"));
  EXPECT_EQ(p["secret_props"]["contentType"], "application/x-pem-file");
  EXPECT_EQ((*body)["tags"]["Recipient"], "a@b.c");
  EXPECT_FALSE(p["x509_props"].contains("sans"));
}

TEST(BuildCreateBody, RejectsMismatchedKeyOptions) {
  EXPECT_EQ(BuildCreateBody({.name = "n", .kty = "EC", .size = 2048}).error().code(), "UsageError");
  EXPECT_EQ(BuildCreateBody({.name = "n", .kty = "RSA", .curve = "P-256"}).error().code(),
            "UsageError");
  EXPECT_EQ(BuildCreateBody({.name = "n", .tags = {"novalue"}}).error().code(), "UsageError");
}

TEST(BuildImportBody, PemAsTextPfxAsBase64) {
  auto pem = BuildImportBody({}, "-----BEGIN PRIVATE KEY-----\n...", "");
  ASSERT_TRUE(pem);
  EXPECT_EQ((*pem)["value"], "-----BEGIN PRIVATE KEY-----\n...");
  EXPECT_FALSE(pem->contains("pwd"));
  EXPECT_EQ((*pem)["policy"]["secret_props"]["contentType"], "application/x-pem-file");
  std::string pfx("\x30\x82\x00\x01\xff", 5);
  auto b = BuildImportBody({}, pfx, "pw");
  ASSERT_TRUE(b);
  EXPECT_EQ((*b)["value"], crypto::Base64Encode(pfx));
  EXPECT_EQ((*b)["pwd"], "pw");
  EXPECT_EQ((*b)["policy"]["secret_props"]["contentType"], "application/x-pkcs12");
}

TEST_F(CommandsTest, ServerErrorEnvelopeBecomesTheError) {
  http_.ThenToken().Then(
      404, R"({"error":{"code":"CertificateNotFound","message":"no such certificate: nope"}})");
  auto s = CertShow(ctx_, "nope", "");
  ASSERT_FALSE(s);
  std::ostringstream err;
  EXPECT_EQ(ReportError(s.error(), err), 1);
  EXPECT_EQ(err.str(), "error: CertificateNotFound: no such certificate: nope\n");
}

TEST_F(CommandsTest, NonJsonErrorNamesStatusAndUrl) {
  http_.ThenToken().Then(502, "Bad Gateway");
  auto s = CertShow(ctx_, "web", "v1");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), "HTTP502");
  EXPECT_NE(s.error().message().find("/certificates/web/v1?api-version=7.5"), std::string::npos);
}

TEST_F(CommandsTest, ConnectionFailureNamesTheUrlWithoutCode) {
  http_.ThenUnreachable();
  auto s = CertList(ctx_, 0);
  ASSERT_FALSE(s);
  std::ostringstream err;
  EXPECT_EQ(ReportError(s.error(), err), 1);
  EXPECT_EQ(err.str(),
            "error: cannot reach https://localhost:8443/oauth2/token: Connection refused\n");
}

TEST_F(CommandsTest, TokenErrorInOAuthForm) {
  http_.Then(401, R"({"error":"invalid_client","error_description":"bad client secret"})");
  auto s = SecretList(ctx_);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), "invalid_client");
  EXPECT_EQ(s.error().message(), "getting a token: bad client secret");
}

TEST_F(CommandsTest, ListFollowsNextLinkAndReusesToken) {
  http_.ThenToken()
      .Then(200, R"({"value":[{"id":"https://team.localhost:8443/certificates/a"}],
                    "nextLink":"https://team.localhost:8443/certificates?api-version=7.5&$skiptoken=x"})")
      .Then(200,
            R"({"value":[{"id":"https://team.localhost:8443/certificates/b"}],"nextLink":null})");
  ctx_.format = OutputFormat::kJson;
  ASSERT_TRUE(CertList(ctx_, 0));
  ASSERT_EQ(http_.requests.size(), 3u);  // one token for both pages
  EXPECT_EQ(http_.requests[2].url,
            "https://localhost:8443/certificates?api-version=7.5&$skiptoken=x");
  EXPECT_EQ(Header(http_.requests[2], "Host"), "team.localhost:8443");
  json printed = json::parse(out_.str());
  ASSERT_EQ(printed.size(), 2u);
  EXPECT_EQ(printed[1]["id"], "https://team.localhost:8443/certificates/b");
}

TEST_F(CommandsTest, ListMaxStopsEarly) {
  http_.ThenToken().Then(
      200, R"({"value":[{"id":"https://h/certificates/a"},{"id":"https://h/certificates/b"}],
                                  "nextLink":"https://team.localhost:8443/certificates?page=2"})");
  ASSERT_TRUE(CertList(ctx_, 1));
  EXPECT_EQ(http_.requests[1].url,
            "https://localhost:8443/certificates?maxresults=1&api-version=7.5");
  EXPECT_EQ(out_.str(), "NAME  ENABLED  EXPIRES  THUMBPRINT\na\n");
}

TEST_F(CommandsTest, ListRefusesNextLinkToAnotherHost) {
  http_.ThenToken().Then(200, R"({"value":[],"nextLink":"https://evil.example/certificates"})");
  auto s = CertList(ctx_, 0);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("evil.example"), std::string::npos);
}

TEST_F(CommandsTest, MergeSendsX5cFromPemChain) {
  auto key = *crypto::PrivateKey::Generate({crypto::KeyKind::kEc, 0, "P-256"});
  crypto::IssueRequest req{crypto::CertificateSpec{}, key.Public(), 1700000000, 1800000000};
  req.spec.subject = "CN=web";
  auto cert = *crypto::IssueCertificate(req, std::nullopt, key);
  std::string file = (dir_ / "chain.pem").string();
  ASSERT_TRUE(WriteFile(file, cert.ToPem() + cert.ToPem(), kPublicFileMode));
  http_.ThenToken().Then(201, Cert("web"));
  ASSERT_TRUE(CertMerge(ctx_, "web", file));
  EXPECT_EQ(http_.requests[1].url,
            "https://localhost:8443/certificates/web/pending/merge?api-version=7.5");
  json body = json::parse(http_.requests[1].body);
  ASSERT_EQ(body["x5c"].size(), 2u);
  EXPECT_EQ(body["x5c"][0], crypto::Base64Encode(cert.ToDer()));
}

TEST_F(CommandsTest, MergeReportsBadFileLocally) {
  std::string file = (dir_ / "bad.pem").string();
  ASSERT_TRUE(WriteFile(file, "nothing", kPublicFileMode));
  auto s = CertMerge(ctx_, "web", file);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), "ClientError");
  EXPECT_TRUE(http_.requests.empty());
}

TEST_F(CommandsTest, DownloadPfxIsPrivateAndCerIsPublic) {
  auto key = *crypto::PrivateKey::Generate({crypto::KeyKind::kEc, 0, "P-256"});
  crypto::IssueRequest req{crypto::CertificateSpec{}, key.Public(), 1700000000, 1800000000};
  req.spec.subject = "CN=web";
  auto cert = *crypto::IssueCertificate(req, std::nullopt, key);
  json secret = {{"value", key.ToPkcs8Pem() + cert.ToPem()},
                 {"contentType", "application/x-pem-file"}};
  json bundle = {{"id", "https://h/certificates/web/v1"},
                 {"cer", crypto::Base64Encode(cert.ToDer())}};
  http_.ThenToken().Then(200, secret.dump()).Then(200, bundle.dump());

  std::string pfx = (dir_ / "web.pfx").string();
  ASSERT_TRUE(CertDownload(ctx_, {.name = "web", .version = "v1", .format = "pfx", .out = pfx}));
  EXPECT_EQ(http_.requests[1].url, "https://localhost:8443/secrets/web/v1?api-version=7.5");
  struct stat st {};
  ASSERT_EQ(::stat(pfx.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto opened = crypto::ParsePkcs12(*ReadFile(pfx), "");
  ASSERT_TRUE(opened);
  EXPECT_TRUE(opened->certificates.at(0).MatchesKey(opened->key));

  std::string cer = (dir_ / "web.crt").string();
  ASSERT_TRUE(CertDownload(ctx_, {.name = "web", .format = "cer", .out = cer}));
  EXPECT_EQ(http_.requests[2].url, "https://localhost:8443/certificates/web?api-version=7.5");
  ASSERT_EQ(::stat(cer.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  EXPECT_EQ(crypto::Certificate::FromPem(*ReadFile(cer))->ToDer(), cert.ToDer());
  EXPECT_NE(err_.str().find("wrote PKCS#12 to " + pfx), std::string::npos);
}

TEST_F(CommandsTest, PendingCsrOutAndCancel) {
  http_.ThenToken().Then(200, Op("inProgress", "Unknown")).Then(200, Op("inProgress", "Unknown"));
  std::string csr = (dir_ / "web.csr").string();
  ASSERT_TRUE(CertPending(ctx_, {.name = "web", .csr_out = csr}));
  EXPECT_EQ(*ReadFile(csr), DerToPem("CERTIFICATE REQUEST", "csr-der"));
  ASSERT_TRUE(CertPending(ctx_, {.name = "web", .cancel = true}));
  EXPECT_EQ(http_.requests[2].method, "PATCH");
  EXPECT_EQ(json::parse(http_.requests[2].body), json({{"cancellation_requested", true}}));
}

TEST_F(CommandsTest, DeleteRecoverPurgePaths) {
  http_.ThenToken()
      .Then(
          200,
          R"({"id":"https://h/certificates/web/1","recoveryId":"https://h/deletedcertificates/web","deletedDate":1700000000})")
      .Then(200, Cert("web"))
      .Then(204, "");
  ASSERT_TRUE(CertDelete(ctx_, "web"));
  ASSERT_TRUE(CertRecover(ctx_, "web"));
  ASSERT_TRUE(CertPurge(ctx_, "web"));
  EXPECT_EQ(http_.requests[1].method, "DELETE");
  EXPECT_EQ(http_.requests[1].url, "https://localhost:8443/certificates/web?api-version=7.5");
  EXPECT_EQ(http_.requests[2].url,
            "https://localhost:8443/deletedcertificates/web/recover?api-version=7.5");
  EXPECT_EQ(http_.requests[3].method, "DELETE");
  EXPECT_EQ(http_.requests[3].url,
            "https://localhost:8443/deletedcertificates/web?api-version=7.5");
  EXPECT_NE(out_.str().find("deleted      2023-11-14T22:13:20Z"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("purged web\n"), std::string::npos);
}

TEST_F(CommandsTest, SecretSetAndShow) {
  http_.ThenToken()
      .Then(200, R"({"id":"https://h/secrets/db/1","value":"hunter2","contentType":"text/plain"})")
      .Then(200, R"({"id":"https://h/secrets/db/1","value":"hunter2"})");
  ASSERT_TRUE(SecretSet(ctx_, {.name = "db", .value = "hunter2", .content_type = "text/plain"}));
  EXPECT_EQ(http_.requests[1].method, "PUT");
  EXPECT_EQ(json::parse(http_.requests[1].body),
            json({{"value", "hunter2"}, {"contentType", "text/plain"}}));
  EXPECT_EQ(out_.str().find("hunter2"), std::string::npos);
  out_.str("");
  ASSERT_TRUE(SecretShow(ctx_, "db", ""));
  EXPECT_EQ(out_.str(), "hunter2\n");
}

TEST_F(CommandsTest, SecretSetRefusesNonUtf8File) {
  std::string file = (dir_ / "bin").string();
  ASSERT_TRUE(WriteFile(file, std::string("\xff\xfe", 2), kPublicFileMode));
  http_.ThenToken();
  auto s = SecretSet(ctx_, {.name = "b", .file = file});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), "UsageError");
}

TEST_F(CommandsTest, VaultCommandsUseManagementApiOnServerHost) {
  http_.ThenToken()
      .Then(200, R"({"name":"team","created":1700000000,"url":"https://team.localhost:8443"})")
      .Then(200, R"({"value":[{"name":"default"},{"name":"team"}]})")
      .Then(204, "");
  ASSERT_TRUE(VaultCreate(ctx_, "team"));
  ASSERT_TRUE(VaultList(ctx_));
  ASSERT_TRUE(VaultDelete(ctx_, "team"));
  const HttpRequest& put = http_.requests[1];
  EXPECT_EQ(put.method, "PUT");
  EXPECT_EQ(put.url, "https://localhost:8443/management/vaults/team");
  EXPECT_EQ(put.body, "");
  EXPECT_EQ(Header(put, "Host"), "");
  EXPECT_EQ(put.connect_to, "");
  EXPECT_EQ(http_.requests[2].url, "https://localhost:8443/management/vaults");
  EXPECT_EQ(http_.requests[3].method, "DELETE");
  EXPECT_NE(out_.str().find("default"), std::string::npos);
  EXPECT_NE(out_.str().find("deleted vault team"), std::string::npos);
}

TEST(ApiClientAddressing, MultiLabelServerUsesConnectTo) {
  FakeHttpClient http;
  http.ThenToken().Then(200, "{}");
  ApiClient api(http, ClientConfig{.server = "https://vault.example.com:8443",
                                   .vault = "team",
                                   .token_url = "https://vault.example.com:8443/oauth2/token",
                                   .client_id = "a",
                                   .client_secret = "b"});
  ASSERT_TRUE(api.Data("GET", "/certificates/x"));
  EXPECT_EQ(http.requests[1].url,
            "https://team.vault.example.com:8443/certificates/x?api-version=7.5");
  EXPECT_EQ(http.requests[1].connect_to, "team.vault.example.com:8443:vault.example.com:8443");
  EXPECT_EQ(http.requests[0].connect_to, "");
}

}  // namespace
}  // namespace certvault::cli
