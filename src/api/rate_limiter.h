#pragma once
// RateLimiter: token buckets keyed by caller, as Key Vault throttles per principal and vault.
// Each key may make `burst` requests at once and `per_second` on average; over that, Acquire
// says how long to wait (the 429's Retry-After). Thread-safe; the hot path takes one of 16
// shard mutexes.

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace certvault::api {

class RateLimiter {
 public:
  // per_second <= 0 turns throttling off.
  RateLimiter(double per_second, double burst);

  // 0 if a request for `key` may proceed now (and counts it); otherwise the whole seconds to wait
  // before one will be allowed (at least 1).
  int64_t Acquire(std::string_view key);
  int64_t Acquire(std::string_view key, std::chrono::steady_clock::time_point now);

  bool enabled() const { return per_second_ > 0; }

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point updated;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Bucket> buckets;  // guarded by mu
  };
  static constexpr size_t kMaxKeysPerShard = 4096;

  void Refill(Bucket& bucket, std::chrono::steady_clock::time_point now) const;

  const double per_second_;
  const double burst_;
  std::array<Shard, 16> shards_;
};

}  // namespace certvault::api
