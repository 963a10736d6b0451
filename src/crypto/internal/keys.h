#pragma once
// Key checks and decoding shared by key.cc and x509.cc.

#include <openssl/evp.h>

#include <string>
#include <string_view>

#include "common/result.h"
#include "crypto/internal/ossl.h"
#include "crypto/key.h"

namespace certvault::crypto::internal {

// Key Vault curve name ("P-256") for an OpenSSL group name ("prime256v1"); the OpenSSL name if
// it is not one of the three supported curves.
std::string CurveFromGroupName(std::string_view group);

// Checks that `pkey` is RSA or EC with a named curve. With `strict`, also that it is one of the
// sizes and curves certvault generates and accepts as private keys (RSA 2048 to 16384 bits,
// P-256/P-384/P-521); public keys in imported chains are only required to be usable.
Status CheckSupportedKey(EVP_PKEY* pkey, bool strict);

// Checks that `pkey` (RSA or EC) holds the private part, not just the public one.
Status CheckHasPrivatePart(EVP_PKEY* pkey);

// Decodes an unencrypted private key. `structure` is "PrivateKeyInfo" (PKCS#8) or
// "type-specific" (PKCS#1 / SEC1, then `key_type` is "RSA" or "EC").
Result<EvpPkeyPtr> DecodePrivateKeyDer(std::string_view der, const char* structure,
                                       const char* key_type);

// The private key in a PEM block whose label IsPrivateKeyLabel().
Result<EvpPkeyPtr> DecodePrivateKeyBlock(std::string_view label, std::string_view der);

// The digest certvault signs with for `pkey`: SHA-256 for RSA and P-256, SHA-384 for P-384,
// SHA-512 for P-521.
const EVP_MD* DigestForKey(EVP_PKEY* pkey);

}  // namespace certvault::crypto::internal
