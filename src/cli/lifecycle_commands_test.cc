// The lifecycle commands (issuer, cert renew/revoke, jobs) and the ApiClient's token renewal
// against a scripted HttpClient: which requests go out, what is printed, how failures end.

#include <gtest/gtest.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/api_client.h"
#include "cli/cert_commands.h"
#include "cli/cli.h"
#include "cli/command_context.h"
#include "cli/files.h"
#include "cli/issuer_commands.h"
#include "cli/job_commands.h"
#include "cli/lifecycle_views.h"
#include "cli/testing/fake_http_client.h"

// Designated initializers name only the fields a test cares about; GCC 12 warns about the rest.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace certvault::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::FakeHttpClient;

constexpr int64_t kNow = 1700000000;  // 2023-11-14T22:13:20Z
constexpr const char* kJobId = "5f0c2a9e8d7b6c5a4f3e2d1c0b9a8f7e";

std::string ErrorText(const Error& error) {
  std::ostringstream err;
  ReportError(error, err);
  return err.str();
}

class LifecycleCommandsTest : public ::testing::Test {
 protected:
  LifecycleCommandsTest()
      : api_(http_,
             ClientConfig{.server = "https://localhost:8443",
                          .vault = "team",
                          .token_url = "https://localhost:8443/oauth2/token",
                          .client_id = "admin",
                          .client_secret = "s3cret"},
             &clock_),
        ctx_{.api = api_,
             .out = out_,
             .err = err_,
             .sleep = [this](auto d) { slept_ += d; },
             .clock = clock_} {
    dir_ = fs::temp_directory_path() /
           ("cv_cli_life_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  ~LifecycleCommandsTest() override { fs::remove_all(dir_); }

  static json Issuer() {
    return {{"id", "https://team.localhost:8443/certificates/issuers/adcs"},
            {"provider", "worker"},
            {"credentials", {{"account_id", "svc-adcs"}}},
            {"org_details",
             {{"id", "contoso"},
              {"admin_details",
               {{{"first_name", "Ada"},
                 {"last_name", "Lovelace"},
                 {"email", "ada@example.com"},
                 {"phone", ""}}}}}},
            {"attributes", {{"enabled", true}, {"created", kNow}, {"updated", kNow + 60}}},
            {"settings", {{"lease", "PT10M"}}}};
  }
  static json Job(const std::string& status, int attempts = 0, const std::string& error = "") {
    json j = {{"id", std::string("https://team.localhost:8443/jobs/") + kJobId},
              {"job_id", kJobId},
              {"certificate", "web"},
              {"certificate_id", "https://team.localhost:8443/certificates/web"},
              {"issuer", "corp-ca"},
              {"trigger", "manual"},
              {"status", status},
              {"attempts", json::array()},
              {"created", kNow},
              {"updated", kNow + 5}};
    for (int i = 0; i < attempts; ++i) {
      json attempt = {{"started", kNow + i * 10}, {"outcome", i + 1 < attempts ? "retry" : status}};
      if (i + 1 < attempts || !error.empty()) attempt["finished"] = kNow + i * 10 + 2;
      if (!error.empty()) attempt["error"] = error;
      j["attempts"].push_back(attempt);
    }
    if (!error.empty()) j["last_error"] = error;
    return j;
  }
  static std::string Cert() {
    return json{{"id",
                 "https://team.localhost:8443/certificates/web/"
                 "0123456789abcdef0123456789abcdef"},
                {"attributes", {{"enabled", true}}}}
        .dump();
  }
  std::string File(const std::string& name, const std::string& content) {
    std::string path = (dir_ / name).string();
    EXPECT_TRUE(WriteFile(path, content, kPrivateFileMode));
    return path;
  }

  FakeHttpClient http_;
  FakeClock clock_{kNow};
  ApiClient api_;
  std::ostringstream out_, err_;
  std::chrono::milliseconds slept_{0};
  CommandContext ctx_;
  fs::path dir_;
};

// --- issuer ---

TEST_F(LifecycleCommandsTest, IssuerCreatePutsTheWholeBody) {
  http_.ThenToken().Then(200, Issuer().dump());
  IssuerArgs args{.name = "adcs",
                  .provider = "worker",
                  .settings = R"({"lease": "PT10M"})",
                  .account_id = "svc-adcs",
                  .password_file = File("pw", "hunter2\n"),
                  .organization_id = "contoso",
                  .admins = {"Ada Lovelace <ada@example.com>", "Ops <ops@example.com> +1 555 0100"},
                  .enabled = "true"};
  ASSERT_TRUE(IssuerCreate(ctx_, args));
  const HttpRequest& put = http_.requests[1];
  EXPECT_EQ(put.method, "PUT");
  EXPECT_EQ(put.url, "https://localhost:8443/certificates/issuers/adcs?api-version=7.5");
  EXPECT_EQ(json::parse(put.body), json::parse(R"({"provider": "worker",
                            "credentials": {"account_id": "svc-adcs", "pwd": "hunter2"},
                            "org_details": {"id": "contoso", "admin_details": [
                              {"first_name": "Ada", "last_name": "Lovelace",
                               "email": "ada@example.com"},
                              {"first_name": "Ops", "last_name": "", "email": "ops@example.com",
                               "phone": "+1 555 0100"}]},
                            "attributes": {"enabled": true},
                            "settings": {"lease": "PT10M"}})"));
  EXPECT_EQ(out_.str(),
            "name          adcs\n"
            "provider      worker\n"
            "enabled       true\n"
            "account id    svc-adcs\n"
            "organization  contoso\n"
            "admin         Ada Lovelace <ada@example.com>\n"
            "created       2023-11-14T22:13:20Z\n"
            "updated       2023-11-14T22:14:20Z\n"
            "id            https://team.localhost:8443/certificates/issuers/adcs\n"
            "settings\n"
            "  {\n"
            "    \"lease\": \"PT10M\"\n"
            "  }\n");
  EXPECT_EQ(out_.str().find("hunter2"), std::string::npos);
}

TEST_F(LifecycleCommandsTest, IssuerCreateMinimalAndFromSettingsFile) {
  http_.ThenToken().Then(200, Issuer().dump());
  IssuerArgs args{.name = "runbook",
                  .provider = "command",
                  .settings_file = File("s.json", R"({"command": "/opt/ca/sign"})")};
  ASSERT_TRUE(IssuerCreate(ctx_, args));
  EXPECT_EQ(json::parse(http_.requests[1].body),
            json({{"provider", "command"}, {"settings", {{"command", "/opt/ca/sign"}}}}));
}

TEST_F(LifecycleCommandsTest, IssuerPasswordFromStdinDropsTheNewline) {
  std::istringstream in("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  ctx_.in = &in;
  http_.ThenToken().Then(200, Issuer().dump());
  ASSERT_TRUE(IssuerUpdate(ctx_, {.name = "sub-ca", .password_stdin = true}));
  EXPECT_EQ(http_.requests[1].method, "PATCH");
  EXPECT_EQ(json::parse(http_.requests[1].body),
            json({{"credentials",
                   {{"pwd", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}}}}));
}

TEST_F(LifecycleCommandsTest, IssuerUsageErrorsSendNothing) {
  auto expect_usage = [&](const IssuerArgs& args, bool create, const std::string& needle) {
    auto s = create ? IssuerCreate(ctx_, args) : IssuerUpdate(ctx_, args);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code(), "UsageError");
    EXPECT_NE(s.error().message().find(needle), std::string::npos) << s.error().message();
  };
  expect_usage({.name = "a"}, true, "--provider is required");
  expect_usage({.name = "a", .provider = "acme", .settings = "[1]"}, true, "JSON object");
  expect_usage({.name = "a", .provider = "acme", .settings = "{nope"}, true, "not valid JSON");
  expect_usage({.name = "a", .admins = {"Ada"}}, false, "First Last <email>");
  expect_usage({.name = "a", .admins = {"Ada <nobody>"}}, false, "not an email address");
  expect_usage({.name = "a", .password_file = File("empty", "\n")}, false, "empty");
  expect_usage({.name = "a"}, false, "nothing to update");
  EXPECT_TRUE(http_.requests.empty());
}

TEST(ParseAdmin, NameAddressAndPhone) {
  EXPECT_EQ(
      *ParseAdmin("Mary Ann Smith <mas@example.com>"),
      json({{"first_name", "Mary Ann"}, {"last_name", "Smith"}, {"email", "mas@example.com"}}));
  EXPECT_EQ(*ParseAdmin("  <ops@example.com>  +44 20 7946 0000 "),
            json({{"first_name", ""},
                  {"last_name", ""},
                  {"email", "ops@example.com"},
                  {"phone", "+44 20 7946 0000"}}));
  EXPECT_FALSE(ParseAdmin("Ada ada@example.com"));
  EXPECT_FALSE(ParseAdmin("Ada <a b@example.com>"));
}

TEST_F(LifecycleCommandsTest, IssuerListShowDelete) {
  http_.ThenToken()
      .Then(200, R"({"value":[{"id":"https://team.localhost:8443/certificates/issuers/adcs",
                              "provider":"worker"},
                             {"id":"https://team.localhost:8443/certificates/issuers/corp-ca",
                              "provider":"internal"}],"nextLink":null})")
      .Then(200, Issuer().dump())
      .Then(200, Issuer().dump());
  ASSERT_TRUE(IssuerList(ctx_));
  EXPECT_EQ(http_.requests[1].url, "https://localhost:8443/certificates/issuers?api-version=7.5");
  EXPECT_EQ(out_.str(),
            "NAME     PROVIDER\n"
            "adcs     worker\n"
            "corp-ca  internal\n");
  ASSERT_TRUE(IssuerShow(ctx_, "adcs"));
  EXPECT_EQ(http_.requests[2].method, "GET");
  EXPECT_EQ(http_.requests[2].url,
            "https://localhost:8443/certificates/issuers/adcs?api-version=7.5");
  ctx_.format = OutputFormat::kJson;
  out_.str("");
  ASSERT_TRUE(IssuerDelete(ctx_, "adcs"));
  EXPECT_EQ(http_.requests[3].method, "DELETE");
  EXPECT_EQ(json::parse(out_.str()), Issuer());
}

