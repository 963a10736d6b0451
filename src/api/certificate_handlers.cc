// Key Vault certificate operations.

#include <nlohmann/json.hpp>

#include "api/decode.h"
#include "api/handlers.h"
#include "api/render.h"
#include "crypto/encoding.h"
#include "model/codec.h"

namespace certvault::api {

using nlohmann::json;

namespace {

const std::string& Name(const RequestContext& ctx) { return ctx.Param("name"); }

std::string Version(const RequestContext& ctx) {
  auto it = ctx.params.find("version");
  return it == ctx.params.end() ? std::string() : it->second;
}

// A PolicyFn that merges body["policy"] (when present) onto the policy it is given.
Result<vault::PolicyFn> PolicyPatch(const json& body) {
  auto it = body.find("policy");
  if (it == body.end() || it->is_null()) return vault::PolicyFn();
  if (!it->is_object()) return Fail(Error::BadParameter("'policy' must be a JSON object"));
  json policy = *it;
  return vault::PolicyFn(
      [policy](model::CertificatePolicy& p) { return model::MergePolicyFromJson(policy, p); });
}

}  // namespace

// Answered when the new version is durable, without holding this thread meanwhile: the store's
// writer thread hands the result on, so a batch of creates leaves together.
Result<HttpResponse> CreateCertificate(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(json body, JsonBody(req, true));
  CV_ASSIGN_OR_RETURN(auto policy, PolicyPatch(body));
  CV_ASSIGN_OR_RETURN(auto attributes, DecodeAttributes(body));
  CV_ASSIGN_OR_RETURN(auto tags, DecodeTags(body));
  HttpResponse deferred;
  deferred.defer = [&s, vault = ctx.vault, name = Name(ctx), base_url = ctx.base_url,
                    policy = std::move(policy), attributes = std::move(attributes),
                    tags = std::move(tags)](std::function<void(HttpResponse)> answer) {
    s.vault.CreateCertificateAsync(
        vault, name, policy, attributes, tags,
        [base_url, answer](Result<model::PendingOperation> op) {
          if (!op) return answer(ErrorAnswer(op.error()));
          HttpResponse r = Json(202, RenderOperation(base_url, *op));
          r.headers.emplace_back("Location",
                                 base_url + "/certificates/" + op->name +
                                     "/pending?api-version=7.5&request_id=" + op->request_id);
          r.headers.emplace_back("Retry-After", "1");
          answer(std::move(r));
        });
  };
  return deferred;
}

Result<HttpResponse> ImportCertificate(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(json body, JsonBody(req));
  CV_ASSIGN_OR_RETURN(auto value, OptionalString(body, "value"));
  if (!value || value->empty()) return Fail(Error::BadParameter("'value' is required"));
  CV_ASSIGN_OR_RETURN(auto password, OptionalString(body, "pwd"));
  CV_ASSIGN_OR_RETURN(auto policy, PolicyPatch(body));
  CV_ASSIGN_OR_RETURN(auto attributes, DecodeAttributes(body));
  CV_ASSIGN_OR_RETURN(auto tags, DecodeTags(body));
  CV_ASSIGN_OR_RETURN(auto view,
                      s.vault.ImportCertificate(ctx.vault, Name(ctx), *value, password.value_or(""),
                                                policy, attributes, tags));
  return Json(200, RenderCertificateBundle(ctx.base_url, view, true));
}

Result<HttpResponse> GetCertificate(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto view, s.vault.GetCertificate(ctx.vault, Name(ctx), Version(ctx)));
  return Json(200, RenderCertificateBundle(ctx.base_url, view, true));
}

Result<HttpResponse> ListCertificates(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto page, DecodePage(req));
  const bool include_pending = req.Query("includePending") == "true";
  CV_ASSIGN_OR_RETURN(auto listing, s.vault.ListCertificates(ctx.vault, page, include_pending));
  json items = json::array();
  for (const auto& v : listing.items) {
    items.push_back(RenderCertificateItem(ctx.base_url, v.cert, v.version, false));
  }
  return Json(200, PageBody(ctx, req, std::move(items), listing.next_offset, page.limit));
}

Result<HttpResponse> ListCertificateVersions(Services& s, RequestContext& ctx,
                                             const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto page, DecodePage(req));
  CV_ASSIGN_OR_RETURN(auto listing, s.vault.ListCertificateVersions(ctx.vault, Name(ctx), page));
  json items = json::array();
  for (const auto& v : listing.items) {
    items.push_back(RenderCertificateItem(ctx.base_url, listing.cert, v, true));
  }
  return Json(200, PageBody(ctx, req, std::move(items), listing.next_offset, page.limit));
}

Result<HttpResponse> UpdateCertificate(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(json body, JsonBody(req));
  CV_ASSIGN_OR_RETURN(auto policy, PolicyPatch(body));
  CV_ASSIGN_OR_RETURN(auto attributes, DecodeAttributes(body));
  CV_ASSIGN_OR_RETURN(auto tags, DecodeTags(body));
  CV_ASSIGN_OR_RETURN(auto view, s.vault.UpdateCertificate(ctx.vault, Name(ctx), Version(ctx),
                                                           attributes, tags, policy));
  return Json(200, RenderCertificateBundle(ctx.base_url, view, true));
}

Result<HttpResponse> GetCertificatePolicy(Services& s, RequestContext& ctx,
                                          const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto cert, s.vault.GetPolicy(ctx.vault, Name(ctx)));
  return Json(200, RenderPolicy(ctx.base_url, cert));
}

