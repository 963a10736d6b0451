#include "crypto/x509.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "crypto/encoding.h"
#include "crypto/testing/test_util.h"

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

Result<Certificate> Issue(const CertificateSpec& spec, const PrivateKey& key = EcKey()) {
  return IssueCertificate({spec, key.Public(), kNotBefore, kNotAfter}, std::nullopt, key);
}

CertificateSpec SpecWithSubject(const std::string& subject) {
  CertificateSpec spec;
  spec.subject = subject;
  return spec;
}

// The critical flag of extension `nid`, or -1 if absent.
int Criticality(const Certificate& cert, int nid) {
  const int idx = X509_get_ext_by_NID(cert.get(), nid, -1);
  if (idx < 0) return -1;
  return X509_EXTENSION_get_critical(X509_get_ext(cert.get(), idx));
}

TEST(SubjectTest, ParsesSeparatorsAndRendersInOrder) {
  auto cert = Issue(SpecWithSubject("  CN = www.example.com ,O=Contoso;C=US  "));
  ASSERT_TRUE(cert) << cert.error().message();
  EXPECT_EQ(cert->Subject(), "CN=www.example.com, O=Contoso, C=US");
  EXPECT_EQ(cert->Issuer(), cert->Subject());
}

TEST(SubjectTest, SupportsAllAttributeKeys) {
  auto cert = Issue(SpecWithSubject(
      "CN=a, O=b, OU=c, L=d, ST=e, S=f, C=DE, E=x@example.com, DC=com, SN=Smith, GN=John, "
      "serialNumber=123, 2.5.4.9=Main St, OID.2.5.4.17=12345, cn=lower"));
  ASSERT_TRUE(cert) << cert.error().message();
  EXPECT_EQ(cert->Subject(),
            "CN=a, O=b, OU=c, L=d, ST=e, ST=f, C=DE, E=x@example.com, DC=com, SN=Smith, GN=John, "
            "serialNumber=123, street=Main St, postalCode=12345, CN=lower");
}

TEST(SubjectTest, QuotedAndEscapedValuesRoundTrip) {
  auto cert = Issue(SpecWithSubject(R"(CN="Smith, John; Jr", O=A\,B, OU=" padded ", L="q\"uote")"));
  ASSERT_TRUE(cert) << cert.error().message();
  const std::string rendered = cert->Subject();
  EXPECT_EQ(rendered, R"(CN="Smith, John; Jr", O="A,B", OU=" padded ", L="q\"uote")");
  // What Subject() renders parses back to the same name.
  auto again = Issue(SpecWithSubject(rendered));
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(again->Subject(), rendered);
}

TEST(SubjectTest, Utf8Values) {
  auto cert = Issue(SpecWithSubject("CN=Jürgen Müller, O=株式会社"));
  ASSERT_TRUE(cert) << cert.error().message();
  EXPECT_EQ(cert->Subject(), "CN=Jürgen Müller, O=株式会社");
}

TEST(SubjectTest, RejectsMalformedSubjects) {
  for (const std::string& subject :
       std::vector<std::string>{"CN", "=a", "CN=", "CN=a,", "CN=a,,O=b", "XX=a", "C=USA",
                                "CN=\"unterminated", "CN=\"a\" b", "1.2.x=a", "CN=a\\",
                                "CN=" + std::string(65, 'a'), "CN=a\nb", "CN=\xff\xfe"}) {
    auto r = ValidateCertificateSpec(SpecWithSubject(subject));
    ASSERT_FALSE(r) << subject;
    EXPECT_EQ(r.error().code(), "BadParameter");
  }
}

TEST(SubjectTest, EmptySubjectNeedsSans) {
  CertificateSpec spec;
  auto r = ValidateCertificateSpec(spec);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("subject"));
  spec.sans.dns_names = {"example.com"};
  ASSERT_TRUE(ValidateCertificateSpec(spec));
  auto cert = Issue(spec);
  ASSERT_TRUE(cert) << cert.error().message();
  EXPECT_EQ(cert->Subject(), "");
  EXPECT_EQ(Criticality(*cert, NID_subject_alt_name), 1);  // RFC 5280 4.2.1.6
}

