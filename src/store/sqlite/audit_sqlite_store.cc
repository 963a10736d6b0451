// The SQLite AuditStore: one database file of its own, in WAL mode, apart from the main Store's,
// so that audit appends never wait for vault writes (nor the reverse).
//
// Durability: synchronous=FULL (set by Connection's writer mode), so an Append that returned Ok
// survives a process crash (kill -9) and also a power cut. NORMAL would survive kill -9 as well
// (in WAL mode a commit reaches the OS before COMMIT returns) but may lose the last commits on a
// power cut; a response is sent on the strength of its record, so a secret could be handed out
// with no trace left. The cost, one fsync per commit, is shared by a whole batch of requests.
//
// Concurrency: one writer connection behind a mutex for Append and DeleteBefore (BEGIN IMMEDIATE,
// so another process holding the file's write lock makes them wait up to the busy timeout and
// then fail Unavailable); queries use a pool of query-only connections and run alongside appends.
//
// Schema: `seq` is an AUTOINCREMENT rowid, so seqs are never reused even after retention deleted
// the newest rows. Only two secondary indexes, on time_ms (retention, and where a time range
// starts) and on principal, so that an insert stays cheap; queries read rows in seq order from
// after_seq and test the other filters on each row (see QueryOn). The file is created 0600
// (SQLite gives its -wal and -shm files the same mode) and its schema is set up by numbered
// migrations recorded in `schema_migrations`, as in the main store.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/audit_store.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/migrations.h"

namespace certvault::store {
namespace {

using sqlite::Connection;
using sqlite::Statement;

// Migration N is kAuditMigrations[N - 1]; a released migration never changes.
constexpr const char* kAuditMigration1 = R"sql(
CREATE TABLE audit_records (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  principal TEXT NOT NULL,
  source TEXT NOT NULL,
  vault TEXT NOT NULL,
  operation TEXT NOT NULL,
  object TEXT NOT NULL,
  outcome TEXT NOT NULL,
  status INTEGER NOT NULL,
  duration_us INTEGER NOT NULL
);
CREATE INDEX audit_records_time ON audit_records (time_ms);
CREATE INDEX audit_records_principal ON audit_records (principal);
)sql";

constexpr const char* kAuditMigrations[] = {kAuditMigration1};

// Rows DeleteBefore removes per transaction; bounds how long one chunk holds the writer.
constexpr int64_t kDeleteChunk = 5000;
// Idle reader connections kept open; more are opened while many queries overlap.
constexpr size_t kMaxIdleReaders = 2;

constexpr const char* kColumns =
    "seq, time_ms, request_id, principal, source, vault, operation, object, outcome, status, "
    "duration_us";

// The seq the next record gets: one past the largest ever used (sqlite_sequence keeps it even
// after the rows holding it were deleted).
constexpr const char* kNextSeqSql =
    "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'audit_records'), 0), "
    "coalesce((SELECT max(seq) FROM audit_records), 0)) + 1";

// Rows per INSERT statement at most; a power of two (batches are cut into power-of-two chunks).
constexpr size_t kMaxRowsPerInsert = 64;

// "INSERT ... VALUES (...), ..." for `rows` rows, from a table built once.
const std::string& InsertSql(size_t rows) {
  static const std::vector<std::string> sql = [] {
    std::vector<std::string> out(kMaxRowsPerInsert + 1);
    for (size_t n = 1; n <= kMaxRowsPerInsert; n *= 2) {
      std::string& s = out[n];
      s = "INSERT INTO audit_records (seq, time_ms, request_id, principal, source, vault, "
          "operation, object, outcome, status, duration_us) VALUES ";
      for (size_t i = 0; i < n; ++i) {
        s += i == 0 ? "(?,?,?,?,?,?,?,?,?,?,?)" : ",(?,?,?,?,?,?,?,?,?,?,?)";
      }
    }
    return out;
  }();
  return sql[rows];
}

model::AuditRecord ReadRecord(const Statement& s) {
  model::AuditRecord r;
  r.seq = s.Int(0);
  r.time_ms = s.Int(1);
  r.request_id = s.Text(2);
  r.principal = s.Text(3);
  r.source = s.Text(4);
  r.vault = s.Text(5);
  r.operation = s.Text(6);
  r.object = s.Text(7);
  r.outcome = s.Text(8);
  r.status = static_cast<int>(s.Int(9));
  r.duration_us = s.Int(10);
  return r;
}

// Runs `body` in a BEGIN IMMEDIATE transaction on `conn`: commits when it succeeds, rolls back
// when it or the commit fails.
template <typename F>
Status InWriteTransaction(Connection& conn, F body) {
  CV_RETURN_IF_ERROR(conn.Run("BEGIN IMMEDIATE"));
  Status status = body();
  if (status) status = conn.Run("COMMIT");
  if (!status && conn.InTransaction()) (void)conn.Run("ROLLBACK");
  return status;
}

// Creates the database file owner-only before SQLite opens it; an existing file keeps its mode.
Status CreatePrivateFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Fail(
        Error::Unavailable("audit store: cannot open " + path + ": " + std::strerror(errno)));
  }
  ::close(fd);
  return Ok();
}

