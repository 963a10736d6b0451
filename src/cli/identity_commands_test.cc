// The identity and operations commands (sp, role, audit, token) against a scripted HttpClient:
// which management requests go out and what is printed.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/api_client.h"
#include "cli/audit_commands.h"
#include "cli/cli.h"
#include "cli/command_context.h"
#include "cli/files.h"
#include "cli/principal_commands.h"
#include "cli/role_commands.h"
#include "cli/testing/fake_http_client.h"
#include "cli/token_commands.h"

// Designated initializers name only the fields a test cares about; GCC 12 warns about the rest.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace certvault::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::FakeHttpClient;

constexpr int64_t kNow = 1700000000;  // 2023-11-14T22:13:20Z
constexpr const char* kServer = "https://localhost:8443";

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

class IdentityCommandsTest : public ::testing::Test {
 protected:
  IdentityCommandsTest()
      : api_(http_, ClientConfig{.server = kServer,
                                 .vault = "team",
                                 .token_url = std::string(kServer) + "/oauth2/token",
                                 .client_id = "admin",
                                 .client_secret = "s3cret"}),
        ctx_{.api = api_, .out = out_, .err = err_, .sleep = [](auto) {}, .clock = clock_} {
    dir_ = fs::temp_directory_path() /
           ("cv_cli_id_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  ~IdentityCommandsTest() override { fs::remove_all(dir_); }

  static std::string Principal(bool enabled = true, const std::string& secret = "") {
    json p = {{"clientId", "0f1e2d3c"}, {"displayName", "ci-deploy"},
              {"enabled", enabled},     {"created", kNow},
              {"updated", kNow},        {"secretExpires", kNow + 90 * 86400}};
    if (!secret.empty()) p["clientSecret"] = secret;
    return p.dump();
  }
  static json Record(int seq, const std::string& outcome = "success") {
    return {{"seq", seq},
            {"time", "2023-11-14T22:13:2" + std::to_string(seq % 10) + ".123Z"},
            {"requestId", "r" + std::to_string(seq)},
            {"principal", "0f1e2d3c"},
            {"source", "127.0.0.1"},
            {"vault", "default"},
            {"operation", "secrets.get"},
            {"object", "secrets/db"},
            {"outcome", outcome},
            {"status", outcome == "success" ? 200 : 403},
            {"durationMs", 1.5}};
  }
  static std::string Page(const std::vector<json>& records, const std::string& next = "") {
    json page = {{"value", records}};
    if (!next.empty()) page["nextLink"] = next;
    return page.dump();
  }
  std::string ErrorText(const Status& s) {
    std::ostringstream err;
    ReportError(s.error(), err);
    return err.str();
  }

  FakeHttpClient http_;
  FakeClock clock_{kNow};
  ApiClient api_;
  std::ostringstream out_, err_;
  CommandContext ctx_;
  fs::path dir_;
};

// --- sp ---

TEST_F(IdentityCommandsTest, SpCreateSendsNameAndExpiryAndShowsSecretOnce) {
  http_.ThenToken().Then(201, Principal(true, "Zx9-secret-value"));
  ASSERT_TRUE(PrincipalCreate(ctx_, {.display_name = "ci-deploy", .secret_expires = "P90D"}));
  const HttpRequest& post = http_.requests[1];
  EXPECT_EQ(post.method, "POST");
  EXPECT_EQ(post.url, "https://localhost:8443/management/principals");
  EXPECT_EQ(json::parse(post.body),
            json({{"displayName", "ci-deploy"}, {"secretExpires", kNow + 90 * 86400}}));
  EXPECT_EQ(Count(out_.str(), "Zx9-secret-value"), 1u) << out_.str();
  EXPECT_NE(out_.str().find("client secret   Zx9-secret-value\n"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("client id       0f1e2d3c\n"), std::string::npos);
  EXPECT_NE(out_.str().find("secret expires  2024-02-12T22:13:20Z\n"), std::string::npos);
  EXPECT_NE(err_.str().find("cannot be shown again"), std::string::npos);
  EXPECT_EQ(err_.str().find("Zx9-secret-value"), std::string::npos);
}

TEST_F(IdentityCommandsTest, SpCreateJsonPrintsTheServersObject) {
  http_.ThenToken().Then(201, Principal(true, "Zx9-secret-value"));
  ctx_.format = OutputFormat::kJson;
  ASSERT_TRUE(PrincipalCreate(ctx_, {.display_name = "ci-deploy"}));
  EXPECT_EQ(json::parse(http_.requests[1].body), json({{"displayName", "ci-deploy"}}));
  EXPECT_EQ(json::parse(out_.str()), json::parse(Principal(true, "Zx9-secret-value")));
  EXPECT_EQ(err_.str(), "");
}

TEST_F(IdentityCommandsTest, SpCreateRfc3339ExpiryAndPastExpiryRefusedLocally) {
  http_.ThenToken().Then(201, Principal(true, "x"));
  ASSERT_TRUE(
      PrincipalCreate(ctx_, {.display_name = "a", .secret_expires = "2025-01-31T12:00:00Z"}));
  EXPECT_EQ(json::parse(http_.requests[1].body)["secretExpires"], 1738324800);

  auto past = PrincipalCreate(ctx_, {.display_name = "a", .secret_expires = "2020-01-01"});
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error().code(), "UsageError");
  EXPECT_EQ(ErrorText(past),
            "error: --secret-expires: 2020-01-01T00:00:00Z is not in the future\n");
  auto bad = PrincipalCreate(ctx_, {.display_name = "a", .secret_expires = "90 days"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), "UsageError");
  EXPECT_EQ(http_.requests.size(), 2u);  // nothing sent for either
}

TEST_F(IdentityCommandsTest, SpCreateWithoutSecretInAnswerFails) {
  http_.ThenToken().Then(201, Principal());
  auto s = PrincipalCreate(ctx_, {.display_name = "ci-deploy"});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("certvault sp rotate-secret 0f1e2d3c"), std::string::npos);
}

TEST_F(IdentityCommandsTest, SpListShowDisableEnableDelete) {
  http_.ThenToken()
      .Then(200, Page({json::parse(Principal()), json::parse(Principal(false))}))
      .Then(200, Principal())
      .Then(200, Principal(false))
      .Then(200, Principal(true))
      .Then(200, Principal());
  ASSERT_TRUE(PrincipalList(ctx_));
  ASSERT_TRUE(PrincipalShow(ctx_, "0f1e2d3c"));
  ASSERT_TRUE(PrincipalSetEnabled(ctx_, "0f1e2d3c", false));
  ASSERT_TRUE(PrincipalSetEnabled(ctx_, "0f1e2d3c", true));
  ASSERT_TRUE(PrincipalDelete(ctx_, "0f1e2d3c"));
  ASSERT_EQ(http_.requests.size(), 6u);
  EXPECT_EQ(http_.requests[1].method, "GET");
  EXPECT_EQ(http_.requests[1].url, "https://localhost:8443/management/principals");
  EXPECT_EQ(http_.requests[2].method, "GET");
  EXPECT_EQ(http_.requests[2].url, "https://localhost:8443/management/principals/0f1e2d3c");
  EXPECT_EQ(http_.requests[3].method, "PATCH");
  EXPECT_EQ(http_.requests[3].url, "https://localhost:8443/management/principals/0f1e2d3c");
  EXPECT_EQ(json::parse(http_.requests[3].body), json({{"enabled", false}}));
  EXPECT_EQ(json::parse(http_.requests[4].body), json({{"enabled", true}}));
  EXPECT_EQ(http_.requests[5].method, "DELETE");
  EXPECT_EQ(http_.requests[5].body, "");
  EXPECT_EQ(out_.str().substr(0, out_.str().find('\n')),
            "CLIENT ID  DISPLAY NAME  ENABLED  SECRET EXPIRES        CREATED");
  EXPECT_NE(out_.str().find("0f1e2d3c   ci-deploy     false    2024-02-12T22:13:20Z  "
                            "2023-11-14T22:13:20Z\n"),
            std::string::npos)
      << out_.str();
  EXPECT_NE(out_.str().find("enabled         false\n"), std::string::npos);
}

TEST_F(IdentityCommandsTest, SecretNeverShownOutsideCreateAndRotate) {
  // A server that wrongly echoes the secret must not make `show` or `list` print it.
  http_.ThenToken()
      .Then(200, Principal(true, "leaked"))
      .Then(200, Page({json::parse(Principal(true, "leaked"))}))
      .Then(200, Principal(true, "leaked"));
  ctx_.format = OutputFormat::kJson;
  ASSERT_TRUE(PrincipalShow(ctx_, "0f1e2d3c"));
  ASSERT_TRUE(PrincipalList(ctx_));
  ctx_.format = OutputFormat::kTable;
  ASSERT_TRUE(PrincipalDelete(ctx_, "0f1e2d3c"));
  EXPECT_EQ(out_.str().find("leaked"), std::string::npos) << out_.str();
  EXPECT_EQ(err_.str().find("leaked"), std::string::npos);
}

TEST_F(IdentityCommandsTest, SpRotateSecretWithAndWithoutExpiry) {
  http_.ThenToken().Then(200, Principal(true, "new-one")).Then(200, Principal(true, "new-two"));
  ASSERT_TRUE(PrincipalRotateSecret(ctx_, "0f1e2d3c", ""));
  ASSERT_TRUE(PrincipalRotateSecret(ctx_, "0f1e2d3c", "PT12H"));
  EXPECT_EQ(http_.requests[1].method, "POST");
  EXPECT_EQ(http_.requests[1].url,
            "https://localhost:8443/management/principals/0f1e2d3c/rotate-secret");
  EXPECT_EQ(http_.requests[1].body, "");
  EXPECT_EQ(json::parse(http_.requests[2].body), json({{"secretExpires", kNow + 12 * 3600}}));
  EXPECT_EQ(Count(out_.str(), "new-one"), 1u);
  EXPECT_EQ(Count(out_.str(), "new-two"), 1u);
}

TEST_F(IdentityCommandsTest, SpIdsArePercentEncoded) {
  http_.ThenToken().Then(200, Principal());
  ASSERT_TRUE(PrincipalShow(ctx_, "a/b c"));
  EXPECT_EQ(http_.requests[1].url, "https://localhost:8443/management/principals/a%2Fb%20c");
}

TEST_F(IdentityCommandsTest, ServerErrorsShownWithTheirCode) {
  http_.ThenToken()
      .Then(404,
            R"({"error":{"code":"PrincipalNotFound","message":"no service principal 0f1e2d3c"}})")
      .Then(403, R"({"error":{"code":"Forbidden","message":"the caller may not principals.list",
                              "innererror":{"code":"ForbiddenByRbac"}}})");
  auto missing = PrincipalShow(ctx_, "0f1e2d3c");
  ASSERT_FALSE(missing);
  EXPECT_EQ(ErrorText(missing), "error: PrincipalNotFound: no service principal 0f1e2d3c\n");
  std::ostringstream err;
  EXPECT_EQ(ReportError(missing.error(), err), 1);
  auto denied = PrincipalList(ctx_);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().kind(), ErrorKind::kForbidden);
  EXPECT_EQ(ErrorText(denied), "error: Forbidden: the caller may not principals.list\n");
  EXPECT_EQ(out_.str(), "");
}

