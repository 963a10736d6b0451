#include "lifecycle/scheduler.h"

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/text.h"
#include "crypto/encoding.h"
#include "model/lifetime.h"
#include "vault/events.h"

namespace certvault::lifecycle {

namespace {

std::string TriggerText(const model::LifetimeAction& a) {
  if (a.lifetime_percentage) {
    return "lifetime_percentage=" + std::to_string(*a.lifetime_percentage);
  }
  return "days_before_expiry=" + std::to_string(a.days_before_expiry.value_or(0));
}

}  // namespace

Result<int> Scheduler::RunDue(int64_t limit) {
  const int64_t now = clock_.NowUnix();
  std::vector<model::Certificate> due;
  {
    CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
    CV_ASSIGN_OR_RETURN(due, txn->ListCertificatesDue(now, limit));
  }
  int queued = 0;
  for (const model::Certificate& cert : due) {
    CV_ASSIGN_OR_RETURN(int n, Handle(cert, now));
    queued += n;
  }
  return queued;
}

Result<int> Scheduler::Handle(const model::Certificate& due, int64_t now) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_ASSIGN_OR_RETURN(auto cert, txn->GetCertificate(due.vault, due.name));
  // Changed since the listing (deleted, renewed, re-scheduled): the next pass sees it as it is.
  if (!cert || cert->deleted || cert->next_check == 0 || cert->next_check > now) return 0;
  CV_ASSIGN_OR_RETURN(auto version,
                      txn->GetCertificateVersion(cert->vault, cert->name, cert->current_version));
  if (!version || !version->attributes.nbf || !version->attributes.exp) {
    cert->next_check = 0;
    CV_RETURN_IF_ERROR(txn->PutCertificate(*cert));
    CV_RETURN_IF_ERROR(txn->Commit());
    return 0;
  }
  const int64_t nbf = *version->attributes.nbf;
  const int64_t exp = *version->attributes.exp;
  const std::string id =
      AsciiLower(cert->vault) + "/" + AsciiLower(cert->name) + "/" + version->version;
  int queued = 0;
  for (const model::DueAction& d : model::DueActions(cert->policy, nbf, exp)) {
    if (d.due > now) continue;
    const std::string trigger = TriggerText(d.action);
    bool renews = EqualsIgnoreCase(d.action.action_type, "AutoRenew") &&
                  !EqualsIgnoreCase(cert->policy.issuer.name, "Unknown");
    nlohmann::json detail = {{"action", d.action.action_type}, {"trigger", trigger}};
    // A version already due when it was issued (the CA gave a shorter lifetime than the action
    // allows for) would be renewed at once, and its successor too, forever: it is not renewed.
    if (renews && d.due <= version->attributes.created) {
      renews = false;
      detail["renewal"] =
          "skipped: the version was due when issued; its lifetime is too short for " + trigger;
      log::Warn("lifecycle: certificate " + cert->vault + "/" + cert->name + " version " +
                version->version + " is not renewed: it was due when issued (" + trigger + ")");
    }
    CV_RETURN_IF_ERROR(vault::AppendCertificateEvent(
        *txn, model::kCertificateNearExpiry, *version,
        "near-expiry/" + id + "/" + d.action.action_type, detail.dump(), now));
    if (!renews) continue;
    model::Job job;
    job.id = crypto::NewId();
    job.key = "renew/" + id;  // exactly one renewal per version
    job.vault = cert->vault;
    job.name = cert->name;
    job.trigger = "AutoRenew (" + trigger + ")";
    job.source_version = version->version;
    job.issuer = cert->policy.issuer.name;
    job.status = "queued";
    job.not_before = now;
    job.deadline = exp;
    job.created = now;
    job.updated = now;
    CV_ASSIGN_OR_RETURN(bool inserted, txn->InsertJob(job));
    if (inserted) ++queued;
  }
  if (exp <= now) {
    CV_RETURN_IF_ERROR(vault::AppendCertificateEvent(*txn, model::kCertificateExpired, *version,
                                                     "expired/" + id, "{}", now));
  }
  cert->next_check = model::NextLifetimeCheck(cert->policy, nbf, exp, now);
  CV_RETURN_IF_ERROR(txn->PutCertificate(*cert));
  CV_RETURN_IF_ERROR(txn->Commit());
  return queued;
}

}  // namespace certvault::lifecycle
