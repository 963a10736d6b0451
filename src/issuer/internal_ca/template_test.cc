#include "issuer/internal_ca/template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "crypto/testing/test_util.h"
#include "issuer/internal_ca/settings.h"

namespace certvault::issuer::internal_ca {
namespace {

using crypto::test_util::EcKey;
using crypto::test_util::RsaKey;
using crypto::test_util::TestKey;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kWeb[] = R"({
  "templates": {
    "Web": {
      "key_types": ["RSA-2048", "rsa3072", "EC-P-256"],
      "key_usage": ["digitalSignature", "keyEncipherment"],
      "ekus": ["1.3.6.1.5.5.7.3.1"],
      "max_validity": "P90D",
      "dns_names": ["*.example.test", "Example.test"],
      "san_kinds": ["dns", "IP"],
      "subject_required": true
    },
    "any": {}
  },
  "default_template": "web"
})";

Settings WebSettings() {
  auto s = ParseSettings(kWeb);
  EXPECT_TRUE(s) << s.error().message();
  return *s;
}

Template WebTemplate() { return *SelectTemplate(WebSettings(), "web"); }

crypto::CsrInfo Csr(const crypto::CertificateSpec& spec, const crypto::PrivateKey& key = EcKey()) {
  auto der = crypto::BuildCsrDer(key, spec);
  EXPECT_TRUE(der) << der.error().message();
  return *crypto::ParseCsr(*der);
}

crypto::CertificateSpec Spec(const std::string& subject, std::vector<std::string> dns) {
  crypto::CertificateSpec spec;
  spec.subject = subject;
  spec.sans.dns_names = std::move(dns);
  return spec;
}

// --- Settings ---

TEST(SettingsTest, ParsesTemplatesWithCanonicalValues) {
  const Settings s = WebSettings();
  ASSERT_EQ(s.templates.size(), 2u);
  EXPECT_EQ(s.default_template, "web");
  EXPECT_TRUE(s.ca_chain.empty());
  const Template& web = s.templates.at("web");
  EXPECT_EQ(web.name, "Web");
  EXPECT_THAT(web.key_types, ElementsAre("RSA-2048", "RSA-3072", "EC-P256"));
  EXPECT_THAT(*web.key_usage, ElementsAre("digitalSignature", "keyEncipherment"));
  EXPECT_THAT(*web.ekus, ElementsAre("1.3.6.1.5.5.7.3.1"));
  EXPECT_EQ(web.max_validity, 90 * 86400);
  EXPECT_THAT(web.dns_names, ElementsAre("*.example.test", "example.test"));
  EXPECT_THAT(web.san_kinds, ElementsAre("dns", "ip"));
  EXPECT_FALSE(web.allow_wildcards);
  EXPECT_TRUE(web.subject_required);
}

TEST(SettingsTest, OmittedMembersTakeDefaults) {
  const Template any = WebSettings().templates.at("any");
  EXPECT_EQ(any.key_types.size(), 6u);
  EXPECT_FALSE(any.key_usage.has_value());
  EXPECT_FALSE(any.ekus.has_value());
  EXPECT_EQ(any.max_validity, kDefaultMaxValidity);
  EXPECT_TRUE(any.dns_names.empty());
  EXPECT_THAT(any.san_kinds, ElementsAre("dns", "ip", "email", "uri", "upn"));
  EXPECT_FALSE(any.allow_wildcards);
  EXPECT_FALSE(any.subject_required);

  auto empty = ParseSettings("{}");
  ASSERT_TRUE(empty) << empty.error().message();
  EXPECT_TRUE(empty->templates.empty());
  EXPECT_TRUE(ParseSettings(R"({"ca_certificate": ""})"));
}

