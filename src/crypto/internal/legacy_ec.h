#pragma once
// EC keys as "legacy" EVP_PKEYs (backed by an EC_KEY).
//
// Why: OpenSSL 3.0 encodes and decodes provider-native keys through its encoder/decoder
// framework, which costs ~300 us for one SubjectPublicKeyInfo (X509_set_pubkey) and ~90 us for
// one PKCS#8 encoding: several times the cost of the key generation and signatures of an
// issuance. Keys backed by an EC_KEY take the direct ASN.1 path (~10 us). The EC_KEY functions
// are deprecated in 3.0 but supported throughout the 3.x series; they are confined to
// legacy_ec.cc.

#include <string>

#include "common/result.h"
#include "crypto/internal/ossl.h"

namespace certvault::crypto::internal {

// A new EC key on `curve` (OpenSSL name, e.g. prime256v1); null on failure.
EvpPkeyPtr GenerateLegacyEcKey(const std::string& curve);

// The public half of an EC_KEY-backed key as a new EC_KEY-backed key; null if `pkey` is not
// EC_KEY-backed (the caller then uses the generic path).
EvpPkeyPtr LegacyEcPublicKey(EVP_PKEY* pkey);

// Signs a CSR or a certificate being built with an EC_KEY-backed `key` and digest `md`: sets the
// signature algorithm (ecdsa-with-SHA*, no parameters), DER-encodes the to-be-signed part, and
// signs its digest with ECDSA_sign. X509_REQ_sign and X509_sign would first export the key to
// the default provider, which costs more than the signature itself. Returns false, changing
// nothing, if `key` is not EC_KEY-backed; the caller then signs through the generic path.
Result<bool> LegacyEcSign(X509_REQ* req, EVP_PKEY* key, const EVP_MD* md);
Result<bool> LegacyEcSign(X509* cert, EVP_PKEY* key, const EVP_MD* md);

// The uncompressed public point (04 || X || Y) of an EC_KEY-backed key; empty otherwise
// (EVP_PKEY_get_octet_string_param does not reach an EC_KEY in OpenSSL 3.0).
std::string LegacyEcEncodedPoint(EVP_PKEY* pkey);

}  // namespace certvault::crypto::internal
