// The remote enrollment worker against a scripted HttpClient and a fake command runner: the
// lease/complete/fail requests, the command's environment, exit-status mapping, backoff and stop.

#include "cli/worker.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/api_client.h"
#include "cli/command_context.h"
#include "cli/testing/fake_http_client.h"
#include "crypto/key.h"
#include "crypto/x509.h"

// Designated initializers name only the fields a test cares about; GCC 12 warns about the rest.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace certvault::cli {
namespace {

using nlohmann::json;
using testing::FakeHttpClient;

constexpr int64_t kNow = 1700000000;
constexpr const char* kCsr =
    "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n";
constexpr const char* kLeaseUrl = "https://localhost:8443/jobs/lease?api-version=7.5";

std::string CertificatePem() {
  static const std::string pem = [] {
    auto key = *crypto::PrivateKey::Generate({crypto::KeyKind::kEc, 0, "P-256"});
    crypto::IssueRequest req{crypto::CertificateSpec{}, key.Public(), kNow, kNow + 86400};
    req.spec.subject = "CN=web";
    return crypto::IssueCertificate(req, std::nullopt, key)->ToPem();
  }();
  return pem;
}

json LeasedJob(const std::string& id = "j1") {
  return {{"id", "https://team.localhost:8443/jobs/" + id},
          {"job_id", id},
          {"certificate", "web"},
          {"issuer", "adcs"},
          {"trigger", "AutoRenew"},
          {"status", "waiting"},
          {"request_id", "r1"},
          {"lease_owner", "worker:w1"},
          {"lease_expires", kNow + 300},
          {"updated", kNow},
          {"created", kNow - 10},
          {"attempts", json::array()},
          {"csr", kCsr},
          {"template", "WebServer"},
          {"vault", "team"},
          {"not_before", kNow},
          {"not_after", kNow + 90 * 86400 + 1}};
}

std::string Header(const HttpRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

SubprocessResult Exited(int code, std::string out = "", std::string err = "") {
  return SubprocessResult{
      .exit_code = code, .stdout_data = std::move(out), .stderr_data = std::move(err)};
}

class WorkerTest : public ::testing::Test {
 protected:
  WorkerTest()
      : api_(http_,
             ClientConfig{.server = "https://localhost:8443",
                          .vault = "team",
                          .token_url = "https://localhost:8443/oauth2/token",
                          .client_id = "worker",
                          .client_secret = "s3cret"},
             &clock_),
        ctx_{.api = api_,
             .out = out_,
             .err = err_,
             .sleep = [this](auto d) { slept_ += d; },
             .clock = clock_} {
    hooks_.run = [this](const SubprocessSpec& spec) -> Result<SubprocessResult> {
      specs_.push_back(spec);
      if (runs_.empty()) return Fail(Error::Internal("unexpected run"));
      auto next = runs_.front();
      runs_.erase(runs_.begin());
      return next;
    };
  }

  Result<int> Run() { return RunWorker(ctx_, options_, hooks_); }
  json Body(size_t i) { return json::parse(http_.requests.at(i).body); }

  FakeHttpClient http_;
  FakeClock clock_{kNow};
  ApiClient api_;
  std::ostringstream out_, err_;
  std::chrono::milliseconds slept_{0};
  CommandContext ctx_;
  WorkerOptions options_{.issuer = "adcs",
                         .name = "w1",
                         .command = {"/opt/ca/sign", "--profile", "web"},
                         .once = true};
  WorkerHooks hooks_;
  std::vector<Result<SubprocessResult>> runs_;
  std::vector<SubprocessSpec> specs_;
};

TEST_F(WorkerTest, OnceWithoutJobExits3) {
  http_.ThenToken().Then(204, "");
  auto rc = Run();
  ASSERT_TRUE(rc) << rc.error().message();
  EXPECT_EQ(*rc, kExitNoJob);
  ASSERT_EQ(http_.requests.size(), 2u);
  EXPECT_EQ(http_.requests[1].method, "POST");
  EXPECT_EQ(http_.requests[1].url, kLeaseUrl);
  EXPECT_EQ(Body(1), json({{"issuer", "adcs"}, {"worker", "w1"}, {"wait", 30}}));
  EXPECT_EQ(Header(http_.requests[1], "Host"), "team.localhost:8443");
  EXPECT_NE(err_.str().find("no job within 30 seconds"), std::string::npos) << err_.str();
  EXPECT_TRUE(specs_.empty());
}

TEST_F(WorkerTest, CompletesWithTheCertificatesOfStdout) {
  const std::string pem = CertificatePem();
  runs_.push_back(Exited(0, "Submitting...\n" + pem + "issued by CA1\n" + pem, "a warning\n"));
  http_.ThenToken().Then(200, LeasedJob().dump()).Then(200, R"({"status":"succeeded"})");
  ctx_.format = OutputFormat::kJson;
  auto rc = Run();
  ASSERT_TRUE(rc) << rc.error().message();
  EXPECT_EQ(*rc, 0);

  ASSERT_EQ(specs_.size(), 1u);
  const SubprocessSpec& spec = specs_[0];
  EXPECT_EQ(spec.argv, (std::vector<std::string>{"/opt/ca/sign", "--profile", "web"}));
  EXPECT_EQ(spec.stdin_data, kCsr);
  EXPECT_EQ(spec.timeout_ms, 270000);  // the 300 s lease less its 30 s margin
  EXPECT_EQ(spec.env.at("CERTVAULT_VAULT"), "team");
  EXPECT_EQ(spec.env.at("CERTVAULT_CERTIFICATE"), "web");
  EXPECT_EQ(spec.env.at("CERTVAULT_ISSUER"), "adcs");
  EXPECT_EQ(spec.env.at("CERTVAULT_TEMPLATE"), "WebServer");
  EXPECT_EQ(spec.env.at("CERTVAULT_REQUEST_ID"), "r1");
  EXPECT_EQ(spec.env.at("CERTVAULT_JOB_ID"), "j1");
  EXPECT_EQ(spec.env.at("CERTVAULT_NOT_BEFORE"), std::to_string(kNow));
  EXPECT_EQ(spec.env.at("CERTVAULT_NOT_AFTER"), std::to_string(kNow + 90 * 86400 + 1));
  EXPECT_EQ(spec.env.at("CERTVAULT_VALIDITY_DAYS"), "91");  // rounded up
  EXPECT_EQ(spec.env.at("CERTVAULT_CLIENT_SECRET"), "");

  ASSERT_EQ(http_.requests.size(), 3u);
  EXPECT_EQ(http_.requests[2].url, "https://localhost:8443/jobs/j1/complete?api-version=7.5");
  EXPECT_EQ(Body(2), json({{"worker", "w1"}, {"certificate", pem + pem}}));
  EXPECT_EQ(json::parse(out_.str()),
            json({{"job_id", "j1"}, {"certificate", "web"}, {"outcome", "completed"}}));
  // The log names the job and its outcome, never the CSR or the certificate.
  EXPECT_NE(err_.str().find("job j1 for certificate web: completed"), std::string::npos)
      << err_.str();
  EXPECT_EQ(err_.str().find("MIIB"), std::string::npos);
  EXPECT_EQ(err_.str().find("BEGIN CERTIFICATE"), std::string::npos);
}

TEST_F(WorkerTest, CaRefusalFailsForGoodAndOnceExits1) {
  runs_.push_back(Exited(65, "", "template WebServer\nnot allowed for this requester\n"));
  http_.ThenToken().Then(200, LeasedJob().dump()).Then(200, R"({"status":"failed"})");
  auto rc = Run();
  ASSERT_FALSE(rc);
  EXPECT_EQ(ReportError(rc.error(), err_), 1);
  EXPECT_EQ(http_.requests[2].url, "https://localhost:8443/jobs/j1/fail?api-version=7.5");
  EXPECT_EQ(Body(2), json({{"worker", "w1"},
                           {"error",
                            "the CA refused the request (command /opt/ca/sign exited with status "
                            "65): template WebServer; not allowed for this requester"},
                           {"retryable", false}}));
  EXPECT_NE(err_.str().find("failed for good"), std::string::npos) << err_.str();
}

TEST_F(WorkerTest, OtherFailuresAreRetryable) {
  options_.once = false;
  options_.max_jobs = 3;
  runs_.push_back(Exited(1, "", "connection to ca01 refused"));
  runs_.push_back(SubprocessResult{.exit_code = -1, .timed_out = true, .stderr_data = "slow"});
  runs_.push_back(Fail(Error::Unavailable("cannot start /opt/ca/sign: Resource busy")));
  http_.ThenToken();
  for (const char* id : {"j1", "j2", "j3"}) {
    http_.Then(200, LeasedJob(id).dump()).Then(200, R"({"status":"queued"})");
  }
  auto rc = Run();
  ASSERT_TRUE(rc) << rc.error().message();
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(Body(2)["error"],
            "command /opt/ca/sign exited with status 1: connection to ca01 refused");
  EXPECT_EQ(Body(4)["error"],
            "command /opt/ca/sign did not finish within 270 seconds and was killed: slow");
  EXPECT_EQ(Body(6)["error"],
            "cannot run command /opt/ca/sign: cannot start /opt/ca/sign: "
            "Resource busy");
  for (size_t i : {2u, 4u, 6u}) EXPECT_EQ(Body(i)["retryable"], true) << i;
  EXPECT_NE(err_.str().find("handled 3 jobs; stopping"), std::string::npos) << err_.str();
}

// Counts the lease polls that go out.
class CountingHttpClient : public HttpClient {
 public:
  explicit CountingHttpClient(FakeHttpClient& inner) : inner_(inner) {}
  Result<HttpResponse> Send(const HttpRequest& request) override {
    if (request.url == kLeaseUrl) ++polls;
    return inner_.Send(request);
  }
  int polls = 0;

 private:
  FakeHttpClient& inner_;
};

TEST_F(WorkerTest, NetworkErrorsBackOffThenRecover) {
  options_.once = false;
  CountingHttpClient http(http_);
  ApiClient api(http, api_.config(), &clock_);
  CommandContext ctx{.api = api, .out = out_, .err = err_, .sleep = ctx_.sleep, .clock = clock_};
  hooks_.stop = [&] { return http.polls >= 2; };
  http_.ThenUnreachable().ThenUnreachable().ThenToken().Then(503, "busy").Then(204, "");
  auto rc = RunWorker(ctx, options_, hooks_);
  ASSERT_TRUE(rc) << rc.error().message();
  EXPECT_EQ(*rc, 0);
  EXPECT_TRUE(http_.AllConsumed());
  // The token endpoint unreachable twice (1 s, 2 s), then a 503 (4 s); the 204 resets the backoff.
  EXPECT_EQ(slept_, std::chrono::seconds(7));
  EXPECT_NE(err_.str().find("cannot lease a job: cannot reach https://localhost:8443/oauth2/token"),
            std::string::npos)
      << err_.str();
  EXPECT_NE(err_.str().find("trying again in 4 seconds"), std::string::npos);
  EXPECT_NE(err_.str().find("w1: stopped\n"), std::string::npos);
}

TEST_F(WorkerTest, RefusedLeaseEndsTheWorker) {
  options_.once = false;
  http_.ThenToken().Then(
      403, R"({"error":{"code":"Forbidden","message":"worker has no role on vault team"}})");
  auto rc = Run();
  ASSERT_FALSE(rc);
  EXPECT_EQ(rc.error().code(), "Forbidden");
  EXPECT_EQ(rc.error().message(), "leasing a job of issuer adcs: worker has no role on vault team");
}

TEST_F(WorkerTest, AJobLeasedWhileStoppingIsHandedBack) {
  bool stop = false;
  options_.once = false;
  hooks_.stop = [&] { return stop; };
  http_.ThenToken().Then(200, LeasedJob().dump()).Then(200, R"({"status":"queued"})");
  // The signal arrives while the lease poll is held.
  struct StopOnLease : HttpClient {
    FakeHttpClient& inner;
    bool& stop;
    FakeClock& clock;
    StopOnLease(FakeHttpClient& i, bool& s, FakeClock& c) : inner(i), stop(s), clock(c) {}
    Result<HttpResponse> Send(const HttpRequest& r) override {
      if (r.url == kLeaseUrl) {
        stop = true;
        // The poll runs its course (the server may lease it a job)...
        EXPECT_FALSE(r.cancelled());
        // ...unless it overruns its 30 s wait by more than 5 s.
        clock.Advance(36);
        EXPECT_TRUE(r.cancelled());
      } else if (r.url.find("/jobs/j1/") != std::string::npos) {
        EXPECT_FALSE(r.cancelled);  // reports are never cut short
      }
      return inner.Send(r);
    }
  } http(http_, stop, clock_);
  ApiClient api(http, api_.config(), &clock_);
  CommandContext ctx{.api = api, .out = out_, .err = err_, .sleep = ctx_.sleep, .clock = clock_};
  auto rc = RunWorker(ctx, options_, hooks_);
  ASSERT_TRUE(rc);
  EXPECT_EQ(*rc, 0);
  EXPECT_TRUE(specs_.empty());
  EXPECT_EQ(Body(2), json({{"worker", "w1"},
                           {"error", "worker w1 stopped before running the job"},
                           {"retryable", true}}));
}

TEST_F(WorkerTest, CompleteIsRetriedThroughOutagesAndALostAnswerIsRecognised) {
  runs_.push_back(Exited(0, CertificatePem()));
  http_.ThenToken()
      .Then(200, LeasedJob().dump())
      .ThenUnreachable()
      .Then(503, "")
      // The first try went through after all: the job is no longer leased...
      .Then(409, R"({"error":{"code":"Conflict","message":"job j1 is not leased by worker w1"}})")
      // ...because it succeeded.
      .Then(200, R"({"job_id":"j1","status":"succeeded"})");
  auto rc = Run();
  ASSERT_TRUE(rc) << rc.error().message();
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(slept_, std::chrono::seconds(3));
  EXPECT_EQ(http_.requests[5].method, "GET");
  EXPECT_EQ(http_.requests[5].url, "https://localhost:8443/jobs/j1?api-version=7.5");
}

TEST_F(WorkerTest, LostLeaseIsLoggedAsAbandoned) {
  runs_.push_back(Exited(0, CertificatePem()));
  http_.ThenToken()
      .Then(200, LeasedJob().dump())
      .Then(409, R"({"error":{"code":"Conflict","message":"job j1 is not leased by worker w1"}})")
      .Then(200, R"({"job_id":"j1","status":"waiting"})");
  auto rc = Run();
  ASSERT_FALSE(rc);
  EXPECT_NE(err_.str().find("abandoned, the server offers it again when its lease expires: the "
                            "server did not take the certificate: Conflict: job j1 is not leased"),
            std::string::npos)
      << err_.str();
}

TEST_F(WorkerTest, TokenIsRenewedBetweenJobs) {
  options_.once = false;
  options_.max_jobs = 2;
  const std::string pem = CertificatePem();
  runs_.push_back(Exited(0, pem));
  runs_.push_back(Exited(0, pem));
  auto run = hooks_.run;
  hooks_.run = [&](const SubprocessSpec& spec) {
    clock_.Advance(3400);  // a slow CA: the hour-long token is within 5 minutes of its end
    return run(spec);
  };
  http_.ThenToken()
      .Then(200, LeasedJob("j1").dump())
      .Then(200, R"({"access_token":"tok2","expires_in":3600})")
      .Then(200, "{}")  // complete j1
      .Then(200, LeasedJob("j2").dump())
      .Then(200, R"({"access_token":"tok3","expires_in":3600})")
      .Then(200, "{}");  // complete j2
  auto rc = Run();
  ASSERT_TRUE(rc) << rc.error().message();
  EXPECT_EQ(*rc, 0);
  EXPECT_TRUE(http_.AllConsumed());
  EXPECT_EQ(http_.requests[2].url, "https://localhost:8443/oauth2/token");
  EXPECT_EQ(Header(http_.requests[3], "Authorization"), "Bearer tok2");
  EXPECT_EQ(http_.requests[3].url, "https://localhost:8443/jobs/j1/complete?api-version=7.5");
}

TEST(ClassifyRun, ExitStatusMapping) {
  const std::string pem = CertificatePem();
  auto ok = ClassifyRun(Exited(0, "noise\n" + pem + "more noise"), "/x", 60);
  EXPECT_TRUE(ok.complete);
  EXPECT_EQ(ok.certificate, pem);

  auto no_cert = ClassifyRun(Exited(0, "queued for approval\n"), "/x", 60);
  EXPECT_FALSE(no_cert.complete);
  EXPECT_FALSE(no_cert.retryable);
  EXPECT_EQ(no_cert.error,
            "command /x exited with status 0 but printed no PEM certificate on stdout (nothing "
            "on stderr)");

  auto broken = ClassifyRun(
      Exited(0, "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"), "/x", 60);
  EXPECT_FALSE(broken.complete);
  EXPECT_FALSE(broken.retryable);
  EXPECT_EQ(broken.error.rfind("command /x printed a malformed certificate", 0), 0u)
      << broken.error;

  auto refused = ClassifyRun(Exited(65), "/x", 60);
  EXPECT_FALSE(refused.retryable);
  auto failed = ClassifyRun(Exited(75, "", "try later"), "/x", 60);
  EXPECT_TRUE(failed.retryable);
  EXPECT_EQ(failed.error, "command /x exited with status 75: try later");
  auto killed = ClassifyRun(Exited(-1), "/x", 60);
  EXPECT_TRUE(killed.retryable);
  EXPECT_EQ(killed.error, "command /x was killed by a signal (nothing on stderr)");
}

TEST(JobTimeoutSeconds, FitsTheLease) {
  EXPECT_EQ(JobTimeoutSeconds(LeasedJob(), 60), 60);
  EXPECT_EQ(JobTimeoutSeconds(LeasedJob(), 3600), 270);
  json short_lease = {{"updated", kNow}, {"lease_expires", kNow + 10}};
  EXPECT_EQ(JobTimeoutSeconds(short_lease, 300), 5);
  EXPECT_EQ(JobTimeoutSeconds(json::object(), 300), 300);
}

TEST(WorkerName, DefaultAndValidation) {
  EXPECT_EQ(DefaultWorkerName("ca-host_1.corp.example", 4242), "ca-host-1-4242");
  EXPECT_EQ(DefaultWorkerName("", 7), "worker-7");
  std::string long_name = DefaultWorkerName(std::string(300, 'h'), 123456);
  EXPECT_EQ(long_name.size(), 127u);
  EXPECT_TRUE(ValidateWorkerName(long_name));
  EXPECT_TRUE(ValidateWorkerName("w-1"));
  EXPECT_EQ(ValidateWorkerName("w_1").error().code(), "UsageError");
  EXPECT_EQ(ValidateWorkerName("").error().code(), "UsageError");
  EXPECT_EQ(ValidateWorkerName(std::string(128, 'a')).error().code(), "UsageError");
}

TEST(Backoff, DoublesToThirtySecondsAndResets) {
  Backoff backoff;
  std::vector<int64_t> delays;
  for (int i = 0; i < 7; ++i) delays.push_back(backoff.Next().count());
  EXPECT_EQ(delays, (std::vector<int64_t>{1, 2, 4, 8, 16, 30, 30}));
  backoff.Reset();
  EXPECT_EQ(backoff.Next().count(), 1);
}

TEST_F(WorkerTest, UsageErrorsBeforeAnyRequest) {
  options_.name = "bad name";
  EXPECT_EQ(Run().error().code(), "UsageError");
  options_.name = "w1";
  options_.wait_seconds = 61;
  EXPECT_EQ(Run().error().code(), "UsageError");
  options_.wait_seconds = 30;
  options_.command.clear();
  EXPECT_EQ(Run().error().code(), "UsageError");
  EXPECT_TRUE(http_.requests.empty());
}

}  // namespace
}  // namespace certvault::cli
