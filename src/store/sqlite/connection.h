#pragma once
// RAII over the SQLite C API: a Connection owns one sqlite3* and caches its prepared statements;
// a Statement is one use of a cached statement, with parameters bound by position, and resets it
// when it goes out of scope.
//
// Thread safety: none. A Connection (and every Statement from it) is used by one thread at a
// time; the store guarantees that with its writer mutex and its reader pool. Connections are
// opened in SQLite's multi-thread mode (no per-call mutex).
//
// Values are only ever bound, never spliced into SQL text; Exec is for fixed SQL (schema,
// pragmas). Error messages carry SQLite's message, which names tables and columns, never values.

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"

namespace certvault::store::sqlite {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// Busy, locked, I/O and disk-full failures are Unavailable (worth retrying); the rest Internal.
Error SqliteError(sqlite3* db, int rc, std::string_view what);

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  // Each Bind* binds the next parameter (1, 2, ...). A failure is reported by Step or Run.
  Statement& BindText(std::string_view text);
  Statement& BindBlob(std::string_view bytes);
  Statement& BindInt(int64_t value);
  Statement& BindBool(bool value) { return BindInt(value ? 1 : 0); }
  Statement& BindOptionalInt(const std::optional<int64_t>& value);
  Statement& BindNull();

  // Advances to the next row: true when a row is ready, false when done.
  Result<bool> Step();
  // Runs a statement that returns no rows.
  Status Run();

  // Column readers; valid after Step returned true. Columns count from 0.
  std::string Text(int column) const;
  std::string Blob(int column) const;
  int64_t Int(int column) const;
  bool Bool(int column) const { return Int(column) != 0; }
  bool IsNull(int column) const;

 private:
  void Check(int rc);

  sqlite3* db_;
  sqlite3_stmt* stmt_;  // owned by the Connection's cache
  int next_param_ = 1;
  int bind_rc_ = SQLITE_OK;
};

class Connection {
 public:
  enum class Mode {
    kWriter,  // creates the file, sets WAL and synchronous=FULL
    kReader,  // query_only
  };

  // Opens `path`. The file must exist unless mode is kWriter.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, Mode mode);

  // The cached prepared statement for `sql`, prepared on first use.
  // REQUIRES: no other Statement for the same `sql` is alive.
  Result<Statement> Prepare(std::string_view sql);
  // Prepares (cached) and runs a statement that binds nothing and returns no rows.
  Status Run(std::string_view sql);
  // Runs fixed SQL, possibly several statements, without caching (schema, pragmas).
  Status Exec(const char* sql);

  // True while a transaction is open on this connection.
  bool InTransaction() const { return sqlite3_get_autocommit(db_.get()) == 0; }

 private:
  explicit Connection(DbPtr db) : db_(std::move(db)) {}
  // Switches to WAL journaling; false when SQLite kept another mode.
  Result<bool> EnableWal();

  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  DbPtr db_;
  std::unordered_map<std::string, StmtPtr, Hash, std::equal_to<>> cache_;
};

// Query-only connections to one database file, reused: Acquire hands out an idle one or opens a
// new one; Release keeps up to `max_idle` for later. Thread-safe.
class ReaderPool {
 public:
  ReaderPool(std::string path, size_t max_idle) : path_(std::move(path)), max_idle_(max_idle) {}

  Result<std::unique_ptr<Connection>> Acquire();
  // A connection still inside a transaction is closed rather than kept.
  void Release(std::unique_ptr<Connection> conn);

 private:
  const std::string path_;
  const size_t max_idle_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_
};

}  // namespace certvault::store::sqlite
