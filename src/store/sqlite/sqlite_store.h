#pragma once
// The embedded Store: one SQLite database file in WAL mode.
//
// Durability: synchronous=FULL, so a transaction whose Commit returned Ok survives a crash or a
// power cut. Concurrency: one writer connection, guarded by a mutex held for the whole write
// transaction (BEGIN IMMEDIATE, so other processes sharing the file wait up to the busy timeout
// and then get Unavailable); read transactions use a pool of query-only connections and run
// concurrently with the writer, each on the snapshot taken when it began.
//
// The file (and SQLite's -wal and -shm files, which inherit its mode) is created 0600: it holds
// sealed private keys and principals' secret hashes. The schema is created and upgraded by the
// numbered migrations in migrations.cc.
//
// Errors: busy, locked, I/O and disk-full failures are Unavailable (retryable); anything else is
// Internal. Transactions may outlive the Store object; they keep its connections alive.

#include <memory>
#include <string>

#include "store/store.h"

namespace certvault::store::sqlite {

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

}  // namespace certvault::store::sqlite
