#include "issuer/internal_ca/internal_ca.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/clock.h"
#include "crypto/encoding.h"
#include "crypto/testing/test_util.h"
#include "issuer/internal_ca/ca.h"
#include "issuer/internal_ca/publish.h"
#include "issuer/internal_ca/settings.h"
#include "keys/kek.h"
#include "store/store.h"

namespace certvault::issuer::internal_ca {
namespace {

using crypto::test_util::EcKey;
using crypto::test_util::RsaKey;
using crypto::test_util::TestKey;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr int64_t kStart = 1767225600;  // 2026-01-01
constexpr int64_t kDay = 86400;
constexpr char kBaseUrl[] = "https://certvault.test:8443/";

constexpr char kWebSettings[] = R"({
  "templates": {
    "web": {
      "key_types": ["RSA-2048", "EC-P256"],
      "key_usage": ["digitalSignature", "keyEncipherment"],
      "ekus": ["1.3.6.1.5.5.7.3.1"],
      "max_validity": "P90D",
      "dns_names": ["*.example.test", "example.test"],
      "san_kinds": ["dns", "ip"]
    }
  },
  "default_template": "web"
})";

// --- OpenSSL views of what the CA produced ---

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
  void operator()(X509_CRL* c) const { X509_CRL_free(c); }
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
  void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }
};
template <typename T>
using Owned = std::unique_ptr<T, X509Free>;

Owned<X509_CRL> ParseCrl(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  return Owned<X509_CRL>(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
}

int64_t CrlNumber(X509_CRL* crl) {
  auto* n = static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl, NID_crl_number, nullptr, nullptr));
  const int64_t number = n == nullptr ? -1 : ASN1_INTEGER_get(n);
  ASN1_INTEGER_free(n);
  return number;
}

int64_t ThisUpdate(X509_CRL* crl) {
  struct tm tm = {};
  ASN1_TIME_to_tm(X509_CRL_get0_lastUpdate(crl), &tm);
  return static_cast<int64_t>(timegm(&tm));
}

// Serial (lower-case hex) -> reason code, -1 for none.
std::map<std::string, int> CrlEntries(X509_CRL* crl) {
  std::map<std::string, int> out;
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl);
  for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
    X509_REVOKED* r = sk_X509_REVOKED_value(revoked, i);
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(r), nullptr);
    char* hex = BN_bn2hex(bn);
    std::string serial = hex;
    OPENSSL_free(hex);
    BN_free(bn);
    for (char& c : serial) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto* code = static_cast<ASN1_ENUMERATED*>(
        X509_REVOKED_get_ext_d2i(r, NID_crl_reason, nullptr, nullptr));
    out[serial] = code == nullptr ? -1 : static_cast<int>(ASN1_ENUMERATED_get(code));
    ASN1_ENUMERATED_free(code);
  }
  return out;
}

std::vector<std::string> CrlDistributionPoints(const crypto::Certificate& cert) {
  std::vector<std::string> urls;
  auto* points = static_cast<CRL_DIST_POINTS*>(
      X509_get_ext_d2i(cert.get(), NID_crl_distribution_points, nullptr, nullptr));
  for (int i = 0; points != nullptr && i < sk_DIST_POINT_num(points); ++i) {
    const GENERAL_NAMES* names = sk_DIST_POINT_value(points, i)->distpoint->name.fullname;
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      const ASN1_IA5STRING* uri = sk_GENERAL_NAME_value(names, j)->d.uniformResourceIdentifier;
      urls.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                        static_cast<size_t>(ASN1_STRING_length(uri)));
    }
  }
  CRL_DIST_POINTS_free(points);
  return urls;
}