TEST(SansTest, AllKindsRoundTrip) {
  CertificateSpec spec = SpecWithSubject("CN=multi");
  spec.sans.dns_names = {"www.example.com", "*.example.com", "xn--bcher-kva.example"};
  spec.sans.emails = {"admin@example.com"};
  spec.sans.upns = {"user@contoso.com"};
  spec.sans.uris = {"https://example.com/path", "urn:uuid:1234"};
  spec.sans.ip_addresses = {"10.0.0.1", "2001:DB8::1", "::1"};
  auto cert = Issue(spec);
  ASSERT_TRUE(cert) << cert.error().message();
  const SubjectAltNames sans = cert->Sans();
  EXPECT_EQ(sans.dns_names, spec.sans.dns_names);
  EXPECT_EQ(sans.emails, spec.sans.emails);
  EXPECT_EQ(sans.upns, spec.sans.upns);
  EXPECT_EQ(sans.uris, spec.sans.uris);
  EXPECT_THAT(sans.ip_addresses, ElementsAre("10.0.0.1", "2001:db8::1", "::1"));
  EXPECT_EQ(Criticality(*cert, NID_subject_alt_name), 0);
}

TEST(SansTest, RejectsInvalidNames) {
  using Field = std::vector<std::string> SubjectAltNames::*;
  auto check = [](Field field, const std::string& value, const std::string& what) {
    CertificateSpec spec = SpecWithSubject("CN=x");
    (spec.sans.*field).push_back(value);
    auto r = ValidateCertificateSpec(spec);
    ASSERT_FALSE(r) << what;
    EXPECT_EQ(r.error().code(), "BadParameter");
    EXPECT_THAT(r.error().message(), HasSubstr(what));
  };
  for (const char* dns : {"bad_name.com", "-a.com", "a-.com", "a..com", "*.", "a.*.com", "",
                          "a.com.", "sp ace.com", "*"}) {
    check(&SubjectAltNames::dns_names, dns, dns);
  }
  check(&SubjectAltNames::dns_names, std::string(64, 'a') + ".com", "DNS");
  for (const char* ip : {"1.2.3", "1.2.3.4x", "256.1.1.1", "::g", "example.com", ""}) {
    check(&SubjectAltNames::ip_addresses, ip, "IP");
  }
  for (const char* uri : {"noscheme", ":nothing", "http://a b", ""})
    check(&SubjectAltNames::uris, uri, "URI");
  for (const char* email : {"noat", "@example.com", "a@", "a@@b", "a b@c"}) {
    check(&SubjectAltNames::emails, email, "email");
  }
  check(&SubjectAltNames::upns, "no-at-sign", "UPN");
  check(&SubjectAltNames::upns, "bad\xff@utf8", "UPN");
}

TEST(KeyUsageTest, AllNamesRoundTrip) {
  CertificateSpec spec = SpecWithSubject("CN=ku");
  spec.key_usage = {"digitalSignature", "nonRepudiation", "keyEncipherment",
                    "dataEncipherment", "keyAgreement",   "keyCertSign",
                    "cRLSign",          "encipherOnly",   "decipherOnly"};
  auto cert = Issue(spec);
  ASSERT_TRUE(cert) << cert.error().message();
  EXPECT_EQ(cert->KeyUsage(), spec.key_usage);
  EXPECT_EQ(Criticality(*cert, NID_key_usage), 1);
}

TEST(KeyUsageTest, NoKeyUsageMeansNoExtension) {
  auto cert = Issue(SpecWithSubject("CN=none"));
  ASSERT_TRUE(cert);
  EXPECT_TRUE(cert->KeyUsage().empty());
  EXPECT_EQ(Criticality(*cert, NID_key_usage), -1);
  EXPECT_TRUE(cert->Ekus().empty());
}

TEST(KeyUsageTest, RejectsUnknownNames) {
  for (const char* usage : {"digitalsignature", "serverAuth", ""}) {
    CertificateSpec spec = SpecWithSubject("CN=ku");
    spec.key_usage = {usage};
    auto r = ValidateCertificateSpec(spec);
    ASSERT_FALSE(r) << usage;
    EXPECT_THAT(r.error().message(), HasSubstr("key usage"));
  }
}

