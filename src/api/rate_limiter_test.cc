#include "api/rate_limiter.h"

#include <gtest/gtest.h>

namespace certvault::api {
namespace {

using std::chrono::milliseconds;

TEST(RateLimiterTest, BurstThenRate) {
  RateLimiter limiter(2, 3);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(limiter.Acquire("a", t0), 0);
  EXPECT_EQ(limiter.Acquire("a", t0), 0);
  EXPECT_EQ(limiter.Acquire("a", t0), 0);
  EXPECT_EQ(limiter.Acquire("a", t0), 1);  // empty: one token takes half a second, rounded up
  EXPECT_EQ(limiter.Acquire("b", t0), 0);  // other keys have their own bucket
  EXPECT_EQ(limiter.Acquire("a", t0 + milliseconds(499)), 1);
  EXPECT_EQ(limiter.Acquire("a", t0 + milliseconds(500)), 0);
  EXPECT_EQ(limiter.Acquire("a", t0 + milliseconds(500)), 1);
  // A long pause refills only up to the burst.
  const auto later = t0 + std::chrono::seconds(100);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Acquire("a", later), 0);
  EXPECT_EQ(limiter.Acquire("a", later), 1);
}

TEST(RateLimiterTest, SlowRatesAskForLongerWaits) {
  RateLimiter limiter(0.1, 1);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(limiter.Acquire("a", t0), 0);
  EXPECT_EQ(limiter.Acquire("a", t0), 10);
}

TEST(RateLimiterTest, OffWhenRateIsZero) {
  RateLimiter limiter(0, 0);
  EXPECT_FALSE(limiter.enabled());
  for (int i = 0; i < 10000; ++i) ASSERT_EQ(limiter.Acquire("a"), 0);
}

TEST(RateLimiterTest, ManyKeysStayBounded) {
  RateLimiter limiter(1000, 1);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 100000; ++i) {
    ASSERT_EQ(limiter.Acquire("k" + std::to_string(i), t0 + milliseconds(i)), 0);
  }
}

}  // namespace
}  // namespace certvault::api
