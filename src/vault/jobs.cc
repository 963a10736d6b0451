// Renewal jobs of VaultService: queueing renewals, and the steps the lifecycle engine takes, each
// writing the job in the same transaction as the pending operation it drives.

#include "model/jobs.h"

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "model/codec.h"
#include "vault/internal.h"
#include "vault/issuance.h"
#include "vault/vault_service.h"

namespace certvault::vault {

using namespace internal;  // NOLINT(google-build-using-namespace): this module's own helpers

namespace {

Error JobNotFound(std::string_view id) {
  return Error::NotFound("JobNotFound", "Job not found: " + std::string(id));
}

bool Finished(const model::Job& job) {
  return job.status == "succeeded" || job.status == "failed" || job.status == "cancelled";
}

Result<model::Certificate> RequireLive(store::Transaction& txn, std::string_view vault,
                                       std::string_view name) {
  CV_ASSIGN_OR_RETURN(auto cert, txn.GetCertificate(vault, name));
  if (!cert || cert->deleted) return Fail(CertificateNotFound(name));
  return *cert;
}

// The job's pending operation, if it is the certificate's in-progress one.
Result<std::optional<model::PendingOperation>> JobOperation(store::Transaction& txn,
                                                            const model::Job& job) {
  if (job.request_id.empty()) return std::optional<model::PendingOperation>();
  CV_ASSIGN_OR_RETURN(auto op, txn.GetPendingOperation(job.vault, job.name));
  if (!op || op->request_id != job.request_id) return std::optional<model::PendingOperation>();
  return op;
}

// Fails with Conflict unless the stored job is unfinished and still held by `lease`.
Status RequireLease(store::Transaction& txn, const model::Job& job, std::string_view lease) {
  CV_ASSIGN_OR_RETURN(auto stored, txn.GetJob(job.id));
  if (!stored || Finished(*stored) || stored->lease_owner != lease) {
    return Fail(Error::Conflict("job " + job.id + " is no longer held by this attempt" +
                                (stored ? " (status " + stored->status + ")" : "")));
  }
  return Ok();
}

}  // namespace

Result<model::Job> VaultService::RenewCertificate(std::string_view vault, std::string_view name,
                                                  std::string_view validity) {
  if (!validity.empty()) {
    CV_ASSIGN_OR_RETURN(int64_t seconds, model::ParseIsoDuration(validity));
    if (seconds <= 0) return Fail(Error::BadParameter("validity must be positive"));
  }
  const int64_t now = clock_.NowUnix();
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  CV_ASSIGN_OR_RETURN(auto cert, RequireLive(*txn, vault, name));
  if (IsUnknownIssuer(cert.policy.issuer.name)) {
    return Fail(Error::BadParameter(
        "certificate " + cert.name +
        " has issuer Unknown, which cannot renew by itself: create a new version and merge the "
        "certificate your CA signs"));
  }
  if (!IsSelfIssuer(cert.policy.issuer.name)) {
    CV_RETURN_IF_ERROR(RequireUsableIssuer(*txn, vault, cert.policy.issuer.name));
  }
  CV_ASSIGN_OR_RETURN(auto pending, txn->GetPendingOperation(vault, name));
  if (pending && pending->status == "inProgress") {
    return Fail(Error::Conflict("Pending operation for certificate " + cert.name +
                                " already exists; wait for it, or cancel or delete it first"));
  }
  // One renewal at a time: a job still queued (say, waiting to retry) would renew it too.
  CV_ASSIGN_OR_RETURN(auto jobs, txn->ListJobs({cert.vault, cert.name, ""}, {0, 100}));
  for (const auto& other : jobs) {
    if (!Finished(other)) {
      return Fail(Error::Conflict("job " + other.id + " is already renewing certificate " +
                                  cert.name + " (status " + other.status + ")"));
    }
  }
  model::Job job = NewJob(cert.vault, cert.name, "manual", cert.policy.issuer.name, now);
  job.source_version = cert.current_version;
  job.validity = std::string(validity);
  CV_ASSIGN_OR_RETURN(bool inserted, txn->InsertJob(job));
  (void)inserted;
  CV_RETURN_IF_ERROR(Commit(*txn));
  NotifyJobs();
  return job;
}

Result<model::Job> VaultService::GetJob(std::string_view vault, std::string_view id) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  CV_ASSIGN_OR_RETURN(auto job, txn->GetJob(id));
  if (!job || !EqualsIgnoreCase(job->vault, vault)) return Fail(JobNotFound(id));
  return *job;
}