TEST(EkuTest, RoundTripAndValidation) {
  CertificateSpec spec = SpecWithSubject("CN=eku");
  spec.ekus = {"1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2", "1.2.3.4.5.6.7.8.9"};
  auto cert = Issue(spec);
  ASSERT_TRUE(cert) << cert.error().message();
  EXPECT_EQ(cert->Ekus(), spec.ekus);
  EXPECT_EQ(Criticality(*cert, NID_ext_key_usage), 0);
  for (const char* eku : {"serverAuth", "1.x", "", "1.3.6.1.5.5.7.3.1 ", "-1.2"}) {
    spec.ekus = {eku};
    auto r = ValidateCertificateSpec(spec);
    ASSERT_FALSE(r) << eku;
    EXPECT_THAT(r.error().message(), HasSubstr("extended key usage"));
  }
}

TEST(BasicConstraintsTest, PathLenRules) {
  CertificateSpec spec = SpecWithSubject("CN=ca");
  spec.path_len = 0;
  EXPECT_FALSE(ValidateCertificateSpec(spec));  // not a CA
  spec.is_ca = true;
  spec.path_len = -1;
  EXPECT_FALSE(ValidateCertificateSpec(spec));
  spec.path_len = 2;
  auto cert = Issue(spec);
  ASSERT_TRUE(cert) << cert.error().message();
  EXPECT_TRUE(cert->IsCa());
  EXPECT_EQ(X509_get_pathlen(cert->get()), 2);
  EXPECT_EQ(Criticality(*cert, NID_basic_constraints), 1);
}

TEST(IssueTest, SelfSigned) {
  const Certificate cert = SelfSigned(EcKey(), "CN=Root CA, O=Test", /*is_ca=*/true);
  EXPECT_EQ(cert.Subject(), "CN=Root CA, O=Test");
  EXPECT_EQ(cert.Issuer(), "CN=Root CA, O=Test");
  EXPECT_TRUE(cert.IsCa());
  EXPECT_TRUE(cert.IsIssuedBy(cert));
  EXPECT_TRUE(cert.MatchesKey(EcKey()));
  EXPECT_FALSE(cert.MatchesKey(RsaKey()));
  EXPECT_EQ(cert.NotBefore(), kNotBefore);
  EXPECT_EQ(cert.NotAfter(), kNotAfter);
  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);
  EXPECT_EQ(cert.SerialHex().size(), 32u);
  EXPECT_EQ(cert.SerialHex().find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(cert.SerialHex(), SelfSigned(EcKey(), "CN=Root CA", true).SerialHex());
  EXPECT_NE(X509_get0_subject_key_id(cert.get()), nullptr);
  EXPECT_EQ(Criticality(cert, NID_authority_key_identifier), -1);
  EXPECT_EQ(cert.PublicKeyOf().ToDer(), EcKey().Public().ToDer());
  EXPECT_EQ(cert.Sha1Thumbprint(), Sha1(cert.ToDer()));
  EXPECT_EQ(X509_get_signature_nid(cert.get()), NID_ecdsa_with_SHA256);

  const Certificate leaf = SelfSigned(RsaKey(), "CN=leaf", /*is_ca=*/false);
  EXPECT_FALSE(leaf.IsCa());
  EXPECT_EQ(Criticality(leaf, NID_basic_constraints), 1);
  EXPECT_EQ(X509_get_signature_nid(leaf.get()), NID_sha256WithRSAEncryption);
}

TEST(IssueTest, DigestMatchesCurve) {
  EXPECT_EQ(
      X509_get_signature_nid(SelfSigned(TestKey(KeyKind::kEc, 0, "P-384"), "CN=a", false).get()),
      NID_ecdsa_with_SHA384);
  EXPECT_EQ(
      X509_get_signature_nid(SelfSigned(TestKey(KeyKind::kEc, 0, "P-521"), "CN=a", false).get()),
      NID_ecdsa_with_SHA512);
}

