#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <map>
#include <memory>

#include "crypto/encoding.h"
#include "crypto/testing/test_util.h"
#include "crypto/x509.h"

namespace certvault::crypto {
namespace {

using test_util::EcKey;
using test_util::IssuedBy;
using test_util::kNotAfter;
using test_util::kNotBefore;
using test_util::RsaKey;
using test_util::SelfSigned;
using test_util::TestKey;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct CrlDeleter {
  void operator()(X509_CRL* crl) const { X509_CRL_free(crl); }
};
using CrlPtr = std::unique_ptr<X509_CRL, CrlDeleter>;

CrlPtr ParseCrl(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  return CrlPtr(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
}

int64_t UnixTime(const ASN1_TIME* t) {
  struct tm tm = {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return -1;
  return static_cast<int64_t>(timegm(&tm));
}

std::string Serial(const ASN1_INTEGER* serial) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(serial, nullptr);
  char* hex = BN_bn2hex(bn);
  std::string out = hex;
  OPENSSL_free(hex);
  BN_free(bn);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Serial -> reason code (-1 when the entry has no reason code extension).
std::map<std::string, int> Entries(X509_CRL* crl) {
  std::map<std::string, int> out;
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl);
  for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
    X509_REVOKED* r = sk_X509_REVOKED_value(revoked, i);
    auto* code = static_cast<ASN1_ENUMERATED*>(
        X509_REVOKED_get_ext_d2i(r, NID_crl_reason, nullptr, nullptr));
    out[Serial(X509_REVOKED_get0_serialNumber(r))] =
        code == nullptr ? -1 : static_cast<int>(ASN1_ENUMERATED_get(code));
    ASN1_ENUMERATED_free(code);
  }
  return out;
}

struct Ca {
  PrivateKey key;
  Certificate cert;
};

Ca MakeCa(const PrivateKey& key) { return {key, SelfSigned(key, "CN=Test CRL CA", true)}; }

Certificate Leaf(const Ca& ca, const std::string& cn) {
  return IssuedBy(EcKey(), "CN=" + cn, ca.cert, ca.key, false);
}

TEST(CrlTest, SignedByTheIssuerWithEntriesReasonsAndExtensions) {
  for (const PrivateKey* key : {&EcKey(), &RsaKey(), &TestKey(KeyKind::kEc, 0, "P-384")}) {
    const Ca ca = MakeCa(*key);
    const Certificate a = Leaf(ca, "a");
    const Certificate b = Leaf(ca, "b");
    auto der = BuildCrl(ca.cert, ca.key,
                        {{a.SerialHex(), kNotBefore + 10, "keyCompromise"},
                         {b.SerialHex(), kNotBefore + 20, "unspecified"}},
                        kNotBefore + 100, kNotBefore + 86500, 7);
    ASSERT_TRUE(der) << der.error().message();
    CrlPtr crl = ParseCrl(*der);
    ASSERT_TRUE(crl);

    EXPECT_EQ(X509_CRL_get_version(crl.get()), X509_CRL_VERSION_2);
    EXPECT_EQ(X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(ca.cert.get())),
              0);
    EVP_PKEY* pub = X509_get0_pubkey(ca.cert.get());
    EXPECT_EQ(X509_CRL_verify(crl.get(), pub), 1);
    EXPECT_EQ(UnixTime(X509_CRL_get0_lastUpdate(crl.get())), kNotBefore + 100);
    EXPECT_EQ(UnixTime(X509_CRL_get0_nextUpdate(crl.get())), kNotBefore + 86500);

    auto* number = static_cast<ASN1_INTEGER*>(
        X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, nullptr, nullptr));
    ASSERT_NE(number, nullptr);
    EXPECT_EQ(ASN1_INTEGER_get(number), 7);
    ASN1_INTEGER_free(number);

