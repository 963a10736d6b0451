#pragma once
// Private and public keys (RSA 2048/3072/4096, EC P-256/P-384/P-521) over OpenSSL 3.
//
// Keys are immutable and cheap to copy (shared ownership of the EVP_PKEY); safe to use from
// several threads at once. Parsing functions accept untrusted input and fail with BadParameter.

#include <openssl/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace certvault::crypto {

enum class KeyKind { kRsa, kEc };

struct KeySpec {
  KeyKind kind = KeyKind::kRsa;
  int rsa_bits = 2048;          // 2048, 3072 or 4096
  std::string curve = "P-256";  // P-256, P-384 or P-521 (Key Vault names)
};

// Fails with BadParameter for sizes or curves outside the supported set.
Status ValidateKeySpec(const KeySpec& spec);

// Whether two specs describe the same kind of key: the same kind and, for RSA, the same size, for
// EC the same curve (the field of the other kind is ignored).
bool SameKeyKind(const KeySpec& a, const KeySpec& b);

class PublicKey {
 public:
  // SubjectPublicKeyInfo, DER.
  static Result<PublicKey> FromDer(std::string_view spki_der);
  // Takes ownership of one reference to `pkey` (also on failure). Fails with BadParameter unless
  // it is an RSA key or an EC key on a named curve. For code that gets keys from OpenSSL objects.
  static Result<PublicKey> Adopt(EVP_PKEY* pkey);
  std::string ToDer() const;
  KeySpec Spec() const;
  // Verifies a JOSE signature over `data`: ES256/ES384/ES512 (raw r||s) or RS256.
  Status VerifyJose(std::string_view alg, std::string_view data, std::string_view sig) const;
  EVP_PKEY* get() const { return pkey_.get(); }

 private:
  explicit PublicKey(std::shared_ptr<EVP_PKEY> pkey) : pkey_(std::move(pkey)) {}
  friend class PrivateKey;
  std::shared_ptr<EVP_PKEY> pkey_;
};

class PrivateKey {
 public:
  static Result<PrivateKey> Generate(const KeySpec& spec);
  // PEM: PKCS#8 ("PRIVATE KEY"), PKCS#1 ("RSA PRIVATE KEY") or SEC1 ("EC PRIVATE KEY"); the
  // first private key block in `pem` is used. Encrypted PEM is refused.
  static Result<PrivateKey> FromPem(std::string_view pem);
  static Result<PrivateKey> FromDer(std::string_view pkcs8_der);
  // Takes ownership of one reference to `pkey` (also on failure). Fails with BadParameter unless
  // it holds an RSA (2048 to 16384 bits) or P-256/P-384/P-521 private key.
  static Result<PrivateKey> Adopt(EVP_PKEY* pkey);

  std::string ToPkcs8Der() const;
  std::string ToPkcs8Pem() const;
  PublicKey Public() const;
  KeySpec Spec() const;
  // JOSE signature over `data`: "ES256" (P-256), "ES384", "ES512" or "RS256" (RSA).
  Result<std::string> SignJose(std::string_view alg, std::string_view data) const;
  EVP_PKEY* get() const { return pkey_.get(); }

 private:
  explicit PrivateKey(std::shared_ptr<EVP_PKEY> pkey) : pkey_(std::move(pkey)) {}
  std::shared_ptr<EVP_PKEY> pkey_;
};

// The uncompressed EC point coordinates, for JWKs. Fails for RSA keys.
struct EcPoint {
  std::string crv;   // "P-256"...
  std::string x, y;  // big-endian, fixed width
};
Result<EcPoint> EcPublicPoint(const PublicKey& key);

}  // namespace certvault::crypto
