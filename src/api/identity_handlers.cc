// Server management: service principals, role assignments, the audit trail and token keys.

#include <nlohmann/json.hpp>

#include "api/decode.h"
#include "api/handlers.h"
#include "common/time_text.h"

namespace certvault::api {

using nlohmann::json;

namespace {

json PrincipalJson(const model::Principal& p) {
  json j = {{"clientId", p.client_id},
            {"displayName", p.display_name},
            {"enabled", p.enabled},
            {"created", p.created},
            {"updated", p.updated}};
  if (p.secret_expires != 0) j["secretExpires"] = p.secret_expires;
  return j;
}

json WithSecret(const auth::PrincipalWithSecret& p) {
  json j = PrincipalJson(p.principal);
  j["clientSecret"] = p.client_secret;
  return j;
}

json AssignmentJson(const model::RoleAssignment& a) {
  return {{"id", a.id},
          {"principalId", a.principal_id},
          {"role", a.role},
          {"scope", a.scope},
          {"created", a.created}};
}

Result<int64_t> OptionalSecretExpires(const json& body) {
  auto it = body.find("secretExpires");
  if (it == body.end() || it->is_null()) return int64_t{0};
  if (!it->is_number_integer()) {
    return Fail(Error::BadParameter("secretExpires must be Unix seconds (an integer)"));
  }
  return it->get<int64_t>();
}

Result<std::string> RequiredString(const json& body, const char* key) {
  CV_ASSIGN_OR_RETURN(auto value, OptionalString(body, key));
  if (!value || value->empty()) {
    return Fail(Error::BadParameter(std::string(key) + " is required"));
  }
  return *value;
}

// A time query parameter: RFC 3339 or Unix seconds; 0 when absent.
Result<int64_t> TimeParamMs(const HttpRequest& req, const char* key) {
  const std::string_view text = req.Query(key);
  if (text.empty()) return int64_t{0};
  if (text.size() <= 12 && text.find_first_not_of("0123456789") == std::string_view::npos) {
    return static_cast<int64_t>(std::stoll(std::string(text))) * 1000;
  }
  auto seconds = ParseRfc3339(text);
  if (!seconds) {
    return Fail(Error::BadParameter(std::string(key) + " must be RFC 3339 or Unix seconds"));
  }
  return *seconds * 1000;
}

json AuditJson(const model::AuditRecord& r) {
  return {{"seq", r.seq},
          {"time", FormatRfc3339Millis(r.time_ms)},
          {"requestId", r.request_id},
          {"principal", r.principal},
          {"source", r.source},
          {"vault", r.vault},
          {"operation", r.operation},
          {"object", r.object},
          {"outcome", r.outcome},
          {"status", r.status},
          {"durationMs", static_cast<double>(r.duration_us) / 1000.0}};
}

}  // namespace

Result<HttpResponse> ListPrincipals(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto principals, s.identities.ListPrincipals());
  json items = json::array();
  for (const auto& p : principals) items.push_back(PrincipalJson(p));
  return Json(200, json{{"value", items}});
}

Result<HttpResponse> CreatePrincipal(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(json body, JsonBody(req));
  CV_ASSIGN_OR_RETURN(std::string name, RequiredString(body, "displayName"));
  CV_ASSIGN_OR_RETURN(int64_t expires, OptionalSecretExpires(body));
  CV_ASSIGN_OR_RETURN(auto created, s.identities.CreatePrincipal(name, expires));
  ctx.object = "principals/" + created.principal.client_id;
  HttpResponse r = Json(201, WithSecret(created));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Result<HttpResponse> GetPrincipal(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto p, s.identities.GetPrincipal(ctx.Param("id")));
  return Json(200, PrincipalJson(p));
}

Result<HttpResponse> UpdatePrincipal(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(json body, JsonBody(req));
  auth::PrincipalChange change;
  if (auto it = body.find("enabled"); it != body.end()) {
    if (!it->is_boolean()) return Fail(Error::BadParameter("enabled must be true or false"));
    change.enabled = it->get<bool>();
  }
  CV_ASSIGN_OR_RETURN(change.display_name, OptionalString(body, "displayName"));
  CV_ASSIGN_OR_RETURN(auto p,
                      s.identities.UpdatePrincipal(ctx.caller.client_id, ctx.Param("id"), change));
  return Json(200, PrincipalJson(p));
}