    auto* akid = static_cast<AUTHORITY_KEYID*>(
        X509_CRL_get_ext_d2i(crl.get(), NID_authority_key_identifier, nullptr, nullptr));
    ASSERT_NE(akid, nullptr);
    ASSERT_NE(akid->keyid, nullptr);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(akid->keyid)),
                          static_cast<size_t>(ASN1_STRING_length(akid->keyid))),
              ca.cert.KeyIdentifier());
    AUTHORITY_KEYID_free(akid);

    EXPECT_EQ(Entries(crl.get()),
              (std::map<std::string, int>{{a.SerialHex(), CRL_REASON_KEY_COMPROMISE},
                                          {b.SerialHex(), -1}}));
    // Another CA's key does not verify it.
    const Ca other = MakeCa(key == &EcKey() ? RsaKey() : EcKey());
    EXPECT_NE(X509_CRL_verify(crl.get(), X509_get0_pubkey(other.cert.get())), 1);
    ERR_clear_error();
  }
}

TEST(CrlTest, EmptyCrlIsValid) {
  const Ca ca = MakeCa(EcKey());
  auto der = BuildCrl(ca.cert, ca.key, {}, kNotBefore, kNotBefore + 3600, 0);
  ASSERT_TRUE(der) << der.error().message();
  CrlPtr crl = ParseCrl(*der);
  ASSERT_TRUE(crl);
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(ca.cert.get())), 1);
  EXPECT_TRUE(Entries(crl.get()).empty());
}

// What a relying party does: verify a chain with CRL checking.
int VerifyWithCrl(const Certificate& root, const Certificate& leaf, const std::string& crl_der,
                  int64_t at) {
  CrlPtr crl = ParseCrl(crl_der);
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, root.get());
  X509_STORE_add_crl(store, crl.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf.get(), nullptr);
  X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_CRL_CHECK);
  X509_STORE_CTX_set_time(ctx, 0, static_cast<time_t>(at));
  X509_verify_cert(ctx);
  const int err = X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  ERR_clear_error();
  return err;
}

TEST(CrlTest, RelyingPartySeesTheRevocation) {
  const Ca ca = MakeCa(EcKey());
  const Certificate revoked = Leaf(ca, "revoked");
  const Certificate good = Leaf(ca, "good");
  auto der = BuildCrl(ca.cert, ca.key, {{revoked.SerialHex(), kNotBefore + 5, "superseded"}},
                      kNotBefore + 10, kNotBefore + 86400, 1);
  ASSERT_TRUE(der) << der.error().message();
  EXPECT_EQ(VerifyWithCrl(ca.cert, revoked, *der, kNotBefore + 100), X509_V_ERR_CERT_REVOKED);
  EXPECT_EQ(VerifyWithCrl(ca.cert, good, *der, kNotBefore + 100), X509_V_OK);
}

