#include "api/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace certvault::api {

RateLimiter::RateLimiter(double per_second, double burst)
    : per_second_(per_second), burst_(std::max(1.0, burst)) {}

void RateLimiter::Refill(Bucket& bucket, std::chrono::steady_clock::time_point now) const {
  const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
  if (elapsed > 0) {
    bucket.tokens = std::min(burst_, bucket.tokens + elapsed * per_second_);
    bucket.updated = now;
  }
}

int64_t RateLimiter::Acquire(std::string_view key) {
  return Acquire(key, std::chrono::steady_clock::now());
}

int64_t RateLimiter::Acquire(std::string_view key, std::chrono::steady_clock::time_point now) {
  if (!enabled()) return 0;
  Shard& shard = shards_[std::hash<std::string_view>{}(key) % shards_.size()];
  std::lock_guard lock(shard.mu);
  auto it = shard.buckets.find(std::string(key));
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= kMaxKeysPerShard) {
      // Forget callers whose buckets have refilled: they would start full anyway.
      for (auto it = shard.buckets.begin(); it != shard.buckets.end();) {
        Refill(it->second, now);
        it = it->second.tokens >= burst_ ? shard.buckets.erase(it) : std::next(it);
      }
    }
    it = shard.buckets.emplace(std::string(key), Bucket{burst_, now}).first;
  }
  Bucket& bucket = it->second;
  Refill(bucket, now);
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return 0;
  }
  const double wait = (1.0 - bucket.tokens) / per_second_;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait)));
}

}  // namespace certvault::api
