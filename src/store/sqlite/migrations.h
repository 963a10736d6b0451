#pragma once
// The SQLite schema, as numbered migrations. Migration N is Migrations()[N - 1]; once released a
// migration never changes, and a schema change is a new migration appended to the list.
// Applied migrations are recorded in `schema_migrations`.

#include <span>

#include "common/result.h"
#include "store/sqlite/connection.h"

namespace certvault::store::sqlite {

std::span<const char* const> Migrations();

// Applies every migration not yet recorded, each in its own transaction. Idempotent; fails if the
// database was migrated by a newer binary.
// REQUIRES: `conn` is the writer connection and no transaction is open on it.
Status ApplyMigrations(Connection& conn);

}  // namespace certvault::store::sqlite