TEST(CrlTest, OpensslCommandReadsIt) {
  if (!test_util::HaveOpensslCommand()) GTEST_SKIP() << "no openssl command";
  const Ca ca = MakeCa(EcKey());
  const Certificate leaf = Leaf(ca, "leaf");
  auto der = BuildCrl(ca.cert, ca.key, {{leaf.SerialHex(), kNotBefore + 5, "cessationOfOperation"}},
                      kNotBefore + 10, kNotBefore + 86400, 42);
  ASSERT_TRUE(der);
  test_util::ScratchDir dir;
  const std::string crl = dir.Write("crl.der", *der);
  const std::string ca_pem = dir.Write("ca.pem", ca.cert.ToPem());
  std::string out;
  ASSERT_EQ(test_util::RunCommand(
                "openssl crl -inform DER -in " + crl + " -noout -text -CAfile " + ca_pem, &out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr("verify OK"));
  EXPECT_THAT(out, HasSubstr("Cessation Of Operation"));
  EXPECT_THAT(out, HasSubstr("X509v3 CRL Number"));
}

TEST(CrlTest, AcceptsSerialsInEitherCaseAndReasonsCaseInsensitively) {
  const Ca ca = MakeCa(EcKey());
  auto der = BuildCrl(ca.cert, ca.key, {{"00ABcdef01", kNotBefore, "KEYCOMPROMISE"}}, kNotBefore,
                      kNotBefore + 60, 1);
  ASSERT_TRUE(der) << der.error().message();
  EXPECT_EQ(Entries(ParseCrl(*der).get()),
            (std::map<std::string, int>{{"abcdef01", CRL_REASON_KEY_COMPROMISE}}));
}

TEST(CrlTest, RefusesBadInput) {
  const Ca ca = MakeCa(EcKey());
  auto build = [&](const std::vector<RevokedEntry>& entries, int64_t next = kNotBefore + 60,
                   int64_t number = 1) {
    return BuildCrl(ca.cert, ca.key, entries, kNotBefore, next, number);
  };
  auto bad_serial = build({{"xyz", kNotBefore, ""}});
  ASSERT_FALSE(bad_serial);
  EXPECT_THAT(bad_serial.error().message(), HasSubstr("invalid serial number"));
  EXPECT_FALSE(build({{"", kNotBefore, ""}}));
  EXPECT_FALSE(build({{"0", kNotBefore, ""}}));
  EXPECT_FALSE(build({{"-1f", kNotBefore, ""}}));
  EXPECT_FALSE(build({{std::string(41, 'a'), kNotBefore, ""}}));
  auto bad_reason = build({{"1f", kNotBefore, "stolen"}});
  ASSERT_FALSE(bad_reason);
  EXPECT_THAT(bad_reason.error().message(), HasSubstr("unknown revocation reason \"stolen\""));
  EXPECT_FALSE(build({}, kNotBefore));
  EXPECT_FALSE(build({}, kNotBefore + 60, -1));

  auto wrong_key = BuildCrl(ca.cert, RsaKey(), {}, kNotBefore, kNotBefore + 60, 1);
  ASSERT_FALSE(wrong_key);
  EXPECT_THAT(wrong_key.error().message(), HasSubstr("does not match"));

  const Certificate not_ca = SelfSigned(EcKey(), "CN=not a CA", false);
  auto leaf_signer = BuildCrl(not_ca, EcKey(), {}, kNotBefore, kNotBefore + 60, 1);
  ASSERT_FALSE(leaf_signer);
  EXPECT_THAT(leaf_signer.error().message(), HasSubstr("not a CA"));

  IssueRequest req{CertificateSpec{}, EcKey().Public(), kNotBefore, kNotAfter};
  req.spec.subject = "CN=cert-only CA";
  req.spec.is_ca = true;
  req.spec.key_usage = {"keyCertSign"};
  auto no_crl_sign = IssueCertificate(req, std::nullopt, EcKey());
  ASSERT_TRUE(no_crl_sign);
  auto refused = BuildCrl(*no_crl_sign, EcKey(), {}, kNotBefore, kNotBefore + 60, 1);
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message(), HasSubstr("cRLSign"));
}

TEST(CrlReasonTest, Canonicalises) {
  EXPECT_EQ(*CanonicalCrlReason("cacompromise"), "cACompromise");
  EXPECT_EQ(*CanonicalCrlReason("Superseded"), "superseded");
  auto bad = CanonicalCrlReason("whatever");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), "BadParameter");
  EXPECT_THAT(bad.error().message(), HasSubstr("keyCompromise"));
}

// --- Issuing with CRL distribution points and authority information access ---

std::vector<std::string> CrlUrls(const Certificate& cert) {
  std::vector<std::string> urls;
  auto* points = static_cast<CRL_DIST_POINTS*>(
      X509_get_ext_d2i(cert.get(), NID_crl_distribution_points, nullptr, nullptr));
  for (int i = 0; points != nullptr && i < sk_DIST_POINT_num(points); ++i) {
    const DIST_POINT* point = sk_DIST_POINT_value(points, i);
    if (point->distpoint == nullptr || point->distpoint->type != 0) continue;
    const GENERAL_NAMES* names = point->distpoint->name.fullname;
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, j);
      if (name->type != GEN_URI) continue;
      urls.emplace_back(
          reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.uniformResourceIdentifier)),
          static_cast<size_t>(ASN1_STRING_length(name->d.uniformResourceIdentifier)));
    }
  }
  CRL_DIST_POINTS_free(points);
  return urls;
}