TEST(IssueTest, CaSignedChain) {
  const PrivateKey& root_key = RsaKey();
  const PrivateKey& inter_key = TestKey(KeyKind::kEc, 0, "P-384");
  const PrivateKey& leaf_key = EcKey();
  const Certificate root = SelfSigned(root_key, "CN=Root", true);
  const Certificate inter = IssuedBy(inter_key, "CN=Intermediate", root, root_key, true);
  const Certificate leaf = IssuedBy(leaf_key, "CN=leaf.example.com", inter, inter_key, false);

  EXPECT_EQ(inter.Issuer(), "CN=Root");
  EXPECT_EQ(leaf.Issuer(), "CN=Intermediate");
  EXPECT_TRUE(inter.IsIssuedBy(root));
  EXPECT_TRUE(leaf.IsIssuedBy(inter));
  EXPECT_FALSE(leaf.IsIssuedBy(root));
  EXPECT_FALSE(root.IsIssuedBy(leaf));
  EXPECT_FALSE(leaf.IsIssuedBy(leaf));
  // Signed with the issuer's key and its digest (P-384 -> SHA-384).
  EXPECT_EQ(X509_get_signature_nid(leaf.get()), NID_ecdsa_with_SHA384);
  // The AKI of each certificate is its issuer's SKI.
  const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(leaf.get());
  ASSERT_NE(aki, nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(aki, X509_get0_subject_key_id(inter.get())), 0);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(inter.get()),
                                  X509_get0_subject_key_id(root.get())),
            0);
}

TEST(IssueTest, RejectsBadRequests) {
  const Certificate root = SelfSigned(RsaKey(), "CN=Root", true);
  const Certificate not_ca = SelfSigned(RsaKey(), "CN=NotCA", false);
  IssueRequest req{SpecWithSubject("CN=x"), EcKey().Public(), kNotBefore, kNotAfter};

  auto r = IssueCertificate(req, std::nullopt, RsaKey());  // self-signed with another key
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), "BadParameter");
  r = IssueCertificate(req, root, EcKey());  // signer does not match the issuer
  ASSERT_FALSE(r);
  r = IssueCertificate(req, not_ca, RsaKey());
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("not a CA"));
  EXPECT_TRUE(IssueCertificate(req, root, RsaKey()));

  IssueRequest backwards = req;
  backwards.not_after = backwards.not_before;
  EXPECT_FALSE(IssueCertificate(backwards, root, RsaKey()));
  IssueRequest far = req;
  far.not_after = int64_t{1} << 40;
  EXPECT_FALSE(IssueCertificate(far, root, RsaKey()));
  IssueRequest bad_spec = req;
  bad_spec.spec.key_usage = {"nope"};
  EXPECT_FALSE(IssueCertificate(bad_spec, root, RsaKey()));
}

TEST(CertificateTest, DerAndPemRoundTrip) {
  const Certificate cert = SelfSigned(EcKey(), "CN=round trip", false);
  auto from_der = Certificate::FromDer(cert.ToDer());
  ASSERT_TRUE(from_der);
  EXPECT_EQ(from_der->ToDer(), cert.ToDer());
  const std::string pem = cert.ToPem();
  EXPECT_TRUE(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
  auto from_pem = Certificate::FromPem("leading text\r\n" + pem);
  ASSERT_TRUE(from_pem);
  EXPECT_EQ(from_pem->ToDer(), cert.ToDer());
  EXPECT_EQ(from_pem->Subject(), "CN=round trip");
}

TEST(CertificateTest, RejectsMalformedInput) {
  const std::string der = SelfSigned(EcKey(), "CN=x", false).ToDer();
  std::string bad_sig_len = der;
  bad_sig_len[1] ^= 0x10;
  for (const std::string& input : {std::string(), std::string("garbage"), der.substr(0, 100),
                                   der + "x", bad_sig_len, RsaKey().ToPkcs8Der()}) {
    auto r = Certificate::FromDer(input);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), "BadParameter");
    EXPECT_THAT(r.error().message(), HasSubstr("certificate"));
  }
  EXPECT_FALSE(Certificate::FromPem(""));
  EXPECT_FALSE(Certificate::FromPem(RsaKey().ToPkcs8Pem()));
  EXPECT_FALSE(
      Certificate::FromPem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"));
}