// Verifies `chain` (DER, leaf first, root last) as a relying party trusting only the root, at
// time `at`, with CRL checking of the leaf when `crl_der` is given. Returns the X509_V_ code.
int Verify(const std::vector<std::string>& chain, int64_t at, const std::string& crl_der = "") {
  std::vector<crypto::Certificate> certs;
  for (const auto& der : chain) certs.push_back(*crypto::Certificate::FromDer(der));
  Owned<X509_STORE> store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), certs.back().get());
  Owned<X509_CRL> crl;
  if (!crl_der.empty()) {
    crl = ParseCrl(crl_der);
    X509_STORE_add_crl(store.get(), crl.get());
  }
  Owned<STACK_OF(X509)> untrusted(sk_X509_new_null());
  for (size_t i = 1; i + 1 < certs.size(); ++i) sk_X509_push(untrusted.get(), certs[i].get());
  Owned<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), certs.front().get(), untrusted.get());
  if (!crl_der.empty()) X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_CRL_CHECK);
  X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(at));
  X509_verify_cert(ctx.get());
  ERR_clear_error();
  return X509_STORE_CTX_get_error(ctx.get());
}

// --- Fixture: a server with a built-in root, as server/bootstrap.cc leaves it ---

class InternalCaTest : public ::testing::Test {
 protected:
  InternalCaTest()
      : clock_(kStart),
        store_(store::NewMemoryStore()),
        kek_(keys::NewKekFromBytes(std::string(32, 'k'))) {
    ctx_.clock = &clock_;
    ctx_.store = store_.get();
    ctx_.kek = kek_.get();
    ctx_.public_base_url = kBaseUrl;
    provider_ = NewInternalCaProvider(ctx_);

    const crypto::PrivateKey& root_key = TestKey(crypto::KeyKind::kEc, 0, "P-384");
    crypto::IssueRequest req{crypto::CertificateSpec{}, root_key.Public(), kStart - 300,
                             kStart + 10 * 365 * kDay};
    req.spec.subject = "CN=certvault root CA test, O=certvault";
    req.spec.key_usage = {"keyCertSign", "cRLSign", "digitalSignature"};
    req.spec.is_ca = true;
    root_ = *crypto::IssueCertificate(req, std::nullopt, root_key);
    auto txn = *store_->BeginWrite();
    EXPECT_TRUE(txn->PutSetting("ca_key", *kek_->Seal(root_key.ToPkcs8Der(), "setting/ca_key")));
    EXPECT_TRUE(txn->PutSetting("ca_cert", root_->ToDer()));
    EXPECT_TRUE(txn->Commit());
  }

  std::shared_ptr<Issuer> Build(const std::string& settings, const std::string& password = "",
                                const std::string& name = "ca") {
    model::Issuer issuer;
    issuer.vault = "default";
    issuer.name = name;
    issuer.provider = "internal";
    issuer.settings = settings;
    EXPECT_TRUE(provider_->Validate(issuer));
    auto built = provider_->Build(issuer, password);
    EXPECT_TRUE(built) << built.error().message();
    return built ? *built : nullptr;
  }

  static EnrollRequest Request(const crypto::CertificateSpec& spec, const std::string& cty = "",
                               const crypto::PrivateKey& key = EcKey(), int64_t validity = 0) {
    EnrollRequest r;
    r.vault = "default";
    r.certificate = "web";
    r.request_id = crypto::NewId();
    r.job_id = crypto::NewId();
    r.csr_der = *crypto::BuildCsrDer(key, spec);
    r.policy.issuer.name = "ca";
    r.policy.issuer.cty = cty;
    r.not_before = kStart;
    r.not_after = validity == 0 ? 0 : kStart + validity;
    return r;
  }

  static crypto::CertificateSpec WebSpec(std::vector<std::string> dns = {"www.example.test"}) {
    crypto::CertificateSpec spec;
    spec.subject = "CN=" + dns.front();
    spec.sans.dns_names = std::move(dns);
    spec.key_usage = {"keyAgreement"};
    spec.ekus = {"1.3.6.1.5.5.7.3.2"};
    return spec;
  }

  static model::CertificateVersion Version(const std::vector<std::string>& chain,
                                           const std::string& name = "web") {
    model::CertificateVersion v;
    v.vault = "default";
    v.name = name;
    v.version = crypto::NewId();
    v.cer = chain.front();
    v.chain.assign(chain.begin() + 1, chain.end());
    return v;
  }

  static Revoker& AsRevoker(const std::shared_ptr<Issuer>& issuer) {
    return *dynamic_cast<Revoker*>(issuer.get());
  }

