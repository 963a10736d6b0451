#include "issuer/acme/settings.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "crypto/x509.h"
#include "issuer/acme/acme.h"
#include "issuer/acme/http01.h"
#include "issuer/acme/order_state.h"
#include "keys/kek.h"
#include "store/store.h"

namespace certvault::issuer::acme {
namespace {

std::string FieldOf(const Result<AcmeSettings>& r) {
  if (r) return "(ok)";
  EXPECT_EQ(r.error().code(), "BadParameter");
  const std::string& m = r.error().message();
  return m.substr(0, m.find(':'));
}

TEST(AcmeSettingsTest, ParsesEveryMember) {
  auto s = ParseAcmeSettings(R"({"directory_url":"https://ca.test/dir","ca_bundle":"/dev/null",
      "contact":["mailto:a@example.test","b@example.test"],"terms_of_service_agreed":false,
      "challenge":"dns-01","dns_hook":"/bin/true","dns_hook_timeout":"PT10S",
      "dns_propagation_wait":"PT1M","poll_interval":"PT5S","max_wait":"PT0S"})");
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->directory_url, "https://ca.test/dir");
  EXPECT_EQ(s->ca_bundle, "/dev/null");
  EXPECT_EQ(s->contact,
            (std::vector<std::string>{"mailto:a@example.test", "mailto:b@example.test"}));
  EXPECT_FALSE(s->terms_of_service_agreed);
  EXPECT_EQ(s->challenge, ChallengeType::kDns01);
  EXPECT_EQ(s->dns_hook, "/bin/true");
  EXPECT_EQ(s->dns_hook_timeout, 10);
  EXPECT_EQ(s->dns_propagation_wait, 60);
  EXPECT_EQ(s->poll_interval, 5);
  EXPECT_EQ(s->max_wait, 0);
}

