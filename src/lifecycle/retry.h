#pragma once
// Exponential backoff with jitter for retryable failures.

#include <cstdint>
#include <random>

namespace certvault::lifecycle {

struct RetryPolicy {
  int64_t initial_seconds = 30;
  int64_t max_seconds = 3600;

  // The delay before retry number `failures` (1 for the first retry): initial * 2^(failures-1),
  // capped at max, then drawn uniformly from [half of it, all of it] ("equal jitter") so that
  // many jobs failing together do not retry together.
  int64_t Delay(int failures, std::mt19937_64& rng) const;
};

}  // namespace certvault::lifecycle
