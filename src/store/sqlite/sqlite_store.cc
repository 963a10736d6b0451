#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "common/log.h"
#include "common/thread.h"
#include "common/wake_batch.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/encoding.h"
#include "store/sqlite/migrations.h"

namespace certvault::store::sqlite {
namespace {

// Idle reader connections kept open; more are opened while many reads overlap.
constexpr size_t kMaxIdleReaders = 4;

// What the store and its transactions share; transactions keep it alive.
class Shared {
 public:
  Shared(std::string path, std::unique_ptr<Connection> writer)
      : writer(std::move(writer)), readers(std::move(path), kMaxIdleReaders) {}

  std::mutex writer_mu;                      // held for the whole of a write transaction
  const std::unique_ptr<Connection> writer;  // used only under writer_mu

  // Group commit. Write transactions are SAVEPOINTs inside one physical SQLite transaction (a
  // batch); a transaction's Commit releases its savepoint and, if no other writer is queued,
  // commits the batch (one fsync for all of them); otherwise it leaves the batch to the next
  // writer and waits until the batch is durable. Commit returns only after the fsync, so each
  // caller still sees a durable commit, and a batch fails or succeeds as a whole.
  static constexpr int kMaxBatch = 64;
  std::atomic<int> queued_writers{0};  // threads waiting for writer_mu
  // Under writer_mu:
  uint64_t open_batch = 0;      // id of the batch now open, 0 if none
  int batch_commits = 0;        // released savepoints in the open batch
  bool batch_poisoned = false;  // a savepoint could not be rolled back: the batch must fail
  uint64_t next_batch = 1;
  // Under batch_mu:
  std::mutex batch_mu;
  std::condition_variable batch_done;
  uint64_t finished_batch = 0;               // batches finish in order
  std::map<uint64_t, Error> failed_batches;  // recent failures, for the waiters

  // REQUIRES: writer_mu held. Ends the open batch: COMMIT if any transaction committed into it,
  // otherwise ROLLBACK; then wakes the waiters.
  Status FinishBatchLocked() {
    if (open_batch == 0) return Ok();
    Status status = Ok();
    if (batch_poisoned) {
      status = Fail(Error::Unavailable("store: a write in the same batch could not be undone"));
      (void)writer->Run("ROLLBACK");
    } else if (batch_commits > 0) {
      status = writer->Run("COMMIT");
      if (!status && writer->InTransaction()) (void)writer->Run("ROLLBACK");
    } else if (writer->InTransaction()) {
      (void)writer->Run("ROLLBACK");
    }
    const uint64_t batch = open_batch;
    open_batch = 0;
    batch_commits = 0;
    batch_poisoned = false;
    {
      std::lock_guard<std::mutex> lock(batch_mu);
      finished_batch = batch;
      if (!status) failed_batches.emplace(batch, status.error());
      while (failed_batches.size() > 256) failed_batches.erase(failed_batches.begin());
    }
    batch_done.notify_all();
    return status;
  }

  // Blocks until `batch` has finished; its outcome.
  Status AwaitBatch(uint64_t batch) {
    std::unique_lock<std::mutex> lock(batch_mu);
    batch_done.wait(lock, [&] { return finished_batch >= batch; });
    auto it = failed_batches.find(batch);
    if (it != failed_batches.end()) return Fail(it->second);
    return Ok();
  }