class SqliteAuditStore final : public AuditStore {
 public:
  SqliteAuditStore(std::string path, std::unique_ptr<Connection> writer)
      : readers_(std::move(path), kMaxIdleReaders), writer_(std::move(writer)) {}

  Status Append(std::vector<model::AuditRecord>& records) override {
    if (records.empty()) return Ok();
    std::vector<int64_t> given;
    given.reserve(records.size());
    for (const model::AuditRecord& r : records) given.push_back(r.seq);

    std::lock_guard<std::mutex> lock(writer_mu_);
    Status status = InWriteTransaction(*writer_, [&]() -> Status {
      // The seqs are assigned here rather than by SQLite, so that the rows need no RETURNING (it
      // costs each statement an ephemeral table) and go in multi-row INSERTs. They are what
      // AUTOINCREMENT would give: one past the largest seq ever used, which sqlite_sequence
      // remembers (an explicit seq larger than it updates it), and this transaction holds the
      // write lock.
      int64_t first = 0;
      {
        CV_ASSIGN_OR_RETURN(Statement next, writer_->Prepare(kNextSeqSql));
        CV_ASSIGN_OR_RETURN(bool row, next.Step());
        if (!row) return Fail(Error::Internal("audit store: no next seq"));
        first = next.Int(0);
      }  // resets the statement before the inserts
      for (size_t i = 0; i < records.size(); ++i) records[i].seq = first + static_cast<int64_t>(i);
      size_t done = 0;
      while (done < records.size()) {
        // The largest prepared size that fits: at most log2(kMaxRowsPerInsert) + 1 statements
        // for a batch up to that size, each prepared once.
        size_t rows = kMaxRowsPerInsert;
        while (rows > records.size() - done) rows /= 2;
        CV_ASSIGN_OR_RETURN(Statement insert, writer_->Prepare(InsertSql(rows)));
        for (size_t i = done; i < done + rows; ++i) {
          const model::AuditRecord& r = records[i];
          insert.BindInt(r.seq)
              .BindInt(r.time_ms)
              .BindText(r.request_id)
              .BindText(r.principal)
              .BindText(r.source)
              .BindText(r.vault)
              .BindText(r.operation)
              .BindText(r.object)
              .BindText(r.outcome)
              .BindInt(r.status)
              .BindInt(r.duration_us);
        }
        CV_RETURN_IF_ERROR(insert.Run());
        done += rows;
      }
      return Ok();
    });
    if (!status) {
      for (size_t i = 0; i < records.size(); ++i) records[i].seq = given[i];
    }
    return status;
  }

  Result<std::vector<model::AuditRecord>> Query(const model::AuditFilter& f) override {
    CV_ASSIGN_OR_RETURN(std::unique_ptr<Connection> reader, readers_.Acquire());
    auto out = QueryOn(*reader, f);
    if (out) readers_.Release(std::move(reader));
    return out;
  }

  Result<int64_t> DeleteBefore(int64_t time_ms) override {
    int64_t total = 0;
    for (;;) {
      int64_t deleted = 0;
      {
        std::lock_guard<std::mutex> lock(writer_mu_);
        CV_RETURN_IF_ERROR(InWriteTransaction(*writer_, [&]() -> Status {
          CV_ASSIGN_OR_RETURN(
              Statement del,
              writer_->Prepare("DELETE FROM audit_records WHERE seq IN (SELECT seq FROM "
                               "audit_records WHERE time_ms < ? LIMIT ?)"));
          CV_RETURN_IF_ERROR(del.BindInt(time_ms).BindInt(kDeleteChunk).Run());
          CV_ASSIGN_OR_RETURN(Statement changes, writer_->Prepare("SELECT changes()"));
          CV_ASSIGN_OR_RETURN(bool row, changes.Step());
          deleted = row ? changes.Int(0) : 0;
          return Ok();
        }));
      }
      total += deleted;
      if (deleted < kDeleteChunk) return total;
    }
  }

