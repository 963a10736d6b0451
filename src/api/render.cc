#include "api/render.h"

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "model/codec.h"

namespace certvault::api {

using nlohmann::json;

namespace {

constexpr char kRecoveryLevel[] = "Recoverable+Purgeable";

std::string Url(std::string_view base, std::string_view collection, std::string_view name,
                std::string_view version = {}) {
  std::string url = std::string(base) + "/" + std::string(collection) + "/" + std::string(name);
  if (!version.empty()) url += "/" + std::string(version);
  return url;
}

json ObjectAttributes(const model::Attributes& a) {
  json j = model::AttributesToJson(a);
  j["recoveryLevel"] = kRecoveryLevel;
  j["recoverableDays"] = vault::kRecoverableDays;
  return j;
}

void AddDeletion(std::string_view base, std::string_view collection, std::string_view name,
                 const std::optional<model::Deletion>& d, json& j) {
  if (!d) return;
  j["recoveryId"] = Url(base, collection, name);
  j["deletedDate"] = d->deleted_date;
  j["scheduledPurgeDate"] = d->scheduled_purge_date;
}

}  // namespace

json RenderPolicy(std::string_view base, const model::Certificate& cert) {
  json p = model::PolicyToJson(cert.policy);
  p["id"] = Url(base, "certificates", cert.name) + "/policy";
  return p;
}

json RenderCertificateBundle(std::string_view base, const vault::CertificateView& v,
                             bool with_policy) {
  const auto& ver = v.version;
  json j;
  if (ver.version.empty()) {
    // Issuance still pending (e.g. issuer Unknown before the merge): no certificate yet, as
    // Key Vault answers for a pending certificate.
    model::Attributes attributes;
    attributes.enabled = false;
    attributes.created = v.cert.created;
    attributes.updated = v.cert.updated;
    j = {{"id", Url(base, "certificates", v.cert.name)},
         {"attributes", ObjectAttributes(attributes)},
         {"tags", json::object()}};
  } else {
    j = {{"id", Url(base, "certificates", v.cert.name, ver.version)},
         {"kid", Url(base, "keys", v.cert.name, ver.version)},
         {"sid", Url(base, "secrets", v.cert.name, ver.version)},
         {"x5t", crypto::Base64UrlEncode(crypto::Sha1(ver.cer))},
         {"cer", crypto::Base64Encode(ver.cer)},
         {"attributes", ObjectAttributes(ver.attributes)},
         {"tags", model::TagsToJson(ver.tags)}};
  }
  if (with_policy) j["policy"] = RenderPolicy(base, v.cert);
  return j;
}

json RenderDeletedCertificate(std::string_view base, const vault::CertificateView& v) {
  json j = RenderCertificateBundle(base, v, true);
  AddDeletion(base, "deletedcertificates", v.cert.name, v.cert.deleted, j);
  return j;
}

json RenderCertificateItem(std::string_view base, const model::Certificate& cert,
                           const model::CertificateVersion& v, bool versioned) {
  json j = {{"id", Url(base, "certificates", cert.name, versioned ? v.version : "")},
            {"attributes", ObjectAttributes(v.attributes)},
            {"tags", model::TagsToJson(v.tags)}};
  if (!v.cer.empty()) j["x5t"] = crypto::Base64UrlEncode(crypto::Sha1(v.cer));
  if (cert.deleted) AddDeletion(base, "deletedcertificates", cert.name, cert.deleted, j);
  return j;
}

json RenderOperation(std::string_view base, const model::PendingOperation& op) {
  json issuer = {{"name", op.issuer.name}};
  if (!op.issuer.cty.empty()) issuer["cty"] = op.issuer.cty;
  if (op.issuer.cert_transparency) issuer["cert_transparency"] = *op.issuer.cert_transparency;
  json j = {{"id", Url(base, "certificates", op.name) + "/pending"},
            {"issuer", issuer},
            {"csr", crypto::Base64Encode(op.csr)},
            {"cancellation_requested", op.cancellation_requested},
            {"status", op.status},
            {"status_details", op.status_details},
            {"request_id", op.request_id},
            {"target", Url(base, "certificates", op.name)}};
  if (!op.error_code.empty()) {
    j["error"] = {{"code", op.error_code}, {"message", op.error_message}};
  }
  return j;
}

json RenderContacts(std::string_view base, const std::vector<model::Contact>& contacts) {
  json list = json::array();
  for (const auto& c : contacts) list.push_back(model::ContactToJson(c));
  return {{"id", std::string(base) + "/certificates/contacts"}, {"contacts", list}};
}

json RenderSecretBundle(std::string_view base, const vault::SecretView& s, bool with_value) {
  json j = {{"id", Url(base, "secrets", s.name, s.version)},
            {"attributes", ObjectAttributes(s.attributes)},
            {"tags", model::TagsToJson(s.tags)}};
  if (with_value) j["value"] = s.value;
  if (!s.content_type.empty()) j["contentType"] = s.content_type;
  if (s.managed) {
    j["managed"] = true;
    j["kid"] = Url(base, "keys", s.name, s.version);
  }
  AddDeletion(base, "deletedsecrets", s.name, s.deleted, j);
  return j;
}

json RenderSecretItem(std::string_view base, const vault::SecretView& s, bool versioned) {
  json j = {{"id", Url(base, "secrets", s.name, versioned ? s.version : "")},
            {"attributes", ObjectAttributes(s.attributes)},
            {"tags", model::TagsToJson(s.tags)}};
  if (!s.content_type.empty()) j["contentType"] = s.content_type;
  if (s.managed) j["managed"] = true;
  AddDeletion(base, "deletedsecrets", s.name, s.deleted, j);
  return j;
}

std::string RenderError(const Error& error) {
  json e = {{"code", error.code()}, {"message", error.message()}};
  if (!error.inner_code().empty()) e["innererror"] = {{"code", error.inner_code()}};
  return json{{"error", e}}.dump();
}

}  // namespace certvault::api