TEST(SettingsTest, RefusesBadSettingsNamingTheField) {
  const struct {
    const char* json;
    const char* message;
  } cases[] = {
      {"[]", "settings: must be a JSON object"},
      {"not json", "settings: must be a JSON object"},
      {R"({"template": {}})", "settings.template: unknown member"},
      {R"({"templates": []})", "settings.templates: must be a JSON object"},
      {R"({"templates": {"w": 1}})", "settings.templates.w: must be a JSON object"},
      {R"({"templates": {"w": {"max_valid": "P1D"}}})", "settings.templates.w.max_valid: unknown"},
      {R"({"templates": {"w": {"key_types": ["RSA-1024"]}}})",
       "settings.templates.w.key_types: unknown key type \"RSA-1024\""},
      {R"({"templates": {"w": {"key_types": []}}})", "settings.templates.w.key_types: must name"},
      {R"({"templates": {"w": {"key_types": "RSA-2048"}}})",
       "settings.templates.w.key_types: must be an array of strings"},
      {R"({"templates": {"w": {"key_usage": ["keyCertSign"]}}})",
       "settings.templates.w.key_usage: keyCertSign is not allowed"},
      {R"({"templates": {"w": {"key_usage": ["signing"]}}})",
       "settings.templates.w.key_usage: unknown key usage \"signing\""},
      {R"({"templates": {"w": {"ekus": ["serverAuth"]}}})",
       "settings.templates.w.ekus: invalid extended key usage"},
      {R"({"templates": {"w": {"max_validity": "90 days"}}})",
       "settings.templates.w.max_validity: must be an ISO 8601 duration"},
      {R"({"templates": {"w": {"max_validity": 90}}})",
       "settings.templates.w.max_validity: must be an ISO 8601 duration"},
      {R"({"templates": {"w": {"max_validity": "PT30S"}}})",
       "settings.templates.w.max_validity: must be at least PT1M"},
      {R"({"templates": {"w": {"dns_names": ["*.*.example.test"]}}})",
       "settings.templates.w.dns_names: \"*.*.example.test\" is neither"},
      {R"({"templates": {"w": {"dns_names": ["a*.example.test"]}}})",
       "settings.templates.w.dns_names"},
      {R"({"templates": {"w": {"dns_names": ["two words"]}}})", "settings.templates.w.dns_names"},
      {R"({"templates": {"w": {"dns_names": []}}})",
       "settings.templates.w.dns_names: must name at least one pattern"},
      {R"({"templates": {"w": {"san_kinds": ["dns", "x400"]}}})",
       "settings.templates.w.san_kinds: unknown kind \"x400\""},
      {R"({"templates": {"w": {"allow_wildcards": "yes"}}})",
       "settings.templates.w.allow_wildcards: must be true or false"},
      {R"({"templates": {"w": {"subject_required": 1}}})",
       "settings.templates.w.subject_required: must be true or false"},
      {R"({"templates": {"w": {}, "W": {}}})", "settings.templates: two templates are named"},
      {R"({"templates": {"w": {}}, "default_template": "x"})",
       "settings.default_template: names no template"},
      {R"({"default_template": "x"})", "settings.default_template: names no template"},
      {R"({"default_template": 1})", "settings.default_template: must be a string"},
      {R"({"ca_certificate": 1})", "settings.ca_certificate: must be a PEM string"},
      {R"({"ca_certificate": "junk"})", "settings.ca_certificate: no CERTIFICATE block"},
  };
  for (const auto& c : cases) {
    auto s = ParseSettings(c.json);
    ASSERT_FALSE(s) << c.json;
    EXPECT_EQ(s.error().code(), "BadParameter") << c.json;
    EXPECT_THAT(s.error().message(), HasSubstr(c.message)) << c.json;
  }
}

