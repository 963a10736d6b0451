#pragma once
// The SQLite schema, as numbered migrations. Migration N is Migrations()[N - 1]; once released a
// migration never changes, and a schema change is a new migration appended to the list.
// Applied migrations are recorded in `schema_migrations`.

#include <span>
#include <string_view>

#include "common/result.h"
#include "store/sqlite/connection.h"

namespace certvault::store::sqlite {

std::span<const char* const> Migrations();

// Applies every migration of `migrations` not yet recorded in `conn`'s `schema_migrations`,
// each in its own transaction (re-checked inside it, in case another process got there first).
// Idempotent; fails if the database was migrated by a newer binary. `what` names the database in
// errors. The main store's schema is Migrations(); the audit store has its own list.
// REQUIRES: `conn` is the writer connection and no transaction is open on it.
Status ApplyMigrations(Connection& conn, std::span<const char* const> migrations,
                       std::string_view what);

}  // namespace certvault::store::sqlite