// --- role ---

TEST(NormalizeRoleName, AcceptsCaseSpacingAndPluralSpellings) {
  const std::pair<const char*, const char*> cases[] = {
      {"Secrets User", "Secrets User"},
      {"secrets user", "Secrets User"},
      {"secrets-user", "Secrets User"},
      {"SecretsUser", "Secrets User"},
      {"SECRETSUSER", "Secrets User"},
      {"secret_user", "Secrets User"},
      {"secrets-officer", "Secrets Officer"},
      {"CertificatesOfficer", "Certificates Officer"},
      {"certificate-officer", "Certificates Officer"},
      {"certificate-user", "Certificate User"},
      {"Certificates User", "Certificate User"},
      {"administrator", "Administrator"},
      {"READER", "Reader"},
  };
  for (const auto& [input, want] : cases) {
    auto got = NormalizeRoleName(input);
    ASSERT_TRUE(got) << input;
    EXPECT_EQ(*got, want) << input;
  }
  for (const char* bad : {"", "admin", "Owner", "Secrets", "User", "secrets users"}) {
    auto got = NormalizeRoleName(bad);
    ASSERT_FALSE(got) << bad;
    EXPECT_EQ(got.error().code(), "UsageError");
    EXPECT_NE(got.error().message().find("\"Certificates Officer\""), std::string::npos);
  }
}

