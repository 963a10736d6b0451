// OAuth2 client-credentials token endpoint and discovery documents.

#include <nlohmann/json.hpp>

#include "api/decode.h"
#include "api/handlers.h"

namespace certvault::api {

using nlohmann::json;

namespace {

// OAuth2 errors use their own envelope (RFC 6749 section 5.2), as Entra ID does.
HttpResponse OAuthError(int status, const std::string& error, const std::string& description) {
  return Json(status, json{{"error", error}, {"error_description", description}});
}

}  // namespace

Result<HttpResponse> IssueToken(Services& s, RequestContext& ctx, const HttpRequest& req) {
  const auto form = ParseForm(req.body);
  auto get = [&form](const char* key) {
    auto it = form.find(key);
    return it == form.end() ? std::string() : it->second;
  };
  if (get("grant_type") != "client_credentials") {
    return OAuthError(400, "unsupported_grant_type", "only client_credentials is supported");
  }
  std::string client_id = get("client_id");
  if (client_id.empty()) return OAuthError(400, "invalid_request", "client_id is required");
  // The audit trail names the client that asked, whether or not it proved who it is.
  ctx.caller.client_id = client_id.substr(0, 128);
  auto token = s.tokens.IssueForClient(client_id, get("client_secret"), get("scope"));
  if (!token && token.error().http_status() == 400) {
    return OAuthError(400, "invalid_scope", token.error().message());
  }
  if (!token) return OAuthError(401, "invalid_client", token.error().message());
  HttpResponse r = Json(200, json{{"token_type", "Bearer"},
                                  {"access_token", token->access_token},
                                  {"expires_in", token->expires_in},
                                  {"ext_expires_in", token->expires_in}});
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("Pragma", "no-cache");
  return r;
}

Result<HttpResponse> OpenIdConfiguration(Services& s, RequestContext& ctx, const HttpRequest& req) {
  auto it = ctx.params.find("tenant");
  const std::string tenant = it == ctx.params.end() ? "certvault" : it->second;
  const std::string authority = ctx.base_url + "/" + tenant;
  // MSAL checks that the issuer shares the authority's scheme, host and port.
  return Json(200, json{{"issuer", authority + "/v2.0"},
                        {"token_endpoint", authority + "/oauth2/v2.0/token"},
                        {"authorization_endpoint", authority + "/oauth2/v2.0/authorize"},
                        {"jwks_uri", ctx.base_url + "/.well-known/jwks.json"},
                        {"token_endpoint_auth_methods_supported", {"client_secret_post"}},
                        {"grant_types_supported", {"client_credentials"}},
                        {"id_token_signing_alg_values_supported", {"ES256"}},
                        {"tenant_region_scope", nullptr}});
}

Result<HttpResponse> Jwks(Services& s, RequestContext& ctx, const HttpRequest& req) {
  HttpResponse r;
  r.body = s.tokens.JwksJson();
  return r;
}

Result<HttpResponse> Health(Services& s, RequestContext& ctx, const HttpRequest& req) {
  return Json(200, json{{"status", "ok"}});
}

}  // namespace certvault::api
