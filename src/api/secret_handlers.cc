// Key Vault secret operations.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "api/decode.h"
#include "api/handlers.h"
#include "api/render.h"

namespace certvault::api {

using nlohmann::json;

namespace {

const std::string& Name(const RequestContext& ctx) { return ctx.Param("name"); }

std::string Version(const RequestContext& ctx) {
  auto it = ctx.params.find("version");
  return it == ctx.params.end() ? std::string() : it->second;
}

// Whether two views render the same bundle. The structured bindings name every field, so that
// a field added to SecretView, Attributes or Deletion breaks the build here until it is compared.
bool SameDeletion(const model::Deletion& a, const model::Deletion& b) {
  const auto& [deleted_date, scheduled_purge_date] = a;
  return deleted_date == b.deleted_date && scheduled_purge_date == b.scheduled_purge_date;
}

bool SameAttributes(const model::Attributes& a, const model::Attributes& b) {
  const auto& [enabled, nbf, exp, created, updated] = a;
  return enabled == b.enabled && nbf == b.nbf && exp == b.exp && created == b.created &&
         updated == b.updated;
}

bool SameView(const vault::SecretView& a, const vault::SecretView& b) {
  const auto& [name, version, value, content_type, attributes, tags, managed, deleted] = a;
  return name == b.name && version == b.version && value == b.value &&
         content_type == b.content_type && SameAttributes(attributes, b.attributes) &&
         tags == b.tags && managed == b.managed && deleted.has_value() == b.deleted.has_value() &&
         (!deleted || SameDeletion(*deleted, *b.deleted));
}

// The secret bundle with its value, serialised. Building and serialising the JSON (the value, a
// PEM bundle of over a kilobyte, is escaped byte by byte) was a large part of a GET's cost, and
// clients read the same secret over and over; so each thread keeps the body it rendered last,
// with what it was rendered from, and reuses it while base URL and view are the same.
std::string SecretBundleBody(std::string_view base, const vault::SecretView& view) {
  struct Rendered {
    std::string base;
    vault::SecretView view;
    std::string body;  // empty: nothing rendered yet
  };
  thread_local Rendered last;
  if (!last.body.empty() && last.base == base && SameView(last.view, view)) return last.body;
  std::string body = RenderSecretBundle(base, view, true).dump();
  last.body.clear();  // invalid until complete, should a copy below throw
  last.base = base;
  last.view = view;
  last.body = body;
  return body;
}

HttpResponse ListBody(const RequestContext& ctx, const HttpRequest& req,
                      const vault::SecretListing& listing, bool versioned, int64_t limit) {
  json items = json::array();
  for (const auto& s : listing.items) items.push_back(RenderSecretItem(ctx.base_url, s, versioned));
  return Json(200, PageBody(ctx, req, std::move(items), listing.next_offset, limit));
}

}  // namespace

Result<HttpResponse> SetSecret(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(json body, JsonBody(req));
  CV_ASSIGN_OR_RETURN(auto value, OptionalString(body, "value"));
  if (!value) return Fail(Error::BadParameter("'value' (string) is required"));
  CV_ASSIGN_OR_RETURN(auto content_type, OptionalString(body, "contentType"));
  CV_ASSIGN_OR_RETURN(auto attributes, DecodeAttributes(body));
  CV_ASSIGN_OR_RETURN(auto tags, DecodeTags(body));
  CV_ASSIGN_OR_RETURN(auto view, s.vault.SetSecret(ctx.vault, Name(ctx), *value,
                                                   content_type.value_or(""), attributes, tags));
  return Json(200, RenderSecretBundle(ctx.base_url, view, true));
}

Result<HttpResponse> GetSecret(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto view, s.vault.GetSecret(ctx.vault, Name(ctx), Version(ctx)));
  HttpResponse r;
  r.body = SecretBundleBody(ctx.base_url, view);
  return r;
}

Result<HttpResponse> ListSecrets(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto page, DecodePage(req));
  CV_ASSIGN_OR_RETURN(auto listing, s.vault.ListSecrets(ctx.vault, page));
  return ListBody(ctx, req, listing, false, page.limit);
}

Result<HttpResponse> ListSecretVersions(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto page, DecodePage(req));
  CV_ASSIGN_OR_RETURN(auto listing, s.vault.ListSecretVersions(ctx.vault, Name(ctx), page));
  return ListBody(ctx, req, listing, true, page.limit);
}

Result<HttpResponse> UpdateSecret(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(json body, JsonBody(req));
  CV_ASSIGN_OR_RETURN(auto content_type, OptionalString(body, "contentType"));
  CV_ASSIGN_OR_RETURN(auto attributes, DecodeAttributes(body));
  CV_ASSIGN_OR_RETURN(auto tags, DecodeTags(body));
  CV_ASSIGN_OR_RETURN(auto view, s.vault.UpdateSecret(ctx.vault, Name(ctx), Version(ctx),
                                                      attributes, tags, content_type));
  return Json(200, RenderSecretBundle(ctx.base_url, view, false));
}

Result<HttpResponse> DeleteSecret(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto view, s.vault.DeleteSecret(ctx.vault, Name(ctx)));
  return Json(200, RenderSecretBundle(ctx.base_url, view, false));
}

Result<HttpResponse> GetDeletedSecret(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto view, s.vault.GetDeletedSecret(ctx.vault, Name(ctx)));
  return Json(200, RenderSecretBundle(ctx.base_url, view, false));
}

Result<HttpResponse> ListDeletedSecrets(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto page, DecodePage(req));
  CV_ASSIGN_OR_RETURN(auto listing, s.vault.ListDeletedSecrets(ctx.vault, page));
  return ListBody(ctx, req, listing, false, page.limit);
}

Result<HttpResponse> RecoverSecret(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto view, s.vault.RecoverSecret(ctx.vault, Name(ctx)));
  return Json(200, RenderSecretBundle(ctx.base_url, view, false));
}

Result<HttpResponse> PurgeSecret(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_RETURN_IF_ERROR(s.vault.PurgeSecret(ctx.vault, Name(ctx)));
  return NoContent();
}

Result<HttpResponse> BackupSecret(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(std::string blob, s.vault.BackupSecret(ctx.vault, Name(ctx)));
  return Json(200, json{{"value", blob}});
}

Result<HttpResponse> RestoreSecret(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(json body, JsonBody(req));
  CV_ASSIGN_OR_RETURN(std::string value, RequiredValue(body));
  CV_ASSIGN_OR_RETURN(auto view, s.vault.RestoreSecret(ctx.vault, value));
  return Json(200, RenderSecretBundle(ctx.base_url, view, false));
}

}  // namespace certvault::api