std::vector<std::string> CaIssuersUrls(const Certificate& cert) {
  std::vector<std::string> urls;
  auto* access = static_cast<AUTHORITY_INFO_ACCESS*>(
      X509_get_ext_d2i(cert.get(), NID_info_access, nullptr, nullptr));
  for (int i = 0; access != nullptr && i < sk_ACCESS_DESCRIPTION_num(access); ++i) {
    const ACCESS_DESCRIPTION* desc = sk_ACCESS_DESCRIPTION_value(access, i);
    if (OBJ_obj2nid(desc->method) != NID_ad_ca_issuers || desc->location->type != GEN_URI) {
      continue;
    }
    const ASN1_IA5STRING* uri = desc->location->d.uniformResourceIdentifier;
    urls.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                      static_cast<size_t>(ASN1_STRING_length(uri)));
  }
  AUTHORITY_INFO_ACCESS_free(access);
  return urls;
}

TEST(IssueLocationsTest, AddsCrlDistributionPointAndCaIssuers) {
  const Ca ca = MakeCa(EcKey());
  IssueRequest req{CertificateSpec{}, RsaKey().Public(), kNotBefore, kNotAfter};
  req.spec.subject = "CN=www.example.test";
  req.crl_urls = {"https://pki.example.test/pki/default/crl", "http://alt.example.test/x.crl"};
  req.ca_issuers_urls = {"https://pki.example.test/pki/default/ca"};
  auto cert = IssueCertificate(req, ca.cert, ca.key);
  ASSERT_TRUE(cert) << cert.error().message();
  EXPECT_THAT(CrlUrls(*cert), ElementsAre("https://pki.example.test/pki/default/crl",
                                          "http://alt.example.test/x.crl"));
  EXPECT_THAT(CaIssuersUrls(*cert), ElementsAre("https://pki.example.test/pki/default/ca"));
  EXPECT_TRUE(cert->IsIssuedBy(ca.cert));
}

TEST(IssueLocationsTest, NoExtensionsWithoutUrls) {
  const Ca ca = MakeCa(EcKey());
  const Certificate leaf = Leaf(ca, "plain");
  EXPECT_LT(X509_get_ext_by_NID(leaf.get(), NID_crl_distribution_points, -1), 0);
  EXPECT_LT(X509_get_ext_by_NID(leaf.get(), NID_info_access, -1), 0);
}

TEST(IssueLocationsTest, RefusesRelativeOrMalformedUrls) {
  const Ca ca = MakeCa(EcKey());
  for (const std::string url : {"/pki/default/crl", "", "https://a b/", ":nothing"}) {
    IssueRequest req{CertificateSpec{}, EcKey().Public(), kNotBefore, kNotAfter};
    req.spec.subject = "CN=x";
    req.crl_urls = {url};
    auto cert = IssueCertificate(req, ca.cert, ca.key);
    ASSERT_FALSE(cert) << url;
    EXPECT_THAT(cert.error().message(), HasSubstr("CRL distribution point URL"));
    req.crl_urls.clear();
    req.ca_issuers_urls = {url};
    cert = IssueCertificate(req, ca.cert, ca.key);
    ASSERT_FALSE(cert) << url;
    EXPECT_THAT(cert.error().message(), HasSubstr("CA issuers URL"));
  }
}

TEST(KeyIdentifierTest, IsTheSubjectKeyIdentifier) {
  const Ca ca = MakeCa(EcKey());
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(ca.cert.get());
  ASSERT_NE(ski, nullptr);
  EXPECT_EQ(ca.cert.KeyIdentifier(),
            std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski)),
                        static_cast<size_t>(ASN1_STRING_length(ski))));
  EXPECT_EQ(ca.cert.KeyIdentifier().size(), 20u);
}

}  // namespace
}  // namespace certvault::crypto
