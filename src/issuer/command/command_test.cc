#include "issuer/command/command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <string>

#include "crypto/encoding.h"
#include "crypto/testing/test_util.h"
#include "crypto/x509.h"

namespace certvault::issuer::command {
namespace {

using nlohmann::json;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
namespace tu = crypto::test_util;

constexpr int64_t kNow = 1750000000;

class CommandIssuerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ctx_.clock = &clock_;
    provider_ = NewCommandProvider(ctx_);
  }

  // An executable shell script in the scratch directory.
  std::string Script(const std::string& name, const std::string& body) {
    std::string path = dir_.Write(name, "#!/bin/sh\n" + body);
    ::chmod(path.c_str(), 0755);
    return path;
  }

  model::Issuer IssuerWith(json settings) {
    model::Issuer issuer;
    issuer.vault = "prod";
    issuer.name = "corp-ca";
    issuer.provider = "command";
    issuer.settings = settings.dump();
    return issuer;
  }

  EnrollRequest Request() {
    crypto::CertificateSpec spec;
    spec.subject = "CN=app.example.com, O=Contoso";
    spec.sans.dns_names = {"app.example.com"};
    EnrollRequest r;
    r.vault = "prod";
    r.certificate = "app-cert";
    r.request_id = "0123456789abcdef0123456789abcdef";
    r.job_id = "fedcba9876543210fedcba9876543210";
    r.csr_der = *crypto::BuildCsrDer(tu::RsaKey(), spec);
    r.policy.issuer.name = "corp-ca";
    r.policy.issuer.cty = "WebServer";
    r.not_before = kNow;
    r.not_after = kNow + 30 * 86400 + 60;  // 30 days and a minute: 31 days rounded up
    return r;
  }

  Result<Enrollment> Enroll(json settings, const EnrollRequest& request) {
    auto built = provider_->Build(IssuerWith(std::move(settings)), "");
    if (!built) return Fail(built.error());
    return (*built)->Enroll(request);
  }

  FakeClock clock_{kNow};
  ProviderContext ctx_;
  std::unique_ptr<Provider> provider_;
  tu::ScratchDir dir_;
};

TEST_F(CommandIssuerTest, SignsTheCsrWithOpensslAndReturnsTheChainInOrder) {
  if (!tu::HaveOpensslCommand()) GTEST_SKIP() << "no openssl command";
  std::string out;
  ASSERT_EQ(tu::RunCommand("cd " + dir_.path() +
                               " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key "
                               "-out ca.pem -subj '/CN=Command Test CA' -days 30",
                           &out),
            0)
      << out;
  const std::string script = Script("sign.sh", R"(set -e
d=$(dirname "$0")
openssl x509 -req -CA "$d/ca.pem" -CAkey "$d/ca.key" -set_serial "0x$CERTVAULT_REQUEST_ID" \
  -days "$CERTVAULT_VALIDITY_DAYS" -copy_extensions copy 2>"$d/openssl.err"
cat "$d/ca.pem"
)");
  auto enrollment = Enroll({{"command", script}}, Request());
  ASSERT_TRUE(enrollment) << enrollment.error().message();
  EXPECT_FALSE(enrollment->external);
  EXPECT_EQ(enrollment->check_after, 0);
  ASSERT_EQ(enrollment->chain.size(), 2u);
  auto leaf = crypto::Certificate::FromDer(enrollment->chain[0]);
  auto ca = crypto::Certificate::FromPem(dir_.Read("ca.pem"));
  ASSERT_TRUE(leaf && ca);
  EXPECT_TRUE(leaf->MatchesKey(tu::RsaKey()));
  EXPECT_TRUE(leaf->IsIssuedBy(*ca));
  EXPECT_EQ(enrollment->chain[1], ca->ToDer());
  EXPECT_EQ(leaf->Subject(), "CN=app.example.com, O=Contoso");
  EXPECT_EQ(leaf->Sans().dns_names, std::vector<std::string>{"app.example.com"});
  EXPECT_EQ(leaf->SerialHex(), "0123456789abcdef0123456789abcdef");
  EXPECT_NEAR(leaf->NotAfter() - leaf->NotBefore(), 31 * 86400, 120);
}

TEST_F(CommandIssuerTest, KeepsTheOrderTheCommandPrints) {
  const auto root = tu::SelfSigned(tu::EcKey(), "CN=Root", true);
  const auto leaf = tu::IssuedBy(tu::RsaKey(), "CN=leaf", root, tu::EcKey(), false);
  dir_.Write("root.pem", root.ToPem());
  dir_.Write("leaf.pem", leaf.ToPem());
  const std::string script =
      Script("cat.sh",
             "cat >/dev/null\necho 'some log line'\ncat \"$(dirname \"$0\")/root.pem\" "
             "\"$(dirname \"$0\")/leaf.pem\"\n");
  auto enrollment = Enroll({{"command", script}}, Request());
  ASSERT_TRUE(enrollment) << enrollment.error().message();
  ASSERT_EQ(enrollment->chain.size(), 2u);
  EXPECT_EQ(enrollment->chain[0], root.ToDer());
  EXPECT_EQ(enrollment->chain[1], leaf.ToDer());
}

