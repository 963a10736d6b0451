// Issuers (Key Vault's issuers API), renewal, revocation, jobs, remote workers, the outbox and
// the test clock.

#include <nlohmann/json.hpp>

#include "api/decode.h"
#include "api/handlers.h"
#include "api/render.h"
#include "common/names.h"
#include "common/time_text.h"
#include "crypto/encoding.h"
#include "crypto/x509.h"
#include "model/codec.h"

namespace certvault::api {

using nlohmann::json;

namespace {

// --- Issuers ---

json RenderIssuer(const RequestContext& ctx, const model::Issuer& i) {
  json admins = json::array();
  for (const auto& a : i.admins) {
    admins.push_back({{"first_name", a.first_name},
                      {"last_name", a.last_name},
                      {"email", a.email},
                      {"phone", a.phone}});
  }
  json settings = json::parse(i.settings, nullptr, false);
  if (settings.is_discarded()) settings = json::object();
  json out = {
      {"id", ctx.base_url + "/certificates/issuers/" + i.name},
      {"provider", i.provider},
      {"attributes", {{"enabled", i.enabled}, {"created", i.created}, {"updated", i.updated}}},
      {"settings", settings}};
  if (!i.account_id.empty()) out["credentials"] = {{"account_id", i.account_id}};
  if (!i.organization_id.empty() || !i.admins.empty()) {
    out["org_details"] = {{"admin_details", admins}};
    if (!i.organization_id.empty()) out["org_details"]["id"] = i.organization_id;
  }
  return out;
}

Result<vault::IssuerPatch> DecodeIssuer(const json& body) {
  vault::IssuerPatch p;
  CV_ASSIGN_OR_RETURN(p.provider, OptionalString(body, "provider"));
  if (auto it = body.find("credentials"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return Fail(Error::BadParameter("'credentials' must be an object"));
    CV_ASSIGN_OR_RETURN(p.account_id, OptionalString(*it, "account_id"));
    CV_ASSIGN_OR_RETURN(p.password, OptionalString(*it, "pwd"));
  }
  if (auto it = body.find("org_details"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return Fail(Error::BadParameter("'org_details' must be an object"));
    CV_ASSIGN_OR_RETURN(p.organization_id, OptionalString(*it, "id"));
    if (auto a = it->find("admin_details"); a != it->end() && !a->is_null()) {
      if (!a->is_array()) {
        return Fail(Error::BadParameter("'org_details.admin_details' must be an array"));
      }
      std::vector<model::IssuerAdmin> admins;
      for (const auto& item : *a) {
        if (!item.is_object()) {
          return Fail(Error::BadParameter("'org_details.admin_details[]' must be objects"));
        }
        model::IssuerAdmin admin;
        for (auto [key, field] :
             {std::pair{"first_name", &admin.first_name}, std::pair{"last_name", &admin.last_name},
              std::pair{"email", &admin.email}, std::pair{"phone", &admin.phone}}) {
          CV_ASSIGN_OR_RETURN(auto v, OptionalString(item, key));
          if (v) *field = *v;
        }
        admins.push_back(std::move(admin));
      }
      p.admins = std::move(admins);
    }
  }
  if (auto it = body.find("attributes"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return Fail(Error::BadParameter("'attributes' must be an object"));
    if (auto e = it->find("enabled"); e != it->end() && !e->is_null()) {
      if (!e->is_boolean())
        return Fail(Error::BadParameter("'attributes.enabled' must be a boolean"));
      p.enabled = e->get<bool>();
    }
  }
  if (auto it = body.find("settings"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return Fail(Error::BadParameter("'settings' must be an object"));
    p.settings = it->dump();
  }
  return p;
}

Result<HttpResponse> WriteIssuer(Services& s, RequestContext& ctx, const HttpRequest& req,
                                 bool create) {
  const std::string& name = ctx.Param("issuer");
  ctx.object = "issuers/" + name;
  CV_ASSIGN_OR_RETURN(json body, JsonBody(req));
  CV_ASSIGN_OR_RETURN(vault::IssuerPatch patch, DecodeIssuer(body));
  if (create && !patch.provider) return Fail(Error::BadParameter("'provider' is required"));
  CV_ASSIGN_OR_RETURN(auto issuer, s.vault.SetIssuer(ctx.vault, name, patch, create));
  return Json(200, RenderIssuer(ctx, issuer));
}

// --- Jobs ---

json RenderJob(const RequestContext& ctx, const model::Job& j) {
  json attempts = json::array();
  for (const auto& a : j.attempts) {
    json item = {{"started", a.started}, {"outcome", a.outcome}};
    if (a.finished) item["finished"] = a.finished;
    if (!a.error.empty()) item["error"] = a.error;
    attempts.push_back(std::move(item));
  }
  json out = {{"id", ctx.base_url + "/jobs/" + j.id},
              {"job_id", j.id},
              {"certificate", j.name},
              {"certificate_id", ctx.base_url + "/certificates/" + j.name},
              {"issuer", j.issuer},
              {"trigger", j.trigger},
              {"status", j.status},
              {"attempts", attempts},
              {"created", j.created},
              {"updated", j.updated}};
  auto set = [&](const char* key, const std::string& v) {
    if (!v.empty()) out[key] = v;
  };
  set("source_version", j.source_version);
  set("request_id", j.request_id);
  set("validity", j.validity);
  set("last_error", j.last_error);
  set("lease_owner", j.lease_owner);
  if (j.lease_expires) out["lease_expires"] = j.lease_expires;
  if (j.status == "queued") out["next_attempt"] = j.not_before;
  if (j.deadline) out["deadline"] = j.deadline;
  return out;
}

json RenderWorkerJob(const RequestContext& ctx, const lifecycle::WorkerJob& w) {
  json out = RenderJob(ctx, w.job);
  out["csr"] = crypto::PemEncode("CERTIFICATE REQUEST", w.csr_der);
  out["template"] = w.template_name;
  out["vault"] = w.job.vault;
  out["not_before"] = w.not_before;
  out["not_after"] = w.not_after;
  return out;
}

Result<std::string> RequiredString(const json& body, const char* key) {
  CV_ASSIGN_OR_RETURN(auto v, OptionalString(body, key));
  if (!v || v->empty()) {
    return Fail(Error::BadParameter(std::string("'") + key + "' is required"));
  }
  return *v;
}

}  // namespace

Result<HttpResponse> ListIssuers(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto issuers, s.vault.ListIssuers(ctx.vault));
  json items = json::array();
  for (const auto& i : issuers) {
    items.push_back(
        {{"id", ctx.base_url + "/certificates/issuers/" + i.name}, {"provider", i.provider}});
  }
  return Json(200, json{{"value", items}, {"nextLink", nullptr}});
}

Result<HttpResponse> GetIssuer(Services& s, RequestContext& ctx, const HttpRequest& req) {
  ctx.object = "issuers/" + ctx.Param("issuer");
  CV_ASSIGN_OR_RETURN(auto issuer, s.vault.GetIssuer(ctx.vault, ctx.Param("issuer")));
  return Json(200, RenderIssuer(ctx, issuer));
}

Result<HttpResponse> SetIssuer(Services& s, RequestContext& ctx, const HttpRequest& req) {
  return WriteIssuer(s, ctx, req, true);
}

Result<HttpResponse> UpdateIssuer(Services& s, RequestContext& ctx, const HttpRequest& req) {
  return WriteIssuer(s, ctx, req, false);
}

Result<HttpResponse> DeleteIssuer(Services& s, RequestContext& ctx, const HttpRequest& req) {
  ctx.object = "issuers/" + ctx.Param("issuer");
  CV_ASSIGN_OR_RETURN(auto issuer, s.vault.DeleteIssuer(ctx.vault, ctx.Param("issuer")));
  return Json(200, RenderIssuer(ctx, issuer));
}

Result<HttpResponse> RenewCertificate(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(json body, JsonBody(req, true));
  CV_ASSIGN_OR_RETURN(auto validity, OptionalString(body, "validity"));
  CV_ASSIGN_OR_RETURN(
      auto job, s.vault.RenewCertificate(ctx.vault, ctx.Param("name"), validity.value_or("")));
  return Json(202, RenderJob(ctx, job));
}

Result<HttpResponse> RevokeCertificate(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(json body, JsonBody(req, true));
  CV_ASSIGN_OR_RETURN(auto reason, OptionalString(body, "reason"));
  const std::string& name = ctx.Param("name");
  const std::string& version = ctx.Param("version");
  CV_RETURN_IF_ERROR(s.engine.Revoke(ctx.vault, name, version, reason.value_or("unspecified")));
  return Json(200, json{{"id", ctx.base_url + "/certificates/" + name + "/" + version},
                        {"revoked", true},
                        {"reason", reason.value_or("unspecified")}});
}

Result<HttpResponse> ListJobs(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(store::Page page, DecodePage(req));
  const std::string name(req.Query("certificate"));
  const std::string status(req.Query("status"));
  CV_ASSIGN_OR_RETURN(auto listing, s.vault.ListJobs(ctx.vault, name, status, page));
  json items = json::array();
  for (const auto& j : listing.items) items.push_back(RenderJob(ctx, j));
  return Json(200, PageBody(ctx, req, std::move(items), listing.next_offset, page.limit));
}

Result<HttpResponse> GetJob(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto job, s.vault.GetJob(ctx.vault, ctx.Param("id")));
  return Json(200, RenderJob(ctx, job));
}

Result<HttpResponse> RetryJob(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(auto job, s.vault.RetryJob(ctx.vault, ctx.Param("id")));
  return Json(200, RenderJob(ctx, job));
}

// POST /jobs/lease {"issuer", "worker", "wait": seconds (0-60)}: 200 with a job, or 204 when none
// came within the wait.
Result<HttpResponse> LeaseJob(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(json body, JsonBody(req));
  CV_ASSIGN_OR_RETURN(std::string issuer, RequiredString(body, "issuer"));
  CV_ASSIGN_OR_RETURN(std::string worker, RequiredString(body, "worker"));
  CV_RETURN_IF_ERROR(ValidateObjectName(worker, "worker"));
  int64_t wait = 0;
  if (auto it = body.find("wait"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 60) {
      return Fail(Error::BadParameter("'wait' must be an integer number of seconds, 0 to 60"));
    }
    wait = it->get<int64_t>();
  }
  CV_ASSIGN_OR_RETURN(auto record, s.vault.GetIssuer(ctx.vault, issuer));
  ctx.object = "issuers/" + record.name;
  auto render = [ctx](Result<std::optional<lifecycle::WorkerJob>> leased) {
    if (!leased) return ErrorAnswer(leased.error());
    if (!*leased) return NoContent();
    return Json(200, RenderWorkerJob(ctx, **leased));
  };
  if (wait == 0) return render(s.engine.LeaseForWorker(ctx.vault, record.name, worker));
  HttpResponse deferred;
  deferred.defer = [&engine = s.engine, vault = ctx.vault, issuer = record.name, worker, wait,
                    render](std::function<void(HttpResponse)> answer) {
    auto held =
        engine.AwaitWorkerJob(vault, issuer, worker, wait * 1000,
                              [answer, render](Result<std::optional<lifecycle::WorkerJob>> leased) {
                                answer(render(std::move(leased)));
                              });
    if (!held) answer(ErrorAnswer(held.error()));
  };
  return deferred;
}

// POST /jobs/{id}/complete {"worker", "certificate": PEM chain}
Result<HttpResponse> CompleteJob(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(json body, JsonBody(req));
  CV_ASSIGN_OR_RETURN(std::string worker, RequiredString(body, "worker"));
  CV_ASSIGN_OR_RETURN(std::string pem, RequiredString(body, "certificate"));
  CV_ASSIGN_OR_RETURN(auto certs, crypto::ParsePemCertificates(pem));
  std::vector<std::string> chain;
  for (const auto& c : certs) chain.push_back(c.ToDer());
  CV_ASSIGN_OR_RETURN(auto job,
                      s.engine.CompleteFromWorker(ctx.vault, ctx.Param("id"), worker, chain));
  return Json(200, RenderJob(ctx, job));
}

// POST /jobs/{id}/fail {"worker", "error", "retryable": bool (default true)}
Result<HttpResponse> FailJob(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(json body, JsonBody(req));
  CV_ASSIGN_OR_RETURN(std::string worker, RequiredString(body, "worker"));
  CV_ASSIGN_OR_RETURN(std::string message, RequiredString(body, "error"));
  bool retryable = true;
  if (auto it = body.find("retryable"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) return Fail(Error::BadParameter("'retryable' must be a boolean"));
    retryable = it->get<bool>();
  }
  if (message.size() > 4096) message.resize(4096);
  CV_ASSIGN_OR_RETURN(
      auto job, s.engine.FailFromWorker(ctx.vault, ctx.Param("id"), worker, message, retryable));
  return Json(200, RenderJob(ctx, job));
}

// GET /management/events?after=N&maxresults=M: the outbox, oldest first.
Result<HttpResponse> ListEvents(Services& s, RequestContext& ctx, const HttpRequest& req) {
  CV_ASSIGN_OR_RETURN(int64_t after, IntQuery(req, "after", 0, 0, INT64_MAX));
  CV_ASSIGN_OR_RETURN(int64_t limit, IntQuery(req, "maxresults", 100, 1, 1000));
  CV_ASSIGN_OR_RETURN(auto txn, s.store.BeginRead());
  CV_ASSIGN_OR_RETURN(auto events, txn->ListEvents(after, limit));
  json items = json::array();
  for (const auto& e : events) {
    json detail = json::parse(e.detail, nullptr, false);
    json item = {{"seq", e.seq},
                 {"id", e.id},
                 {"type", e.type},
                 {"time", e.time},
                 {"vault", e.vault},
                 {"object_type", e.object_type},
                 {"object_name", e.object_name},
                 {"version", e.version},
                 {"detail", detail.is_discarded() ? json::object() : detail}};
    if (e.nbf) item["nbf"] = *e.nbf;
    if (e.exp) item["exp"] = *e.exp;
    items.push_back(std::move(item));
  }
  return Json(200, json{{"value", items}});
}

// POST /management/clock {"advance": ISO 8601 duration}: only with --test-clock.
Result<HttpResponse> AdvanceClock(Services& s, RequestContext& ctx, const HttpRequest& req) {
  if (!s.test_clock) {
    return Fail(
        Error::NotFound("NotFound", "the test clock is off; start the server with --test-clock"));
  }
  CV_ASSIGN_OR_RETURN(json body, JsonBody(req));
  CV_ASSIGN_OR_RETURN(std::string advance, RequiredString(body, "advance"));
  CV_ASSIGN_OR_RETURN(int64_t seconds, model::ParseIsoDuration(advance));
  s.test_clock->Advance(seconds);
  s.engine.Wake();
  const int64_t now = s.test_clock->NowUnix();
  return Json(200, json{{"now", now},
                        {"time", FormatRfc3339Millis(now * 1000)},
                        {"offset_seconds", s.test_clock->offset()}});
}

// GET /pki/{ca}/crl: a CA's signed CRL (DER), public as CRLs are.
Result<HttpResponse> GetCrl(Services& s, RequestContext& ctx, const HttpRequest& req) {
  if (!s.crl) return Fail(Error::NotFound("NotFound", "no CRLs are published here"));
  CV_ASSIGN_OR_RETURN(std::string der, s.crl(ctx.Param("ca")));
  HttpResponse r;
  r.content_type = "application/pkix-crl";
  r.body = std::move(der);
  r.headers.emplace_back("Cache-Control", "max-age=60");
  return r;
}

}  // namespace certvault::api

namespace certvault::api {

// GET /pki/{ca}/ca: a CA's certificate (DER), where issued certificates' AIA points.
Result<HttpResponse> GetCaCertificate(Services& s, RequestContext& ctx, const HttpRequest& req) {
  if (!s.ca_certificate) return Fail(Error::NotFound("NotFound", "no CAs are published here"));
  CV_ASSIGN_OR_RETURN(std::string der, s.ca_certificate(ctx.Param("ca")));
  HttpResponse r;
  r.content_type = "application/pkix-cert";
  r.body = std::move(der);
  r.headers.emplace_back("Cache-Control", "max-age=3600");
  return r;
}

}  // namespace certvault::api