Result<JobListing> VaultService::ListJobs(std::string_view vault, std::string_view name,
                                          std::string_view status, store::Page page) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  store::JobFilter filter{std::string(vault), std::string(name), std::string(status)};
  CV_ASSIGN_OR_RETURN(auto jobs, txn->ListJobs(filter, Probe(page)));
  JobListing out;
  out.next_offset = TrimProbe(jobs, page);
  out.items = std::move(jobs);
  return out;
}

Result<model::Job> VaultService::RetryJob(std::string_view vault, std::string_view id) {
  const int64_t now = clock_.NowUnix();
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  CV_ASSIGN_OR_RETURN(auto job, txn->GetJob(id));
  if (!job || !EqualsIgnoreCase(job->vault, vault)) return Fail(JobNotFound(id));
  if (job->status != "failed" && job->status != "cancelled") {
    return Fail(Error::Conflict("job " + job->id + " is " + job->status +
                                "; only failed or cancelled jobs can be retried"));
  }
  CV_RETURN_IF_ERROR(RequireLive(*txn, job->vault, job->name));
  CV_ASSIGN_OR_RETURN(auto pending, txn->GetPendingOperation(job->vault, job->name));
  if (pending && pending->status == "inProgress" && pending->request_id != job->request_id) {
    return Fail(Error::Conflict("another operation is in progress for certificate " + job->name));
  }
  if (!pending || pending->status != "inProgress") job->request_id.clear();  // start afresh
  job->status = "queued";
  job->not_before = now;
  job->lease_owner.clear();
  job->lease_expires = 0;
  job->state.clear();
  job->updated = now;
  CV_RETURN_IF_ERROR(txn->PutJob(*job));
  CV_RETURN_IF_ERROR(Commit(*txn));
  NotifyJobs();
  return *job;
}