TEST_F(CommandIssuerTest, PassesCsrArgsAndEnvironment) {
  // Exit 65 makes the failure terminal and puts stderr, where the script echoes, in the message.
  const std::string script = Script("env.sh", R"(read -r first
echo "stdin=$first" >&2
printf "%s\n" "args=$*" >&2
for v in VAULT CERTIFICATE ISSUER TEMPLATE REQUEST_ID JOB_ID NOT_BEFORE NOT_AFTER VALIDITY_DAYS; do
  eval "echo $v=\$CERTVAULT_$v" >&2
done
echo "EXTRA=$EXTRA" >&2
exit 65
)");
  auto enrollment = Enroll({{"command", script},
                            {"args", {"-config", "ca host\\CA", "$HOME"}},
                            {"env", {{"EXTRA", "extra value"}}}},
                           Request());
  ASSERT_FALSE(enrollment);
  const Error& e = enrollment.error();
  EXPECT_FALSE(e.retryable());
  EXPECT_EQ(e.code(), "CertificateRequestRefused");
  EXPECT_THAT(e.message(),
              AllOf(HasSubstr("refused"), HasSubstr("stdin=-----BEGIN CERTIFICATE REQUEST-----"),
                    HasSubstr("args=-config ca host\\CA $HOME"), HasSubstr("VAULT=prod"),
                    HasSubstr("CERTIFICATE=app-cert"), HasSubstr("ISSUER=corp-ca"),
                    HasSubstr("TEMPLATE=WebServer"),
                    HasSubstr("REQUEST_ID=0123456789abcdef0123456789abcdef"),
                    HasSubstr("JOB_ID=fedcba9876543210fedcba9876543210"),
                    HasSubstr("NOT_BEFORE=" + std::to_string(kNow)),
                    HasSubstr("NOT_AFTER=" + std::to_string(kNow + 30 * 86400 + 60)),
                    HasSubstr("VALIDITY_DAYS=31"), HasSubstr("EXTRA=extra value")));
}

TEST_F(CommandIssuerTest, NonZeroExitIsRetryableWithStderrNotStdout) {
  const std::string script =
      Script("fail.sh",
             "cat >/dev/null\necho 'stdout-only text'\necho 'CA unreachable' >&2\n"
             "exit 3\n");
  auto enrollment = Enroll({{"command", script}}, Request());
  ASSERT_FALSE(enrollment);
  EXPECT_TRUE(enrollment.error().retryable());
  EXPECT_EQ(enrollment.error().code(), "IssuerCommandFailed");
  EXPECT_THAT(enrollment.error().message(),
              AllOf(HasSubstr(script), HasSubstr("status 3"), HasSubstr("CA unreachable"),
                    Not(HasSubstr("stdout-only"))));
}

TEST_F(CommandIssuerTest, StderrIsCutToItsEndAndMadePrintable) {
  const std::string script = Script("noisy.sh", R"(i=0
while [ $i -lt 2000 ]; do echo "noise line $i" >&2; i=$((i+1)); done
printf 'bad \001 byte \377 and caf\303\251\r\nlast line\n' >&2
exit 1
)");
  auto enrollment = Enroll({{"command", script}}, Request());
  ASSERT_FALSE(enrollment);
  const std::string& m = enrollment.error().message();
  EXPECT_LT(m.size(), 2300u);
  EXPECT_THAT(m, AllOf(HasSubstr("noise line 1999; bad ? byte ? and caf\xc3\xa9; last line"),
                       Not(HasSubstr("noise line 1;")), HasSubstr(": ...")));
}

TEST_F(CommandIssuerTest, TimeoutIsRetryableAndNamesTheLimit) {
  const std::string script = Script("slow.sh", "echo waiting >&2\nsleep 30\n");
  auto enrollment = Enroll({{"command", script}, {"timeout", "PT1S"}}, Request());
  ASSERT_FALSE(enrollment);
  EXPECT_TRUE(enrollment.error().retryable());
  EXPECT_EQ(enrollment.error().code(), "IssuerCommandTimedOut");
  EXPECT_THAT(enrollment.error().message(),
              AllOf(HasSubstr("within 1 s"), HasSubstr("PT1S"), HasSubstr("waiting")));
}

TEST_F(CommandIssuerTest, TheAttemptDeadlineBoundsTheRun) {
  const std::string script = Script("slow.sh", "sleep 30\n");
  EnrollRequest request = Request();
  request.deadline = kNow + 1;
  auto enrollment = Enroll({{"command", script}}, request);
  ASSERT_FALSE(enrollment);
  EXPECT_TRUE(enrollment.error().retryable());
  EXPECT_THAT(enrollment.error().message(), HasSubstr("the attempt's deadline"));

  request.deadline = kNow;  // already over: the command does not run
  const std::string marker = dir_.path() + "/ran";
  enrollment = Enroll({{"command", Script("touch.sh", "touch " + marker + "\n")}}, request);
  ASSERT_FALSE(enrollment);
  EXPECT_TRUE(enrollment.error().retryable());
  EXPECT_NE(::access(marker.c_str(), F_OK), 0);
}

