#pragma once
// Store: durable state of every vault, behind one small interface.
//
// All reads and writes happen inside a Transaction. A write transaction sees its own writes and
// is atomic and durable once Commit() returns Ok; destroying it without Commit rolls it back.
// Implementations: sqlite/ (the embedded default), memory/ (unit tests). One conformance suite
// (store_conformance_test.cc) runs against each.
//
// Thread safety: Store is thread-safe. A Transaction is used by one thread at a time. Write
// transactions are serialised; read transactions run concurrently with them and see the state as
// of their start.
//
// Records are stored as given: the Store checks no domain rules (src/vault does). Objects are
// keyed by (vault, name) and names compare case-insensitively, as in Key Vault.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "model/types.h"

namespace certvault::store {

// Which soft-deletion state a listing returns.
enum class Deleted { kExclude, kOnly };

struct Page {
  int64_t offset = 0;  // skip this many
  int64_t limit = 25;  // return at most this many
};

struct JobFilter {
  std::string vault;
  std::string name;  // certificate name
  std::string status;
};

class Transaction {
 public:
  virtual ~Transaction() = default;

  // Vaults. DeleteVault removes the vault and everything in it.
  virtual Result<std::optional<model::Vault>> GetVault(std::string_view name) = 0;
  virtual Result<std::vector<model::Vault>> ListVaults() = 0;
  virtual Status PutVault(const model::Vault& vault) = 0;
  virtual Status DeleteVault(std::string_view name) = 0;

  // Certificates (deleted or not), ordered by name.
  virtual Result<std::optional<model::Certificate>> GetCertificate(std::string_view vault,
                                                                   std::string_view name) = 0;
  virtual Result<std::vector<model::Certificate>> ListCertificates(std::string_view vault,
                                                                   Deleted deleted, Page page) = 0;
  virtual Status PutCertificate(const model::Certificate& cert) = 0;
  // Purges the certificate with its versions and pending operation.
  virtual Status DeleteCertificate(std::string_view vault, std::string_view name) = 0;
  // Live (not deleted) certificates of every vault with 0 < next_check <= now, earliest first.
  virtual Result<std::vector<model::Certificate>> ListCertificatesDue(int64_t now,
                                                                      int64_t limit) = 0;

  // Certificate versions, listed in creation order (oldest first).
  virtual Result<std::optional<model::CertificateVersion>> GetCertificateVersion(
      std::string_view vault, std::string_view name, std::string_view version) = 0;
  virtual Result<std::vector<model::CertificateVersion>> ListCertificateVersions(
      std::string_view vault, std::string_view name, Page page) = 0;
  virtual Status PutCertificateVersion(const model::CertificateVersion& version) = 0;

  // At most one pending operation per certificate.
  virtual Result<std::optional<model::PendingOperation>> GetPendingOperation(
      std::string_view vault, std::string_view name) = 0;
  virtual Status PutPendingOperation(const model::PendingOperation& op) = 0;
  virtual Status DeletePendingOperation(std::string_view vault, std::string_view name) = 0;

  // Secrets (plain ones; a certificate's secret is derived from the certificate).
  virtual Result<std::optional<model::Secret>> GetSecret(std::string_view vault,
                                                         std::string_view name) = 0;
  virtual Result<std::vector<model::Secret>> ListSecrets(std::string_view vault, Deleted deleted,
                                                         Page page) = 0;
  virtual Status PutSecret(const model::Secret& secret) = 0;
  virtual Status DeleteSecret(std::string_view vault, std::string_view name) = 0;  // purge
  virtual Result<std::optional<model::SecretVersion>> GetSecretVersion(
      std::string_view vault, std::string_view name, std::string_view version) = 0;
  virtual Result<std::vector<model::SecretVersion>> ListSecretVersions(std::string_view vault,
                                                                       std::string_view name,
                                                                       Page page) = 0;
  virtual Status PutSecretVersion(const model::SecretVersion& version) = 0;

  // Certificate contacts of a vault (empty when none are set).
  virtual Result<std::vector<model::Contact>> GetContacts(std::string_view vault) = 0;
  virtual Status PutContacts(std::string_view vault,
                             const std::vector<model::Contact>& contacts) = 0;

  // Service principals.
  virtual Result<std::optional<model::Principal>> GetPrincipal(std::string_view client_id) = 0;
  virtual Result<std::vector<model::Principal>> ListPrincipals() = 0;
  virtual Status PutPrincipal(const model::Principal& principal) = 0;
  // Removes the principal and its role assignments.
  virtual Status DeletePrincipal(std::string_view client_id) = 0;

  // Role assignments: all of them (they are few), oldest first. Scopes compare case-insensitively.
  virtual Result<std::vector<model::RoleAssignment>> ListRoleAssignments() = 0;
  virtual Status PutRoleAssignment(const model::RoleAssignment& assignment) = 0;
  virtual Status DeleteRoleAssignment(std::string_view id) = 0;

