#include "lifecycle/retry.h"

#include <algorithm>

namespace certvault::lifecycle {

int64_t RetryPolicy::Delay(int failures, std::mt19937_64& rng) const {
  int64_t delay = std::max<int64_t>(1, initial_seconds);
  for (int i = 1; i < failures && delay < max_seconds; ++i) delay *= 2;
  delay = std::min(delay, std::max<int64_t>(1, max_seconds));
  std::uniform_int_distribution<int64_t> jitter(delay - delay / 2, delay);
  return std::max<int64_t>(1, jitter(rng));
}

}  // namespace certvault::lifecycle
