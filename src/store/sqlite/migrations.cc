#include "store/sqlite/migrations.h"

#include <string>

namespace certvault::store::sqlite {
namespace {

// Names (vault, object, version) compare with NOCASE, so lookups ignore case while the stored
// text keeps the caller's spelling. Nested model fields are JSON text; DER and sealed keys are
// BLOBs. Version tables keep `seq` (the rowid, so each new row gets max + 1) to list versions in
// creation order; an upsert of an existing version keeps its row and so its place.
// Deletes cascade explicitly in the store (records are stored as given, so a version may exist
// before its certificate within a transaction).
constexpr const char* kMigration1 = R"sql(
CREATE TABLE vaults (
  name TEXT NOT NULL COLLATE NOCASE PRIMARY KEY,
  created INTEGER NOT NULL
);

CREATE TABLE certificates (
  vault TEXT NOT NULL COLLATE NOCASE,
  name TEXT NOT NULL COLLATE NOCASE,
  policy TEXT NOT NULL,
  current_version TEXT NOT NULL,
  deleted INTEGER NOT NULL,
  deleted_date INTEGER,
  scheduled_purge_date INTEGER,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  PRIMARY KEY (vault, name)
);
CREATE INDEX certificates_listing ON certificates (vault, deleted, name);

CREATE TABLE certificate_versions (
  seq INTEGER PRIMARY KEY,
  vault TEXT NOT NULL COLLATE NOCASE,
  name TEXT NOT NULL COLLATE NOCASE,
  version TEXT NOT NULL COLLATE NOCASE,
  cer BLOB NOT NULL,
  chain BLOB NOT NULL,
  wrapped_key BLOB NOT NULL,
  content_type TEXT NOT NULL,
  exportable INTEGER NOT NULL,
  attributes TEXT NOT NULL,
  tags TEXT NOT NULL,
  UNIQUE (vault, name, version)
);
CREATE INDEX certificate_versions_listing ON certificate_versions (vault, name, seq);

CREATE TABLE pending_operations (
  vault TEXT NOT NULL COLLATE NOCASE,
  name TEXT NOT NULL COLLATE NOCASE,
  request_id TEXT NOT NULL,
  csr BLOB NOT NULL,
  wrapped_key BLOB NOT NULL,
  issuer TEXT NOT NULL,
  status TEXT NOT NULL,
  status_details TEXT NOT NULL,
  cancellation_requested INTEGER NOT NULL,
  error_code TEXT NOT NULL,
  error_message TEXT NOT NULL,
  target_version TEXT NOT NULL,
  attributes TEXT NOT NULL,
  tags TEXT NOT NULL,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  PRIMARY KEY (vault, name)
);

CREATE TABLE secrets (
  vault TEXT NOT NULL COLLATE NOCASE,
  name TEXT NOT NULL COLLATE NOCASE,
  current_version TEXT NOT NULL,
  deleted INTEGER NOT NULL,
  deleted_date INTEGER,
  scheduled_purge_date INTEGER,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  PRIMARY KEY (vault, name)
);
CREATE INDEX secrets_listing ON secrets (vault, deleted, name);

CREATE TABLE secret_versions (
  seq INTEGER PRIMARY KEY,
  vault TEXT NOT NULL COLLATE NOCASE,
  name TEXT NOT NULL COLLATE NOCASE,
  version TEXT NOT NULL COLLATE NOCASE,
  wrapped_value BLOB NOT NULL,
  content_type TEXT NOT NULL,
  attributes TEXT NOT NULL,
  tags TEXT NOT NULL,
  UNIQUE (vault, name, version)
);
CREATE INDEX secret_versions_listing ON secret_versions (vault, name, seq);

CREATE TABLE contacts (
  vault TEXT NOT NULL COLLATE NOCASE PRIMARY KEY,
  contacts TEXT NOT NULL
);

CREATE TABLE principals (
  client_id TEXT NOT NULL PRIMARY KEY,
  display_name TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  enabled INTEGER NOT NULL,
  administrator INTEGER NOT NULL,
  created INTEGER NOT NULL
);

CREATE TABLE settings (
  key TEXT NOT NULL PRIMARY KEY,
  value BLOB NOT NULL
);
)sql";

// Roles replace the principal's administrator flag: an administrator becomes an Administrator
// assignment at server scope. Secrets can expire.
constexpr const char* kMigration2 = R"sql(
CREATE TABLE role_assignments (
  id TEXT NOT NULL PRIMARY KEY,
  principal_id TEXT NOT NULL,
  role TEXT NOT NULL,
  scope TEXT NOT NULL COLLATE NOCASE,
  created INTEGER NOT NULL
);
CREATE INDEX role_assignments_principal ON role_assignments (principal_id);

INSERT INTO role_assignments (id, principal_id, role, scope, created)
  SELECT lower(hex(randomblob(16))), client_id, 'Administrator', '/', created
  FROM principals WHERE administrator != 0;

ALTER TABLE principals DROP COLUMN administrator;
ALTER TABLE principals ADD COLUMN secret_expires INTEGER NOT NULL DEFAULT 0;
ALTER TABLE principals ADD COLUMN updated INTEGER NOT NULL DEFAULT 0;
UPDATE principals SET updated = created;
)sql";

