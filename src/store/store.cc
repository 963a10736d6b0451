// The factories declared in store.h, forwarding to the implementations.

#include "store/store.h"

#include "store/memory/memory_store.h"
#include "store/sqlite/sqlite_store.h"

namespace certvault::store {

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  return sqlite::OpenSqliteStore(path);
}

std::unique_ptr<Store> NewMemoryStore() { return memory::NewMemoryStore(); }

}  // namespace certvault::store