Result<model::PendingOperation> VaultService::StartJobOperation(model::Job job,
                                                                std::string_view lease) {
  std::optional<model::CertificateVersion> current;
  model::CertificatePolicy policy;
  {
    CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
    CV_RETURN_IF_ERROR(RequireLease(*txn, job, lease));
    CV_ASSIGN_OR_RETURN(auto cert, RequireLive(*txn, job.vault, job.name));
    CV_ASSIGN_OR_RETURN(auto existing, JobOperation(*txn, job));
    if (existing && existing->status == "inProgress") return *existing;  // started before
    if (!job.source_version.empty() && cert.current_version != job.source_version) {
      // Renewed meanwhile (by hand, or by another job): this renewal has nothing left to do.
      return Fail(Error::NotFound(
          "RenewalSuperseded", "certificate " + cert.name + " was renewed meanwhile (version " +
                                   cert.current_version + " replaced " + job.source_version + ")"));
    }
    policy = cert.policy;
    if (!cert.current_version.empty()) {
      CV_ASSIGN_OR_RETURN(current,
                          txn->GetCertificateVersion(job.vault, job.name, cert.current_version));
    }
  }
  CV_RETURN_IF_ERROR(model::ValidatePolicy(policy));
  CV_ASSIGN_OR_RETURN(Prepared prepared,
                      PrepareIssuance(job.vault, job.name, policy, current, job.validity));
  const int64_t now = clock_.NowUnix();
  model::PendingOperation op;
  op.vault = job.vault;
  op.name = job.name;
  op.request_id = crypto::NewId();
  op.csr = prepared.csr;
  op.issuer = policy.issuer;
  op.job_id = job.id;
  op.created = now;
  op.updated = now;
  job.request_id = op.request_id;
  job.updated = now;

  std::optional<model::CertificateVersion> version;  // Self: issued at once
  if (IsSelfIssuer(policy.issuer.name)) {
    crypto::IssueRequest request{prepared.spec, prepared.key.Public(), now,
                                 now + prepared.validity};
    CV_ASSIGN_OR_RETURN(auto issued, crypto::IssueCertificate(request, std::nullopt, prepared.key));
    version.emplace();
    version->version = crypto::NewId();
    version->cer = issued.ToDer();
    version->attributes.nbf = issued.NotBefore();
    version->attributes.exp = issued.NotAfter();
    CV_ASSIGN_OR_RETURN(
        version->wrapped_key,
        kek_.Seal(prepared.key.ToPkcs8Der(), CertKeyAad(job.vault, job.name, version->version)));
    op.status = "completed";
    op.target_version = version->version;
    job.status = "succeeded";
    job.last_error.clear();
    model::EndAttempt(job, now, "succeeded", "");
  } else {
    CV_ASSIGN_OR_RETURN(
        op.wrapped_key,
        kek_.Seal(prepared.key.ToPkcs8Der(), PendingKeyAad(job.vault, job.name, op.request_id)));
    op.status = "inProgress";
    op.status_details = "Certificate request is in progress with issuer " + policy.issuer.name +
                        " (" + job.trigger + ").";
  }

  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_RETURN_IF_ERROR(RequireLease(*txn, job, lease));
  CV_ASSIGN_OR_RETURN(auto cert, RequireLive(*txn, job.vault, job.name));
  CV_ASSIGN_OR_RETURN(auto pending, txn->GetPendingOperation(job.vault, job.name));
  if (pending && pending->status == "inProgress") {
    if (pending->job_id == job.id) return *pending;  // started by an earlier attempt
    return Fail(Error::Conflict("another operation is in progress for certificate " + cert.name));
  }
  if (version) {
    const model::CertificateVersion& v = *version;
    model::CertificateVersion stored = v;
    stored.vault = cert.vault;
    stored.name = cert.name;
    stored.content_type = cert.policy.content_type;
    stored.exportable = cert.policy.key.exportable;
    stored.attributes.enabled = cert.policy.attributes.enabled;
    stored.attributes.created = now;
    stored.attributes.updated = now;
    cert.current_version = stored.version;
    cert.updated = now;
    CV_RETURN_IF_ERROR(RecordNewVersion(*txn, cert, stored, now));
    CV_RETURN_IF_ERROR(txn->PutCertificateVersion(stored));
    CV_RETURN_IF_ERROR(txn->PutCertificate(cert));
  }
  CV_RETURN_IF_ERROR(txn->PutPendingOperation(op));
  CV_RETURN_IF_ERROR(txn->PutJob(job));
  CV_RETURN_IF_ERROR(Commit(*txn));
  return op;
}