TEST_F(IdentityCommandsTest, RoleAssignSendsNormalisedRole) {
  const std::string assignment =
      R"({"id":"ra1","principalId":"0f1e2d3c","role":"Secrets User","scope":"/vaults/default",
          "created":1700000000})";
  http_.ThenToken().Then(201, assignment);
  ASSERT_TRUE(RoleAssign(
      ctx_, {.principal = "0f1e2d3c", .role = "secrets-user", .scope = "/vaults/default"}));
  const HttpRequest& post = http_.requests[1];
  EXPECT_EQ(post.method, "POST");
  EXPECT_EQ(post.url, "https://localhost:8443/management/roleassignments");
  EXPECT_EQ(
      json::parse(post.body),
      json({{"principalId", "0f1e2d3c"}, {"role", "Secrets User"}, {"scope", "/vaults/default"}}));
  EXPECT_EQ(out_.str(),
            "id         ra1\n"
            "principal  0f1e2d3c\n"
            "role       Secrets User\n"
            "scope      /vaults/default\n"
            "created    2023-11-14T22:13:20Z\n");
}

TEST_F(IdentityCommandsTest, RoleAssignRefusesBadRoleOrScopeLocally) {
  auto role = RoleAssign(ctx_, {.principal = "p", .role = "Owner", .scope = "/"});
  ASSERT_FALSE(role);
  EXPECT_EQ(role.error().code(), "UsageError");
  auto scope = RoleAssign(ctx_, {.principal = "p", .role = "Reader", .scope = "vaults/default"});
  ASSERT_FALSE(scope);
  EXPECT_EQ(scope.error().code(), "UsageError");
  EXPECT_TRUE(http_.requests.empty());
}

