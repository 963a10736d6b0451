#include "auth/jwt.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "crypto/encoding.h"

namespace certvault::auth {

using nlohmann::json;

namespace {

Error Malformed(const std::string& why) { return Error::Unauthorized("malformed token: " + why); }

// JWS compact serialisation is base64url without padding (RFC 7515 section 7.1); the decoder is
// more lenient, so the alphabet is checked here.
bool IsBase64UrlOrDot(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

Result<json> DecodePart(std::string_view part, const char* what) {
  auto bytes = crypto::Base64UrlDecode(part);
  if (!bytes) return Fail(Malformed(std::string(what) + " is not base64url"));
  json j = json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Fail(Malformed(std::string(what) + " is not a JSON object"));
  return j;
}

Status ReadString(const json& j, const char* key, std::string& out, bool required) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) return Fail(Malformed(std::string("missing claim ") + key));
    return Ok();
  }
  if (!it->is_string()) return Fail(Malformed(std::string("claim ") + key + " is not a string"));
  out = it->get<std::string>();
  return Ok();
}

Status ReadTime(const json& j, const char* key, int64_t& out, bool required) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) return Fail(Malformed(std::string("missing claim ") + key));
    return Ok();
  }
  if (!it->is_number_integer()) {
    return Fail(Malformed(std::string("claim ") + key + " is not an integer"));
  }
  out = it->get<int64_t>();
  return Ok();
}

}  // namespace

Result<ParsedJwt> ParseJwt(std::string_view token) {
  if (token.size() > kMaxJwtSize) return Fail(Malformed("too long"));
  if (!std::all_of(token.begin(), token.end(), IsBase64UrlOrDot)) {
    return Fail(Malformed("not base64url"));
  }
  const size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return Fail(Malformed("expected three parts"));
  const size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Fail(Malformed("expected three parts"));
  }
  CV_ASSIGN_OR_RETURN(json header, DecodePart(token.substr(0, dot1), "header"));
  CV_ASSIGN_OR_RETURN(json payload, DecodePart(token.substr(dot1 + 1, dot2 - dot1 - 1), "payload"));
  auto signature = crypto::Base64UrlDecode(token.substr(dot2 + 1));
  if (!signature || signature->empty()) return Fail(Malformed("missing signature"));

  // RFC 7515 section 4.1.11: extensions named in "crit" must be understood, and none are.
  if (header.contains("crit")) return Fail(Malformed("unsupported critical header"));

  ParsedJwt out;
  CV_RETURN_IF_ERROR(ReadString(header, "alg", out.alg, true));
  CV_RETURN_IF_ERROR(ReadString(header, "kid", out.kid, false));
  CV_RETURN_IF_ERROR(ReadString(payload, "iss", out.claims.iss, true));
  CV_RETURN_IF_ERROR(ReadString(payload, "sub", out.claims.sub, true));
  // aud may be a string or an array of strings; certvault issues a single audience.
  auto aud = payload.find("aud");
  if (aud != payload.end() && aud->is_array() && aud->size() == 1 && (*aud)[0].is_string()) {
    out.claims.aud = (*aud)[0].get<std::string>();
  } else {
    CV_RETURN_IF_ERROR(ReadString(payload, "aud", out.claims.aud, true));
  }
  CV_RETURN_IF_ERROR(ReadString(payload, "tid", out.claims.tid, false));
  CV_RETURN_IF_ERROR(ReadString(payload, "jti", out.claims.jti, false));
  CV_RETURN_IF_ERROR(ReadTime(payload, "exp", out.claims.exp, true));
  CV_RETURN_IF_ERROR(ReadTime(payload, "iat", out.claims.iat, false));
  CV_RETURN_IF_ERROR(ReadTime(payload, "nbf", out.claims.nbf, false));
  out.signing_input = std::string(token.substr(0, dot2));
  out.signature = std::move(*signature);
  return out;
}

Result<std::string> SignJwt(const JwtClaims& claims, std::string_view kid,
                            const crypto::PrivateKey& key) {
  const std::string alg = key.Spec().kind == crypto::KeyKind::kEc ? "ES256" : "RS256";
  json header = {{"alg", alg}, {"typ", "JWT"}, {"kid", std::string(kid)}};
  json payload = {{"iss", claims.iss}, {"sub", claims.sub}, {"aud", claims.aud},
                  {"exp", claims.exp}, {"iat", claims.iat}, {"nbf", claims.nbf}};
  if (!claims.tid.empty()) payload["tid"] = claims.tid;
  if (!claims.jti.empty()) payload["jti"] = claims.jti;
  // Entra tokens carry appid/oid; SDK-side tooling sometimes reads them.
  payload["appid"] = claims.sub;
  payload["oid"] = claims.sub;
  const std::string input =
      crypto::Base64UrlEncode(header.dump()) + "." + crypto::Base64UrlEncode(payload.dump());
  CV_ASSIGN_OR_RETURN(std::string sig, key.SignJose(alg, input));
  return input + "." + crypto::Base64UrlEncode(sig);
}

}  // namespace certvault::auth