  // Issuers of a vault, ordered by name. DeleteVault removes them.
  virtual Result<std::optional<model::Issuer>> GetIssuer(std::string_view vault,
                                                         std::string_view name) = 0;
  virtual Result<std::vector<model::Issuer>> ListIssuers(std::string_view vault) = 0;
  virtual Status PutIssuer(const model::Issuer& issuer) = 0;
  virtual Status DeleteIssuer(std::string_view vault, std::string_view name) = 0;

  // Jobs. PutJob inserts or replaces by id; InsertJob adds a job unless one with the same
  // non-empty key exists (then returns false and changes nothing). DeleteVault removes a vault's
  // jobs, DeleteCertificate (purge) a certificate's.
  virtual Result<std::optional<model::Job>> GetJob(std::string_view id) = 0;
  virtual Result<std::optional<model::Job>> GetJobByKey(std::string_view key) = 0;
  virtual Result<bool> InsertJob(const model::Job& job) = 0;
  virtual Status PutJob(const model::Job& job) = 0;
  // Newest first. Empty filter fields match everything.
  virtual Result<std::vector<model::Job>> ListJobs(const JobFilter& filter, Page page) = 0;
  // Jobs with status queued or running whose not_before and lease_expires are both <= now,
  // earliest not_before first: what the engine may lease next.
  virtual Result<std::vector<model::Job>> ListRunnableJobs(int64_t now, int64_t limit) = 0;
  // Jobs with status waiting for issuer `issuer` of `vault` whose lease_expires <= now, oldest
  // first: what a remote worker may lease next.
  virtual Result<std::vector<model::Job>> ListWaitingJobs(std::string_view vault,
                                                          std::string_view issuer, int64_t now,
                                                          int64_t limit) = 0;

  // The event outbox. AppendEvent assigns seq and returns true, or returns false and changes
  // nothing if an event with the same non-empty key exists.
  virtual Result<bool> AppendEvent(const model::Event& event) = 0;
  // Events with seq > after, in seq order.
  virtual Result<std::vector<model::Event>> ListEvents(int64_t after, int64_t limit) = 0;

  // Revocations by the CAs this server runs. Putting one for an existing (ca, serial) replaces it.
  virtual Status PutRevocation(const model::Revocation& revocation) = 0;
  virtual Result<std::vector<model::Revocation>> ListRevocations(std::string_view ca) = 0;

  // Server-wide settings (wrapped CA and TLS keys, token signing keys...). Values are opaque.
  virtual Result<std::optional<std::string>> GetSetting(std::string_view key) = 0;
  virtual Status PutSetting(std::string_view key, std::string_view value) = 0;

  // REQUIRES: a write transaction. Makes every write durable, or fails and keeps none.
  virtual Status Commit() = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  virtual Result<std::unique_ptr<Transaction>> BeginRead() = 0;
  virtual Result<std::unique_ptr<Transaction>> BeginWrite() = 0;

  // Runs `body` in a write transaction and commits it, without waiting: `done` gets Ok once the
  // writes are durable, or `body`'s error (or the commit's) with none of them kept, exactly once.
  // `body` may run on another thread (the SQLite store runs the bodies of concurrent calls one
  // after another on its writer thread, in one commit) after this returns, so it must own what it
  // uses; it must use only the transaction it is given: not start another transaction or wait for
  // anything. `done` runs on the thread that committed (the SQLite store's writer thread) or, if
  // the write is refused or runs in place, on the caller's; it must be short and must not wait
  // for another write, which would deadlock the writer. Prefer this (or Write) to BeginWrite for
  // short transactions on hot paths: a request thread is not held while the commit's fsync runs.
  using WriteBody = std::function<Status(Transaction&)>;
  using WriteDone = std::function<void(Status)>;
  virtual void WriteAsync(WriteBody body, WriteDone done) {  // inline: Store keeps no key function
    done([&]() -> Status {
      CV_ASSIGN_OR_RETURN(std::unique_ptr<Transaction> txn, BeginWrite());
      CV_RETURN_IF_ERROR(body(*txn));
      return txn->Commit();
    }());
  }
  // WriteAsync, waiting for its result; as the caller waits, `body` may use the caller's locals.
  Status Write(const WriteBody& body);
  // Returns once every WriteAsync queued before the call has run its `done`: a server stops taking
  // requests, drains, and only then destroys what the `done`s use.
  virtual void Drain() {}
};

// Opens (creating and migrating as needed) the SQLite store at `path`.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);
// A store that lives in memory, for unit tests.
std::unique_ptr<Store> NewMemoryStore();

}  // namespace certvault::store
