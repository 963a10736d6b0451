#include "crypto/key.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>

#include "crypto/encoding.h"
#include "crypto/testing/test_util.h"

namespace certvault::crypto {
namespace {

using test_util::EcKey;
using test_util::RsaKey;
using test_util::TestKey;

// PKCS#1 / SEC1 ("traditional") PEM, which OpenSSL 1.x and many tools still write.
std::string TraditionalPem(const PrivateKey& key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey_traditional(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  return pem;
}

void ExpectRoundTrip(const PrivateKey& key) {
  const KeySpec spec = key.Spec();
  auto from_der = PrivateKey::FromDer(key.ToPkcs8Der());
  ASSERT_TRUE(from_der) << from_der.error().message();
  EXPECT_EQ(from_der->ToPkcs8Der(), key.ToPkcs8Der());

  const std::string pem = key.ToPkcs8Pem();
  EXPECT_TRUE(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
  auto from_pem = PrivateKey::FromPem(pem);
  ASSERT_TRUE(from_pem) << from_pem.error().message();
  EXPECT_EQ(from_pem->ToPkcs8Der(), key.ToPkcs8Der());

  auto from_traditional = PrivateKey::FromPem(TraditionalPem(key));
  ASSERT_TRUE(from_traditional) << from_traditional.error().message();
  EXPECT_EQ(from_traditional->ToPkcs8Der(), key.ToPkcs8Der());
  EXPECT_EQ(from_traditional->Spec().kind, spec.kind);

  auto pub = PublicKey::FromDer(key.Public().ToDer());
  ASSERT_TRUE(pub) << pub.error().message();
  EXPECT_EQ(pub->ToDer(), key.Public().ToDer());
  EXPECT_EQ(pub->Spec().kind, spec.kind);
  EXPECT_EQ(pub->Spec().rsa_bits, spec.rsa_bits);
  EXPECT_EQ(pub->Spec().curve, spec.curve);
}

class EcKeyTest : public ::testing::TestWithParam<std::string> {};

TEST_P(EcKeyTest, GenerateSerializeParse) {
  auto key = PrivateKey::Generate({KeyKind::kEc, 0, GetParam()});
  ASSERT_TRUE(key) << key.error().message();
  EXPECT_EQ(key->Spec().kind, KeyKind::kEc);
  EXPECT_EQ(key->Spec().curve, GetParam());
  ExpectRoundTrip(*key);
}

TEST_P(EcKeyTest, JoseSignVerify) {
  const PrivateKey& key = TestKey(KeyKind::kEc, 0, GetParam());
  const std::string alg = GetParam() == "P-256"   ? "ES256"
                          : GetParam() == "P-384" ? "ES384"
                                                  : "ES512";
  const size_t width = GetParam() == "P-256" ? 32 : GetParam() == "P-384" ? 48 : 66;
  auto sig = key.SignJose(alg, "header.payload");
  ASSERT_TRUE(sig) << sig.error().message();
  EXPECT_EQ(sig->size(), 2 * width);
  EXPECT_TRUE(key.Public().VerifyJose(alg, "header.payload", *sig));

  auto tampered = key.Public().VerifyJose(alg, "header.payloaD", *sig);
  ASSERT_FALSE(tampered);
  EXPECT_EQ(tampered.error().kind(), ErrorKind::kUnauthorized);
  EXPECT_EQ(tampered.error().message(), "invalid token signature");
  std::string bad_sig = *sig;
  bad_sig[5] ^= 1;
  EXPECT_FALSE(key.Public().VerifyJose(alg, "header.payload", bad_sig));
  EXPECT_FALSE(key.Public().VerifyJose(alg, "header.payload", sig->substr(1)));
  EXPECT_FALSE(key.Public().VerifyJose(alg, "header.payload", ""));
  EXPECT_FALSE(key.Public().VerifyJose("RS256", "header.payload", *sig));
}

TEST_P(EcKeyTest, PublicPointHasFixedWidth) {
  const PrivateKey& key = TestKey(KeyKind::kEc, 0, GetParam());
  auto point = EcPublicPoint(key.Public());
  ASSERT_TRUE(point) << point.error().message();
  EXPECT_EQ(point->crv, GetParam());
  const size_t width = GetParam() == "P-256" ? 32 : GetParam() == "P-384" ? 48 : 66;
  EXPECT_EQ(point->x.size(), width);
  EXPECT_EQ(point->y.size(), width);
  // The SPKI of an EC key ends with the uncompressed point 04 || x || y.
  const std::string spki = key.Public().ToDer();
  EXPECT_TRUE(spki.ends_with("\x04" + point->x + point->y));
}

INSTANTIATE_TEST_SUITE_P(Curves, EcKeyTest, ::testing::Values("P-256", "P-384", "P-521"));

TEST(RsaKeyTest, Generate2048And3072) {
  for (int bits : {2048, 3072}) {
    auto key = PrivateKey::Generate({KeyKind::kRsa, bits, ""});
    ASSERT_TRUE(key) << key.error().message();
    EXPECT_EQ(key->Spec().kind, KeyKind::kRsa);
    EXPECT_EQ(key->Spec().rsa_bits, bits);
    ExpectRoundTrip(*key);
  }
}

// The only RSA 4096 generation in the suite: it takes seconds.
TEST(RsaKeyTest, Generate4096) {
  auto key = PrivateKey::Generate({KeyKind::kRsa, 4096, ""});
  ASSERT_TRUE(key) << key.error().message();
  EXPECT_EQ(key->Spec().rsa_bits, 4096);
  ExpectRoundTrip(*key);
}

TEST(RsaKeyTest, JoseRs256) {
  auto sig = RsaKey().SignJose("RS256", "a.b");
  ASSERT_TRUE(sig) << sig.error().message();
  EXPECT_EQ(sig->size(), 256u);
  EXPECT_TRUE(RsaKey().Public().VerifyJose("RS256", "a.b", *sig));
  auto tampered = RsaKey().Public().VerifyJose("RS256", "a.c", *sig);
  ASSERT_FALSE(tampered);
  EXPECT_EQ(tampered.error().kind(), ErrorKind::kUnauthorized);
  std::string bad_sig = *sig;
  bad_sig[100] ^= 1;
  EXPECT_FALSE(RsaKey().Public().VerifyJose("RS256", "a.b", bad_sig));
  // Another RSA key does not verify it.
  auto other = PrivateKey::Generate({KeyKind::kRsa, 2048, ""});
  EXPECT_FALSE(other->Public().VerifyJose("RS256", "a.b", *sig));
}

TEST(JoseTest, RejectsAlgorithmKeyMismatch) {
  EXPECT_FALSE(RsaKey().SignJose("ES256", "x"));
  EXPECT_FALSE(EcKey().SignJose("RS256", "x"));
  EXPECT_FALSE(EcKey().SignJose("ES384", "x"));  // P-256 key
  EXPECT_FALSE(EcKey().SignJose("none", "x"));
  EXPECT_FALSE(EcKey().SignJose("HS256", "x"));
  auto sig = *EcKey().SignJose("ES256", "x");
  auto r = EcKey().Public().VerifyJose("ES384", "x", sig);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kUnauthorized);
  r = EcKey().Public().VerifyJose("none", "x", "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kUnauthorized);
  r = RsaKey().Public().VerifyJose("ES256", "x", sig);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kUnauthorized);
}

TEST(KeySpecTest, Validates) {
  EXPECT_TRUE(ValidateKeySpec({KeyKind::kRsa, 3072, ""}));
  EXPECT_TRUE(ValidateKeySpec({KeyKind::kEc, 0, "P-521"}));
  EXPECT_FALSE(ValidateKeySpec({KeyKind::kRsa, 1024, ""}));
  EXPECT_FALSE(ValidateKeySpec({KeyKind::kRsa, 2047, ""}));
  EXPECT_FALSE(ValidateKeySpec({KeyKind::kEc, 0, "P-256K"}));
  EXPECT_FALSE(ValidateKeySpec({KeyKind::kEc, 0, "prime256v1"}));
  EXPECT_FALSE(PrivateKey::Generate({KeyKind::kRsa, 1024, ""}));
  EXPECT_EQ(PrivateKey::Generate({KeyKind::kEc, 0, "secp256k1"}).error().code(), "BadParameter");
}

TEST(EcPublicPointTest, FailsForRsa) { EXPECT_FALSE(EcPublicPoint(RsaKey().Public())); }

TEST(KeyParseTest, FromPemUsesFirstKeyBlockAndSkipsOthers) {
  const std::string pem =
      "junk before\n-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n"
      "-----END EC PARAMETERS-----\n" +
      EcKey().ToPkcs8Pem() + RsaKey().ToPkcs8Pem();
  auto key = PrivateKey::FromPem(pem);
  ASSERT_TRUE(key) << key.error().message();
  EXPECT_EQ(key->Spec().kind, KeyKind::kEc);
}

TEST(KeyParseTest, RefusesEncryptedPem) {
  BIO* bio = BIO_new(BIO_s_mem());
  char pass[] = "secret";
  PEM_write_bio_PKCS8PrivateKey(bio, EcKey().get(), EVP_aes_256_cbc(), pass, 6, nullptr, nullptr);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  const std::string pkcs8(data, static_cast<size_t>(len));
  BIO_free(bio);
  auto r = PrivateKey::FromPem(pkcs8);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), "BadParameter");
  EXPECT_NE(r.error().message().find("encrypted"), std::string::npos);