Result<CertificateView> VaultService::CompleteJobOperation(model::Job job, std::string_view lease,
                                                           const std::vector<std::string>& chain) {
  if (chain.empty()) return Fail(Error::BadParameter("the issuer returned no certificate"));
  model::PendingOperation op;
  {
    CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
    CV_ASSIGN_OR_RETURN(auto existing, JobOperation(*txn, job));
    if (!existing || existing->status != "inProgress") {
      return Fail(Error::Conflict("the job's pending operation is no longer in progress"));
    }
    op = std::move(*existing);
  }
  std::vector<crypto::Certificate> certs;
  for (const auto& der : chain) {
    auto c = crypto::Certificate::FromDer(der);
    if (!c) return Fail(c.error().WithContext("issued certificate"));
    certs.push_back(std::move(*c));
  }
  CV_ASSIGN_OR_RETURN(std::string key_der,
                      kek_.Open(op.wrapped_key, PendingKeyAad(job.vault, job.name, op.request_id)));
  CV_ASSIGN_OR_RETURN(auto key, crypto::PrivateKey::FromDer(key_der));
  auto ordered = crypto::OrderChain(key, std::move(certs));
  if (!ordered) {
    return Fail(
        Error::BadParameter("the certificate the issuer returned does not match the pending key"));
  }
  std::vector<std::string> ders;
  for (const auto& c : *ordered) ders.push_back(c.ToDer());
  const crypto::Certificate& leaf = ordered->front();
  const std::string version = crypto::NewId();
  CV_ASSIGN_OR_RETURN(std::string wrapped,
                      kek_.Seal(key_der, CertKeyAad(job.vault, job.name, version)));
  const int64_t now = clock_.NowUnix();

  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_RETURN_IF_ERROR(RequireLease(*txn, job, lease));
  CV_ASSIGN_OR_RETURN(auto cert, RequireLive(*txn, job.vault, job.name));
  CV_ASSIGN_OR_RETURN(auto pending, JobOperation(*txn, job));
  if (!pending || pending->status != "inProgress") {
    return Fail(Error::Conflict("the job's pending operation is no longer in progress"));
  }
  model::CertificateVersion v;
  v.vault = cert.vault;
  v.name = cert.name;
  v.version = version;
  v.cer = ders.front();
  v.chain.assign(ders.begin() + 1, ders.end());
  v.wrapped_key = std::move(wrapped);
  v.content_type = cert.policy.content_type;
  v.exportable = cert.policy.key.exportable;
  v.attributes = pending->attributes;
  v.attributes.enabled = pending->attributes.enabled && cert.policy.attributes.enabled;
  v.attributes.nbf = leaf.NotBefore();
  v.attributes.exp = leaf.NotAfter();
  v.attributes.created = now;
  v.attributes.updated = now;
  v.tags = pending->tags;
  cert.current_version = version;
  cert.updated = now;
  pending->status = "completed";
  pending->status_details = "";
  pending->target_version = version;
  pending->wrapped_key.clear();
  pending->updated = now;
  job.updated = now;
  CV_RETURN_IF_ERROR(RecordNewVersion(*txn, cert, v, now));
  CV_RETURN_IF_ERROR(txn->PutCertificateVersion(v));
  CV_RETURN_IF_ERROR(txn->PutCertificate(cert));
  CV_RETURN_IF_ERROR(txn->PutPendingOperation(*pending));
  CV_RETURN_IF_ERROR(txn->PutJob(job));
  CV_RETURN_IF_ERROR(Commit(*txn));
  return CertificateView{std::move(cert), std::move(v)};
}

Status VaultService::FailJobOperation(model::Job job, std::string_view lease, const Error& error) {
  const int64_t now = clock_.NowUnix();
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_RETURN_IF_ERROR(RequireLease(*txn, job, lease));
  CV_ASSIGN_OR_RETURN(auto pending, JobOperation(*txn, job));
  if (pending && pending->status == "inProgress") {
    pending->status = "failed";
    pending->status_details = error.message();
    pending->error_code = error.code();
    pending->error_message = error.message();
    pending->wrapped_key.clear();  // the key will never get its certificate
    pending->updated = now;
    CV_RETURN_IF_ERROR(txn->PutPendingOperation(*pending));
  }
  model::CertificateVersion about;  // the version whose renewal failed (may be none yet)
  about.vault = job.vault;
  about.name = job.name;
  about.version = job.source_version;
  if (!job.source_version.empty()) {
    CV_ASSIGN_OR_RETURN(auto v,
                        txn->GetCertificateVersion(job.vault, job.name, job.source_version));
    if (v) about.attributes = v->attributes;
  }
  const nlohmann::json detail = {{"job", job.id},
                                 {"issuer", job.issuer},
                                 {"code", error.code()},
                                 {"message", error.message()}};
  CV_RETURN_IF_ERROR(AppendCertificateEvent(*txn, model::kCertificateRenewalFailed, about,
                                            "failed/" + job.id + "/" + job.request_id,
                                            detail.dump(), now));
  job.updated = now;
  CV_RETURN_IF_ERROR(txn->PutJob(job));
  return Commit(*txn);
}

Status VaultService::RecordJobProgress(const model::Job& job, std::string_view lease,
                                       std::string_view status_details) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_RETURN_IF_ERROR(RequireLease(*txn, job, lease));
  CV_ASSIGN_OR_RETURN(auto pending, JobOperation(*txn, job));
  if (pending && pending->status == "inProgress" && !status_details.empty()) {
    pending->status_details = std::string(status_details);
    pending->updated = clock_.NowUnix();
    CV_RETURN_IF_ERROR(txn->PutPendingOperation(*pending));
  }
  CV_RETURN_IF_ERROR(txn->PutJob(job));
  return Commit(*txn);
}

}  // namespace certvault::vault