TEST(PemCertificatesTest, ParsesAllInOrder) {
  const Certificate a = SelfSigned(EcKey(), "CN=a", false);
  const Certificate b = SelfSigned(RsaKey(), "CN=b", false);
  auto certs = ParsePemCertificates(a.ToPem() + RsaKey().ToPkcs8Pem() + "\n" + b.ToPem());
  ASSERT_TRUE(certs);
  ASSERT_EQ(certs->size(), 2u);
  EXPECT_EQ((*certs)[0].Subject(), "CN=a");
  EXPECT_EQ((*certs)[1].Subject(), "CN=b");

  EXPECT_FALSE(ParsePemCertificates(""));
  EXPECT_FALSE(ParsePemCertificates(RsaKey().ToPkcs8Pem()));
  auto r = ParsePemCertificates(a.ToPem() +
                                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("certificate 2"));
}

TEST(OrderChainTest, LeafFirstThenIssuers) {
  const PrivateKey& root_key = RsaKey();
  const PrivateKey& inter_key = TestKey(KeyKind::kEc, 0, "P-384");
  const PrivateKey& leaf_key = EcKey();
  const Certificate root = SelfSigned(root_key, "CN=Root", true);
  const Certificate inter = IssuedBy(inter_key, "CN=Intermediate", root, root_key, true);
  const Certificate leaf = IssuedBy(leaf_key, "CN=leaf", inter, inter_key, false);
  const Certificate unrelated = SelfSigned(TestKey(KeyKind::kEc, 0, "P-521"), "CN=Other", true);

  auto chain = OrderChain(leaf_key, {unrelated, root, leaf, inter});
  ASSERT_TRUE(chain);
  std::vector<std::string> subjects;
  for (const auto& c : *chain) subjects.push_back(c.Subject());
  EXPECT_THAT(subjects, ElementsAre("CN=leaf", "CN=Intermediate", "CN=Root", "CN=Other"));

  chain = OrderChain(leaf_key, {leaf});
  ASSERT_TRUE(chain);
  EXPECT_EQ(chain->size(), 1u);

  auto r = OrderChain(TestKey(KeyKind::kEc, 0, "P-521"), {root, leaf});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), "BadParameter");
  EXPECT_FALSE(OrderChain(leaf_key, {}));
}

TEST(InteropTest, OpensslVerifiesIssuedChain) {
  if (!test_util::HaveOpensslCommand()) GTEST_SKIP() << "openssl command not found";
  const int64_t now = std::time(nullptr);
  const PrivateKey& root_key = RsaKey();
  const PrivateKey& leaf_key = EcKey();
  IssueRequest root_req{SpecWithSubject("CN=Interop Root"), root_key.Public(), now - 60,
                        now + 86400};
  root_req.spec.is_ca = true;
  root_req.spec.key_usage = {"keyCertSign", "cRLSign"};
  const Certificate root = *IssueCertificate(root_req, std::nullopt, root_key);
  IssueRequest leaf_req{SpecWithSubject("CN=interop.example.com"), leaf_key.Public(), now - 60,
                        now + 86400};
  leaf_req.spec.sans.dns_names = {"interop.example.com"};
  leaf_req.spec.key_usage = {"digitalSignature"};
  leaf_req.spec.ekus = {"1.3.6.1.5.5.7.3.1"};
  const Certificate leaf = *IssueCertificate(leaf_req, root, root_key);

  test_util::ScratchDir dir;
  const std::string root_file = dir.Write("root.pem", root.ToPem());
  const std::string leaf_file = dir.Write("leaf.pem", leaf.ToPem());
  std::string out;
  EXPECT_EQ(test_util::RunCommand("openssl verify -x509_strict -purpose sslserver -CAfile " +
                                      root_file + " " + leaf_file,
                                  &out),
            0)
      << out;
}

}  // namespace
}  // namespace certvault::crypto