  const std::string legacy =
      "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
      "DEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF\n\nAAAA\n"
      "-----END RSA PRIVATE KEY-----\n";
  r = PrivateKey::FromPem(legacy);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("encrypted"), std::string::npos);
}

TEST(KeyParseTest, RejectsMalformedInput) {
  const std::string der = EcKey().ToPkcs8Der();
  const std::string rsa_der = RsaKey().ToPkcs8Der();
  const std::vector<std::string> bad_der = {
      "",
      "garbage",
      der.substr(0, der.size() / 2),
      der + "x",
      std::string(200, '\0'),
      rsa_der.substr(0, 300),
  };
  for (const auto& input : bad_der) {
    auto r = PrivateKey::FromDer(input);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), "BadParameter") << r.error().message();
    auto p = PublicKey::FromDer(input);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code(), "BadParameter") << p.error().message();
  }
  // Public where private is expected, and the reverse.
  EXPECT_FALSE(PrivateKey::FromDer(EcKey().Public().ToDer()));
  EXPECT_FALSE(PublicKey::FromDer(der));
  EXPECT_FALSE(PublicKey::FromDer(EcKey().Public().ToDer() + "x"));

  const std::vector<std::string> bad_pem = {
      "",
      "no pem here",
      "-----BEGIN PRIVATE KEY-----\nAAAA\n",  // no END
      "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n",
      "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n",
      "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
      "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
      "-----BEGIN PRIVATE KEY\nAAAA\n",
      RsaKey().Public().ToDer(),
  };
  for (const auto& input : bad_pem) {
    auto r = PrivateKey::FromPem(input);
    ASSERT_FALSE(r) << input;
    EXPECT_EQ(r.error().code(), "BadParameter");
  }
  // A PKCS#1 body under a PKCS#8 label (and the reverse) is refused.
  std::string mislabeled = TraditionalPem(RsaKey());
  mislabeled.replace(mislabeled.find("RSA PRIVATE"), 11, "PRIVATE");
  mislabeled.replace(mislabeled.find("RSA PRIVATE"), 11, "PRIVATE");
  EXPECT_FALSE(PrivateKey::FromPem(mislabeled));
}

