#pragma once
// VaultService: the Key Vault-compatible operations on certificates, secrets and vaults, each one
// transaction over the Store. API handlers decode and render; everything that decides lives here.
//
// Private keys are generated here, sealed by the KEK before they reach the store, and opened only
// to render a secret value for an exportable certificate. CPU-heavy work (key generation,
// signing) happens outside write transactions. Thread-safe.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "crypto/key.h"
#include "crypto/x509.h"
#include "keys/kek.h"
#include "model/types.h"
#include "store/store.h"

namespace certvault::vault {

// Days a deleted object stays recoverable before it may be purged (Key Vault's default).
inline constexpr int kRecoverableDays = 90;

// Caller-settable attributes; unset fields are left as they are.
struct AttributesPatch {
  std::optional<bool> enabled;
  std::optional<int64_t> nbf;
  std::optional<int64_t> exp;
};

struct Listing {
  int64_t next_offset = -1;  // -1 when there are no more items
};

struct CertificateView {
  model::Certificate cert;
  model::CertificateVersion version;  // empty version id if none exists yet
};

struct CertificateListing : Listing {
  std::vector<CertificateView> items;
};
struct VersionListing : Listing {
  model::Certificate cert;
  std::vector<model::CertificateVersion> items;
};

// A secret version as callers see it, plain or backing a certificate (managed).
struct SecretView {
  std::string name;
  std::string version;
  std::string value;  // only filled by GetSecret/SetSecret/Recover
  std::string content_type;
  model::Attributes attributes;
  model::Tags tags;
  bool managed = false;
  std::optional<model::Deletion> deleted;
};

struct SecretListing : Listing {
  std::vector<SecretView> items;
};

using PolicyFn = std::function<Status(model::CertificatePolicy&)>;

// Issuer fields a caller sets; unset fields are left as they are (a create starts from empty).
struct IssuerPatch {
  std::optional<std::string> provider;
  std::optional<std::string> account_id;
  std::optional<std::string> password;  // plain; sealed before it is stored
  std::optional<std::string> organization_id;
  std::optional<std::vector<model::IssuerAdmin>> admins;
  std::optional<std::string> settings;  // a JSON object
  std::optional<bool> enabled;
};

// Checks an issuer before it is stored (the provider exists and accepts the settings).
using IssuerValidator = std::function<Status(const model::Issuer&)>;

struct JobListing : Listing {
  std::vector<model::Job> items;
};

class VaultService {
 public:
  VaultService(store::Store& store, const keys::KeyProtector& kek, const Clock& clock)
      : store_(store), kek_(kek), clock_(clock) {}
  // Set once before use: `validator` checks issuers; `on_job` is called (without locks held)
  // after a commit that made a job runnable.
  void Configure(IssuerValidator validator, std::function<void()> on_job) {
    issuer_validator_ = std::move(validator);
    on_job_ = std::move(on_job);
  }
  VaultService(const VaultService&) = delete;
  VaultService& operator=(const VaultService&) = delete;

  // --- Vaults ---
  Result<model::Vault> GetVault(std::string_view name);
  Result<std::vector<model::Vault>> ListVaults();
  Result<model::Vault> CreateVault(std::string_view name);
  Status DeleteVault(std::string_view name);

  // --- Certificates ---
  // Starts issuance of a new version. `policy` (applied onto the existing policy, or Key Vault's
  // defaults for a new certificate) may be null. Issuer Self completes at once; Unknown leaves the
  // operation in progress for a merge.
  Result<model::PendingOperation> CreateCertificate(std::string_view vault, std::string_view name,
                                                    const PolicyFn& policy,
                                                    const AttributesPatch& attributes,
                                                    const std::optional<model::Tags>& tags);
  // The same, without waiting for the commit (store::Store::WriteAsync): the key and certificate
  // are made on the calling thread, then `done` gets the result exactly once, on the store's
  // writer thread after the commit, or on the calling thread if it fails before. `done` must be
  // short and must not wait for another write.
  using CreateDone = std::function<void(Result<model::PendingOperation>)>;
  void CreateCertificateAsync(std::string_view vault, std::string_view name, const PolicyFn& policy,
                              const AttributesPatch& attributes,
                              const std::optional<model::Tags>& tags, CreateDone done);
  // `value`: PEM text (key + certificates) or base64 PKCS#12. `policy` is applied onto the policy
  // derived from the certificate.
  Result<CertificateView> ImportCertificate(std::string_view vault, std::string_view name,
                                            std::string_view value, std::string_view password,
                                            const PolicyFn& policy,
                                            const AttributesPatch& attributes,
                                            const std::optional<model::Tags>& tags);
  // `version` empty means the current version.
  Result<CertificateView> GetCertificate(std::string_view vault, std::string_view name,
                                         std::string_view version);
  Result<CertificateListing> ListCertificates(std::string_view vault, store::Page page,
                                              bool include_pending);
  Result<VersionListing> ListCertificateVersions(std::string_view vault, std::string_view name,
                                                 store::Page page);
  Result<CertificateView> UpdateCertificate(std::string_view vault, std::string_view name,
                                            std::string_view version,
                                            const AttributesPatch& attributes,
                                            const std::optional<model::Tags>& tags,
                                            const PolicyFn& policy);
  Result<model::Certificate> GetPolicy(std::string_view vault, std::string_view name);
  Result<model::Certificate> UpdatePolicy(std::string_view vault, std::string_view name,
                                          const PolicyFn& policy);