TEST(SettingsTest, ImportedCaMustBeACaThatSignsCrlsAndAChainInOrder) {
  using crypto::test_util::IssuedBy;
  using crypto::test_util::SelfSigned;
  const crypto::PrivateKey& root_key = TestKey(crypto::KeyKind::kEc, 0, "P-384");
  const crypto::Certificate root = SelfSigned(root_key, "CN=Import Root", true);
  const crypto::Certificate sub = IssuedBy(EcKey(), "CN=Import Sub", root, root_key, true);
  auto with = [](const std::string& pem) {
    return ParseSettings(nlohmann::json{{"ca_certificate", pem}}.dump());
  };

  auto ok = with(sub.ToPem() + root.ToPem());
  ASSERT_TRUE(ok) << ok.error().message();
  ASSERT_EQ(ok->ca_chain.size(), 2u);
  EXPECT_EQ(ok->ca_chain[0].Subject(), "CN=Import Sub");

  auto reversed = with(root.ToPem() + sub.ToPem());
  ASSERT_FALSE(reversed);
  EXPECT_THAT(reversed.error().message(),
              HasSubstr("settings.ca_certificate: certificate 2 did not issue certificate 1"));

  auto leaf = with(IssuedBy(RsaKey(), "CN=leaf", sub, EcKey(), false).ToPem());
  ASSERT_FALSE(leaf);
  EXPECT_THAT(leaf.error().message(),
              HasSubstr("settings.ca_certificate: the first certificate (CN=leaf) is not a CA"));

  crypto::IssueRequest req{crypto::CertificateSpec{}, EcKey().Public(),
                           crypto::test_util::kNotBefore, crypto::test_util::kNotAfter};
  req.spec.subject = "CN=No CRL signing";
  req.spec.is_ca = true;
  req.spec.key_usage = {"keyCertSign"};
  auto no_crl = with(crypto::IssueCertificate(req, std::nullopt, EcKey())->ToPem());
  ASSERT_FALSE(no_crl);
  EXPECT_THAT(no_crl.error().message(), HasSubstr("key usage lacks cRLSign"));
}

// --- Choosing a template ---

TEST(SelectTemplateTest, ByNameThenDefaultThenBuiltIn) {
  const Settings s = WebSettings();
  EXPECT_EQ(SelectTemplate(s, "ANY")->name, "any");
  EXPECT_EQ(SelectTemplate(s, "")->name, "Web");

  const Settings none = *ParseSettings("{}");
  auto builtin = SelectTemplate(none, "");
  ASSERT_TRUE(builtin);
  EXPECT_EQ(builtin->name, "(built-in)");
  EXPECT_EQ(builtin->max_validity, kDefaultMaxValidity);
  EXPECT_TRUE(builtin->allow_wildcards);
  EXPECT_EQ(builtin->key_types.size(), 6u);
}

TEST(SelectTemplateTest, RefusesUnknownOrMissingTemplate) {
  auto unknown = SelectTemplate(WebSettings(), "mail");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), kRefusedCode);
  EXPECT_FALSE(unknown.error().retryable());
  EXPECT_EQ(unknown.error().message(), "template mail is not defined (templates: any, Web)");

  auto none = SelectTemplate(*ParseSettings("{}"), "web");
  ASSERT_FALSE(none);
  EXPECT_THAT(none.error().message(), HasSubstr("the issuer defines no templates"));

  auto no_default = SelectTemplate(*ParseSettings(R"({"templates": {"a": {}}})"), "");
  ASSERT_FALSE(no_default);
  EXPECT_EQ(no_default.error().code(), kRefusedCode);
  EXPECT_THAT(no_default.error().message(), HasSubstr("no default_template"));
}

// --- Names ---

TEST(DnsNameMatchesTest, WildcardCoversExactlyOneLabel) {
  EXPECT_TRUE(DnsNameMatches("*.example.test", "www.example.test"));
  EXPECT_TRUE(DnsNameMatches("*.example.test", "*.example.test"));
  EXPECT_FALSE(DnsNameMatches("*.example.test", "example.test"));
  EXPECT_FALSE(DnsNameMatches("*.example.test", "a.b.example.test"));
  EXPECT_FALSE(DnsNameMatches("*.example.test", ".example.test"));
  EXPECT_FALSE(DnsNameMatches("*.example.test", "wwwexample.test"));
  EXPECT_FALSE(DnsNameMatches("*.example.test", "www.example.test.evil"));
  EXPECT_TRUE(DnsNameMatches("example.test", "example.test"));
  EXPECT_FALSE(DnsNameMatches("example.test", "www.example.test"));
}