 private:
  // Only the fixed fragments below go into the SQL text; every value is bound. Each combination of
  // filters is one cached statement.
  static Result<std::vector<model::AuditRecord>> QueryOn(Connection& conn,
                                                         const model::AuditFilter& f) {
    // The time terms are written `+time_ms` so that SQLite does not serve them from the time
    // index: that index is in time order, and reading a whole time range through it to sort by
    // seq would cost the whole range on every page. Rows are read in seq order instead (through
    // the principal index when a principal is given), from after_seq, or on a first page from
    // the range's lowest seq, which the time index yields (reading only the index).
    std::string time_terms;          // for the main query
    std::string indexed_time_terms;  // for the lowest seq
    if (f.from_ms != 0) {
      time_terms += " AND +time_ms >= ?";
      indexed_time_terms += " AND time_ms >= ?";
    }
    if (f.to_ms != 0) {
      time_terms += " AND +time_ms < ?";
      indexed_time_terms += " AND time_ms < ?";
    }
    auto bind_time = [&](Statement& s) {
      if (f.from_ms != 0) s.BindInt(f.from_ms);
      if (f.to_ms != 0) s.BindInt(f.to_ms);
    };

    int64_t after_seq = f.after_seq;
    if (!time_terms.empty() && after_seq <= 0) {
      CV_ASSIGN_OR_RETURN(Statement s, conn.Prepare("SELECT min(seq) FROM audit_records WHERE 1" +
                                                    indexed_time_terms));
      bind_time(s);
      CV_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row || s.IsNull(0)) return std::vector<model::AuditRecord>{};
      after_seq = std::max(after_seq, s.Int(0) - 1);
    }

    std::string sql = std::string("SELECT ") + kColumns + " FROM audit_records WHERE seq > ?";
    sql += time_terms;
    if (!f.principal.empty()) sql += " AND principal = ?";
    const bool prefix = !f.object.empty() && f.object.back() == '*';
    const std::string_view head(f.object.data(), prefix ? f.object.size() - 1 : f.object.size());
    if (prefix && !head.empty()) {
      // Byte-wise prefix test: substr counts bytes on a BLOB, and no pattern characters apply.
      sql += " AND substr(CAST(object AS BLOB), 1, ?) = ?";
    } else if (!prefix && !head.empty()) {
      sql += " AND object = ?";
    }
    if (!f.operation.empty()) sql += " AND operation = ?";
    if (!f.outcome.empty()) sql += " AND outcome = ?";
    sql += " ORDER BY seq LIMIT ?";

    CV_ASSIGN_OR_RETURN(Statement s, conn.Prepare(sql));
    s.BindInt(after_seq);
    bind_time(s);
    if (!f.principal.empty()) s.BindText(f.principal);
    if (prefix && !head.empty()) {
      s.BindInt(static_cast<int64_t>(head.size())).BindBlob(head);
    } else if (!prefix && !head.empty()) {
      s.BindText(head);
    }
    if (!f.operation.empty()) s.BindText(f.operation);
    if (!f.outcome.empty()) s.BindText(f.outcome);
    s.BindInt(ClampAuditLimit(f.limit));
    std::vector<model::AuditRecord> out;
    for (;;) {
      CV_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return out;
      out.push_back(ReadRecord(s));
    }
  }

  sqlite::ReaderPool readers_;
  std::mutex writer_mu_;
  const std::unique_ptr<Connection> writer_;  // used only under writer_mu_
};

}  // namespace

Result<std::unique_ptr<AuditStore>> OpenSqliteAuditStore(const std::string& path) {
  CV_RETURN_IF_ERROR(CreatePrivateFile(path));
  CV_ASSIGN_OR_RETURN(std::unique_ptr<Connection> writer,
                      Connection::Open(path, Connection::Mode::kWriter));
  CV_RETURN_IF_ERROR(sqlite::ApplyMigrations(*writer, kAuditMigrations, "audit store"));
  return std::make_unique<SqliteAuditStore>(path, std::move(writer));
}

}  // namespace certvault::store
