#pragma once
// JOSE for ACME (RFC 8555 section 6.2, RFC 7515, RFC 7638): the account key's JWK and thumbprint,
// flattened JWS requests signed with the account key, key authorizations and the External
// Account Binding (section 7.3.4). Account keys are EC keys (P-256: ES256, P-384: ES384).
//
// Pure functions; thread-safe.

#include <string>
#include <string_view>

#include "common/result.h"
#include "crypto/key.h"

namespace certvault::issuer::acme {

// The JWK of an EC public key with only the required members in lexicographic order, the form
// RFC 7638 hashes: {"crv":"P-256","kty":"EC","x":"...","y":"..."}.
Result<std::string> JwkJson(const crypto::PublicKey& key);
// base64url(SHA-256(JwkJson(key))).
Result<std::string> JwkThumbprint(const crypto::PublicKey& key);
// The JWS "alg" for an account key: ES256 for P-256, ES384 for P-384.
Result<std::string> JwsAlg(const crypto::PublicKey& key);

// token "." thumbprint (section 8.1).
Result<std::string> KeyAuthorization(std::string_view token, const crypto::PublicKey& key);
// The TXT record value for dns-01: base64url(SHA-256(key_authorization)) (section 8.4).
std::string Dns01TxtValue(std::string_view key_authorization);

struct JwsProtected {
  std::string url;
  std::string nonce;
  std::string kid;  // the account URL; empty: the header carries the public key as "jwk"
};

// A flattened JSON JWS {"protected","payload","signature"} over `payload` (a JSON text; empty for
// POST-as-GET, which signs the empty string).
Result<std::string> SignJws(const crypto::PrivateKey& key, const JwsProtected& header,
                            std::string_view payload);

// The "externalAccountBinding" member of a newAccount payload: a flattened JWS with
// {"alg":"HS256","kid":eab_kid,"url":new_account_url} over the account key's JWK, MACed with
// `hmac_key` (raw bytes, already base64url-decoded).
Result<std::string> ExternalAccountBinding(const crypto::PublicKey& account_key,
                                           std::string_view eab_kid, std::string_view hmac_key,
                                           std::string_view new_account_url);

}  // namespace certvault::issuer::acme