  sqlite::ReaderPool readers;
};

// Row readers: each takes the columns of its table's SELECT below, in order.

Result<model::Certificate> ReadCertificate(const Statement& s) {
  model::Certificate c;
  c.vault = s.Text(0);
  c.name = s.Text(1);
  CV_ASSIGN_OR_RETURN(c.policy, DecodePolicy(s.Text(2)));
  c.current_version = s.Text(3);
  if (s.Bool(4)) c.deleted = model::Deletion{s.Int(5), s.Int(6)};
  c.next_check = s.Int(7);
  c.created = s.Int(8);
  c.updated = s.Int(9);
  return c;
}

constexpr const char kCertificateColumns[] =
    "vault, name, policy, current_version, deleted, deleted_date, scheduled_purge_date, "
    "next_check, created, updated";

Result<model::CertificateVersion> ReadCertificateVersion(const Statement& s) {
  model::CertificateVersion v;
  v.vault = s.Text(0);
  v.name = s.Text(1);
  v.version = s.Text(2);
  v.cer = s.Blob(3);
  CV_ASSIGN_OR_RETURN(v.chain, DecodeChain(s.Blob(4)));
  v.wrapped_key = s.Blob(5);
  v.content_type = s.Text(6);
  v.exportable = s.Bool(7);
  CV_ASSIGN_OR_RETURN(v.attributes, DecodeAttributes(s.Text(8)));
  CV_ASSIGN_OR_RETURN(v.tags, DecodeTags(s.Text(9)));
  return v;
}

Result<model::PendingOperation> ReadPendingOperation(const Statement& s) {
  model::PendingOperation op;
  op.vault = s.Text(0);
  op.name = s.Text(1);
  op.request_id = s.Text(2);
  op.csr = s.Blob(3);
  op.wrapped_key = s.Blob(4);
  CV_ASSIGN_OR_RETURN(op.issuer, DecodeIssuer(s.Text(5)));
  op.status = s.Text(6);
  op.status_details = s.Text(7);
  op.cancellation_requested = s.Bool(8);
  op.error_code = s.Text(9);
  op.error_message = s.Text(10);
  op.target_version = s.Text(11);
  op.job_id = s.Text(12);
  CV_ASSIGN_OR_RETURN(op.attributes, DecodeAttributes(s.Text(13)));
  CV_ASSIGN_OR_RETURN(op.tags, DecodeTags(s.Text(14)));
  op.created = s.Int(15);
  op.updated = s.Int(16);
  return op;
}

Result<model::Secret> ReadSecret(const Statement& s) {
  model::Secret secret;
  secret.vault = s.Text(0);
  secret.name = s.Text(1);
  secret.current_version = s.Text(2);
  if (s.Bool(3)) secret.deleted = model::Deletion{s.Int(4), s.Int(5)};
  secret.created = s.Int(6);
  secret.updated = s.Int(7);
  return secret;
}

Result<model::SecretVersion> ReadSecretVersion(const Statement& s) {
  model::SecretVersion v;
  v.vault = s.Text(0);
  v.name = s.Text(1);
  v.version = s.Text(2);
  v.wrapped_value = s.Blob(3);
  v.content_type = s.Text(4);
  CV_ASSIGN_OR_RETURN(v.attributes, DecodeAttributes(s.Text(5)));
  CV_ASSIGN_OR_RETURN(v.tags, DecodeTags(s.Text(6)));
  return v;
}

Result<model::Principal> ReadPrincipal(const Statement& s) {
  model::Principal p;
  p.client_id = s.Text(0);
  p.display_name = s.Text(1);
  p.secret_hash = s.Text(2);
  p.enabled = s.Bool(3);
  p.secret_expires = s.Int(4);
  p.created = s.Int(5);
  p.updated = s.Int(6);
  return p;
}

Result<model::RoleAssignment> ReadRoleAssignment(const Statement& s) {
  return model::RoleAssignment{s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Int(4)};
}

constexpr const char kPrincipalColumns[] =
    "client_id, display_name, secret_hash, enabled, secret_expires, created, updated";

Result<model::Issuer> ReadIssuer(const Statement& s) {
  model::Issuer issuer;
  issuer.vault = s.Text(0);
  issuer.name = s.Text(1);
  issuer.provider = s.Text(2);
  issuer.account_id = s.Text(3);
  issuer.wrapped_password = s.Blob(4);
  issuer.organization_id = s.Text(5);
  CV_ASSIGN_OR_RETURN(issuer.admins, DecodeAdmins(s.Text(6)));
  issuer.settings = s.Text(7);
  issuer.enabled = s.Bool(8);
  issuer.created = s.Int(9);
  issuer.updated = s.Int(10);
  return issuer;
}

constexpr const char kIssuerColumns[] =
    "vault, name, provider, account_id, wrapped_password, organization_id, admins, settings, "
    "enabled, created, updated";

Result<model::Job> ReadJob(const Statement& s) {
  model::Job job;
  job.id = s.Text(0);
  job.key = s.Text(1);
  job.vault = s.Text(2);
  job.name = s.Text(3);
  job.trigger = s.Text(4);
  job.source_version = s.Text(5);
  job.validity = s.Text(6);
  job.request_id = s.Text(7);
  job.issuer = s.Text(8);
  job.status = s.Text(9);
  job.not_before = s.Int(10);
  job.deadline = s.Int(11);
  job.lease_owner = s.Text(12);
  job.lease_expires = s.Int(13);
  job.state = s.Blob(14);
  job.last_error = s.Text(15);
  CV_ASSIGN_OR_RETURN(job.attempts, DecodeAttempts(s.Text(16)));
  job.created = s.Int(17);
  job.updated = s.Int(18);
  return job;
}

constexpr const char kJobColumns[] =
    "id, key, vault, name, trigger, source_version, validity, request_id, issuer, status, "
    "not_before, deadline, lease_owner, lease_expires, state, last_error, attempts, created, "
    "updated";

Result<model::Event> ReadEvent(const Statement& s) {
  model::Event e;
  e.seq = s.Int(0);
  e.id = s.Text(1);
  e.type = s.Text(2);
  e.vault = s.Text(3);
  e.object_type = s.Text(4);
  e.object_name = s.Text(5);
  e.version = s.Text(6);
  if (!s.IsNull(7)) e.nbf = s.Int(7);
  if (!s.IsNull(8)) e.exp = s.Int(8);
  e.key = s.Text(9);
  e.detail = s.Text(10);
  e.time = s.Int(11);
  return e;
}

Result<model::Revocation> ReadRevocation(const Statement& s) {
  return model::Revocation{s.Text(0), s.Text(1), s.Int(2), s.Text(3),
                           s.Text(4), s.Text(5), s.Text(6)};
}

Result<model::Vault> ReadVault(const Statement& s) { return model::Vault{s.Text(0), s.Int(1)}; }

template <typename T>
using RowReader = Result<T> (*)(const Statement&);

template <typename T>
Result<std::optional<T>> ReadOne(Statement& s, RowReader<T> read) {
  CV_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<T>();
  CV_ASSIGN_OR_RETURN(T value, read(s));
  return std::optional<T>(std::move(value));
}

template <typename T>
Result<std::vector<T>> ReadAll(Statement& s, RowReader<T> read) {
  std::vector<T> out;
  while (true) {
    CV_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    CV_ASSIGN_OR_RETURN(T value, read(s));
    out.push_back(std::move(value));
  }
}

// LIMIT then OFFSET; SQLite reads a negative limit as "no limit".
Statement& BindPage(Statement& s, Page page) {
  return s.BindInt(page.limit).BindInt(std::max<int64_t>(page.offset, 0));
}

// Marks a write transaction run by the writer thread (SqliteStore::WriteAsync) under the writer
// mutex that thread holds: its Commit only releases its savepoint into the open batch, which the
// writer thread commits after the last body of its round.
struct InWriterRound {};

class SqliteTransaction final : public Transaction {
 public:
  // A write transaction: `lock` holds the writer mutex.
  SqliteTransaction(std::shared_ptr<Shared> shared, std::unique_lock<std::mutex> lock)
      : shared_(std::move(shared)), write_lock_(std::move(lock)), conn_(shared_->writer.get()) {}
  // A write transaction of the writer thread's round (the caller holds the writer mutex).
  SqliteTransaction(std::shared_ptr<Shared> shared, InWriterRound)
      : shared_(std::move(shared)), conn_(shared_->writer.get()), in_round_(true) {}
  // A read transaction on `reader`, returned to the pool at the end.
  SqliteTransaction(std::shared_ptr<Shared> shared, std::unique_ptr<Connection> reader)
      : shared_(std::move(shared)), reader_(std::move(reader)), conn_(reader_.get()) {}

  ~SqliteTransaction() override { Finish(); }