TEST_F(LifecycleCommandsTest, IssuerServerErrorShownWithItsCode) {
  http_.ThenToken().Then(
      404, R"({"error":{"code":"IssuerNotFound","message":"no issuer nope in vault team"}})");
  auto s = IssuerShow(ctx_, "nope");
  ASSERT_FALSE(s);
  EXPECT_EQ(ErrorText(s.error()), "error: IssuerNotFound: no issuer nope in vault team\n");
}

// --- cert renew / revoke ---

TEST_F(LifecycleCommandsTest, RenewWaitsForTheJobThenShowsTheNewVersion) {
  ctx_.progress = true;
  http_.ThenToken()
      .Then(202, Job("queued").dump())
      .Then(200, Job("running", 1).dump())
      .Then(200, Job("running", 1).dump())
      .Then(200, Job("succeeded", 1).dump())
      .Then(200, Cert());
  ASSERT_TRUE(CertRenew(ctx_, {.name = "web", .validity = "p30d"}));
  ASSERT_EQ(http_.requests.size(), 6u);
  EXPECT_EQ(http_.requests[1].method, "POST");
  EXPECT_EQ(http_.requests[1].url, "https://localhost:8443/certificates/web/renew?api-version=7.5");
  EXPECT_EQ(json::parse(http_.requests[1].body), json({{"validity", "P30D"}}));
  EXPECT_EQ(http_.requests[2].url,
            std::string("https://localhost:8443/jobs/") + kJobId + "?api-version=7.5");
  EXPECT_EQ(http_.requests[5].url, "https://localhost:8443/certificates/web?api-version=7.5");
  EXPECT_NE(out_.str().find("version  0123456789abcdef0123456789abcdef"), std::string::npos)
      << out_.str();
  // One progress line per change, not per poll.
  EXPECT_EQ(err_.str(), std::string("job ") + kJobId + ": queued\n" + "job " + kJobId +
                            ": running (attempt 1: running)\n" + "job " + kJobId +
                            ": succeeded (attempt 1: succeeded)\n");
}

