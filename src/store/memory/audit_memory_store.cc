// The in-memory AuditStore: a vector of records in seq order behind one mutex. It is the reference
// the conformance suite holds the SQLite audit store to.

#include <algorithm>
#include <iterator>
#include <mutex>
#include <string_view>
#include <utility>

#include "store/audit_store.h"

namespace certvault::store {
namespace {

// An object filter matches exactly, or as a prefix when it ends with '*'.
bool ObjectMatches(std::string_view filter, std::string_view object) {
  if (!filter.empty() && filter.back() == '*') {
    return object.starts_with(filter.substr(0, filter.size() - 1));
  }
  return object == filter;
}

bool Matches(const model::AuditFilter& f, const model::AuditRecord& r) {
  return (f.from_ms == 0 || r.time_ms >= f.from_ms) && (f.to_ms == 0 || r.time_ms < f.to_ms) &&
         (f.principal.empty() || r.principal == f.principal) &&
         (f.object.empty() || ObjectMatches(f.object, r.object)) &&
         (f.operation.empty() || r.operation == f.operation) &&
         (f.outcome.empty() || r.outcome == f.outcome);
}

class MemoryAuditStore final : public AuditStore {
 public:
  Status Append(std::vector<model::AuditRecord>& records) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (model::AuditRecord& record : records) {
      record.seq = ++last_seq_;
      records_.push_back(record);
    }
    return Ok();
  }

  Result<std::vector<model::AuditRecord>> Query(const model::AuditFilter& filter) override {
    const auto limit = static_cast<size_t>(ClampAuditLimit(filter.limit));
    std::vector<model::AuditRecord> out;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = std::partition_point(records_.begin(), records_.end(),
                                   [&](const auto& r) { return r.seq <= filter.after_seq; });
    for (; it != records_.end() && out.size() < limit; ++it) {
      if (Matches(filter, *it)) out.push_back(*it);
    }
    return out;
  }

  Result<int64_t> DeleteBefore(int64_t time_ms) override {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int64_t>(
        std::erase_if(records_, [&](const auto& r) { return r.time_ms < time_ms; }));
  }

 private:
  std::mutex mu_;
  std::vector<model::AuditRecord> records_;  // guarded by mu_; in seq order
  int64_t last_seq_ = 0;                     // guarded by mu_; the last seq handed out
};

}  // namespace

std::unique_ptr<AuditStore> NewMemoryAuditStore() { return std::make_unique<MemoryAuditStore>(); }

}  // namespace certvault::store
