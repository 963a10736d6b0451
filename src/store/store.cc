// The factories declared in store.h, forwarding to the implementations.

#include "store/store.h"

#include <future>
#include <utility>

#include "store/memory/memory_store.h"
#include "store/sqlite/sqlite_store.h"

namespace certvault::store {

Status Store::Write(const WriteBody& body) {
  std::promise<Status> written;
  WriteAsync(body, [&written](Status status) { written.set_value(std::move(status)); });
  return written.get_future().get();
}

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  return sqlite::OpenSqliteStore(path);
}

std::unique_ptr<Store> NewMemoryStore() { return memory::NewMemoryStore(); }

}  // namespace certvault::store