TEST_F(LifecycleCommandsTest, RenewNoWaitPrintsTheJob) {
  http_.ThenToken().Then(202, Job("queued").dump());
  ASSERT_TRUE(CertRenew(ctx_, {.name = "web", .wait = false}));
  EXPECT_EQ(http_.requests.size(), 2u);
  EXPECT_EQ(json::parse(http_.requests[1].body), json::object());
  EXPECT_NE(out_.str().find(std::string("job          ") + kJobId), std::string::npos)
      << out_.str();
  EXPECT_NE(out_.str().find("status       queued"), std::string::npos);
  EXPECT_EQ(err_.str(), std::string("follow it with: certvault jobs show ") + kJobId + "\n");
}

TEST_F(LifecycleCommandsTest, RenewFailedJobExitsWithItsLastError) {
  http_.ThenToken()
      .Then(202, Job("queued").dump())
      .Then(200, Job("failed", 2, "the CA refused the request: unknown template").dump());
  auto s = CertRenew(ctx_, {.name = "web"});
  ASSERT_FALSE(s);
  EXPECT_EQ(ErrorText(s.error()), std::string("error: JobFailed: job ") + kJobId +
                                      " for certificate web failed: the CA refused the request: "
                                      "unknown template\n");
  EXPECT_EQ(ReportError(s.error(), err_), 1);
  EXPECT_EQ(http_.requests.size(), 3u);  // no GET of the certificate
}

