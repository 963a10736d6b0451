#include "cli/pem.h"

#include <gtest/gtest.h>

#include "crypto/encoding.h"
#include "crypto/key.h"
#include "crypto/x509.h"

namespace certvault::cli {
namespace {

struct Issued {
  crypto::PrivateKey key;
  crypto::Certificate cert;
};

Issued SelfSigned(const std::string& subject) {
  auto key = *crypto::PrivateKey::Generate({crypto::KeyKind::kEc, 0, "P-256"});
  crypto::IssueRequest req{crypto::CertificateSpec{}, key.Public(), 1700000000, 1800000000};
  req.spec.subject = subject;
  auto cert = crypto::IssueCertificate(req, std::nullopt, key);
  EXPECT_TRUE(cert) << cert.error().message();
  return {key, *cert};
}

TEST(Pem, LooksLikePem) {
  EXPECT_TRUE(LooksLikePem("junk\n-----BEGIN CERTIFICATE-----\n"));
  EXPECT_FALSE(LooksLikePem(std::string("\x30\x82\x01\x00", 4)));
}

TEST(Pem, ChainToX5cKeepsOrderAndIsBase64Der) {
  Issued a = SelfSigned("CN=a");
  Issued b = SelfSigned("CN=b");
  std::string pem = "leading text\n" + a.cert.ToPem() + b.cert.ToPem();
  auto x5c = PemToX5c(pem);
  ASSERT_TRUE(x5c) << x5c.error().message();
  ASSERT_EQ(x5c->size(), 2u);
  EXPECT_EQ((*x5c)[0], crypto::Base64Encode(a.cert.ToDer()));
  EXPECT_EQ((*x5c)[1], crypto::Base64Encode(b.cert.ToDer()));
}

TEST(Pem, ChainToX5cRejectsGarbage) {
  EXPECT_FALSE(PemToX5c("no pem here"));
  EXPECT_FALSE(PemToX5c("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
}

TEST(Pem, DerToPemWrapsAt64) {
  std::string der(100, '\x01');
  std::string pem = DerToPem("CERTIFICATE REQUEST", der);
  EXPECT_EQ(pem.rfind("-----BEGIN CERTIFICATE REQUEST-----\n", 0), 0u);
  EXPECT_NE(pem.find("\n-----END CERTIFICATE REQUEST-----\n"), std::string::npos);
  std::string b64 = crypto::Base64Encode(der);
  ASSERT_EQ(b64.size(), 136u);
  EXPECT_NE(pem.find(b64.substr(0, 64) + "\n" + b64.substr(64, 64) + "\n" + b64.substr(128) +
                     "\n-----END"),
            std::string::npos);
}

TEST(Pem, CerRoundTripsThroughPem) {
  Issued a = SelfSigned("CN=round");
  auto pem = Base64DerToPem("CERTIFICATE", crypto::Base64Encode(a.cert.ToDer()));
  ASSERT_TRUE(pem);
  auto back = crypto::Certificate::FromPem(*pem);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->ToDer(), a.cert.ToDer());
  EXPECT_FALSE(Base64DerToPem("CERTIFICATE", "not base64!"));
}

TEST(Pem, SecretValuesConvertBothWays) {
  Issued a = SelfSigned("CN=secret");
  std::string pem_value = a.key.ToPkcs8Pem() + a.cert.ToPem();

  auto pfx = SecretValueToPfx(pem_value, kPemContentType);
  ASSERT_TRUE(pfx) << pfx.error().message();
  auto opened = crypto::ParsePkcs12(*pfx, "");
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_TRUE(opened->certificates.front().MatchesKey(opened->key));

  auto pem = SecretValueToPem(crypto::Base64Encode(*pfx), kPfxContentType);
  ASSERT_TRUE(pem) << pem.error().message();
  auto bundle = crypto::ParsePemBundle(*pem);
  ASSERT_TRUE(bundle);
  ASSERT_TRUE(bundle->key);
  EXPECT_EQ(bundle->certificates.at(0).ToDer(), a.cert.ToDer());

  // PEM stays PEM; a missing content type is judged by content.
  EXPECT_EQ(*SecretValueToPem(pem_value, ""), pem_value);
  EXPECT_TRUE(SecretValueToPfx(crypto::Base64Encode(*pfx), ""));
}

TEST(Pem, PfxNeedsAKey) {
  Issued a = SelfSigned("CN=nokey");
  auto pfx = SecretValueToPfx(a.cert.ToPem(), kPemContentType);
  ASSERT_FALSE(pfx);
  EXPECT_NE(pfx.error().message().find("private key"), std::string::npos);
}

}  // namespace
}  // namespace certvault::cli