Result<HttpResponse> DeletePrincipal(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto p, s.identities.DeletePrincipal(ctx.caller.client_id, ctx.Param("id")));
  return Json(200, PrincipalJson(p));
}

Result<HttpResponse> RotatePrincipalSecret(Services& s, RequestContext& ctx,
                                           const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(json body, JsonBody(req, /*allow_empty=*/true));
  CV_ASSIGN_OR_RETURN(int64_t expires, OptionalSecretExpires(body));
  CV_ASSIGN_OR_RETURN(auto rotated, s.identities.RotateSecret(ctx.Param("id"), expires));
  HttpResponse r = Json(200, WithSecret(rotated));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Result<HttpResponse> ListRoleAssignments(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto assignments, s.identities.ListRoleAssignments(req.Query("principalId"),
                                                                         req.Query("scope")));
  json items = json::array();
  for (const auto& a : assignments) items.push_back(AssignmentJson(a));
  return Json(200, json{{"value", items}});
}

Result<HttpResponse> CreateRoleAssignment(Services& s, RequestContext& ctx,
                                          const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(json body, JsonBody(req));
  CV_ASSIGN_OR_RETURN(std::string principal, RequiredString(body, "principalId"));
  CV_ASSIGN_OR_RETURN(std::string role, RequiredString(body, "role"));
  CV_ASSIGN_OR_RETURN(std::string scope, RequiredString(body, "scope"));
  CV_ASSIGN_OR_RETURN(auto assigned, s.identities.AssignRole(principal, role, scope));
  ctx.object = "roleassignments/" + assigned.first.id;
  return Json(assigned.second ? 201 : 200, AssignmentJson(assigned.first));
}

Result<HttpResponse> DeleteRoleAssignment(Services& s, RequestContext& ctx,
                                          const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto a, s.identities.RemoveRoleAssignment(ctx.Param("id")));
  return Json(200, AssignmentJson(a));
}

Result<HttpResponse> ListAudit(Services& s, RequestContext& ctx, const HttpRequest& req) {
  model::AuditFilter filter;
  CV_ASSIGN_OR_RETURN(filter.from_ms, TimeParamMs(req, "from"));
  CV_ASSIGN_OR_RETURN(filter.to_ms, TimeParamMs(req, "to"));
  filter.principal = std::string(req.Query("principal"));
  filter.object = std::string(req.Query("object"));
  filter.operation = std::string(req.Query("operation"));
  filter.outcome = std::string(req.Query("outcome"));
  CV_ASSIGN_OR_RETURN(filter.limit,
                      IntQuery(req, "maxresults", 100, 1, store::kMaxAuditQueryLimit));
  CV_ASSIGN_OR_RETURN(filter.after_seq, IntQuery(req, "$skiptoken", 0, 0, INT64_MAX));
  CV_ASSIGN_OR_RETURN(auto records, s.audit.Query(filter));
  json items = json::array();
  for (const auto& r : records) items.push_back(AuditJson(r));
  json body = {{"value", items}};
  if (static_cast<int64_t>(records.size()) == filter.limit) {
    // Same filters, continuing after the last record returned.
    std::string link = ctx.base_url + req.path + "?";
    for (const auto& [key, value] : req.query) {
      if (key == "$skiptoken") continue;
      link += key + "=" + PercentEncode(value) + "&";
    }
    body["nextLink"] = link + "$skiptoken=" + std::to_string(records.back().seq);
  }
  return Json(200, body);
}

Result<HttpResponse> RotateTokenKey(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(std::string kid, s.tokens.RotateSigningKey());
  json keys = json::array();
  for (const auto& k : s.tokens.SigningKeys()) {
    keys.push_back({{"kid", k.kid}, {"created", k.created}, {"current", k.current}});
  }
  return Json(200, json{{"kid", kid}, {"keys", keys}});
}

}  // namespace certvault::api
