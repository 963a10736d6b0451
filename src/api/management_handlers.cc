// Server management: vaults.

#include <nlohmann/json.hpp>

#include "api/decode.h"
#include "api/handlers.h"
#include "common/log.h"

namespace certvault::api {

using nlohmann::json;

namespace {

// "https://{vault}.{suffix}:{port}" from the base URL the caller used, e.g. https://localhost:8443.
std::string VaultUrl(const RequestContext& ctx, const std::string& suffix,
                     const std::string& vault) {
  const std::string port =
      SplitHostHeader(std::string_view(ctx.base_url).substr(std::string_view("https://").size()))
          .port;
  return "https://" + vault + "." + suffix + port;
}

json VaultJson(const RequestContext& ctx, const Services& s, const model::Vault& v) {
  return {{"name", v.name}, {"created", v.created}, {"url", VaultUrl(ctx, s.dns_suffix, v.name)}};
}

}  // namespace

Result<HttpResponse> ListVaults(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto vaults, s.vault.ListVaults());
  json items = json::array();
  for (const auto& v : vaults) items.push_back(VaultJson(ctx, s, v));
  return Json(200, json{{"value", items}});
}

Result<HttpResponse> CreateVault(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto v, s.vault.CreateVault(ctx.Param("vault")));
  if (s.vaults_changed) s.vaults_changed();
  return Json(201, VaultJson(ctx, s, v));
}

Result<HttpResponse> DeleteVault(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto v, s.vault.GetVault(ctx.Param("vault")));
  CV_RETURN_IF_ERROR(s.vault.DeleteVault(v.name));
  // The vault's role assignments went with it; a vault made later under the name starts bare.
  if (auto reloaded = s.identities.ReloadAssignments(); !reloaded) {
    log::Error("cannot reload role assignments: " + reloaded.error().message());
  }
  if (s.vaults_changed) s.vaults_changed();
  return Json(200, VaultJson(ctx, s, v));
}

}  // namespace certvault::api
