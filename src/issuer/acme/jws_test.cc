#include "issuer/acme/jws.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"

namespace certvault::issuer::acme {
namespace {

using nlohmann::json;

std::string Unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string B64u(std::string_view text) { return *crypto::Base64UrlDecode(text); }

// The P-256 key of RFC 7515 appendix A.3.
crypto::PublicKey Rfc7515Key() {
  const std::string spki = Unhex("3059301306072a8648ce3d020106082a8648ce3d030107034200") + "\x04" +
                           B64u("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU") +
                           B64u("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0");
  return *crypto::PublicKey::FromDer(spki);
}

// Verifies a JOSE ES256 signature (r||s) with OpenSSL directly, independent of crypto/.
bool OpenSslVerifyEs256(EVP_PKEY* key, std::string_view data, std::string_view sig) {
  if (sig.size() != 64) return false;
  ECDSA_SIG* ecdsa = ECDSA_SIG_new();
  ECDSA_SIG_set0(ecdsa, BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), 32, nullptr),
                 BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(ecdsa, &der);
  ECDSA_SIG_free(ecdsa);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestVerify(ctx, der, static_cast<size_t>(der_len),
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  return ok;
}

TEST(AcmeJwsTest, JwkAndThumbprintFollowRfc7638) {
  const crypto::PublicKey key = Rfc7515Key();
  EXPECT_EQ(*JwkJson(key),
            R"({"crv":"P-256","kty":"EC","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
            R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})");
  // base64url(SHA-256) of that exact text, computed independently.
  EXPECT_EQ(*JwkThumbprint(key), "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U");
  EXPECT_EQ(*KeyAuthorization("tok-EN_1", key),
            "tok-EN_1.oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U");
  EXPECT_EQ(Dns01TxtValue("a.b"), crypto::Base64UrlEncode(crypto::Sha256("a.b")));
  EXPECT_EQ(*JwsAlg(key), "ES256");
}

TEST(AcmeJwsTest, RsaAccountKeysAreRefused) {
  auto rsa = crypto::PrivateKey::Generate({crypto::KeyKind::kRsa, 2048, ""});
  ASSERT_TRUE(rsa);
  EXPECT_FALSE(JwkJson(rsa->Public()));
  EXPECT_FALSE(SignJws(*rsa, {"https://ca/x", "n", ""}, "{}"));
}

TEST(AcmeJwsTest, SignsWithJwkForNewAccountAndOpenSslVerifies) {
  auto key = crypto::PrivateKey::Generate({crypto::KeyKind::kEc, 0, "P-256"});
  ASSERT_TRUE(key);
  auto jws_text = SignJws(*key, {"https://ca/new-acct", "nonce-1", ""}, R"({"a":1})");
  ASSERT_TRUE(jws_text) << jws_text.error().message();
  const json jws = json::parse(*jws_text);
  ASSERT_EQ(jws.size(), 3u);
  const json prot = json::parse(B64u(jws["protected"].get<std::string>()));
  EXPECT_EQ(prot["alg"], "ES256");
  EXPECT_EQ(prot["nonce"], "nonce-1");
  EXPECT_EQ(prot["url"], "https://ca/new-acct");
  EXPECT_FALSE(prot.contains("kid"));
  EXPECT_EQ(prot["jwk"].dump(), *JwkJson(key->Public()));
  EXPECT_EQ(B64u(jws["payload"].get<std::string>()), R"({"a":1})");
  const std::string signing_input =
      jws["protected"].get<std::string>() + "." + jws["payload"].get<std::string>();
  const std::string sig = B64u(jws["signature"].get<std::string>());
  EXPECT_TRUE(OpenSslVerifyEs256(key->get(), signing_input, sig));
  EXPECT_FALSE(OpenSslVerifyEs256(key->get(), signing_input + "x", sig));
}

TEST(AcmeJwsTest, SignsWithKidAndEmptyPayloadForPostAsGet) {
  auto key = crypto::PrivateKey::Generate({crypto::KeyKind::kEc, 0, "P-256"});
  ASSERT_TRUE(key);
  const json jws =
      json::parse(*SignJws(*key, {"https://ca/order/1", "n2", "https://ca/acct/7"}, ""));
  const json prot = json::parse(B64u(jws["protected"].get<std::string>()));
  EXPECT_EQ(prot["kid"], "https://ca/acct/7");
  EXPECT_FALSE(prot.contains("jwk"));
  EXPECT_EQ(jws["payload"], "");
  EXPECT_TRUE(OpenSslVerifyEs256(key->get(), jws["protected"].get<std::string>() + ".",
                                 B64u(jws["signature"].get<std::string>())));
}

TEST(AcmeJwsTest, ExternalAccountBindingIsHs256OverTheAccountJwk) {
  auto key = crypto::PrivateKey::Generate({crypto::KeyKind::kEc, 0, "P-256"});
  ASSERT_TRUE(key);
  const std::string hmac_key = "0123456789abcdef0123456789abcdef";
  auto eab_text = ExternalAccountBinding(key->Public(), "kid-1", hmac_key, "https://ca/new-acct");
  ASSERT_TRUE(eab_text);
  const json eab = json::parse(*eab_text);
  const json prot = json::parse(B64u(eab["protected"].get<std::string>()));
  EXPECT_EQ(prot, json({{"alg", "HS256"}, {"kid", "kid-1"}, {"url", "https://ca/new-acct"}}));
  EXPECT_EQ(B64u(eab["payload"].get<std::string>()), *JwkJson(key->Public()));

  const std::string input =
      eab["protected"].get<std::string>() + "." + eab["payload"].get<std::string>();
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), hmac_key.data(), static_cast<int>(hmac_key.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_len);
  EXPECT_EQ(B64u(eab["signature"].get<std::string>()),
            std::string(reinterpret_cast<char*>(mac), mac_len));

  EXPECT_FALSE(ExternalAccountBinding(key->Public(), "", hmac_key, "https://ca/new-acct"));
  EXPECT_FALSE(ExternalAccountBinding(key->Public(), "kid-1", "", "https://ca/new-acct"));
}

}  // namespace
}  // namespace certvault::issuer::acme