TEST_F(CommandIssuerTest, MissingOrNonExecutableCommandIsTerminal) {
  auto enrollment = Enroll({{"command", dir_.path() + "/does-not-exist"}}, Request());
  ASSERT_FALSE(enrollment);
  EXPECT_FALSE(enrollment.error().retryable());
  EXPECT_EQ(enrollment.error().code(), "IssuerCommandNotExecutable");
  EXPECT_THAT(enrollment.error().message(), HasSubstr("does not exist"));

  const std::string plain = dir_.Write("plain.sh", "#!/bin/sh\nexit 0\n");  // mode 0644
  enrollment = Enroll({{"command", plain}}, Request());
  ASSERT_FALSE(enrollment);
  EXPECT_FALSE(enrollment.error().retryable());
  EXPECT_THAT(enrollment.error().message(), HasSubstr("not executable"));

  enrollment = Enroll({{"command", dir_.path()}}, Request());
  ASSERT_FALSE(enrollment);
  EXPECT_FALSE(enrollment.error().retryable());
  EXPECT_THAT(enrollment.error().message(), HasSubstr("not a regular file"));
}

TEST_F(CommandIssuerTest, SuccessWithoutACertificateIsTerminal) {
  auto enrollment =
      Enroll({{"command", Script("empty.sh", "echo 'request 42 is pending' >&2\n")}}, Request());
  ASSERT_FALSE(enrollment);
  EXPECT_FALSE(enrollment.error().retryable());
  EXPECT_EQ(enrollment.error().code(), "IssuerCommandBadOutput");
  EXPECT_THAT(enrollment.error().message(),
              AllOf(HasSubstr("no PEM certificate"), HasSubstr("request 42 is pending")));

  enrollment = Enroll({{"command", Script("bad.sh",
                                          "printf -- '-----BEGIN CERTIFICATE-----\\n"
                                          "AAAA\\n-----END CERTIFICATE-----\\n'\n")}},
                      Request());
  ASSERT_FALSE(enrollment);
  EXPECT_FALSE(enrollment.error().retryable());
  EXPECT_EQ(enrollment.error().code(), "IssuerCommandBadOutput");
}

TEST_F(CommandIssuerTest, ValidatesSettings) {
  const std::string cmd = "/usr/bin/certreq-wrapper";  // need not exist yet
  EXPECT_TRUE(provider_->Validate(IssuerWith({{"command", cmd}})));
  EXPECT_TRUE(provider_->Validate(IssuerWith({{"command", cmd},
                                              {"args", {"-a", "b"}},
                                              {"timeout", "PT10M"},
                                              {"env", {{"CA_HOST", "ca01"}, {"_x1", ""}}}})));

  const std::vector<std::pair<json, std::string>> bad = {
      {json::object(), "'settings.command' is required"},
      {{{"command", "certreq"}}, "'settings.command' must be an absolute path"},
      {{{"command", 5}}, "'settings.command' must be a string"},
      {{{"command", cmd}, {"args", "-a"}}, "'settings.args'"},
      {{{"command", cmd}, {"args", {"-a", 1}}}, "'settings.args'"},
      {{{"command", cmd}, {"timeout", "2 minutes"}}, "'settings.timeout'"},
      {{{"command", cmd}, {"timeout", 120}}, "'settings.timeout'"},
      {{{"command", cmd}, {"timeout", "P2D"}}, "'settings.timeout'"},
      {{{"command", cmd}, {"env", {{"CERTVAULT_VAULT", "x"}}}}, "'settings.env.CERTVAULT_VAULT'"},
      {{{"command", cmd}, {"env", {{"A", 1}}}}, "'settings.env.A'"},
      {{{"command", cmd}, {"env", {{"A-B", "x"}}}}, "'settings.env'"},
      {{{"command", cmd}, {"env", json::array()}}, "'settings.env'"},
      {{{"command", cmd}, {"timout", "PT1M"}}, "'settings.timout'"},
      {json::array(), "'settings' must be a JSON object"},
  };
  for (const auto& [settings, message] : bad) {
    auto status = provider_->Validate(IssuerWith(settings));
    ASSERT_FALSE(status) << settings.dump();
    EXPECT_EQ(status.error().code(), "BadParameter");
    EXPECT_THAT(status.error().message(), HasSubstr(message)) << settings.dump();
    EXPECT_FALSE(provider_->Build(IssuerWith(settings), "")) << settings.dump();
  }
  model::Issuer not_json = IssuerWith(json::object());
  not_json.settings = "{command:";
  EXPECT_FALSE(provider_->Validate(not_json));
}

}  // namespace
}  // namespace certvault::issuer::command
