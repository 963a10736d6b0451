#include "common/wake_batch.h"

#include <utility>
#include <vector>

namespace certvault {
namespace {

struct Pending {
  const void* key;
  std::function<void()> wake;
};

thread_local bool batch_open = false;
thread_local std::vector<Pending> pending;

}  // namespace

WakeBatch::WakeBatch() : outermost_(!batch_open) { batch_open = true; }

WakeBatch::~WakeBatch() {
  if (!outermost_) return;
  batch_open = false;
  // Taken first: a wake-up that completes more work on this thread finds no batch open.
  std::vector<Pending> wakes = std::move(pending);
  pending.clear();
  for (auto& p : wakes) p.wake();
}

bool WakeBatch::Defer(const void* key, std::function<void()> wake) {
  if (!batch_open) return false;
  for (const auto& p : pending) {
    if (p.key == key) return true;
  }
  pending.push_back({key, std::move(wake)});
  return true;
}

}  // namespace certvault
