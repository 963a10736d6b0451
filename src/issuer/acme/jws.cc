#include "issuer/acme/jws.h"

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"

namespace certvault::issuer::acme {

using nlohmann::json;

Result<std::string> JwsAlg(const crypto::PublicKey& key) {
  const crypto::KeySpec spec = key.Spec();
  if (spec.kind == crypto::KeyKind::kEc && spec.curve == "P-256") return std::string("ES256");
  if (spec.kind == crypto::KeyKind::kEc && spec.curve == "P-384") return std::string("ES384");
  return Fail(Error::BadParameter("ACME account keys must be EC P-256 or P-384 keys"));
}

Result<std::string> JwkJson(const crypto::PublicKey& key) {
  CV_ASSIGN_OR_RETURN(const crypto::EcPoint point, crypto::EcPublicPoint(key));
  // nlohmann::json keeps object members sorted and dump() adds no whitespace: the RFC 7638 form.
  json jwk = {{"crv", point.crv},
              {"kty", "EC"},
              {"x", crypto::Base64UrlEncode(point.x)},
              {"y", crypto::Base64UrlEncode(point.y)}};
  return jwk.dump();
}

Result<std::string> JwkThumbprint(const crypto::PublicKey& key) {
  CV_ASSIGN_OR_RETURN(const std::string jwk, JwkJson(key));
  return crypto::Base64UrlEncode(crypto::Sha256(jwk));
}

Result<std::string> KeyAuthorization(std::string_view token, const crypto::PublicKey& key) {
  CV_ASSIGN_OR_RETURN(const std::string thumbprint, JwkThumbprint(key));
  return std::string(token) + "." + thumbprint;
}

std::string Dns01TxtValue(std::string_view key_authorization) {
  return crypto::Base64UrlEncode(crypto::Sha256(key_authorization));
}

Result<std::string> SignJws(const crypto::PrivateKey& key, const JwsProtected& header,
                            std::string_view payload) {
  const crypto::PublicKey pub = key.Public();
  CV_ASSIGN_OR_RETURN(const std::string alg, JwsAlg(pub));
  json prot = {{"alg", alg}, {"nonce", header.nonce}, {"url", header.url}};
  if (header.kid.empty()) {
    CV_ASSIGN_OR_RETURN(const std::string jwk, JwkJson(pub));
    prot["jwk"] = json::parse(jwk);
  } else {
    prot["kid"] = header.kid;
  }
  const std::string protected_b64 = crypto::Base64UrlEncode(prot.dump());
  const std::string payload_b64 = crypto::Base64UrlEncode(payload);
  CV_ASSIGN_OR_RETURN(const std::string signature,
                      key.SignJose(alg, protected_b64 + "." + payload_b64));
  json jws = {{"protected", protected_b64},
              {"payload", payload_b64},
              {"signature", crypto::Base64UrlEncode(signature)}};
  return jws.dump();
}

Result<std::string> ExternalAccountBinding(const crypto::PublicKey& account_key,
                                           std::string_view eab_kid, std::string_view hmac_key,
                                           std::string_view new_account_url) {
  if (eab_kid.empty() || hmac_key.empty()) {
    return Fail(Error::BadParameter("external account binding needs a key id and an HMAC key"));
  }
  CV_ASSIGN_OR_RETURN(const std::string jwk, JwkJson(account_key));
  json prot = {{"alg", "HS256"}, {"kid", eab_kid}, {"url", new_account_url}};
  const std::string protected_b64 = crypto::Base64UrlEncode(prot.dump());
  const std::string payload_b64 = crypto::Base64UrlEncode(jwk);
  const std::string mac = crypto::HmacSha256(hmac_key, protected_b64 + "." + payload_b64);
  json jws = {{"protected", protected_b64},
              {"payload", payload_b64},
              {"signature", crypto::Base64UrlEncode(mac)}};
  return jws.dump();
}

}  // namespace certvault::issuer::acme