  std::vector<model::Revocation> Revocations(const std::string& ca) {
    return *(*store_->BeginRead())->ListRevocations(ca);
  }

  FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<keys::KeyProtector> kek_;
  ProviderContext ctx_;
  std::unique_ptr<Provider> provider_;
  std::optional<crypto::Certificate> root_;
};

TEST_F(InternalCaTest, IssuesWithinTheTemplate) {
  auto issuer = Build(kWebSettings);
  auto enrolled = issuer->Enroll(Request(WebSpec(), "web", RsaKey(), 365 * kDay));
  ASSERT_TRUE(enrolled) << enrolled.error().message();
  ASSERT_THAT(enrolled->chain, SizeIs(3));
  EXPECT_EQ(enrolled->check_after, 0);
  EXPECT_FALSE(enrolled->external);

  const auto leaf = *crypto::Certificate::FromDer(enrolled->chain[0]);
  const auto intermediate = *crypto::Certificate::FromDer(enrolled->chain[1]);
  EXPECT_EQ(enrolled->chain[2], root_->ToDer());
  EXPECT_TRUE(leaf.MatchesKey(RsaKey()));
  EXPECT_EQ(leaf.Subject(), "CN=www.example.test");
  EXPECT_THAT(leaf.Sans().dns_names, ElementsAre("www.example.test"));
  // Key usage and EKUs come from the template, not from the CSR.
  EXPECT_THAT(leaf.KeyUsage(), ElementsAre("digitalSignature", "keyEncipherment"));
  EXPECT_THAT(leaf.Ekus(), ElementsAre("1.3.6.1.5.5.7.3.1"));
  EXPECT_FALSE(leaf.IsCa());
  // A year was asked for; the template allows 90 days.
  EXPECT_EQ(leaf.NotBefore(), kStart);
  EXPECT_EQ(leaf.NotAfter(), kStart + 90 * kDay);
  EXPECT_THAT(CrlDistributionPoints(leaf),
              ElementsAre("https://certvault.test:8443/pki/default/crl"));

  EXPECT_TRUE(leaf.IsIssuedBy(intermediate));
  EXPECT_TRUE(intermediate.IsIssuedBy(*root_));
  EXPECT_TRUE(intermediate.IsCa());
  EXPECT_THAT(intermediate.Subject(), HasSubstr("CN=certvault Issuing CA "));
  EXPECT_EQ(Verify(enrolled->chain, kStart + kDay), X509_V_OK);
}

TEST_F(InternalCaTest, WithoutTemplatesThePermissiveDefaultApplies) {
  auto issuer = Build("{}");
  crypto::CertificateSpec spec = WebSpec({"*.anything.example.org"});
  spec.sans.emails = {"ops@example.org"};
  auto enrolled = issuer->Enroll(Request(spec, "", EcKey(), 2 * 365 * kDay));
  ASSERT_TRUE(enrolled) << enrolled.error().message();
  const auto leaf = *crypto::Certificate::FromDer(enrolled->chain[0]);
  EXPECT_THAT(leaf.KeyUsage(), ElementsAre("keyAgreement"));
  EXPECT_THAT(leaf.Ekus(), ElementsAre("1.3.6.1.5.5.7.3.2"));
  EXPECT_EQ(leaf.NotAfter(), kStart + kDefaultMaxValidity);
  EXPECT_EQ(Verify(enrolled->chain, kStart + kDay), X509_V_OK);
}