  Status Begin() {
    if (reader_ == nullptr) {
      if (shared_->open_batch == 0) {
        // A failed ROLLBACK may have left a transaction open; end it before starting ours.
        if (conn_->InTransaction()) (void)conn_->Run("ROLLBACK");
        CV_RETURN_IF_ERROR(conn_->Run("BEGIN IMMEDIATE"));
        shared_->open_batch = shared_->next_batch++;
      }
      CV_RETURN_IF_ERROR(conn_->Run("SAVEPOINT w"));  // the destructor ends the batch
      in_savepoint_ = true;
      return Ok();
    }
    CV_RETURN_IF_ERROR(conn_->Run("BEGIN"));
    // A deferred transaction takes its snapshot at its first read; read now so that the
    // snapshot is the state as of BeginRead, as the Store contract says.
    CV_ASSIGN_OR_RETURN(Statement pin, conn_->Prepare("SELECT 1 FROM schema_migrations LIMIT 1"));
    return pin.Step().map([](bool) {});
  }

  Result<std::optional<model::Vault>> GetVault(std::string_view name) override {
    CV_ASSIGN_OR_RETURN(Statement s, Read("SELECT name, created FROM vaults WHERE name = ?"));
    s.BindText(name);
    return ReadOne<model::Vault>(s, ReadVault);
  }
  Result<std::vector<model::Vault>> ListVaults() override {
    CV_ASSIGN_OR_RETURN(Statement s, Read("SELECT name, created FROM vaults ORDER BY name"));
    return ReadAll<model::Vault>(s, ReadVault);
  }
  Status PutVault(const model::Vault& vault) override {
    CV_ASSIGN_OR_RETURN(Statement s,
                        Write("INSERT OR REPLACE INTO vaults (name, created) VALUES (?, ?)"));
    return s.BindText(vault.name).BindInt(vault.created).Run();
  }
  Status DeleteVault(std::string_view name) override {
    // Events and revocations stay: the outbox is a log, and revocations must stay published.
    static constexpr const char* kDeletes[] = {
        "DELETE FROM vaults WHERE name = ?",
        "DELETE FROM certificates WHERE vault = ?",
        "DELETE FROM certificate_versions WHERE vault = ?",
        "DELETE FROM pending_operations WHERE vault = ?",
        "DELETE FROM secrets WHERE vault = ?",
        "DELETE FROM secret_versions WHERE vault = ?",
        "DELETE FROM contacts WHERE vault = ?",
        "DELETE FROM issuers WHERE vault = ?",
        "DELETE FROM jobs WHERE vault = ?",
        // A vault created later under the same name must not inherit these.
        "DELETE FROM role_assignments WHERE scope = '/vaults/' || ?1 "
        "OR substr(scope, 1, length(?1) + 9) = '/vaults/' || ?1 || '/' COLLATE NOCASE",
    };
    for (const char* sql : kDeletes) {
      CV_ASSIGN_OR_RETURN(Statement s, Write(sql));
      CV_RETURN_IF_ERROR(s.BindText(name).Run());
    }
    return Ok();
  }