  Result<model::PendingOperation> GetPending(std::string_view vault, std::string_view name);
  Result<model::PendingOperation> CancelPending(std::string_view vault, std::string_view name);
  Result<model::PendingOperation> DeletePending(std::string_view vault, std::string_view name);
  // `x5c`: DER certificates, the leaf first or in any order. Fails, keeping the operation, if no
  // certificate matches the pending key.
  Result<CertificateView> MergeCertificate(std::string_view vault, std::string_view name,
                                           const std::vector<std::string>& x5c,
                                           const AttributesPatch& attributes,
                                           const std::optional<model::Tags>& tags);

  Result<CertificateView> DeleteCertificate(std::string_view vault, std::string_view name);
  Result<CertificateView> GetDeletedCertificate(std::string_view vault, std::string_view name);
  Result<CertificateListing> ListDeletedCertificates(std::string_view vault, store::Page page);
  Result<CertificateView> RecoverCertificate(std::string_view vault, std::string_view name);
  Status PurgeCertificate(std::string_view vault, std::string_view name);
  Result<std::string> BackupCertificate(std::string_view vault, std::string_view name);
  Result<CertificateView> RestoreCertificate(std::string_view vault, std::string_view blob);

  Result<std::vector<model::Contact>> GetContacts(std::string_view vault);
  Result<std::vector<model::Contact>> SetContacts(std::string_view vault,
                                                  const std::vector<model::Contact>& contacts);
  Result<std::vector<model::Contact>> DeleteContacts(std::string_view vault);

  // --- Issuers (Key Vault's certificate issuers) ---
  Result<model::Issuer> GetIssuer(std::string_view vault, std::string_view name);
  Result<std::vector<model::Issuer>> ListIssuers(std::string_view vault);
  // `create`: PUT semantics (a new issuer or a full replacement); otherwise PATCH (must exist).
  Result<model::Issuer> SetIssuer(std::string_view vault, std::string_view name,
                                  const IssuerPatch& patch, bool create);
  Result<model::Issuer> DeleteIssuer(std::string_view vault, std::string_view name);
  // The issuer's credentials password, unsealed (empty if none).
  Result<std::string> IssuerPassword(const model::Issuer& issuer);

  // --- Renewal jobs ---
  // Queues a renewal of the certificate's current policy now (`validity`: an ISO 8601 duration
  // overriding the policy's validity for this version, or empty). Conflict if an operation is in
  // progress; BadParameter for issuer Unknown, which cannot renew by itself.
  Result<model::Job> RenewCertificate(std::string_view vault, std::string_view name,
                                      std::string_view validity);
  Result<model::Job> GetJob(std::string_view vault, std::string_view id);
  Result<JobListing> ListJobs(std::string_view vault, std::string_view name,
                              std::string_view status, store::Page page);
  // Queues a failed or cancelled job again (a new pending operation with a new key).
  Result<model::Job> RetryJob(std::string_view vault, std::string_view id);