TEST_F(LifecycleCommandsTest, RenewWaitIsBoundedByTimeout) {
  http_.ThenToken().Then(202, Job("waiting").dump());
  for (int i = 0; i < 20; ++i) http_.Then(200, Job("waiting", 1).dump());
  auto s = CertRenew(ctx_, {.name = "web", .timeout = "PT3S"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), "ClientError");
  EXPECT_EQ(s.error().message(), std::string("job ") + kJobId +
                                     " is still waiting after 3 s; follow it with `certvault "
                                     "jobs show " +
                                     kJobId + "`");
  EXPECT_EQ(slept_, std::chrono::seconds(3));
}

TEST_F(LifecycleCommandsTest, RenewUsageErrorsBeforeAnyRequest) {
  EXPECT_EQ(CertRenew(ctx_, {.name = "web", .validity = "30"}).error().code(), "UsageError");
  EXPECT_EQ(CertRenew(ctx_, {.name = "web", .validity = "P1X"}).error().code(), "UsageError");
  EXPECT_EQ(CertRenew(ctx_, {.name = "web", .timeout = "soon"}).error().code(), "UsageError");
  EXPECT_TRUE(http_.requests.empty());
}

TEST_F(LifecycleCommandsTest, RevokeVersionOrCurrent) {
  const std::string revoked =
      R"({"id":"https://team.localhost:8443/certificates/web/0123456789abcdef0123456789abcdef",
          "revoked":true,"reason":"keyCompromise"})";
  http_.ThenToken().Then(200, revoked).Then(200, Cert()).Then(200, revoked);
  ASSERT_TRUE(CertRevoke(
      ctx_,
      {.name = "web", .version = "0123456789abcdef0123456789abcdef", .reason = "KEYCOMPROMISE"}));
  EXPECT_EQ(http_.requests[1].url,
            "https://localhost:8443/certificates/web/0123456789abcdef0123456789abcdef/"
            "revoke?api-version=7.5");
  EXPECT_EQ(json::parse(http_.requests[1].body), json({{"reason", "keyCompromise"}}));
  EXPECT_EQ(out_.str(),
            "name     web\n"
            "version  0123456789abcdef0123456789abcdef\n"
            "revoked  true\n"
            "reason   keyCompromise\n"
            "id       https://team.localhost:8443/certificates/web/"
            "0123456789abcdef0123456789abcdef\n");

  ASSERT_TRUE(CertRevoke(ctx_, {.name = "web", .current = true}));
  EXPECT_EQ(http_.requests[2].method, "GET");
  EXPECT_EQ(http_.requests[3].url, http_.requests[1].url);
  EXPECT_EQ(json::parse(http_.requests[3].body), json::object());
}

TEST_F(LifecycleCommandsTest, RevokeUsageErrors) {
  EXPECT_EQ(CertRevoke(ctx_, {.name = "web"}).error().code(), "UsageError");
  EXPECT_EQ(CertRevoke(ctx_, {.name = "web", .version = "v", .current = true}).error().code(),
            "UsageError");
  auto s = CertRevoke(ctx_, {.name = "web", .version = "v", .reason = "stolen"});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("keyCompromise"), std::string::npos);
  EXPECT_TRUE(http_.requests.empty());
}

// --- jobs ---