TEST(AcmeSettingsTest, Defaults) {
  auto s = ParseAcmeSettings(R"({"directory_url":"https://ca.test/dir"})");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->challenge, ChallengeType::kHttp01);
  EXPECT_TRUE(s->terms_of_service_agreed);
  EXPECT_EQ(s->poll_interval, 2);
  EXPECT_EQ(s->max_wait, 15);
}

TEST(AcmeSettingsTest, NamesTheWrongMember) {
  EXPECT_EQ(FieldOf(ParseAcmeSettings("[]")), "settings");
  EXPECT_EQ(FieldOf(ParseAcmeSettings("{}")), "settings.directory_url");
  EXPECT_EQ(FieldOf(ParseAcmeSettings(R"({"directory_url":"http://ca.test/dir"})")),
            "settings.directory_url");
  EXPECT_EQ(FieldOf(ParseAcmeSettings(R"({"directory_url":"https://c/d","directory":"x"})")),
            "settings.directory");
  EXPECT_EQ(FieldOf(ParseAcmeSettings(R"({"directory_url":"https://c/d","challenge":"tls"})")),
            "settings.challenge");
  EXPECT_EQ(FieldOf(ParseAcmeSettings(R"({"directory_url":"https://c/d","challenge":"dns-01"})")),
            "settings.dns_hook");
  EXPECT_EQ(
      FieldOf(ParseAcmeSettings(
          R"({"directory_url":"https://c/d","challenge":"dns-01","dns_hook":"/etc/passwd"})")),
      "settings.dns_hook");
  EXPECT_EQ(FieldOf(ParseAcmeSettings(R"({"directory_url":"https://c/d","poll_interval":"2s"})")),
            "settings.poll_interval");
  EXPECT_EQ(FieldOf(ParseAcmeSettings(R"({"directory_url":"https://c/d","max_wait":"PT1H"})")),
            "settings.max_wait");
  EXPECT_EQ(FieldOf(ParseAcmeSettings(R"({"directory_url":"https://c/d","contact":"a@b"})")),
            "settings.contact");
  EXPECT_EQ(FieldOf(ParseAcmeSettings(R"({"directory_url":"https://c/d","contact":["nobody"]})")),
            "settings.contact");
  EXPECT_EQ(FieldOf(ParseAcmeSettings(R"({"directory_url":"https://c/d","ca_bundle":"/nope"})")),
            "settings.ca_bundle");
}

TEST(AcmeProviderTest, ValidatesSettingsAndCredentials) {
  SystemClock clock;
  auto store = store::NewMemoryStore();
  auto kek = keys::NewKekFromBytes(std::string(32, 'k'));
  ProviderContext ctx;
  ctx.clock = &clock;
  ctx.store = store.get();
  ctx.kek = kek.get();
  model::Issuer issuer;
  issuer.vault = "v";
  issuer.name = "le";
  issuer.provider = "acme";
  issuer.settings = R"({"directory_url":"https://ca.test/dir"})";

  // http-01 needs the listener.
  auto without_listener = NewAcmeProvider(ctx, nullptr);
  auto refused = without_listener->Validate(issuer);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message().rfind("settings.challenge:", 0), 0u);
  EXPECT_FALSE(without_listener->Build(issuer, ""));

  Http01Responder responder;
  auto provider = NewAcmeProvider(ctx, &responder);
  EXPECT_TRUE(provider->Validate(issuer));
  EXPECT_TRUE(provider->Build(issuer, ""));
  issuer.account_id = "kid-1";
  auto no_key = provider->Build(issuer, "");
  ASSERT_FALSE(no_key);
  EXPECT_EQ(no_key.error().message().rfind("credentials.pwd:", 0), 0u);
  EXPECT_FALSE(provider->Build(issuer, "not base64url!"));
  EXPECT_TRUE(
      provider->Build(issuer, "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"));
}

TEST(AcmeProviderTest, RunsOnlyHooksInsideTheCommandsDirectory) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("cv-acme-hooks-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir / "commands");
  const std::string hook = (dir / "commands" / "hook.sh").string();
  std::ofstream(hook) << "#!/bin/sh\nexit 0\n";
  std::filesystem::permissions(hook, std::filesystem::perms::owner_all);
  std::filesystem::create_symlink("/bin/true", dir / "commands" / "escape");

  SystemClock clock;
  auto store = store::NewMemoryStore();
  auto kek = keys::NewKekFromBytes(std::string(32, 'k'));
  ProviderContext ctx;
  ctx.clock = &clock;
  ctx.store = store.get();
  ctx.kek = kek.get();
  ctx.commands_dir = (dir / "commands").string() + "/";
  auto provider = NewAcmeProvider(ctx, nullptr);
  model::Issuer issuer;
  auto with_hook = [&issuer](const std::string& path) -> model::Issuer& {
    issuer.settings =
        R"({"directory_url":"https://ca.test/dir","challenge":"dns-01","dns_hook":")" + path +
        "\"}";
    return issuer;
  };
  EXPECT_TRUE(provider->Validate(with_hook(hook)));
  EXPECT_TRUE(provider->Build(with_hook(hook), ""));
  for (const std::string& outside :
       {std::string("/bin/true"), (dir / "commands" / ".." / "commands" / "hook.sh").string(),
        (dir / "commands" / "escape").string()}) {
    auto refused = provider->Validate(with_hook(outside));
    ASSERT_FALSE(refused) << outside;
    EXPECT_EQ(refused.error().message().rfind("settings.dns_hook:", 0), 0u) << outside;
  }
  std::filesystem::remove_all(dir);
}

TEST(AcmeProviderTest, RefusesCsrsWithNamesAcmeCannotValidate) {
  SystemClock clock;
  auto store = store::NewMemoryStore();
  auto kek = keys::NewKekFromBytes(std::string(32, 'k'));
  ProviderContext ctx;
  ctx.clock = &clock;
  ctx.store = store.get();
  ctx.kek = kek.get();
  Http01Responder responder;
  model::Issuer issuer;
  issuer.vault = "v";
  issuer.name = "le";
  issuer.settings = R"({"directory_url":"https://127.0.0.1:1/dir"})";
  auto built = NewAcmeProvider(ctx, &responder)->Build(issuer, "");
  ASSERT_TRUE(built);
  auto key = crypto::PrivateKey::Generate({crypto::KeyKind::kEc, 0, "P-256"});
  ASSERT_TRUE(key);

  crypto::CertificateSpec with_email;
  with_email.subject = "CN=app.example.test";
  with_email.sans.emails = {"ops@example.test"};
  EnrollRequest request;
  request.csr_der = *crypto::BuildCsrDer(*key, with_email);
  auto refused = (*built)->Enroll(request);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), "BadParameter");

  crypto::CertificateSpec nameless;
  nameless.subject = "O=Example";
  request.csr_der = *crypto::BuildCsrDer(*key, nameless);
  refused = (*built)->Enroll(request);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), "BadParameter");

  // A reachable name but no CA: retryable.
  crypto::CertificateSpec fine;
  fine.subject = "CN=app.example.test";
  request.csr_der = *crypto::BuildCsrDer(*key, fine);
  auto down = (*built)->Enroll(request);
  ASSERT_FALSE(down);
  EXPECT_TRUE(down.error().retryable()) << down.error().message();
}

TEST(AcmeOrderStateTest, RoundTrips) {
  OrderState s;
  s.step = "authorize";
  s.directory_url = "https://ca/dir";
  s.account_url = "https://ca/acct/1";
  s.csr_sha256 = "ab";
  s.order_url = "https://ca/order/1";
  s.authorizations = {"https://ca/authz/1", "https://ca/authz/2"};
  s.finalize_url = "https://ca/finalize/1";
  s.http_tokens = {"t1"};
  s.dns_records = {{"example.test", "v1", 1700000000, false}, {"b.test", "v2", 0, true}};
  auto back = DecodeOrderState(EncodeOrderState(s));
  ASSERT_TRUE(back);
  EXPECT_EQ(EncodeOrderState(*back), EncodeOrderState(s));
  EXPECT_EQ(back->dns_records[0].added, 1700000000);
  EXPECT_TRUE(back->dns_records[1].removed);
  EXPECT_FALSE(DecodeOrderState("{}"));
  EXPECT_FALSE(DecodeOrderState("not json"));
  EXPECT_FALSE(DecodeOrderState(R"({"v":1,"dns_records":[{"value":"x"}]})"));
}

}  // namespace
}  // namespace certvault::issuer::acme
