#pragma once
// JSON Web Tokens (RFC 7519) in compact form: parsing and signing. Verification against keys is
// done by TokenService; this file only encodes and decodes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "crypto/key.h"

namespace certvault::auth {

// Longer tokens are refused unparsed.
inline constexpr size_t kMaxJwtSize = 8192;

struct JwtClaims {
  std::string iss;
  std::string sub;  // the principal's client id
  std::string aud;
  std::string tid;  // tenant
  std::string jti;
  int64_t iat = 0;
  int64_t nbf = 0;
  int64_t exp = 0;
};

struct ParsedJwt {
  std::string alg;
  std::string kid;
  JwtClaims claims;
  std::string signing_input;  // "header.payload" as received
  std::string signature;      // decoded bytes
};

// Parses untrusted compact JWT text. Fails with Unauthorized on any malformation: longer than
// kMaxJwtSize, wrong number of parts, bad base64url, bad JSON, an empty signature, a "crit"
// header (no extensions are understood), missing or mistyped registered claims.
Result<ParsedJwt> ParseJwt(std::string_view token);

// Signs `claims` with `key` (alg chosen from the key: ES256 for P-256, RS256 for RSA).
Result<std::string> SignJwt(const JwtClaims& claims, std::string_view kid,
                            const crypto::PrivateKey& key);

}  // namespace certvault::auth