Result<HttpResponse> UpdateCertificatePolicy(Services& s, RequestContext& ctx,
                                             const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(json body, JsonBody(req));
  vault::PolicyFn patch = [&body](model::CertificatePolicy& p) {
    return model::MergePolicyFromJson(body, p);
  };
  CV_ASSIGN_OR_RETURN(auto cert, s.vault.UpdatePolicy(ctx.vault, Name(ctx), patch));
  return Json(200, RenderPolicy(ctx.base_url, cert));
}

Result<HttpResponse> GetPending(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto op, s.vault.GetPending(ctx.vault, Name(ctx)));
  return Json(200, RenderOperation(ctx.base_url, op));
}

Result<HttpResponse> UpdatePending(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(json body, JsonBody(req));
  auto it = body.find("cancellation_requested");
  if (it == body.end() || !it->is_boolean()) {
    return Fail(Error::BadParameter("'cancellation_requested' (boolean) is required"));
  }
  if (!it->get<bool>()) return GetPending(s, ctx, req);
  CV_ASSIGN_OR_RETURN(auto op, s.vault.CancelPending(ctx.vault, Name(ctx)));
  return Json(200, RenderOperation(ctx.base_url, op));
}

Result<HttpResponse> DeletePending(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto op, s.vault.DeletePending(ctx.vault, Name(ctx)));
  return Json(200, RenderOperation(ctx.base_url, op));
}

Result<HttpResponse> MergeCertificate(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(json body, JsonBody(req));
  auto it = body.find("x5c");
  if (it == body.end() || !it->is_array() || it->empty()) {
    return Fail(Error::BadParameter("'x5c' must be a non-empty array of base64 certificates"));
  }
  std::vector<std::string> ders;
  for (const auto& item : *it) {
    if (!item.is_string()) return Fail(Error::BadParameter("'x5c' entries must be strings"));
    auto der = crypto::Base64Decode(item.get<std::string>());
    if (!der || der->empty()) {
      return Fail(Error::BadParameter("'x5c' entries must be base64-encoded DER certificates"));
    }
    ders.push_back(std::move(*der));
  }
  CV_ASSIGN_OR_RETURN(auto attributes, DecodeAttributes(body));
  CV_ASSIGN_OR_RETURN(auto tags, DecodeTags(body));
  CV_ASSIGN_OR_RETURN(auto view,
                      s.vault.MergeCertificate(ctx.vault, Name(ctx), ders, attributes, tags));
  return Json(201, RenderCertificateBundle(ctx.base_url, view, true));
}

Result<HttpResponse> DeleteCertificate(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto view, s.vault.DeleteCertificate(ctx.vault, Name(ctx)));
  return Json(200, RenderDeletedCertificate(ctx.base_url, view));
}

Result<HttpResponse> GetDeletedCertificate(Services& s, RequestContext& ctx,
                                           const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto view, s.vault.GetDeletedCertificate(ctx.vault, Name(ctx)));
  return Json(200, RenderDeletedCertificate(ctx.base_url, view));
}

Result<HttpResponse> ListDeletedCertificates(Services& s, RequestContext& ctx,
                                             const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto page, DecodePage(req));
  CV_ASSIGN_OR_RETURN(auto listing, s.vault.ListDeletedCertificates(ctx.vault, page));
  json items = json::array();
  for (const auto& v : listing.items) {
    items.push_back(RenderCertificateItem(ctx.base_url, v.cert, v.version, false));
  }
  return Json(200, PageBody(ctx, req, std::move(items), listing.next_offset, page.limit));
}

Result<HttpResponse> RecoverCertificate(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto view, s.vault.RecoverCertificate(ctx.vault, Name(ctx)));
  return Json(200, RenderCertificateBundle(ctx.base_url, view, true));
}

Result<HttpResponse> PurgeCertificate(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_RETURN_IF_ERROR(s.vault.PurgeCertificate(ctx.vault, Name(ctx)));
  return NoContent();
}

Result<HttpResponse> BackupCertificate(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(std::string blob, s.vault.BackupCertificate(ctx.vault, Name(ctx)));
  return Json(200, json{{"value", blob}});
}

Result<HttpResponse> RestoreCertificate(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(json body, JsonBody(req));
  CV_ASSIGN_OR_RETURN(std::string value, RequiredValue(body));
  CV_ASSIGN_OR_RETURN(auto view, s.vault.RestoreCertificate(ctx.vault, value));
  return Json(200, RenderCertificateBundle(ctx.base_url, view, true));
}

Result<HttpResponse> GetContacts(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto contacts, s.vault.GetContacts(ctx.vault));
  return Json(200, RenderContacts(ctx.base_url, contacts));
}

Result<HttpResponse> SetContacts(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(json body, JsonBody(req));
  auto it = body.find("contacts");
  if (it == body.end() || !it->is_array()) {
    return Fail(Error::BadParameter("'contacts' must be an array"));
  }
  std::vector<model::Contact> contacts;
  for (const auto& item : *it) {
    CV_ASSIGN_OR_RETURN(auto c, model::ContactFromJson(item));
    contacts.push_back(std::move(c));
  }
  CV_ASSIGN_OR_RETURN(auto stored, s.vault.SetContacts(ctx.vault, contacts));
  return Json(200, RenderContacts(ctx.base_url, stored));
}

Result<HttpResponse> DeleteContacts(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto contacts, s.vault.DeleteContacts(ctx.vault));
  return Json(200, RenderContacts(ctx.base_url, contacts));
}

}  // namespace certvault::api