  Result<std::optional<model::Certificate>> GetCertificate(std::string_view vault,
                                                           std::string_view name) override {
    CV_ASSIGN_OR_RETURN(Statement s, Read("SELECT " + std::string(kCertificateColumns) +
                                          " FROM certificates WHERE vault = ? AND name = ?"));
    s.BindText(vault).BindText(name);
    return ReadOne<model::Certificate>(s, ReadCertificate);
  }
  Result<std::vector<model::Certificate>> ListCertificates(std::string_view vault, Deleted deleted,
                                                           Page page) override {
    CV_ASSIGN_OR_RETURN(
        Statement s,
        Read("SELECT " + std::string(kCertificateColumns) +
             " FROM certificates WHERE vault = ? AND deleted = ? ORDER BY name LIMIT ? OFFSET ?"));
    BindPage(s.BindText(vault).BindBool(deleted == Deleted::kOnly), page);
    return ReadAll<model::Certificate>(s, ReadCertificate);
  }
  Status PutCertificate(const model::Certificate& cert) override {
    CV_ASSIGN_OR_RETURN(std::string policy, EncodePolicy(cert.policy));
    CV_ASSIGN_OR_RETURN(Statement s, Write("INSERT OR REPLACE INTO certificates (" +
                                           std::string(kCertificateColumns) +
                                           ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    s.BindText(cert.vault).BindText(cert.name).BindText(policy).BindText(cert.current_version);
    BindDeletion(s, cert.deleted);
    return s.BindInt(cert.next_check).BindInt(cert.created).BindInt(cert.updated).Run();
  }
  Status DeleteCertificate(std::string_view vault, std::string_view name) override {
    static constexpr const char* kDeletes[] = {
        "DELETE FROM certificates WHERE vault = ? AND name = ?",
        "DELETE FROM certificate_versions WHERE vault = ? AND name = ?",
        "DELETE FROM pending_operations WHERE vault = ? AND name = ?",
        "DELETE FROM jobs WHERE vault = ? AND name = ?",
    };
    for (const char* sql : kDeletes) {
      CV_ASSIGN_OR_RETURN(Statement s, Write(sql));
      CV_RETURN_IF_ERROR(s.BindText(vault).BindText(name).Run());
    }
    return Ok();
  }
  Result<std::vector<model::Certificate>> ListCertificatesDue(int64_t now, int64_t limit) override {
    // The conditions match the certificates_due index's, so the index serves the query.
    CV_ASSIGN_OR_RETURN(Statement s,
                        Read("SELECT " + std::string(kCertificateColumns) +
                             " FROM certificates WHERE deleted = 0 AND next_check > 0 "
                             "AND next_check <= ? ORDER BY next_check, vault, name LIMIT ?"));
    s.BindInt(now).BindInt(limit);
    return ReadAll<model::Certificate>(s, ReadCertificate);
  }

  Result<std::optional<model::CertificateVersion>> GetCertificateVersion(
      std::string_view vault, std::string_view name, std::string_view version) override {
    CV_ASSIGN_OR_RETURN(Statement s, Read("SELECT vault, name, version, cer, chain, wrapped_key, "
                                          "content_type, exportable, attributes, "
                                          "tags FROM certificate_versions "
                                          "WHERE vault = ? AND name = ? AND version = ?"));
    s.BindText(vault).BindText(name).BindText(version);
    return ReadOne<model::CertificateVersion>(s, ReadCertificateVersion);
  }
  Result<std::vector<model::CertificateVersion>> ListCertificateVersions(std::string_view vault,
                                                                         std::string_view name,
                                                                         Page page) override {
    CV_ASSIGN_OR_RETURN(Statement s,
                        Read("SELECT vault, name, version, cer, chain, wrapped_key, content_type, "
                             "exportable, attributes, "
                             "tags FROM certificate_versions "
                             "WHERE vault = ? AND name = ? ORDER BY seq LIMIT ? OFFSET ?"));
    BindPage(s.BindText(vault).BindText(name), page);
    return ReadAll<model::CertificateVersion>(s, ReadCertificateVersion);
  }
  Status PutCertificateVersion(const model::CertificateVersion& v) override {
    CV_ASSIGN_OR_RETURN(std::string tags, EncodeTags(v.tags));
    // An upsert, not a REPLACE: the row, and so its seq (the version's place), stays.
    CV_ASSIGN_OR_RETURN(
        Statement s,
        Write("INSERT INTO certificate_versions (vault, name, version, cer, chain, wrapped_key, "
              "content_type, exportable, attributes, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
              "ON CONFLICT (vault, name, version) DO UPDATE SET vault = excluded.vault, "
              "name = excluded.name, version = excluded.version, cer = excluded.cer, "
              "chain = excluded.chain, wrapped_key = excluded.wrapped_key, "
              "content_type = excluded.content_type, exportable = excluded.exportable, "
              "attributes = excluded.attributes, tags = excluded.tags"));
    return s.BindText(v.vault)
        .BindText(v.name)
        .BindText(v.version)
        .BindBlob(v.cer)
        .BindBlob(EncodeChain(v.chain))
        .BindBlob(v.wrapped_key)
        .BindText(v.content_type)
        .BindBool(v.exportable)
        .BindText(EncodeAttributes(v.attributes))
        .BindText(tags)
        .Run();
  }

  Result<std::optional<model::PendingOperation>> GetPendingOperation(
      std::string_view vault, std::string_view name) override {
    CV_ASSIGN_OR_RETURN(
        Statement s,
        Read("SELECT vault, name, request_id, csr, wrapped_key, issuer, status, status_details, "
             "cancellation_requested, error_code, error_message, target_version, job_id, "
             "attributes, tags, created, updated FROM pending_operations "
             "WHERE vault = ? AND name = ?"));
    s.BindText(vault).BindText(name);
    return ReadOne<model::PendingOperation>(s, ReadPendingOperation);
  }
  Status PutPendingOperation(const model::PendingOperation& op) override {
    CV_ASSIGN_OR_RETURN(std::string issuer, EncodeIssuer(op.issuer));
    CV_ASSIGN_OR_RETURN(std::string tags, EncodeTags(op.tags));
    CV_ASSIGN_OR_RETURN(
        Statement s,
        Write("INSERT OR REPLACE INTO pending_operations (vault, name, request_id, csr, "
              "wrapped_key, issuer, status, status_details, cancellation_requested, error_code, "
              "error_message, target_version, job_id, attributes, tags, created, updated) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    return s.BindText(op.vault)
        .BindText(op.name)
        .BindText(op.request_id)
        .BindBlob(op.csr)
        .BindBlob(op.wrapped_key)
        .BindText(issuer)
        .BindText(op.status)
        .BindText(op.status_details)
        .BindBool(op.cancellation_requested)
        .BindText(op.error_code)
        .BindText(op.error_message)
        .BindText(op.target_version)
        .BindText(op.job_id)
        .BindText(EncodeAttributes(op.attributes))
        .BindText(tags)
        .BindInt(op.created)
        .BindInt(op.updated)
        .Run();
  }
  Status DeletePendingOperation(std::string_view vault, std::string_view name) override {
    CV_ASSIGN_OR_RETURN(Statement s,
                        Write("DELETE FROM pending_operations WHERE vault = ? AND name = ?"));
    return s.BindText(vault).BindText(name).Run();
  }

  Result<std::optional<model::Secret>> GetSecret(std::string_view vault,
                                                 std::string_view name) override {
    CV_ASSIGN_OR_RETURN(Statement s, Read("SELECT vault, name, current_version, deleted, "
                                          "deleted_date, scheduled_purge_date, created, "
                                          "updated FROM secrets "
                                          "WHERE vault = ? AND name = ?"));
    s.BindText(vault).BindText(name);
    return ReadOne<model::Secret>(s, ReadSecret);
  }
  Result<std::vector<model::Secret>> ListSecrets(std::string_view vault, Deleted deleted,
                                                 Page page) override {
    CV_ASSIGN_OR_RETURN(Statement s,
                        Read("SELECT vault, name, current_version, deleted, deleted_date, "
                             "scheduled_purge_date, created, "
                             "updated FROM secrets "
                             "WHERE vault = ? AND deleted = ? ORDER BY name LIMIT ? OFFSET ?"));
    BindPage(s.BindText(vault).BindBool(deleted == Deleted::kOnly), page);
    return ReadAll<model::Secret>(s, ReadSecret);
  }
  Status PutSecret(const model::Secret& secret) override {
    CV_ASSIGN_OR_RETURN(
        Statement s, Write("INSERT OR REPLACE INTO secrets (vault, name, current_version, deleted, "
                           "deleted_date, scheduled_purge_date, created, updated) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    s.BindText(secret.vault).BindText(secret.name).BindText(secret.current_version);
    BindDeletion(s, secret.deleted);
    return s.BindInt(secret.created).BindInt(secret.updated).Run();
  }
  Status DeleteSecret(std::string_view vault, std::string_view name) override {
    static constexpr const char* kDeletes[] = {
        "DELETE FROM secrets WHERE vault = ? AND name = ?",
        "DELETE FROM secret_versions WHERE vault = ? AND name = ?",
    };
    for (const char* sql : kDeletes) {
      CV_ASSIGN_OR_RETURN(Statement s, Write(sql));
      CV_RETURN_IF_ERROR(s.BindText(vault).BindText(name).Run());
    }
    return Ok();
  }
  Result<std::optional<model::SecretVersion>> GetSecretVersion(std::string_view vault,
                                                               std::string_view name,
                                                               std::string_view version) override {
    CV_ASSIGN_OR_RETURN(
        Statement s,
        Read("SELECT vault, name, version, wrapped_value, content_type, attributes, tags "
             "FROM secret_versions "
             "WHERE vault = ? AND name = ? AND version = ?"));
    s.BindText(vault).BindText(name).BindText(version);
    return ReadOne<model::SecretVersion>(s, ReadSecretVersion);
  }
  Result<std::vector<model::SecretVersion>> ListSecretVersions(std::string_view vault,
                                                               std::string_view name,
                                                               Page page) override {
    CV_ASSIGN_OR_RETURN(
        Statement s,
        Read("SELECT vault, name, version, wrapped_value, content_type, attributes, tags "
             "FROM secret_versions "
             "WHERE vault = ? AND name = ? ORDER BY seq LIMIT ? OFFSET ?"));
    BindPage(s.BindText(vault).BindText(name), page);
    return ReadAll<model::SecretVersion>(s, ReadSecretVersion);
  }
  Status PutSecretVersion(const model::SecretVersion& v) override {
    CV_ASSIGN_OR_RETURN(std::string tags, EncodeTags(v.tags));
    // An upsert, not a REPLACE: the row, and so its seq (the version's place), stays.
    CV_ASSIGN_OR_RETURN(
        Statement s,
        Write("INSERT INTO secret_versions (vault, name, version, wrapped_value, content_type, "
              "attributes, tags) VALUES (?, ?, ?, ?, ?, ?, ?) "
              "ON CONFLICT (vault, name, version) DO UPDATE SET vault = excluded.vault, "
              "name = excluded.name, version = excluded.version, "
              "wrapped_value = excluded.wrapped_value, content_type = excluded.content_type, "
              "attributes = excluded.attributes, tags = excluded.tags"));
    return s.BindText(v.vault)
        .BindText(v.name)
        .BindText(v.version)
        .BindBlob(v.wrapped_value)
        .BindText(v.content_type)
        .BindText(EncodeAttributes(v.attributes))
        .BindText(tags)
        .Run();
  }

  Result<std::vector<model::Contact>> GetContacts(std::string_view vault) override {
    CV_ASSIGN_OR_RETURN(Statement s, Read("SELECT contacts FROM contacts WHERE vault = ?"));
    CV_ASSIGN_OR_RETURN(bool row, s.BindText(vault).Step());
    if (!row) return std::vector<model::Contact>{};
    return DecodeContacts(s.Text(0));
  }
  Status PutContacts(std::string_view vault, const std::vector<model::Contact>& contacts) override {
    if (contacts.empty()) {
      CV_ASSIGN_OR_RETURN(Statement s, Write("DELETE FROM contacts WHERE vault = ?"));
      return s.BindText(vault).Run();
    }
    CV_ASSIGN_OR_RETURN(std::string json, EncodeContacts(contacts));
    CV_ASSIGN_OR_RETURN(Statement s,
                        Write("INSERT OR REPLACE INTO contacts (vault, contacts) VALUES (?, ?)"));
    return s.BindText(vault).BindText(json).Run();
  }

  Result<std::optional<model::Principal>> GetPrincipal(std::string_view client_id) override {
    CV_ASSIGN_OR_RETURN(Statement s, Read("SELECT " + std::string(kPrincipalColumns) +
                                          " FROM principals WHERE client_id = ?"));
    s.BindText(client_id);
    return ReadOne<model::Principal>(s, ReadPrincipal);
  }
  Result<std::vector<model::Principal>> ListPrincipals() override {
    CV_ASSIGN_OR_RETURN(Statement s, Read("SELECT " + std::string(kPrincipalColumns) +
                                          " FROM principals ORDER BY client_id"));
    return ReadAll<model::Principal>(s, ReadPrincipal);
  }
  Status PutPrincipal(const model::Principal& p) override {
    CV_ASSIGN_OR_RETURN(
        Statement s, Write("INSERT OR REPLACE INTO principals (" + std::string(kPrincipalColumns) +
                           ") VALUES (?, ?, ?, ?, ?, ?, ?)"));
    return s.BindText(p.client_id)
        .BindText(p.display_name)
        .BindText(p.secret_hash)
        .BindBool(p.enabled)
        .BindInt(p.secret_expires)
        .BindInt(p.created)
        .BindInt(p.updated)
        .Run();
  }
  Status DeletePrincipal(std::string_view client_id) override {
    CV_ASSIGN_OR_RETURN(Statement a, Write("DELETE FROM role_assignments WHERE principal_id = ?"));
    CV_RETURN_IF_ERROR(a.BindText(client_id).Run());
    CV_ASSIGN_OR_RETURN(Statement p, Write("DELETE FROM principals WHERE client_id = ?"));
    return p.BindText(client_id).Run();
  }

  Result<std::vector<model::RoleAssignment>> ListRoleAssignments() override {
    CV_ASSIGN_OR_RETURN(Statement s,
                        Read("SELECT id, principal_id, role, scope, created FROM role_assignments "
                             "ORDER BY created, id"));
    return ReadAll<model::RoleAssignment>(s, ReadRoleAssignment);
  }
  Status PutRoleAssignment(const model::RoleAssignment& a) override {
    CV_ASSIGN_OR_RETURN(Statement s,
                        Write("INSERT OR REPLACE INTO role_assignments "
                              "(id, principal_id, role, scope, created) VALUES (?, ?, ?, ?, ?)"));
    return s.BindText(a.id)
        .BindText(a.principal_id)
        .BindText(a.role)
        .BindText(a.scope)
        .BindInt(a.created)
        .Run();
  }
  Status DeleteRoleAssignment(std::string_view id) override {
    CV_ASSIGN_OR_RETURN(Statement s, Write("DELETE FROM role_assignments WHERE id = ?"));
    return s.BindText(id).Run();
  }

  Result<std::optional<model::Issuer>> GetIssuer(std::string_view vault,
                                                 std::string_view name) override {
    CV_ASSIGN_OR_RETURN(Statement s, Read("SELECT " + std::string(kIssuerColumns) +
                                          " FROM issuers WHERE vault = ? AND name = ?"));
    s.BindText(vault).BindText(name);
    return ReadOne<model::Issuer>(s, ReadIssuer);
  }
  Result<std::vector<model::Issuer>> ListIssuers(std::string_view vault) override {
    CV_ASSIGN_OR_RETURN(Statement s, Read("SELECT " + std::string(kIssuerColumns) +
                                          " FROM issuers WHERE vault = ? ORDER BY name"));
    s.BindText(vault);
    return ReadAll<model::Issuer>(s, ReadIssuer);
  }
  Status PutIssuer(const model::Issuer& issuer) override {
    CV_ASSIGN_OR_RETURN(std::string admins, EncodeAdmins(issuer.admins));
    CV_ASSIGN_OR_RETURN(Statement s,
                        Write("INSERT OR REPLACE INTO issuers (" + std::string(kIssuerColumns) +
                              ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    return s.BindText(issuer.vault)
        .BindText(issuer.name)
        .BindText(issuer.provider)
        .BindText(issuer.account_id)
        .BindBlob(issuer.wrapped_password)
        .BindText(issuer.organization_id)
        .BindText(admins)
        .BindText(issuer.settings)
        .BindBool(issuer.enabled)
        .BindInt(issuer.created)
        .BindInt(issuer.updated)
        .Run();
  }
  Status DeleteIssuer(std::string_view vault, std::string_view name) override {
    CV_ASSIGN_OR_RETURN(Statement s, Write("DELETE FROM issuers WHERE vault = ? AND name = ?"));
    return s.BindText(vault).BindText(name).Run();
  }

  Result<std::optional<model::Job>> GetJob(std::string_view id) override {
    CV_ASSIGN_OR_RETURN(Statement s,
                        Read("SELECT " + std::string(kJobColumns) + " FROM jobs WHERE id = ?"));
    s.BindText(id);
    return ReadOne<model::Job>(s, ReadJob);
  }
  Result<std::optional<model::Job>> GetJobByKey(std::string_view key) override {
    // An empty key is no key: it finds nothing.
    CV_ASSIGN_OR_RETURN(Statement s, Read("SELECT " + std::string(kJobColumns) +
                                          " FROM jobs WHERE key = ? AND key != ''"));
    s.BindText(key);
    return ReadOne<model::Job>(s, ReadJob);
  }
  Result<bool> InsertJob(const model::Job& job) override {
    CV_ASSIGN_OR_RETURN(std::string attempts, EncodeAttempts(job.attempts));
    // Only a key conflict is skipped; a job id used twice is an error, not "already queued".
    CV_ASSIGN_OR_RETURN(Statement s,
                        Write("INSERT INTO jobs (" + std::string(kJobColumns) +
                              ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                              "ON CONFLICT (key) WHERE key != '' DO NOTHING"));
    CV_RETURN_IF_ERROR(BindJob(s, job, attempts).Run());
    return Changed();
  }
  Status PutJob(const model::Job& job) override {
    CV_ASSIGN_OR_RETURN(std::string attempts, EncodeAttempts(job.attempts));
    // An upsert, not a REPLACE: the row keeps its seq (its place among jobs created in the same
    // second), and a key held by another job is an error instead of deleting that job.
    CV_ASSIGN_OR_RETURN(
        Statement s,
        Write("INSERT INTO jobs (" + std::string(kJobColumns) +
              ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
              "ON CONFLICT (id) DO UPDATE SET key = excluded.key, vault = excluded.vault, "
              "name = excluded.name, trigger = excluded.trigger, "
              "source_version = excluded.source_version, validity = excluded.validity, "
              "request_id = excluded.request_id, issuer = excluded.issuer, "
              "status = excluded.status, not_before = excluded.not_before, "
              "deadline = excluded.deadline, lease_owner = excluded.lease_owner, "
              "lease_expires = excluded.lease_expires, state = excluded.state, "
              "last_error = excluded.last_error, attempts = excluded.attempts, "
              "created = excluded.created, updated = excluded.updated"));
    return BindJob(s, job, attempts).Run();
  }
  Result<std::vector<model::Job>> ListJobs(const JobFilter& filter, Page page) override {
    CV_ASSIGN_OR_RETURN(Statement s, Read("SELECT " + std::string(kJobColumns) +
                                          " FROM jobs WHERE (?1 = '' OR vault = ?1) "
                                          "AND (?2 = '' OR name = ?2) "
                                          "AND (?3 = '' OR status = ?3) "
                                          "ORDER BY created DESC, seq DESC LIMIT ? OFFSET ?"));
    BindPage(s.BindText(filter.vault).BindText(filter.name).BindText(filter.status), page);
    return ReadAll<model::Job>(s, ReadJob);
  }
  Result<std::vector<model::Job>> ListRunnableJobs(int64_t now, int64_t limit) override {
    // The status condition matches the jobs_runnable index's.
    CV_ASSIGN_OR_RETURN(Statement s, Read("SELECT " + std::string(kJobColumns) +
                                          " FROM jobs WHERE status IN ('queued', 'running') "
                                          "AND not_before <= ?1 AND lease_expires <= ?1 "
                                          "ORDER BY not_before, created, seq LIMIT ?"));
    s.BindInt(now).BindInt(limit);
    return ReadAll<model::Job>(s, ReadJob);
  }
  Result<std::vector<model::Job>> ListWaitingJobs(std::string_view vault, std::string_view issuer,
                                                  int64_t now, int64_t limit) override {
    CV_ASSIGN_OR_RETURN(Statement s, Read("SELECT " + std::string(kJobColumns) +
                                          " FROM jobs WHERE status = 'waiting' AND vault = ? "
                                          "AND issuer = ? AND lease_expires <= ? "
                                          "ORDER BY created, seq LIMIT ?"));
    s.BindText(vault).BindText(issuer).BindInt(now).BindInt(limit);
    return ReadAll<model::Job>(s, ReadJob);
  }

  Result<bool> AppendEvent(const model::Event& e) override {
    // seq is left out: SQLite assigns the next one.
    CV_ASSIGN_OR_RETURN(
        Statement s,
        Write("INSERT INTO events (id, type, vault, object_type, object_name, version, nbf, exp, "
              "key, detail, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
              "ON CONFLICT (key) WHERE key != '' DO NOTHING"));
    CV_RETURN_IF_ERROR(s.BindText(e.id)
                           .BindText(e.type)
                           .BindText(e.vault)
                           .BindText(e.object_type)
                           .BindText(e.object_name)
                           .BindText(e.version)
                           .BindOptionalInt(e.nbf)
                           .BindOptionalInt(e.exp)
                           .BindText(e.key)
                           .BindText(e.detail)
                           .BindInt(e.time)
                           .Run());
    return Changed();
  }
  Result<std::vector<model::Event>> ListEvents(int64_t after, int64_t limit) override {
    CV_ASSIGN_OR_RETURN(
        Statement s,
        Read("SELECT seq, id, type, vault, object_type, object_name, version, nbf, exp, key, "
             "detail, time FROM events WHERE seq > ? ORDER BY seq LIMIT ?"));
    s.BindInt(after).BindInt(limit);
    return ReadAll<model::Event>(s, ReadEvent);
  }

  Status PutRevocation(const model::Revocation& r) override {
    CV_ASSIGN_OR_RETURN(Statement s, Write("INSERT OR REPLACE INTO revocations (ca, serial, "
                                           "revoked, reason, vault, name, version) "
                                           "VALUES (?, ?, ?, ?, ?, ?, ?)"));
    return s.BindText(r.ca)
        .BindText(r.serial)
        .BindInt(r.revoked)
        .BindText(r.reason)
        .BindText(r.vault)
        .BindText(r.name)
        .BindText(r.version)
        .Run();
  }
  Result<std::vector<model::Revocation>> ListRevocations(std::string_view ca) override {
    CV_ASSIGN_OR_RETURN(Statement s,
                        Read("SELECT ca, serial, revoked, reason, vault, name, version "
                             "FROM revocations WHERE ca = ? ORDER BY revoked, serial"));
    s.BindText(ca);
    return ReadAll<model::Revocation>(s, ReadRevocation);
  }

  Result<std::optional<std::string>> GetSetting(std::string_view key) override {
    CV_ASSIGN_OR_RETURN(Statement s, Read("SELECT value FROM settings WHERE key = ?"));
    CV_ASSIGN_OR_RETURN(bool row, s.BindText(key).Step());
    if (!row) return std::optional<std::string>();
    return std::optional<std::string>(s.Blob(0));
  }
  Status PutSetting(std::string_view key, std::string_view value) override {
    CV_ASSIGN_OR_RETURN(Statement s,
                        Write("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)"));
    return s.BindText(key).BindBlob(value).Run();
  }

  Status Commit() override {
    CV_RETURN_IF_ERROR(CheckOpen());
    if (reader_ != nullptr) return Fail(Error::Internal("store: Commit on a read transaction"));
    Status released = conn_->Run("RELEASE w");
    if (!released) {
      Finish();  // rolls the savepoint back
      return released;
    }
    in_savepoint_ = false;
    ++shared_->batch_commits;
    const uint64_t batch = shared_->open_batch;
    done_ = true;
    if (in_round_) return Ok();  // the writer thread commits the batch
    return EndWrite(true).and_then([&] { return shared_->AwaitBatch(batch); });
  }

 private:
  Status CheckOpen() const {
    if (done_) return Fail(Error::Internal("store: transaction already committed"));
    return Ok();
  }
  Result<Statement> Read(std::string_view sql) {
    CV_RETURN_IF_ERROR(CheckOpen());
    return conn_->Prepare(sql);
  }
  Result<Statement> Write(std::string_view sql) {
    CV_RETURN_IF_ERROR(CheckOpen());
    if (reader_ != nullptr) return Fail(Error::Internal("store: write in a read transaction"));
    return conn_->Prepare(sql);
  }
  // Binds kJobColumns' values, in order; `attempts` is job.attempts encoded.
  static Statement& BindJob(Statement& s, const model::Job& job, const std::string& attempts) {
    return s.BindText(job.id)
        .BindText(job.key)
        .BindText(job.vault)
        .BindText(job.name)
        .BindText(job.trigger)
        .BindText(job.source_version)
        .BindText(job.validity)
        .BindText(job.request_id)
        .BindText(job.issuer)
        .BindText(job.status)
        .BindInt(job.not_before)
        .BindInt(job.deadline)
        .BindText(job.lease_owner)
        .BindInt(job.lease_expires)
        .BindBlob(job.state)
        .BindText(job.last_error)
        .BindText(attempts)
        .BindInt(job.created)
        .BindInt(job.updated);
  }
  // Whether the last INSERT changed a row (false when ON CONFLICT DO NOTHING skipped it).
  Result<bool> Changed() {
    CV_ASSIGN_OR_RETURN(Statement s, Write("SELECT changes()"));
    CV_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return Fail(Error::Internal("sqlite: changes() returned no row"));
    return s.Int(0) > 0;
  }
  static void BindDeletion(Statement& s, const std::optional<model::Deletion>& d) {
    s.BindBool(d.has_value());
    if (d) {
      s.BindInt(d->deleted_date).BindInt(d->scheduled_purge_date);
    } else {
      s.BindNull().BindNull();
    }
  }

  // Leaves the batch: commits it now unless another writer is queued to join it (and the batch
  // is not full), then gives up the writer lock. REQUIRES: the writer lock is held.
  Status EndWrite(bool committed) {
    // A rollback ends the batch too when nobody else will, so that the savepoints committed into
    // it do not wait for a writer that is not coming.
    const bool alone = shared_->queued_writers.load() == 0;
    const bool full = shared_->batch_commits >= Shared::kMaxBatch;
    Status status = Ok();
    if (alone || (committed && full)) status = shared_->FinishBatchLocked();
    write_lock_.unlock();
    return status;
  }

  // Ends the transaction (rolling back whatever is uncommitted) and gives back the connection.
  void Finish() {
    if (done_) return;
    done_ = true;
    if (reader_ == nullptr) {
      if (in_savepoint_) {
        if (!conn_->Run("ROLLBACK TO w") || !conn_->Run("RELEASE w")) {
          // The savepoint cannot be undone alone: the whole batch fails.
          shared_->batch_poisoned = true;
        }
        in_savepoint_ = false;
      }
      if (!in_round_) (void)EndWrite(false);
      return;
    }
    if (conn_->InTransaction()) (void)conn_->Run("ROLLBACK");
    shared_->readers.Release(std::move(reader_));
    reader_.reset();
  }

  std::shared_ptr<Shared> shared_;           // declared first: outlives the lock and reader
  std::unique_lock<std::mutex> write_lock_;  // owns shared_->writer_mu iff a write transaction
  std::unique_ptr<Connection> reader_;       // set iff a read transaction
  Connection* conn_;                         // the writer or reader_
  bool done_ = false;
  bool in_savepoint_ = false;  // a write transaction's savepoint is open
  bool in_round_ = false;      // run by the writer thread, which holds the lock and ends the batch
};

// Runs `body` in `txn` (begun); an exception becomes an Internal error, so that the writer thread
// survives a bug in one body and the other bodies of its round still commit.
Status RunBody(const Store::WriteBody& body, SqliteTransaction& txn) {
  try {
    return body(txn);
  } catch (const std::exception& e) {
    return Fail(Error::Internal(std::string("store: a write transaction threw: ") + e.what()));
  } catch (...) {
    return Fail(Error::Internal("store: a write transaction threw a non-standard exception"));
  }
}

// WriteAsync(body, done) hands `body` to one writer thread, which runs the bodies queued meanwhile
// one after another, each in its own savepoint of one batch, then commits the batch (one fsync)
// and calls each `done`. Compared with each caller taking the writer mutex in turn (BeginWrite),
// a burst of N transactions costs no thread hand-offs between them: on a loaded machine each
// hand-off waits for the next thread to be scheduled, which took longer than the transactions.
// The results of a batch leave together (and their audit records make one batch too).
class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::shared_ptr<Shared> shared)
      : shared_(std::move(shared)), writer_thread_([this] { RunWriter(); }) {}
  ~SqliteStore() override {
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      stopping_ = true;
    }
    queue_cv_.notify_one();
    writer_thread_.join();
  }

  void Drain() override {
    std::unique_lock<std::mutex> lock(queue_mu_);
    ++drainers_;
    drained_cv_.wait(lock, [&] { return queue_.empty() && !writing_; });
    --drainers_;
  }

  void WriteAsync(WriteBody body, WriteDone done) override {
    auto request = std::make_unique<WriteRequest>();
    request->body = std::move(body);
    request->done = std::move(done);
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      if (!stopping_) {
        queue_.push_back(request.release());
        queue_cv_.notify_one();
        return;
      }
    }
    request->done(Fail(Error::Unavailable("store: closing")));
  }

  Result<std::unique_ptr<Transaction>> BeginRead() override {
    CV_ASSIGN_OR_RETURN(std::unique_ptr<Connection> reader, shared_->readers.Acquire());
    auto txn = std::make_unique<SqliteTransaction>(shared_, std::move(reader));
    CV_RETURN_IF_ERROR(txn->Begin());
    return txn;
  }

  Result<std::unique_ptr<Transaction>> BeginWrite() override {
    shared_->queued_writers.fetch_add(1);
    std::unique_lock<std::mutex> lock(shared_->writer_mu);
    shared_->queued_writers.fetch_sub(1);
    auto txn = std::make_unique<SqliteTransaction>(shared_, std::move(lock));
    CV_RETURN_IF_ERROR(txn->Begin());
    return txn;
  }

 private:
  // A queued write, owned by the queue, then by the writer thread, which deletes it after `done`.
  struct WriteRequest {
    WriteBody body;
    WriteDone done;  // called with `result`
    Status result = Ok();
  };

  void RunWriter() {
    NameThisThread("cv-store-write");
    std::vector<WriteRequest*> round;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(queue_mu_);
        queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and every queued body has run
        while (!queue_.empty() && round.size() < static_cast<size_t>(Shared::kMaxBatch)) {
          round.push_back(queue_.front());
          queue_.pop_front();
        }
        writing_ = true;
      }
      RunRound(round);
      {
        // The completions' wake-ups (an audit record each, say) leave as one.
        WakeBatch wakes;
        for (WriteRequest* request : round) Complete(std::unique_ptr<WriteRequest>(request));
      }
      bool draining = false;
      {
        std::lock_guard<std::mutex> lock(queue_mu_);
        writing_ = false;
        draining = drainers_ > 0;
      }
      if (draining) drained_cv_.notify_all();
      round.clear();
    }
  }

  // Calls a write's `done`; what it throws is logged, so that the writer thread goes on.
  static void Complete(std::unique_ptr<WriteRequest> request) {
    try {
      request->done(std::move(request->result));
    } catch (const std::exception& e) {
      log::Error(std::string("store: a write's completion threw: ") + e.what());
    } catch (...) {
      log::Error("store: a write's completion threw a non-standard exception");
    }
  }

  // Runs each body in its own savepoint (a failing body undoes only its own writes), then commits
  // the batch; a body's result is its own error, or else the batch's.
  void RunRound(std::vector<WriteRequest*>& round) {
    shared_->queued_writers.fetch_add(1);
    std::unique_lock<std::mutex> lock(shared_->writer_mu);
    shared_->queued_writers.fetch_sub(1);
    for (WriteRequest* request : round) {
      SqliteTransaction txn(shared_, InWriterRound{});
      request->result =
          txn.Begin().and_then([&] { return RunBody(request->body, txn); }).and_then([&] {
            return txn.Commit();
          });
    }  // an uncommitted txn rolls its savepoint back here
    const Status committed = shared_->FinishBatchLocked();
    lock.unlock();
    for (WriteRequest* request : round) {
      if (request->result) request->result = committed;
    }
  }

  std::shared_ptr<Shared> shared_;
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;    // the writer thread waits for bodies (or stopping_)
  std::condition_variable drained_cv_;  // Drain waits for the queue to empty and a round to end
  std::deque<WriteRequest*> queue_;     // guarded by queue_mu_
  bool writing_ = false;                // a round is running or completing; guarded by queue_mu_
  int drainers_ = 0;                    // callers in Drain; guarded by queue_mu_
  bool stopping_ = false;               // guarded by queue_mu_
  std::thread writer_thread_;           // declared last: starts after the members it uses
};

// Creates the database file owner-only before SQLite opens it; SQLite gives its -wal and -shm
// files the same mode. An existing file keeps the mode it has.
Status CreatePrivateFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Fail(Error::Unavailable("store: cannot open " + path + ": " + std::strerror(errno)));
  }
  ::close(fd);
  return Ok();
}

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  CV_RETURN_IF_ERROR(CreatePrivateFile(path));
  CV_ASSIGN_OR_RETURN(std::unique_ptr<Connection> writer,
                      Connection::Open(path, Connection::Mode::kWriter));
  CV_RETURN_IF_ERROR(ApplyMigrations(*writer, Migrations(), "store"));
  return std::make_unique<SqliteStore>(std::make_shared<Shared>(path, std::move(writer)));
}

}  // namespace certvault::store::sqlite