TEST_F(IdentityCommandsTest, RoleAssignUnknownPrincipal) {
  http_.ThenToken().Then(
      404, R"({"error":{"code":"PrincipalNotFound","message":"no service principal nobody"}})");
  auto s = RoleAssign(ctx_, {.principal = "nobody", .role = "Reader", .scope = "/"});
  ASSERT_FALSE(s);
  EXPECT_EQ(ErrorText(s), "error: PrincipalNotFound: no service principal nobody\n");
}

TEST_F(IdentityCommandsTest, RoleListFiltersAndRemove) {
  const std::string page =
      R"({"value":[{"id":"ra1","principalId":"0f1e2d3c","role":"Secrets User",
                    "scope":"/vaults/default/certificates/web","created":1700000000}]})";
  http_.ThenToken().Then(200, page).Then(200, page).Then(
      200, R"({"id":"ra1","principalId":"0f1e2d3c","role":"Reader","scope":"/"})");
  ASSERT_TRUE(RoleList(ctx_, "", ""));
  ASSERT_TRUE(RoleList(ctx_, "0f1e2d3c", "/vaults/default/certificates/web"));
  ASSERT_TRUE(RoleRemove(ctx_, "ra1"));
  EXPECT_EQ(http_.requests[1].url, "https://localhost:8443/management/roleassignments");
  EXPECT_EQ(http_.requests[2].url,
            "https://localhost:8443/management/roleassignments?principalId=0f1e2d3c"
            "&scope=%2Fvaults%2Fdefault%2Fcertificates%2Fweb");
  EXPECT_EQ(http_.requests[3].method, "DELETE");
  EXPECT_EQ(http_.requests[3].url, "https://localhost:8443/management/roleassignments/ra1");
  EXPECT_EQ(out_.str().substr(0, out_.str().find('\n') + 1),
            "ID   PRINCIPAL  ROLE          SCOPE                             CREATED\n");
  EXPECT_NE(out_.str().find("ra1  0f1e2d3c   Secrets User  /vaults/default/certificates/web  "
                            "2023-11-14T22:13:20Z\n"),
            std::string::npos)
      << out_.str();
}

TEST_F(IdentityCommandsTest, RoleRemoveNotFound) {
  http_.ThenToken().Then(
      404, R"({"error":{"code":"RoleAssignmentNotFound","message":"no role assignment ra9"}})");
  auto s = RoleRemove(ctx_, "ra9");
  ASSERT_FALSE(s);
  EXPECT_EQ(ErrorText(s), "error: RoleAssignmentNotFound: no role assignment ra9\n");
}

// --- audit ---