// The lifecycle engine's state: issuers, durable jobs, the event outbox and the revocations of
// the CAs this server runs. A certificate records when the scheduler must next look at it (0:
// never; the partial index holds only the live certificates that have something due), and a
// pending operation the job that drives it.
// Job and event keys are unique only when set (the partial unique indexes); InsertJob and
// AppendEvent rely on them with ON CONFLICT DO NOTHING. Jobs keep `seq` (the rowid) to order
// jobs created in the same second. Events' seq is AUTOINCREMENT so that a seq is never reused,
// not even after the newest events are pruned: consumers keep "the last seq I saw" as a cursor.
// Events and revocations outlive their vault (the outbox is a log, revocations stay published);
// issuers and jobs are deleted with it, explicitly in the store like the rest.
constexpr const char* kMigration3 = R"sql(
ALTER TABLE certificates ADD COLUMN next_check INTEGER NOT NULL DEFAULT 0;
CREATE INDEX certificates_due ON certificates (next_check, vault, name)
  WHERE deleted = 0 AND next_check > 0;

ALTER TABLE pending_operations ADD COLUMN job_id TEXT NOT NULL DEFAULT '';

CREATE TABLE issuers (
  vault TEXT NOT NULL COLLATE NOCASE,
  name TEXT NOT NULL COLLATE NOCASE,
  provider TEXT NOT NULL,
  account_id TEXT NOT NULL,
  wrapped_password BLOB NOT NULL,
  organization_id TEXT NOT NULL,
  admins TEXT NOT NULL,
  settings TEXT NOT NULL,
  enabled INTEGER NOT NULL,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  PRIMARY KEY (vault, name)
);

CREATE TABLE jobs (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  key TEXT NOT NULL,
  vault TEXT NOT NULL COLLATE NOCASE,
  name TEXT NOT NULL COLLATE NOCASE,
  trigger TEXT NOT NULL,
  source_version TEXT NOT NULL,
  validity TEXT NOT NULL,
  request_id TEXT NOT NULL,
  issuer TEXT NOT NULL COLLATE NOCASE,
  status TEXT NOT NULL,
  not_before INTEGER NOT NULL,
  deadline INTEGER NOT NULL,
  lease_owner TEXT NOT NULL,
  lease_expires INTEGER NOT NULL,
  state BLOB NOT NULL,
  last_error TEXT NOT NULL,
  attempts TEXT NOT NULL,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL
);
CREATE UNIQUE INDEX jobs_key ON jobs (key) WHERE key != '';
CREATE INDEX jobs_listing ON jobs (created);
CREATE INDEX jobs_certificate ON jobs (vault, name, created);
CREATE INDEX jobs_runnable ON jobs (not_before, created) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_waiting ON jobs (vault, issuer, created) WHERE status = 'waiting';

CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL,
  type TEXT NOT NULL,
  vault TEXT NOT NULL COLLATE NOCASE,
  object_type TEXT NOT NULL,
  object_name TEXT NOT NULL COLLATE NOCASE,
  version TEXT NOT NULL,
  nbf INTEGER,
  exp INTEGER,
  key TEXT NOT NULL,
  detail TEXT NOT NULL,
  time INTEGER NOT NULL
);
CREATE UNIQUE INDEX events_key ON events (key) WHERE key != '';

CREATE TABLE revocations (
  ca TEXT NOT NULL,
  serial TEXT NOT NULL,
  revoked INTEGER NOT NULL,
  reason TEXT NOT NULL,
  vault TEXT NOT NULL COLLATE NOCASE,
  name TEXT NOT NULL COLLATE NOCASE,
  version TEXT NOT NULL,
  PRIMARY KEY (ca, serial)
);
)sql";

constexpr const char* kMigrations[] = {kMigration1, kMigration2, kMigration3};

Result<int64_t> AppliedVersion(Connection& conn) {
  CV_ASSIGN_OR_RETURN(Statement stmt,
                      conn.Prepare("SELECT coalesce(max(version), 0) FROM schema_migrations"));
  CV_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? stmt.Int(0) : 0;
}

// Applies migration `version` unless another process got there first.
Status ApplyOne(Connection& conn, int64_t version, const char* sql) {
  CV_RETURN_IF_ERROR(conn.Run("BEGIN IMMEDIATE"));
  Status status = [&]() -> Status {
    CV_ASSIGN_OR_RETURN(int64_t applied, AppliedVersion(conn));
    if (applied >= version) return Ok();
    CV_RETURN_IF_ERROR(conn.Exec(sql));
    CV_ASSIGN_OR_RETURN(Statement record,
                        conn.Prepare("INSERT INTO schema_migrations (version, applied_at) "
                                     "VALUES (?, CAST(strftime('%s', 'now') AS INTEGER))"));
    return record.BindInt(version).Run();
  }();
  if (status) status = conn.Run("COMMIT");
  if (!status && conn.InTransaction()) (void)conn.Run("ROLLBACK");
  return status;
}

}  // namespace

std::span<const char* const> Migrations() { return kMigrations; }

Status ApplyMigrations(Connection& conn, std::span<const char* const> migrations,
                       std::string_view what) {
  CV_RETURN_IF_ERROR(
      conn.Exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)"));
  CV_ASSIGN_OR_RETURN(int64_t applied, AppliedVersion(conn));
  const auto latest = static_cast<int64_t>(migrations.size());
  if (applied > latest) {
    return Fail(Error::Internal(std::string(what) + ": the database schema (version " +
                                std::to_string(applied) + ") is newer than this binary (" +
                                std::to_string(latest) + ")"));
  }
  for (int64_t version = applied + 1; version <= latest; ++version) {
    if (auto ok = ApplyOne(conn, version, migrations[version - 1]); !ok) {
      return Fail(
          ok.error().WithContext(std::string(what) + ": migration " + std::to_string(version)));
    }
  }
  return Ok();
}

}  // namespace certvault::store::sqlite