TEST_F(LifecycleCommandsTest, JobsListFiltersHoldOnEveryPage) {
  json failed = Job("failed", 3, std::string(100, 'x'));
  http_.ThenToken()
      .Then(200, json{{"value", {failed}},
                      {"nextLink",
                       "https://team.localhost:8443/jobs?api-version=7.5&$skiptoken=1&"
                       "maxresults=25"}}
                     .dump())
      .Then(200, json{{"value", {Job("failed", 1, "CA down")}}, {"nextLink", nullptr}}.dump());
  ASSERT_TRUE(JobsList(ctx_, {.certificate = "web", .status = "failed"}));
  EXPECT_EQ(http_.requests[1].url,
            "https://localhost:8443/jobs?certificate=web&status=failed&api-version=7.5");
  EXPECT_EQ(http_.requests[2].url,
            "https://localhost:8443/jobs?api-version=7.5&$skiptoken=1&maxresults=25&"
            "certificate=web&status=failed");
  EXPECT_EQ(
      out_.str(),
      "ID                                CERTIFICATE  ISSUER   TRIGGER  STATUS  ATTEMPTS  "
      "LAST ERROR                                                    UPDATED\n"
      "5f0c2a9e8d7b6c5a4f3e2d1c0b9a8f7e  web          corp-ca  manual   failed  3         " +
          std::string(57, 'x') +
          "...  2023-11-14T22:13:25Z\n"
          "5f0c2a9e8d7b6c5a4f3e2d1c0b9a8f7e  web          corp-ca  manual   failed  1         "
          "CA down                                                       "
          "2023-11-14T22:13:25Z\n");
}

TEST_F(LifecycleCommandsTest, JobsListMaxAndBadStatus) {
  http_.ThenToken().Then(200, json{{"value", {Job("queued"), Job("queued")}}}.dump());
  ASSERT_TRUE(JobsList(ctx_, {.max_items = 1}));
  EXPECT_EQ(http_.requests[1].url, "https://localhost:8443/jobs?maxresults=1&api-version=7.5");
  EXPECT_EQ(JobListPath({.status = "done"}).error().code(), "UsageError");
}

TEST_F(LifecycleCommandsTest, JobsShowAcceptsTheIdUrlAndListsAttempts) {
  json job = Job("queued", 2, "CA unreachable");
  job["next_attempt"] = kNow + 120;
  job["validity"] = "P30D";
  http_.ThenToken().Then(200, job.dump());
  ASSERT_TRUE(JobsShow(ctx_, std::string("https://team.localhost:8443/jobs/") + kJobId));
  EXPECT_EQ(http_.requests[1].url,
            std::string("https://localhost:8443/jobs/") + kJobId + "?api-version=7.5");
  EXPECT_EQ(out_.str(),
            "job           5f0c2a9e8d7b6c5a4f3e2d1c0b9a8f7e\n"
            "certificate   web\n"
            "issuer        corp-ca\n"
            "trigger       manual\n"
            "status        queued\n"
            "validity      P30D\n"
            "last error    CA unreachable\n"
            "next attempt  2023-11-14T22:15:20Z\n"
            "created       2023-11-14T22:13:20Z\n"
            "updated       2023-11-14T22:13:25Z\n"
            "id            https://team.localhost:8443/jobs/5f0c2a9e8d7b6c5a4f3e2d1c0b9a8f7e\n"
            "\n"
            "#  STARTED               FINISHED              OUTCOME  ERROR\n"
            "1  2023-11-14T22:13:20Z  2023-11-14T22:13:22Z  retry    CA unreachable\n"
            "2  2023-11-14T22:13:30Z  2023-11-14T22:13:32Z  queued   CA unreachable\n");
}

TEST_F(LifecycleCommandsTest, JobsRetryPostsAndConflictIsShown) {
  http_.ThenToken()
      .Then(200, Job("queued").dump())
      .Then(409, R"({"error":{"code":"Conflict","message":"job x is running; only failed or )"
                 R"(cancelled jobs can be retried"}})");
  ASSERT_TRUE(JobsRetry(ctx_, kJobId));
  EXPECT_EQ(http_.requests[1].method, "POST");
  EXPECT_EQ(http_.requests[1].url,
            std::string("https://localhost:8443/jobs/") + kJobId + "/retry?api-version=7.5");
  auto s = JobsRetry(ctx_, "x");
  ASSERT_FALSE(s);
  EXPECT_EQ(ErrorText(s.error()),
            "error: Conflict: job x is running; only failed or cancelled jobs can be retried\n");
}

TEST(JobIdFromArg, UrlOrId) {
  EXPECT_EQ(JobIdFromArg("abc"), "abc");
  EXPECT_EQ(JobIdFromArg("https://team.localhost:8443/jobs/abc"), "abc");
  EXPECT_EQ(JobIdFromArg("https://team.localhost:8443/jobs/abc/?x=1"), "abc");
}