TEST(AuditQueryPath, FiltersWhenAndPageSize) {
  auto path = AuditQueryPath({.from = "PT1H",
                              .to = "2023-11-14T22:13:20Z",
                              .principal = "0f1e2d3c",
                              .object = "certificates/web*",
                              .operation = "secrets.get",
                              .outcome = "denied"},
                             kNow, 50);
  ASSERT_TRUE(path) << path.error().message();
  EXPECT_EQ(*path,
            "/management/audit?from=1699996400&to=1700000000&principal=0f1e2d3c"
            "&object=certificates%2Fweb%2A&operation=secrets.get&outcome=denied&maxresults=50");
  EXPECT_EQ(*AuditQueryPath({}, kNow, 5000), "/management/audit?maxresults=1000");
  EXPECT_EQ(*AuditQueryPath({.from = "1699990000"}, kNow, 100),
            "/management/audit?from=1699990000&maxresults=100");
}

TEST(AuditQueryPath, UsageErrors) {
  EXPECT_EQ(AuditQueryPath({.from = "PT1H", .to = "PT2H"}, kNow, 100).error().code(), "UsageError");
  EXPECT_EQ(AuditQueryPath({.from = "last week"}, kNow, 100).error().code(), "UsageError");
  EXPECT_EQ(AuditQueryPath({.outcome = "ok"}, kNow, 100).error().code(), "UsageError");
}

TEST_F(IdentityCommandsTest, AuditListRendersAndFollowsNextLinkUpToMax) {
  http_.ThenToken()
      .Then(200, Page({Record(1), Record(2, "denied")},
                      "https://localhost:8443/management/audit?$skiptoken=2"))
      .Then(200, Page({Record(3), Record(4)},
                      "https://localhost:8443/management/audit?$skiptoken=4&maxresults=3"));
  ASSERT_TRUE(AuditList(ctx_, {.from = "P1D", .outcome = ""}, 3));
  ASSERT_EQ(http_.requests.size(), 3u);  // stops at 3 records without reading page three
  EXPECT_EQ(http_.requests[1].method, "GET");
  EXPECT_EQ(http_.requests[1].url,
            "https://localhost:8443/management/audit?from=1699913600&maxresults=3");
  // The filters the nextLink left out are carried over.
  EXPECT_EQ(http_.requests[2].url,
            "https://localhost:8443/management/audit?$skiptoken=2&from=1699913600&maxresults=3");
  EXPECT_EQ(out_.str(),
            "TIME                      PRINCIPAL  OPERATION    OBJECT      OUTCOME  STATUS  "
            "DURATION\n"
            "2023-11-14T22:13:21.123Z  0f1e2d3c   secrets.get  secrets/db  success  200     "
            "1.5ms\n"
            "2023-11-14T22:13:22.123Z  0f1e2d3c   secrets.get  secrets/db  denied   403     "
            "1.5ms\n"
            "2023-11-14T22:13:23.123Z  0f1e2d3c   secrets.get  secrets/db  success  200     "
            "1.5ms\n");
}

TEST_F(IdentityCommandsTest, AuditListJsonIsOneArray) {
  http_.ThenToken().Then(200, Page({Record(1)}));
  ctx_.format = OutputFormat::kJson;
  ASSERT_TRUE(AuditList(ctx_, {}, 100));
  EXPECT_EQ(json::parse(out_.str()), json::array({Record(1)}));
}

TEST_F(IdentityCommandsTest, AuditListForbidden) {
  http_.ThenToken().Then(
      403, R"({"error":{"code":"Forbidden","message":"audit.list needs a role at scope /"}})");
  auto s = AuditList(ctx_, {}, 100);
  ASSERT_FALSE(s);
  EXPECT_EQ(ErrorText(s), "error: Forbidden: audit.list needs a role at scope /\n");
}