TEST_F(InternalCaTest, RefusesOutsideTheTemplateWithTheReason) {
  auto issuer = Build(kWebSettings);
  const struct {
    EnrollRequest request;
    std::string message;
  } cases[] = {
      {Request(WebSpec({"www.example.test", "evil.com"}), "web"),
       "template web: DNS name evil.com is not allowed (allowed: *.example.test, example.test)"},
      {Request(WebSpec(), "web", TestKey(crypto::KeyKind::kEc, 0, "P-384")),
       "template web: key type EC-P384 is not allowed (allowed: RSA-2048, EC-P256)"},
      {Request(WebSpec({"*.example.test"}), "web"),
       "template web: DNS name *.example.test is a wildcard name"},
      {Request(WebSpec(), "mail"), "template mail is not defined (templates: web)"},
  };
  for (const auto& c : cases) {
    auto enrolled = issuer->Enroll(c.request);
    ASSERT_FALSE(enrolled) << c.message;
    EXPECT_EQ(enrolled.error().code(), "CertificateRequestRefused");
    EXPECT_FALSE(enrolled.error().retryable());
    EXPECT_THAT(enrolled.error().message(), HasSubstr(c.message));
  }
  EnrollRequest ip = Request(WebSpec(), "");  // the default template
  crypto::CertificateSpec with_email = WebSpec();
  with_email.sans.emails = {"a@example.test"};
  ip.csr_der = *crypto::BuildCsrDer(EcKey(), with_email);
  auto refused = issuer->Enroll(ip);
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message(), HasSubstr("template web: email subject alternative"));

  EnrollRequest garbage = Request(WebSpec(), "web");
  garbage.csr_der = "not a CSR";
  auto bad = issuer->Enroll(garbage);
  ASSERT_FALSE(bad);
  EXPECT_FALSE(bad.error().retryable());
  EXPECT_THAT(bad.error().message(), HasSubstr("the certificate request"));
}

TEST_F(InternalCaTest, OneIssuingCaForAllIssuersEvenWhenMadeConcurrently) {
  std::vector<std::shared_ptr<Issuer>> issuers;
  for (int i = 0; i < 4; ++i) issuers.push_back(Build("{}", "", "ca" + std::to_string(i)));
  std::vector<std::string> intermediates(issuers.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < issuers.size(); ++i) {
    threads.emplace_back([&, i] {
      auto enrolled = issuers[i]->Enroll(Request(WebSpec()));
      if (enrolled) intermediates[i] = enrolled->chain[1];
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& der : intermediates) {
    ASSERT_FALSE(der.empty());
    EXPECT_EQ(der, intermediates.front());
  }
  EXPECT_EQ(*CaCertificateFor(ctx_, "default"), intermediates.front());
  auto txn = *store_->BeginRead();
  EXPECT_EQ(**txn->GetSetting("internal_ca/default/cert"), intermediates.front());
}

TEST_F(InternalCaTest, NoCrlDistributionPointWithoutAPublicUrl) {
  ctx_.public_base_url.clear();
  provider_ = NewInternalCaProvider(ctx_);
  auto enrolled = Build("{}")->Enroll(Request(WebSpec()));
  ASSERT_TRUE(enrolled) << enrolled.error().message();
  EXPECT_THAT(CrlDistributionPoints(*crypto::Certificate::FromDer(enrolled->chain[0])), SizeIs(0));
}

TEST_F(InternalCaTest, RevokedCertificatesAreListedInTheSignedCrl) {
  auto issuer = Build(kWebSettings);
  auto first = issuer->Enroll(Request(WebSpec(), "web"));
  auto second = issuer->Enroll(Request(WebSpec({"api.example.test"}), "web"));
  ASSERT_TRUE(first && second);
  const auto leaf1 = *crypto::Certificate::FromDer(first->chain[0]);
  const auto leaf2 = *crypto::Certificate::FromDer(second->chain[0]);
  const auto intermediate = *crypto::Certificate::FromDer(first->chain[1]);

  auto empty = CrlFor(ctx_, "default");
  ASSERT_TRUE(empty) << empty.error().message();
  EXPECT_TRUE(CrlEntries(ParseCrl(*empty).get()).empty());
  EXPECT_EQ(CrlNumber(ParseCrl(*empty).get()), 1);

  clock_.Advance(60);
  const model::CertificateVersion v1 = Version(first->chain);
  ASSERT_TRUE(AsRevoker(issuer).Revoke(v1, "KeyCompromise"));
  auto revocations = Revocations("default");
  ASSERT_THAT(revocations, SizeIs(1));
  EXPECT_EQ(revocations[0].serial, leaf1.SerialHex());
  EXPECT_EQ(revocations[0].reason, "keyCompromise");
  EXPECT_EQ(revocations[0].revoked, kStart + 60);
  EXPECT_EQ(revocations[0].vault, "default");
  EXPECT_EQ(revocations[0].name, "web");
  EXPECT_EQ(revocations[0].version, v1.version);

  auto der = CrlFor(ctx_, "default");
  ASSERT_TRUE(der) << der.error().message();
  auto crl = ParseCrl(*der);
  ASSERT_TRUE(crl);
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(intermediate.get())), 1);
  EXPECT_EQ(
      X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(intermediate.get())), 0);
  EXPECT_EQ(CrlNumber(crl.get()), 2);
  EXPECT_EQ(ThisUpdate(crl.get()), kStart + 60);
  EXPECT_EQ(CrlEntries(crl.get()),
            (std::map<std::string, int>{{leaf1.SerialHex(), CRL_REASON_KEY_COMPROMISE}}));

  // What a relying party concludes.
  EXPECT_EQ(Verify(first->chain, kStart + 120, *der), X509_V_ERR_CERT_REVOKED);
  EXPECT_EQ(Verify(second->chain, kStart + 120, *der), X509_V_OK);

  // Unchanged: the same CRL is served; after a revocation, a new one with the next number.
  EXPECT_EQ(*CrlFor(ctx_, "default"), *der);
  ASSERT_TRUE(AsRevoker(issuer).Revoke(Version(second->chain, "api"), ""));
  auto both = ParseCrl(*CrlFor(ctx_, "default"));
  EXPECT_EQ(CrlNumber(both.get()), 3);
  EXPECT_EQ(CrlEntries(both.get()),
            (std::map<std::string, int>{{leaf1.SerialHex(), CRL_REASON_KEY_COMPROMISE},
                                        {leaf2.SerialHex(), -1}}));

  // An hour on, it is signed again even without changes.
  clock_.Advance(kCrlRefresh);
  auto refreshed = ParseCrl(*CrlFor(ctx_, "default"));
  EXPECT_EQ(CrlNumber(refreshed.get()), 4);
  EXPECT_EQ(ThisUpdate(refreshed.get()), clock_.NowUnix());
}

