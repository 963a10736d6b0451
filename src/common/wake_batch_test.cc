#include "common/wake_batch.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace certvault {
namespace {

TEST(WakeBatchTest, WithoutABatchNothingIsDeferred) {
  bool woke = false;
  EXPECT_FALSE(WakeBatch::Defer(&woke, [&] { woke = true; }));
  EXPECT_FALSE(woke);
}

TEST(WakeBatchTest, WakeUpsRunOncePerKeyWhenTheBatchClosesInTheOrderFirstDeferred) {
  int a = 0, b = 0;
  std::string order;
  {
    WakeBatch batch;
    EXPECT_TRUE(WakeBatch::Defer(&a, [&] { ++a, order += "a"; }));
    EXPECT_TRUE(WakeBatch::Defer(&b, [&] { ++b, order += "b"; }));
    EXPECT_TRUE(WakeBatch::Defer(&a, [&] { a += 100; }));  // a's first wake-up is kept
    EXPECT_EQ(order, "");
  }
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 1);
  EXPECT_EQ(order, "ab");
  EXPECT_FALSE(WakeBatch::Defer(&a, [] {}));  // closed
}

TEST(WakeBatchTest, AnInnerBatchDefersToTheOuterOne) {
  int woke = 0;
  {
    WakeBatch outer;
    {
      WakeBatch inner;
      WakeBatch::Defer(&woke, [&] { ++woke; });
    }
    EXPECT_EQ(woke, 0);
  }
  EXPECT_EQ(woke, 1);
}

TEST(WakeBatchTest, ABatchBelongsToItsThread) {
  WakeBatch batch;
  bool deferred_elsewhere = true;
  std::thread([&] { deferred_elsewhere = WakeBatch::Defer(&batch, [] {}); }).join();
  EXPECT_FALSE(deferred_elsewhere);
}

TEST(WakeBatchTest, AWakeUpThatDefersAnotherRunsItAtOnce) {
  // A wake-up runs after the batch closed: what it defers in turn is not deferred.
  bool inner_ran = false;
  {
    WakeBatch batch;
    WakeBatch::Defer(&inner_ran, [&] {
      if (!WakeBatch::Defer(&batch, [] {})) inner_ran = true;
    });
  }
  EXPECT_TRUE(inner_ran);
}

}  // namespace
}  // namespace certvault