TEST_F(IdentityCommandsTest, AuditExportWritesJsonLinesAcrossPagesToPrivateFile) {
  http_.ThenToken()
      .Then(200, Page({Record(1), Record(2)},
                      "https://localhost:8443/management/audit?$skiptoken=2&maxresults=1000"
                      "&outcome=denied"))
      .Then(200, Page({Record(3, "denied")}));
  const std::string file = (dir_ / "audit.jsonl").string();
  ASSERT_TRUE(AuditExport(ctx_, {.filter = {.outcome = "denied"}, .file = file}));
  EXPECT_EQ(http_.requests[1].url,
            "https://localhost:8443/management/audit?outcome=denied&maxresults=1000");
  EXPECT_EQ(http_.requests[2].url,
            "https://localhost:8443/management/audit?$skiptoken=2&maxresults=1000"
            "&outcome=denied");
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::istringstream lines(*ReadFile(file));
  std::vector<json> records;
  for (std::string line; std::getline(lines, line);) {
    EXPECT_EQ(line.find('\n'), std::string::npos);
    EXPECT_EQ(line, json::parse(line).dump());  // compact
    records.push_back(json::parse(line));
  }
  EXPECT_EQ(records, (std::vector<json>{Record(1), Record(2), Record(3, "denied")}));
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(), "wrote 3 audit records to " + file + "\n");  // no progress: not a TTY
}

TEST_F(IdentityCommandsTest, AuditExportToStdoutWithProgressOnTerminal) {
  http_.ThenToken()
      .Then(200, Page({Record(1)}, "https://localhost:8443/management/audit?$skiptoken=1"))
      .Then(200, Page({Record(2)}, "https://localhost:8443/management/audit?$skiptoken=2"))
      .Then(200, Page({}));
  ctx_.progress = true;
  ASSERT_TRUE(AuditExport(ctx_, {}));
  EXPECT_EQ(out_.str(), Record(1).dump() + "\n" + Record(2).dump() + "\n");
  EXPECT_EQ(err_.str(), "\rexporting audit records: 2\rexporting audit records: 2\n");
}

TEST_F(IdentityCommandsTest, AuditExportFailureLeavesNoFile) {
  http_.ThenToken()
      .Then(200, Page({Record(1)}, "https://localhost:8443/management/audit?$skiptoken=1"))
      .Then(503, R"({"error":{"code":"ServiceUnavailable","message":"store busy"}})");
  const std::string file = (dir_ / "audit.jsonl").string();
  auto s = AuditExport(ctx_, {.file = file});
  ASSERT_FALSE(s);
  EXPECT_EQ(ErrorText(s), "error: ServiceUnavailable: store busy\n");
  EXPECT_TRUE(fs::is_empty(dir_));
}

// --- token ---

TEST_F(IdentityCommandsTest, TokenRotateKey) {
  http_.ThenToken().Then(200,
                         R"({"kid":"k2","keys":[{"kid":"k1","created":1690000000,"current":false},
                                  {"kid":"k2","created":1700000000,"current":true}]})");
  ASSERT_TRUE(TokenRotateKey(ctx_));
  EXPECT_EQ(http_.requests[1].method, "POST");
  EXPECT_EQ(http_.requests[1].url, "https://localhost:8443/management/tokenkeys/rotate");
  EXPECT_EQ(http_.requests[1].body, "");
  EXPECT_EQ(out_.str(),
            "current key  k2\n"
            "\n"
            "KID  CREATED               CURRENT\n"
            "k1   2023-07-22T04:26:40Z\n"
            "k2   2023-11-14T22:13:20Z  yes\n");
}

// --- wiring ---

TEST(IdentityCommandLine, EveryCommandRegistersWithHelpAndExample) {
  CLI::App app;
  int exit_code = -1;
  AddClientCommands(app, exit_code);
  const std::pair<const char*, std::vector<const char*>> groups[] = {
      {"sp", {"create", "list", "show", "disable", "enable", "delete", "rotate-secret"}},
      {"role", {"assign", "list", "remove"}},
      {"audit", {"list", "export"}},
      {"token", {"rotate-key"}},
  };
  for (const auto& [group, commands] : groups) {
    for (const char* command : commands) {
      CLI::App* cmd = app.get_subcommand(group)->get_subcommand(command);
      std::string help = cmd->help();
      EXPECT_NE(help.find("certvault " + std::string(group) + " " + command), std::string::npos)
          << group << " " << command << ": " << help;
      EXPECT_NE(help.find("--output"), std::string::npos) << group << " " << command;
      EXPECT_EQ(help.find("--vault"), std::string::npos) << group << " " << command;
    }
  }
  // Parse errors come before any request: the runner never ran.
  EXPECT_THROW(app.parse("audit list --outcome ok", false), CLI::ValidationError);
  EXPECT_THROW(app.parse("role assign --scope / --role reader", false), CLI::RequiredError);
  EXPECT_EQ(exit_code, -1);
}

}  // namespace
}  // namespace certvault::cli