TEST(KeyTypeNameTest, NamesKeysAsTemplatesDo) {
  EXPECT_EQ(KeyTypeName(RsaKey().Public()), "RSA-2048");
  EXPECT_EQ(KeyTypeName(EcKey().Public()), "EC-P256");
  EXPECT_EQ(KeyTypeName(TestKey(crypto::KeyKind::kEc, 0, "P-521").Public()), "EC-P521");
}

// --- Applying a template ---

TEST(ApplyTemplateTest, TemplateSetsKeyUsageAndEkusAndKeepsNames) {
  crypto::CertificateSpec asked = Spec("CN=www.example.test, O=Example", {"www.example.test"});
  asked.sans.ip_addresses = {"10.0.0.1"};
  asked.key_usage = {"keyAgreement"};
  asked.ekus = {"1.3.6.1.5.5.7.3.2"};
  auto spec = ApplyTemplate(WebTemplate(), Csr(asked, RsaKey()));
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->subject, "CN=www.example.test, O=Example");
  EXPECT_THAT(spec->sans.dns_names, ElementsAre("www.example.test"));
  EXPECT_THAT(spec->sans.ip_addresses, ElementsAre("10.0.0.1"));
  EXPECT_THAT(spec->key_usage, ElementsAre("digitalSignature", "keyEncipherment"));
  EXPECT_THAT(spec->ekus, ElementsAre("1.3.6.1.5.5.7.3.1"));
  EXPECT_FALSE(spec->is_ca);
}

TEST(ApplyTemplateTest, WithoutTemplateValuesTheCsrsKeyUsageAndEkusStand) {
  crypto::CertificateSpec asked = Spec("CN=anything.example.org", {"*.anything.example.org"});
  asked.sans.emails = {"ops@example.org"};
  asked.key_usage = {"digitalSignature"};
  asked.ekus = {"1.3.6.1.5.5.7.3.2"};
  auto spec = ApplyTemplate(*SelectTemplate(*ParseSettings("{}"), ""), Csr(asked));
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_THAT(spec->key_usage, ElementsAre("digitalSignature"));
  EXPECT_THAT(spec->ekus, ElementsAre("1.3.6.1.5.5.7.3.2"));
  EXPECT_THAT(spec->sans.dns_names, ElementsAre("*.anything.example.org"));
}

