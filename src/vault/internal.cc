#include "vault/internal.h"

#include "common/text.h"
#include "crypto/encoding.h"
#include "model/jobs.h"
#include "model/lifetime.h"

namespace certvault::vault::internal {

std::string CertKeyAad(std::string_view vault, std::string_view name, std::string_view version) {
  return "cert-key/" + AsciiLower(vault) + "/" + AsciiLower(name) + "/" + std::string(version);
}

std::string PendingKeyAad(std::string_view vault, std::string_view name,
                          std::string_view request_id) {
  return "pending-key/" + AsciiLower(vault) + "/" + AsciiLower(name) + "/" +
         std::string(request_id);
}

std::string SecretValueAad(std::string_view vault, std::string_view name,
                           std::string_view version) {
  return "secret/" + AsciiLower(vault) + "/" + AsciiLower(name) + "/" + std::string(version);
}

Error CertificateNotFound(std::string_view name) {
  return Error::NotFound(
      "CertificateNotFound",
      "A certificate with (name/id) " + std::string(name) + " was not found in this key vault.");
}

Error DeletedCertificateNotFound(std::string_view name) {
  return Error::NotFound("CertificateNotFound",
                         "Deleted Certificate not found: " + std::string(name));
}

Error SecretNotFound(std::string_view name) {
  return Error::NotFound("SecretNotFound", "A secret with (name/id) " + std::string(name) +
                                               " was not found in this key vault.");
}

Error DeletedSecretNotFound(std::string_view name) {
  return Error::NotFound("SecretNotFound", "Deleted Secret not found: " + std::string(name));
}

Error VaultNotFound(std::string_view name) {
  return Error::NotFound("VaultNotFound", "Vault " + std::string(name) + " does not exist.");
}

Status RequireVault(store::Transaction& txn, std::string_view vault) {
  CV_ASSIGN_OR_RETURN(auto v, txn.GetVault(vault));
  if (!v) return Fail(VaultNotFound(vault));
  return Ok();
}

void ApplyAttributes(const AttributesPatch& patch, model::Attributes& attributes) {
  if (patch.enabled) attributes.enabled = *patch.enabled;
  if (patch.nbf) attributes.nbf = *patch.nbf;
  if (patch.exp) attributes.exp = *patch.exp;
}

store::Page Probe(store::Page page) { return {page.offset, page.limit + 1}; }

}  // namespace certvault::vault::internal

namespace certvault::vault {

Status AppendCertificateEvent(store::Transaction& txn, const char* type,
                              const model::CertificateVersion& version, std::string key,
                              std::string detail_json, int64_t now) {
  model::Event e;
  e.id = crypto::NewId();
  e.type = type;
  e.vault = version.vault;
  e.object_type = "Certificate";
  e.object_name = version.name;
  e.version = version.version;
  e.nbf = version.attributes.nbf;
  e.exp = version.attributes.exp;
  e.key = std::move(key);
  e.detail = std::move(detail_json);
  e.time = now;
  CV_ASSIGN_OR_RETURN(bool appended, txn.AppendEvent(e));
  (void)appended;  // a duplicate key means the event is already recorded
  return Ok();
}

}  // namespace certvault::vault

namespace certvault::vault::internal {

namespace {
int64_t FirstCheck(const model::Certificate& cert, const model::CertificateVersion& version) {
  if (!version.attributes.nbf || !version.attributes.exp) return 0;
  return model::NextLifetimeCheck(cert.policy, *version.attributes.nbf, *version.attributes.exp,
                                  -1);
}
}  // namespace

Status RecordNewVersion(store::Transaction& txn, model::Certificate& cert,
                        const model::CertificateVersion& version, int64_t now) {
  cert.next_check = FirstCheck(cert, version);
  return AppendCertificateEvent(txn, model::kCertificateNewVersionCreated, version, "", "{}", now);
}

Status Reschedule(store::Transaction& txn, model::Certificate& cert) {
  cert.next_check = 0;
  if (cert.current_version.empty()) return Ok();
  CV_ASSIGN_OR_RETURN(auto v,
                      txn.GetCertificateVersion(cert.vault, cert.name, cert.current_version));
  if (v) cert.next_check = FirstCheck(cert, *v);
  return Ok();
}

Status EndJob(store::Transaction& txn, std::string_view id, std::string_view status,
              std::string_view reason, int64_t now) {
  if (id.empty()) return Ok();
  CV_ASSIGN_OR_RETURN(auto job, txn.GetJob(id));
  if (!job || job->status == "succeeded" || job->status == "failed" || job->status == "cancelled") {
    return Ok();
  }
  job->status = std::string(status);
  job->last_error = status == "succeeded" ? "" : std::string(reason);
  model::EndAttempt(*job, now, std::string(status), std::string(reason));
  job->updated = now;
  return txn.PutJob(*job);
}

Status RequireUsableIssuer(store::Transaction& txn, std::string_view vault,
                           std::string_view issuer) {
  CV_ASSIGN_OR_RETURN(auto record, txn.GetIssuer(vault, issuer));
  if (!record) {
    return Fail(Error::BadParameter("issuer '" + std::string(issuer) +
                                    "' is not configured in this vault; use Self, Unknown or an "
                                    "issuer created with the issuers API"));
  }
  if (!record->enabled) {
    return Fail(Error::BadParameter("issuer '" + std::string(issuer) + "' is disabled"));
  }
  return Ok();
}

model::Job NewJob(std::string_view vault, std::string_view name, std::string trigger,
                  std::string issuer, int64_t now) {
  model::Job job;
  job.id = crypto::NewId();
  job.vault = std::string(vault);
  job.name = std::string(name);
  job.trigger = std::move(trigger);
  job.issuer = std::move(issuer);
  job.status = "queued";
  job.not_before = now;
  job.created = now;
  job.updated = now;
  return job;
}

bool IsSelfIssuer(std::string_view issuer) { return EqualsIgnoreCase(issuer, "Self"); }
bool IsUnknownIssuer(std::string_view issuer) { return EqualsIgnoreCase(issuer, "Unknown"); }

}  // namespace certvault::vault::internal
