#pragma once
// A Store that lives in memory, for unit tests and as the reference the conformance suite holds
// the durable stores to.
//
// The whole state is one immutable snapshot behind a shared_ptr. A read transaction keeps the
// snapshot current at its start. A write transaction holds the writer mutex for its whole life,
// copies the snapshot on its first write and, on Commit, publishes the copy; dropping it without
// Commit discards the copy. Nothing survives the Store.

#include <memory>

#include "store/store.h"

namespace certvault::store::memory {

std::unique_ptr<Store> NewMemoryStore();

}  // namespace certvault::store::memory
