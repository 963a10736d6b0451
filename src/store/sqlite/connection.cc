#include "store/sqlite/connection.h"

#include <utility>

namespace certvault::store::sqlite {
namespace {

constexpr int kBusyTimeoutMs = 5000;

}  // namespace

Error SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string message = "sqlite: " + std::string(what) + ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_PROTOCOL:
      return Error::Unavailable(std::move(message));
    default:
      return Error::Internal(std::move(message));
  }
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      next_param_(other.next_param_),
      bind_rc_(other.bind_rc_) {}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

void Statement::Check(int rc) {
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

Statement& Statement::BindText(std::string_view text) {
  // A null pointer would bind NULL; an empty string must stay an empty string.
  const char* data = text.data() != nullptr ? text.data() : "";
  Check(
      sqlite3_bind_text64(stmt_, next_param_++, data, text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  return *this;
}

Statement& Statement::BindBlob(std::string_view bytes) {
  const char* data = bytes.data() != nullptr ? bytes.data() : "";
  Check(sqlite3_bind_blob64(stmt_, next_param_++, data, bytes.size(), SQLITE_TRANSIENT));
  return *this;
}

Statement& Statement::BindInt(int64_t value) {
  Check(sqlite3_bind_int64(stmt_, next_param_++, value));
  return *this;
}

Statement& Statement::BindOptionalInt(const std::optional<int64_t>& value) {
  return value ? BindInt(*value) : BindNull();
}

Statement& Statement::BindNull() {
  Check(sqlite3_bind_null(stmt_, next_param_++));
  return *this;
}

Result<bool> Statement::Step() {
  if (bind_rc_ != SQLITE_OK) return Fail(SqliteError(db_, bind_rc_, "bind"));
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Fail(SqliteError(db_, rc, "step"));
}

Status Statement::Run() {
  CV_ASSIGN_OR_RETURN(bool row, Step());
  if (row) return Fail(Error::Internal("sqlite: statement returned rows where none were expected"));
  return Ok();
}

std::string Statement::Text(int column) const {
  const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (data == nullptr) return {};
  return std::string(data, static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::string Statement::Blob(int column) const {
  const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
  if (data == nullptr) return {};  // NULL or zero length
  return std::string(data, static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path, Mode mode) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (mode == Mode::kWriter) flags |= SQLITE_OPEN_CREATE;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  DbPtr db(raw);  // sqlite3_open_v2 returns a handle to close even when it fails
  if (rc != SQLITE_OK) return Fail(SqliteError(db.get(), rc, "open"));
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);

  std::unique_ptr<Connection> conn(new Connection(std::move(db)));
  CV_RETURN_IF_ERROR(conn->Exec("PRAGMA foreign_keys = ON"));
  if (mode == Mode::kWriter) {
    CV_ASSIGN_OR_RETURN(bool wal, conn->EnableWal());
    if (!wal) return Fail(Error::Internal("sqlite: the database cannot use WAL journaling"));
    // FULL: every commit is fsynced, so a committed transaction survives a power cut.
    // temp_store MEMORY keeps the savepoint journal in memory: a group commit runs each
    // transaction in a savepoint, whose journal (the pages it changed, as they were) would
    // otherwise spill to a temporary file past 64 KiB and cost a write() per page.
    CV_RETURN_IF_ERROR(
        conn->Exec("PRAGMA synchronous = FULL; PRAGMA journal_size_limit = 67108864; "
                   "PRAGMA temp_store = MEMORY;"));
  } else {
    CV_RETURN_IF_ERROR(conn->Exec("PRAGMA query_only = ON"));
  }
  return conn;
}

Result<bool> Connection::EnableWal() {
  CV_ASSIGN_OR_RETURN(Statement stmt, Prepare("PRAGMA journal_mode = WAL"));
  CV_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row && stmt.Text(0) == "wal";
}

Result<Statement> Connection::Prepare(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    StmtPtr stmt(raw);
    if (rc != SQLITE_OK) return Fail(SqliteError(db_.get(), rc, "prepare"));
    it = cache_.emplace(std::string(sql), std::move(stmt)).first;
  }
  return Statement(db_.get(), it->second.get());
}

Status Connection::Run(std::string_view sql) {
  CV_ASSIGN_OR_RETURN(Statement stmt, Prepare(sql));
  return stmt.Run();
}

Status Connection::Exec(const char* sql) {
  int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Fail(SqliteError(db_.get(), rc, "exec"));
  return Ok();
}

Result<std::unique_ptr<Connection>> ReaderPool::Acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      std::unique_ptr<Connection> conn = std::move(idle_.back());
      idle_.pop_back();
      return conn;
    }
  }
  return Connection::Open(path_, Connection::Mode::kReader);
}

void ReaderPool::Release(std::unique_ptr<Connection> conn) {
  if (conn->InTransaction()) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(conn));
}

}  // namespace certvault::store::sqlite