TEST_F(InternalCaTest, RevokingAgainKeepsTheDateAndUpdatesTheReason) {
  auto issuer = Build("{}");
  auto enrolled = issuer->Enroll(Request(WebSpec()));
  ASSERT_TRUE(enrolled);
  const model::CertificateVersion v = Version(enrolled->chain);
  ASSERT_TRUE(AsRevoker(issuer).Revoke(v, "superseded"));
  clock_.Advance(kDay);
  ASSERT_TRUE(AsRevoker(issuer).Revoke(v, "keyCompromise"));
  auto revocations = Revocations("default");
  ASSERT_THAT(revocations, SizeIs(1));
  EXPECT_EQ(revocations[0].revoked, kStart);
  EXPECT_EQ(revocations[0].reason, "keyCompromise");
}

TEST_F(InternalCaTest, RevokeRefusesBadReasonsAndForeignCertificates) {
  auto issuer = Build("{}");
  auto enrolled = issuer->Enroll(Request(WebSpec()));
  ASSERT_TRUE(enrolled);
  const model::CertificateVersion v = Version(enrolled->chain);

  auto unknown = AsRevoker(issuer).Revoke(v, "stolen");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), "BadParameter");
  EXPECT_THAT(unknown.error().message(), HasSubstr("unknown revocation reason \"stolen\""));
  for (const char* reason : {"certificateHold", "removeFromCRL"}) {
    auto refused = AsRevoker(issuer).Revoke(v, reason);
    ASSERT_FALSE(refused);
    EXPECT_THAT(refused.error().message(), HasSubstr("is not supported"));
  }

  model::CertificateVersion foreign = v;
  foreign.cer = crypto::test_util::SelfSigned(EcKey(), "CN=www.example.test", false).ToDer();
  auto not_ours = AsRevoker(issuer).Revoke(foreign, "superseded");
  ASSERT_FALSE(not_ours);
  EXPECT_EQ(not_ours.error().code(), "BadParameter");
  EXPECT_THAT(not_ours.error().message(), HasSubstr("was not issued by the CA of issuer ca"));

  model::CertificateVersion malformed = v;
  malformed.cer = "junk";
  EXPECT_FALSE(AsRevoker(issuer).Revoke(malformed, ""));
  EXPECT_THAT(Revocations("default"), SizeIs(0));
}

