#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crypto/encoding.h"
#include "crypto/internal/pem.h"
#include "crypto/testing/test_util.h"
#include "crypto/x509.h"

namespace certvault::crypto {
namespace {

using test_util::EcKey;
using test_util::RsaKey;
using ::testing::HasSubstr;

CertificateSpec FullSpec() {
  CertificateSpec spec;
  spec.subject = "CN=www.contoso.com, O=Contoso, OU=IT, C=US";
  spec.sans.dns_names = {"www.contoso.com", "*.contoso.com"};
  spec.sans.emails = {"admin@contoso.com"};
  spec.sans.upns = {"svc@contoso.com"};
  spec.sans.uris = {"spiffe://contoso.com/web"};
  spec.sans.ip_addresses = {"192.0.2.1", "2001:db8::5"};
  spec.key_usage = {"digitalSignature", "keyEncipherment"};
  spec.ekus = {"1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"};
  return spec;
}

void ExpectSameSpec(const CertificateSpec& got, const CertificateSpec& want) {
  EXPECT_EQ(got.subject, want.subject);
  EXPECT_EQ(got.sans.dns_names, want.sans.dns_names);
  EXPECT_EQ(got.sans.emails, want.sans.emails);
  EXPECT_EQ(got.sans.upns, want.sans.upns);
  EXPECT_EQ(got.sans.uris, want.sans.uris);
  EXPECT_EQ(got.sans.ip_addresses, want.sans.ip_addresses);
  EXPECT_EQ(got.key_usage, want.key_usage);
  EXPECT_EQ(got.ekus, want.ekus);
  EXPECT_EQ(got.is_ca, want.is_ca);
  EXPECT_EQ(got.path_len, want.path_len);
}

TEST(CsrTest, RoundTripDerAndPem) {
  for (const PrivateKey* key : {&RsaKey(), &EcKey()}) {
    const CertificateSpec spec = FullSpec();
    auto der = BuildCsrDer(*key, spec);
    ASSERT_TRUE(der) << der.error().message();

    auto info = ParseCsr(*der);
    ASSERT_TRUE(info) << info.error().message();
    EXPECT_EQ(info->der, *der);
    EXPECT_EQ(info->public_key.ToDer(), key->Public().ToDer());
    ExpectSameSpec(info->spec, spec);

    for (const char* label : {"CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"}) {
      auto from_pem = ParseCsr(internal::ToPem(label, *der));
      ASSERT_TRUE(from_pem) << from_pem.error().message();
      EXPECT_EQ(from_pem->der, *der);
      ExpectSameSpec(from_pem->spec, spec);
    }
  }
}

TEST(CsrTest, CaRequestCarriesBasicConstraints) {
  CertificateSpec spec;
  spec.subject = "CN=Sub CA";
  spec.is_ca = true;
  spec.path_len = 0;
  spec.key_usage = {"keyCertSign", "cRLSign"};
  auto info = ParseCsr(*BuildCsrDer(EcKey(), spec));
  ASSERT_TRUE(info) << info.error().message();
  ExpectSameSpec(info->spec, spec);
}

TEST(CsrTest, MinimalRequestHasNoExtensions) {
  CertificateSpec spec;
  spec.subject = "CN=plain";
  auto info = ParseCsr(*BuildCsrDer(EcKey(), spec));
  ASSERT_TRUE(info) << info.error().message();
  ExpectSameSpec(info->spec, spec);
}

TEST(CsrTest, BuildValidatesSpec) {
  CertificateSpec spec;
  EXPECT_FALSE(BuildCsrDer(EcKey(), spec));  // no subject, no SANs
  spec.subject = "CN=x";
  spec.ekus = {"serverAuth"};
  auto r = BuildCsrDer(EcKey(), spec);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), "BadParameter");
}

TEST(CsrTest, RejectsBadSignature) {
  std::string der = *BuildCsrDer(EcKey(), FullSpec());
  // The subject's CN text sits inside the signed part; change one letter of it.
  const size_t pos = der.find("www.contoso.com");
  ASSERT_NE(pos, std::string::npos);
  der[pos] = 'x';
  auto r = ParseCsr(der);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), "BadParameter");
  EXPECT_THAT(r.error().message(), HasSubstr("signature"));
}

TEST(CsrTest, RejectsMalformedInput) {
  const std::string der = *BuildCsrDer(EcKey(), FullSpec());
  for (const std::string& input :
       {std::string(), std::string("garbage"), der.substr(0, der.size() - 10), der + "x",
        test_util::SelfSigned(EcKey(), "CN=x", false).ToDer(),
        std::string(
            "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"),
        std::string("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"),
        test_util::SelfSigned(EcKey(), "CN=x", false).ToPem()}) {
    auto r = ParseCsr(input);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), "BadParameter");
  }
}

TEST(CsrTest, OpensslVerifiesOurCsrAndWeReadOpensslCsr) {
  if (!test_util::HaveOpensslCommand()) GTEST_SKIP() << "openssl command not found";
  test_util::ScratchDir dir;
  const std::string ours = dir.Write(
      "ours.csr", internal::ToPem("CERTIFICATE REQUEST", *BuildCsrDer(RsaKey(), FullSpec())));
  std::string out;
  ASSERT_EQ(test_util::RunCommand("openssl req -verify -noout -in " + ours, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("verify OK"));
  ASSERT_EQ(test_util::RunCommand("openssl req -noout -text -in " + ours, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("othername: UPN::svc@contoso.com"));
  EXPECT_THAT(out, HasSubstr("IP Address:2001:DB8:0:0:0:0:0:5"));

  const std::string key_file = dir.Write("key.pem", EcKey().ToPkcs8Pem());
  const std::string theirs = dir.path() + "/theirs.csr";
  ASSERT_EQ(test_util::RunCommand("openssl req -new -key " + key_file + " -out " + theirs +
                                      " -subj '/CN=openssl.example/O=Org' -addext "
                                      "'subjectAltName=DNS:openssl.example,IP:10.1.2.3' -addext "
                                      "'extendedKeyUsage=serverAuth' -addext "
                                      "'keyUsage=critical,digitalSignature'",
                                  &out),
            0)
      << out;
  auto info = ParseCsr(dir.Read("theirs.csr"));
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(info->spec.subject, "CN=openssl.example, O=Org");
  EXPECT_EQ(info->spec.sans.dns_names, std::vector<std::string>{"openssl.example"});
  EXPECT_EQ(info->spec.sans.ip_addresses, std::vector<std::string>{"10.1.2.3"});
  EXPECT_EQ(info->spec.ekus, std::vector<std::string>{"1.3.6.1.5.5.7.3.1"});
  EXPECT_EQ(info->spec.key_usage, std::vector<std::string>{"digitalSignature"});
}

}  // namespace
}  // namespace certvault::crypto