TEST(ApplyTemplateTest, RefusesWhatTheTemplateDoesNotAllow) {
  const Template web = WebTemplate();
  const Template builtin = *SelectTemplate(*ParseSettings("{}"), "");
  auto with_san = [](crypto::CertificateSpec spec, auto set) {
    set(spec.sans);
    return spec;
  };
  crypto::CertificateSpec ca_request = Spec("CN=www.example.test", {"www.example.test"});
  ca_request.is_ca = true;
  crypto::CertificateSpec cert_sign = Spec("CN=x.example.org", {});
  cert_sign.key_usage = {"digitalSignature", "keyCertSign"};
  const crypto::CertificateSpec ok = Spec("CN=www.example.test", {"www.example.test"});

  const struct {
    const Template& tmpl;
    crypto::CsrInfo csr;
    std::string message;
  } cases[] = {
      {web, Csr(ok, TestKey(crypto::KeyKind::kEc, 0, "P-384")),
       "template Web: key type EC-P384 is not allowed (allowed: RSA-2048, RSA-3072, EC-P256)"},
      {web, Csr(Spec("CN=www.example.test", {"www.example.test", "evil.com"})),
       "template Web: DNS name evil.com is not allowed (allowed: *.example.test, example.test)"},
      {web, Csr(Spec("CN=www.example.test", {"a.b.example.test"})),
       "template Web: DNS name a.b.example.test is not allowed"},
      {web, Csr(Spec("CN=www.example.test", {"*.example.test"})),
       "template Web: DNS name *.example.test is a wildcard name, which the template does not "
       "allow"},
      {web, Csr(Spec("CN=evil.com", {"www.example.test"})),
       "template Web: subject CN evil.com is not allowed"},
      {web, Csr(with_san(ok, [](auto& s) { s.emails = {"a@example.test"}; })),
       "template Web: email subject alternative names (a@example.test) are not allowed (allowed "
       "kinds: dns, ip)"},
      {web, Csr(with_san(ok, [](auto& s) { s.uris = {"https://example.test/x"}; })),
       "template Web: uri subject alternative names"},
      {web, Csr(with_san(ok, [](auto& s) { s.upns = {"user@example.test"}; })),
       "template Web: upn subject alternative names"},
      {web, Csr(Spec("", {"www.example.test"})),
       "template Web: the request has an empty subject, and the template requires one"},
      {web, Csr(ca_request), "template Web: the request asks for a CA certificate"},
      {builtin, Csr(cert_sign), "template (built-in): key usage keyCertSign is not allowed"},
  };
  for (const auto& c : cases) {
    auto spec = ApplyTemplate(c.tmpl, c.csr);
    ASSERT_FALSE(spec) << c.message;
    EXPECT_EQ(spec.error().code(), kRefusedCode);
    EXPECT_EQ(spec.error().kind(), ErrorKind::kBadRequest);
    EXPECT_FALSE(spec.error().retryable());
    EXPECT_THAT(spec.error().message(), HasSubstr(c.message));
  }
}

TEST(ApplyTemplateTest, NamesCompareCaseInsensitivelyAndPlainCnsPass) {
  auto spec = ApplyTemplate(WebTemplate(),
                            Csr(Spec("CN=My Web Server", {"WWW.Example.Test", "example.test"})));
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_THAT(spec->sans.dns_names, ElementsAre("WWW.Example.Test", "example.test"));
}

// --- Validity ---

TEST(ValidityTest, CappedByTemplateRequestAndCa) {
  using crypto::test_util::kNotAfter;
  using crypto::test_util::kNotBefore;
  const crypto::Certificate ca =
      crypto::test_util::SelfSigned(EcKey(), "CN=Validity CA", true);  // kNotBefore..kNotAfter
  const Template web = WebTemplate();                                  // P90D
  const int64_t now = kNotBefore + 86400;

  auto capped = ValidityFor(web, now, now + 365 * 86400, now, ca);
  ASSERT_TRUE(capped) << capped.error().message();
  EXPECT_EQ(capped->not_before, now);
  EXPECT_EQ(capped->not_after, now + 90 * 86400);

  auto shorter = ValidityFor(web, now, now + 7 * 86400, now, ca);
  EXPECT_EQ(shorter->not_after, now + 7 * 86400);

  auto unset = ValidityFor(web, 0, 0, now, ca);
  EXPECT_EQ(unset->not_before, now - 300);
  EXPECT_EQ(unset->not_after, now - 300 + 90 * 86400);

  auto backdated = ValidityFor(web, now - 30 * 86400, now + 86400, now, ca);
  EXPECT_EQ(backdated->not_before, now - 86400);

  const int64_t late = kNotAfter - 10 * 86400;
  auto ca_end = ValidityFor(web, late, late + 90 * 86400, late, ca);
  EXPECT_EQ(ca_end->not_after, kNotAfter);

  auto expired = ValidityFor(web, 0, 0, kNotAfter + 1, ca);
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code(), kRefusedCode);
  EXPECT_THAT(expired.error().message(), HasSubstr("CN=Validity CA"));

  auto backwards = ValidityFor(web, now, now - 1, now, ca);
  ASSERT_FALSE(backwards);
  EXPECT_EQ(backwards.error().code(), "BadParameter");
}

}  // namespace
}  // namespace certvault::issuer::internal_ca