TEST_F(InternalCaTest, RevokeBeforeTheIssuingCaExistsFindsNothingToRevoke) {
  auto issuer = Build("{}");
  model::CertificateVersion v;
  v.name = "web";
  v.version = "1";
  v.cer = root_->ToDer();
  auto refused = AsRevoker(issuer).Revoke(v, "");
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message(), HasSubstr("was not issued by"));
}

TEST_F(InternalCaTest, CrlAndCaCertificateForUnknownIdsAreNotFound) {
  for (const char* id : {"0123456789abcdef", "../ca_key", "DEFAULT", ""}) {
    auto crl = CrlFor(ctx_, id);
    ASSERT_FALSE(crl) << id;
    EXPECT_EQ(crl.error().kind(), ErrorKind::kNotFound);
    EXPECT_EQ(crl.error().code(), "CertificateAuthorityNotFound");
    EXPECT_FALSE(CaCertificateFor(ctx_, id)) << id;
  }
}

TEST_F(InternalCaTest, CrlOfTheDefaultCaBeforeAnyIssuanceIsEmptyAndSigned) {
  auto der = CrlFor(ctx_, "default");
  ASSERT_TRUE(der) << der.error().message();
  auto ca = crypto::Certificate::FromDer(*CaCertificateFor(ctx_, "default"));
  ASSERT_TRUE(ca);
  EXPECT_TRUE(ca->IsIssuedBy(*root_));
  auto crl = ParseCrl(*der);
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(ca->get())), 1);
  EXPECT_TRUE(CrlEntries(crl.get()).empty());
}

// --- An imported CA ---

struct ImportedChain {
  crypto::Certificate root;
  crypto::Certificate ca;
  const crypto::PrivateKey& ca_key;
};

ImportedChain MakeImportedChain() {
  const crypto::PrivateKey& root_key = RsaKey();
  const crypto::PrivateKey& ca_key = TestKey(crypto::KeyKind::kEc, 0, "P-521");
  crypto::IssueRequest req{crypto::CertificateSpec{}, root_key.Public(), kStart - kDay,
                           kStart + 3650 * kDay};
  req.spec.subject = "CN=Corp Root, O=Corp";
  req.spec.key_usage = {"keyCertSign", "cRLSign"};
  req.spec.is_ca = true;
  auto root = *crypto::IssueCertificate(req, std::nullopt, root_key);
  req.subject_key = ca_key.Public();
  req.spec.subject = "CN=Corp Issuing CA, O=Corp";
  auto ca = *crypto::IssueCertificate(req, root, root_key);
  return {root, ca, ca_key};
}

std::string ImportSettings(const ImportedChain& chain) {
  nlohmann::json j = nlohmann::json::parse(kWebSettings);
  j["ca_certificate"] = chain.ca.ToPem() + chain.root.ToPem();
  return j.dump();
}