TEST(KeyParseTest, RejectsUnsupportedKeyTypes) {
  EVP_PKEY* ed = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  ASSERT_NE(ed, nullptr);
  auto r = PrivateKey::Adopt(ed);  // takes ownership even on failure
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("unsupported key type"), std::string::npos);

  EVP_PKEY* k1 = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp256k1");
  ASSERT_NE(k1, nullptr);
  unsigned char* out = nullptr;
  const int len = i2d_PUBKEY(k1, &out);
  const std::string spki(reinterpret_cast<char*>(out), static_cast<size_t>(len));
  OPENSSL_free(out);
  // Usable as a public key (imported chains), not as a private key.
  auto pub = PublicKey::FromDer(spki);
  ASSERT_TRUE(pub);
  EXPECT_EQ(pub->Spec().curve, "secp256k1");
  EXPECT_FALSE(PrivateKey::Adopt(k1));

  // A public-only key is not a private key.
  auto pub_only = PublicKey::FromDer(EcKey().Public().ToDer());
  ASSERT_TRUE(pub_only);
  EVP_PKEY_up_ref(pub_only->get());
  auto r2 = PrivateKey::Adopt(pub_only->get());
  ASSERT_FALSE(r2);
  EXPECT_THAT(r2.error().message(), ::testing::HasSubstr("no private part"));
}

}  // namespace
}  // namespace certvault::crypto
