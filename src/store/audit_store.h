#pragma once
// AuditStore: where the audit trail is kept, one record per HTTP request the server answers.
//
// A request's response waits until its record is durable, so Append sits on every request's path:
// it takes records in batches (auth::AuditWriter groups concurrent requests into one Append) and
// keeps inserts cheap. Records are append-only; the only removal is retention (DeleteBefore).
// Implementations: sqlite/audit_sqlite_store.cc (its own database file, apart from the main
// Store's, so audit writes never wait for vault writes) and memory/audit_memory_store.cc (unit
// tests). One conformance suite (audit_store_conformance_test.cc) runs against both.
//
// Thread safety: every method may be called from any thread. Appends are serialised; queries run
// concurrently with them and see every Append that returned Ok before the query began.
//
// Strings are stored and compared byte for byte (no case folding): a filter's principal,
// operation, outcome and object match only the exact bytes recorded.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "model/audit.h"

namespace certvault::store {

// Query returns at most this many records, whatever the filter's limit.
inline constexpr int64_t kMaxAuditQueryLimit = 1000;

// The number of records a query with `limit` returns at most: limit clamped to
// [1, kMaxAuditQueryLimit].
inline int64_t ClampAuditLimit(int64_t limit) {
  if (limit < 1) return 1;
  return limit > kMaxAuditQueryLimit ? kMaxAuditQueryLimit : limit;
}

class AuditStore {
 public:
  virtual ~AuditStore() = default;

  // Assigns each record its seq (ignoring the seq given) and writes them all, atomically and
  // durably: when Append returns Ok every record is stored, and seqs increase in vector order and
  // across calls and are never reused, not even after DeleteBefore removed the records that held
  // them. On failure none is stored and every record keeps the seq it came with. An empty vector
  // is Ok and writes nothing. Errors: Unavailable when storage is busy, full or failing
  // (retryable), Internal otherwise.
  virtual Status Append(std::vector<model::AuditRecord>& records) = 0;

  // The records matching every field of `filter` (see model::AuditFilter), ordered by seq
  // ascending, at most ClampAuditLimit(filter.limit) of them. Page through a large result by
  // passing the last seq returned as the next query's after_seq.
  virtual Result<std::vector<model::AuditRecord>> Query(const model::AuditFilter& filter) = 0;

  // Deletes every record with time_ms < `time_ms` (retention) and returns how many it deleted.
  // Large deletions proceed in chunks, each its own transaction, so that appends are not held up
  // for long; if a chunk fails, the chunks before it stay deleted.
  virtual Result<int64_t> DeleteBefore(int64_t time_ms) = 0;
};

// Opens (creating owner-only, and migrating as needed) the SQLite audit database at `path`, in
// WAL mode. It must not be the main Store's file. Durability: synchronous=FULL, so an Append that
// returned Ok survives kill -9 and a power cut (NORMAL would only promise the former); batching
// shares the fsync among many records. More in sqlite/audit_sqlite_store.cc.
Result<std::unique_ptr<AuditStore>> OpenSqliteAuditStore(const std::string& path);

// An audit store that lives in memory, for unit tests. Nothing survives it.
std::unique_ptr<AuditStore> NewMemoryAuditStore();

}  // namespace certvault::store