TEST_F(InternalCaTest, ImportedCaSignsRevokesAndPublishes) {
  const ImportedChain chain = MakeImportedChain();
  auto issuer = Build(ImportSettings(chain), chain.ca_key.ToPkcs8Pem());
  auto enrolled = issuer->Enroll(Request(WebSpec(), "web"));
  ASSERT_TRUE(enrolled) << enrolled.error().message();
  ASSERT_THAT(enrolled->chain, SizeIs(3));
  EXPECT_EQ(enrolled->chain[1], chain.ca.ToDer());
  EXPECT_EQ(enrolled->chain[2], chain.root.ToDer());
  EXPECT_EQ(Verify(enrolled->chain, kStart + kDay), X509_V_OK);

  const std::string id = ImportedCaId(chain.ca);
  EXPECT_THAT(id, SizeIs(16));
  const auto leaf = *crypto::Certificate::FromDer(enrolled->chain[0]);
  EXPECT_THAT(CrlDistributionPoints(leaf),
              ElementsAre("https://certvault.test:8443/pki/" + id + "/crl"));
  EXPECT_EQ(*CaCertificateFor(ctx_, id), chain.ca.ToDer());

  ASSERT_TRUE(AsRevoker(issuer).Revoke(Version(enrolled->chain), "cessationOfOperation"));
  EXPECT_THAT(Revocations(id), SizeIs(1));
  EXPECT_THAT(Revocations("default"), SizeIs(0));
  auto der = CrlFor(ctx_, id);
  ASSERT_TRUE(der) << der.error().message();
  auto crl = ParseCrl(*der);
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(chain.ca.get())), 1);
  EXPECT_EQ(CrlEntries(crl.get()),
            (std::map<std::string, int>{{leaf.SerialHex(), CRL_REASON_CESSATION_OF_OPERATION}}));
  EXPECT_EQ(Verify(enrolled->chain, kStart + 60, *der), X509_V_ERR_CERT_REVOKED);

  // The server's own CA did not issue it, and the imported CA did not issue the server's.
  auto builtin = Build("{}", "", "builtin");
  auto own = builtin->Enroll(Request(WebSpec()));
  ASSERT_TRUE(own);
  EXPECT_FALSE(AsRevoker(builtin).Revoke(Version(enrolled->chain), ""));
  EXPECT_FALSE(AsRevoker(issuer).Revoke(Version(own->chain), ""));
}

TEST_F(InternalCaTest, BuildChecksTheImportedKey) {
  const ImportedChain chain = MakeImportedChain();
  model::Issuer issuer;
  issuer.name = "corp";
  issuer.provider = "internal";
  issuer.settings = ImportSettings(chain);
  ASSERT_TRUE(provider_->Validate(issuer));

  auto no_key = provider_->Build(issuer, "");
  ASSERT_FALSE(no_key);
  EXPECT_THAT(no_key.error().message(), HasSubstr("credentials.pwd: an imported CA"));
  auto wrong_key = provider_->Build(issuer, EcKey().ToPkcs8Pem());
  ASSERT_FALSE(wrong_key);
  EXPECT_EQ(wrong_key.error().message(),
            "credentials.pwd: the private key does not match settings.ca_certificate");
  auto not_pem = provider_->Build(issuer, "hunter2");
  ASSERT_FALSE(not_pem);
  EXPECT_THAT(not_pem.error().message(), HasSubstr("credentials.pwd: "));
  EXPECT_THAT(not_pem.error().message(), ::testing::Not(HasSubstr("hunter2")));
}

TEST_F(InternalCaTest, ValidateRefusesBadSettingsNamingTheField) {
  model::Issuer issuer;
  issuer.name = "bad";
  issuer.provider = "internal";
  issuer.settings = R"({"templates": {"web": {"max_validity": "forever"}}})";
  auto status = provider_->Validate(issuer);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code(), "BadParameter");
  EXPECT_THAT(status.error().message(), HasSubstr("settings.templates.web.max_validity"));
  EXPECT_FALSE(provider_->Build(issuer, ""));

  issuer.settings =
      nlohmann::json{
          {"ca_certificate", crypto::test_util::SelfSigned(EcKey(), "CN=leaf", false).ToPem()}}
          .dump();
  status = provider_->Validate(issuer);
  ASSERT_FALSE(status);
  EXPECT_THAT(status.error().message(), HasSubstr("settings.ca_certificate"));
}

TEST_F(InternalCaTest, IssuingFailsWithoutTheBuiltInRoot) {
  store_ = store::NewMemoryStore();  // no ca_key, no ca_cert
  ctx_.store = store_.get();
  provider_ = NewInternalCaProvider(ctx_);
  auto enrolled = Build("{}")->Enroll(Request(WebSpec()));
  ASSERT_FALSE(enrolled);
  EXPECT_EQ(enrolled.error().kind(), ErrorKind::kInternal);
  EXPECT_THAT(enrolled.error().message(), HasSubstr("root CA is missing"));
}

}  // namespace
}  // namespace certvault::issuer::internal_ca