TEST(Shorten, CutsWithoutSplittingCharacters) {
  EXPECT_EQ(Shorten("short", 10), "short");
  EXPECT_EQ(Shorten("line one\nline two", 100), "line one line two");
  EXPECT_EQ(Shorten("abcdefghij", 8), "abcde...");
  EXPECT_EQ(Shorten("ab\xc3\xa9\xc3\xa9\xc3\xa9", 7), "ab\xc3\xa9...");
}

// --- token renewal ---

TEST_F(LifecycleCommandsTest, TokenIsRenewedBeforeItExpires) {
  http_.ThenToken().Then(200, "{}").Then(200, "{}");
  http_.Then(200, R"({"access_token":"tok2","expires_in":3600})").Then(200, "{}");
  ASSERT_TRUE(api_.Data("GET", "/jobs/a"));
  clock_.Advance(3200);  // 400 s left: still used
  ASSERT_TRUE(api_.Data("GET", "/jobs/a"));
  clock_.Advance(100);  // in its last 5 minutes: renewed first
  ASSERT_TRUE(api_.Data("GET", "/jobs/a"));
  ASSERT_EQ(http_.requests.size(), 5u);
  EXPECT_EQ(http_.requests[3].url, "https://localhost:8443/oauth2/token");
  EXPECT_EQ(http_.requests[4].headers[0].second, "Bearer tok2");
}

TEST_F(LifecycleCommandsTest, A401ToACachedTokenFetchesANewOneOnce) {
  const std::string unauthorized = R"({"error":{"code":"Unauthorized","message":"token expired"}})";
  http_.ThenToken()
      .Then(200, "{}")
      .Then(401, unauthorized)
      .Then(200, R"({"access_token":"tok2","expires_in":3600})")
      .Then(200, R"({"ok":true})");
  ASSERT_TRUE(api_.Data("GET", "/jobs/a"));
  json body = {{"x", 1}};
  auto answer = api_.Data("POST", "/jobs/a/retry", &body);
  ASSERT_TRUE(answer) << answer.error().message();
  EXPECT_EQ((*answer)["ok"], true);
  EXPECT_EQ(http_.requests[4].body, R"({"x":1})");
  EXPECT_EQ(http_.requests[4].headers[0].second, "Bearer tok2");

  // A fresh token that is refused is not retried again.
  http_.Then(401, unauthorized).Then(200, R"({"access_token":"tok3"})").Then(401, unauthorized);
  auto refused = api_.Data("GET", "/jobs/a");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), "Unauthorized");
  EXPECT_TRUE(http_.AllConsumed());
}

// --- wiring ---

TEST(LifecycleCommandLine, EveryCommandRegistersWithHelpAndExample) {
  CLI::App app;
  int exit_code = -1;
  AddClientCommands(app, exit_code);
  const std::pair<const char*, std::vector<const char*>> groups[] = {
      {"issuer", {"create", "list", "show", "update", "delete"}},
      {"jobs", {"list", "show", "retry"}},
      {"cert", {"renew", "revoke"}},
  };
  for (const auto& [group, commands] : groups) {
    for (const char* command : commands) {
      CLI::App* cmd = app.get_subcommand(group)->get_subcommand(command);
      std::string help = cmd->help();
      EXPECT_NE(help.find("certvault " + std::string(group) + " " + command), std::string::npos)
          << group << " " << command << ": " << help;
      EXPECT_NE(help.find("--vault"), std::string::npos) << group << " " << command;
    }
  }
  std::string worker = app.get_subcommand("worker")->help();
  EXPECT_NE(worker.find("certvault worker --issuer"), std::string::npos);
  EXPECT_NE(worker.find("--vault"), std::string::npos);

  EXPECT_THROW(app.parse("cert revoke web --version v --current", false), CLI::ExcludesError);
  EXPECT_THROW(app.parse("jobs list --status done", false), CLI::ValidationError);
  EXPECT_THROW(app.parse("issuer update a --password-file /etc/passwd --password-stdin", false),
               CLI::ExcludesError);
  EXPECT_THROW(app.parse("worker --exec /bin/true", false), CLI::RequiredError);
  EXPECT_THROW(app.parse("worker --issuer a --exec /bin/true --wait 61", false),
               CLI::ValidationError);
  EXPECT_EQ(exit_code, -1);
}

}  // namespace
}  // namespace certvault::cli