  // Steps of a job, for the lifecycle engine. Each writes `job` (as the engine wants it stored)
  // in the same transaction as the operation's change, so the two never disagree, and only if
  // the stored job is unfinished and still held by `lease` (its lease_owner when the caller
  // claimed it); otherwise it fails with Conflict and changes nothing, so an attempt that lost
  // its lease (it ran too long, and another thread or process took the job over) cannot act.
  //
  // Creates the job's pending operation (a new key unless reuse_key, a CSR from the current
  // policy) and sets job.request_id, or returns the operation the job already started. Issuer
  // Self completes at once (then job.status becomes "succeeded"). Fails with Conflict if another
  // operation is in progress, NotFound if the certificate is gone.
  Result<model::PendingOperation> StartJobOperation(model::Job job, std::string_view lease);
  // Merges `chain` (DER, any order) as the new current version. BadParameter if no certificate
  // in it matches the pending key (the operation is then left as it was).
  Result<CertificateView> CompleteJobOperation(model::Job job, std::string_view lease,
                                               const std::vector<std::string>& chain);
  // Ends the job's operation as failed with `error`, and records a CertificateRenewalFailed event.
  Status FailJobOperation(model::Job job, std::string_view lease, const Error& error);
  // Stores `job`; if its operation is in progress, sets the operation's status details.
  Status RecordJobProgress(const model::Job& job, std::string_view lease,
                           std::string_view status_details);

  // --- Secrets ---
  Result<SecretView> SetSecret(std::string_view vault, std::string_view name,
                               std::string_view value, std::string_view content_type,
                               const AttributesPatch& attributes,
                               const std::optional<model::Tags>& tags);
  // Returns the value; fails with Forbidden if the version is disabled or not yet valid (nbf).
  // As in Key Vault, an expired (exp) secret stays readable: exp is informational.
  Result<SecretView> GetSecret(std::string_view vault, std::string_view name,
                               std::string_view version);
  Result<SecretListing> ListSecrets(std::string_view vault, store::Page page);
  Result<SecretListing> ListSecretVersions(std::string_view vault, std::string_view name,
                                           store::Page page);
  Result<SecretView> UpdateSecret(std::string_view vault, std::string_view name,
                                  std::string_view version, const AttributesPatch& attributes,
                                  const std::optional<model::Tags>& tags,
                                  const std::optional<std::string>& content_type);
  Result<SecretView> DeleteSecret(std::string_view vault, std::string_view name);
  Result<SecretView> GetDeletedSecret(std::string_view vault, std::string_view name);
  Result<SecretListing> ListDeletedSecrets(std::string_view vault, store::Page page);
  Result<SecretView> RecoverSecret(std::string_view vault, std::string_view name);
  Status PurgeSecret(std::string_view vault, std::string_view name);
  Result<std::string> BackupSecret(std::string_view vault, std::string_view name);
  Result<SecretView> RestoreSecret(std::string_view vault, std::string_view blob);

 private:
  struct Prepared {
    crypto::PrivateKey key;
    crypto::CertificateSpec spec;
    std::string csr;  // DER
    int64_t validity = 0;
  };
  // The key and CSR of a new version under `policy`: the current version's key if the policy
  // reuses keys and it fits, a new one otherwise.
  Result<Prepared> PrepareIssuance(std::string_view vault, std::string_view name,
                                   const model::CertificatePolicy& policy,
                                   const std::optional<model::CertificateVersion>& current,
                                   std::string_view validity_override);
  // A create's state, between the call that prepares it and the write that commits it.
  struct NewCertificate;
  // Reads what the create depends on, then makes the key, the CSR and (Self) the certificate.
  Status PrepareCreate(const PolicyFn& policy, NewCertificate& create);
  static Status CommitCreate(store::Transaction& txn, NewCertificate& create);
  void NotifyJobs() {
    if (on_job_) on_job_();
  }
  Result<std::string> RenderCertificateSecret(const model::CertificateVersion& version);
  Result<SecretView> ReadSecret(std::string_view vault, std::string_view name,
                                std::string_view version);
  // Commits a write transaction and invalidates every cached read.
  Status Commit(store::Transaction& txn);
  // store::Store::WriteAsync; a committed write invalidates every cached read before `done`.
  void WriteAsync(store::Store::WriteBody body, store::Store::WriteDone done);

  // Rendered secret values, the hot read path. An entry is valid while no write has committed
  // since the read that filled it began (generation_ unchanged). This process is the only writer
  // of its store; replicas sharing a database need a shared invalidation signal first.
  struct CachedSecret {
    uint64_t generation;
    SecretView view;
  };
  static constexpr size_t kMaxCachedSecrets = 10000;
  std::atomic<uint64_t> generation_{0};
  std::mutex cache_mu_;
  std::unordered_map<std::string, std::shared_ptr<const CachedSecret>> secret_cache_;  // cache_mu_

  store::Store& store_;
  const keys::KeyProtector& kek_;
  const Clock& clock_;
  IssuerValidator issuer_validator_;
  std::function<void()> on_job_;
};

}  // namespace certvault::vault
