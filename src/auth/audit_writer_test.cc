#include "auth/audit_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/wake_batch.h"

namespace certvault::auth {
namespace {

using namespace std::chrono_literals;

model::AuditRecord MakeRecord(int64_t n) {
  model::AuditRecord r;
  r.time_ms = n;
  r.request_id = "req-" + std::to_string(n);
  r.operation = "secrets.get";
  r.outcome = "success";
  r.status = 200;
  return r;
}

// An AuditStore over the memory store that can hold Append at a gate, fail on demand and records
// the size of every batch.
class FakeAuditStore final : public store::AuditStore {
 public:
  Status Append(std::vector<model::AuditRecord>& records) override {
    std::unique_lock<std::mutex> lock(mu_);
    batch_sizes_.push_back(records.size());
    ++appends_started_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return !closed_; });
    if (failure_) return Fail(*failure_);
    return inner_->Append(records);
  }
  Result<std::vector<model::AuditRecord>> Query(const model::AuditFilter& filter) override {
    return inner_->Query(filter);
  }
  Result<int64_t> DeleteBefore(int64_t time_ms) override { return inner_->DeleteBefore(time_ms); }

  // While closed, Append waits (having counted itself as started).
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = false;
    }
    changed_.notify_all();
  }
  void FailWith(std::optional<Error> failure) {
    std::lock_guard<std::mutex> lock(mu_);
    failure_ = std::move(failure);
  }
  // Waits until `n` Appends have started.
  void AwaitAppends(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return appends_started_ >= n; });
  }
  std::vector<size_t> batch_sizes() {
    std::lock_guard<std::mutex> lock(mu_);
    return batch_sizes_;
  }

 private:
  std::unique_ptr<store::AuditStore> inner_ = store::NewMemoryAuditStore();
  std::mutex mu_;
  std::condition_variable changed_;
  bool closed_ = false;              // guarded by mu_
  std::optional<Error> failure_;     // guarded by mu_
  int appends_started_ = 0;          // guarded by mu_
  std::vector<size_t> batch_sizes_;  // guarded by mu_
};

// Collects the outcomes of Record calls; a test waits for all of them.
class Outcomes {
 public:
  std::function<void(Status)> Callback() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++expected_;
    }
    return [this](Status s) {
      std::lock_guard<std::mutex> lock(mu_);
      statuses_.push_back(std::move(s));
      threads_.insert(std::this_thread::get_id());
      done_.notify_all();
    };
  }
  // Waits (at most 10 s) until every callback handed out was called; returns their statuses.
  std::vector<Status> Await() {
    std::unique_lock<std::mutex> lock(mu_);
    EXPECT_TRUE(done_.wait_for(lock, 10s, [&] { return statuses_.size() >= expected_; }));
    return statuses_;
  }
  std::set<std::thread::id> threads() {
    std::lock_guard<std::mutex> lock(mu_);
    return threads_;
  }

 private:
  std::mutex mu_;
  std::condition_variable done_;
  size_t expected_ = 0;
  std::vector<Status> statuses_;
  std::set<std::thread::id> threads_;
};

model::AuditFilter Limit(int64_t limit) {
  model::AuditFilter f;
  f.limit = limit;
  return f;
}

size_t CountOk(const std::vector<Status>& statuses) {
  size_t n = 0;
  for (const Status& s : statuses) n += s.has_value() ? 1 : 0;
  return n;
}

TEST(AuditWriterTest, ConcurrentRecordsAreAllStoredAndCompletedOnce) {
  constexpr int kThreads = 16;
  constexpr int kPerThread = 300;
  auto store = store::NewMemoryAuditStore();
  std::vector<std::atomic<int>> calls(kThreads * kPerThread);
  std::mutex threads_mu;
  std::set<std::thread::id> callback_threads;
  std::atomic<int> completed{0};
  std::atomic<int> failed{0};
  {
    AuditWriter writer(*store, {.max_batch = 64, .max_queue = 100000});
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          const int id = t * kPerThread + i;
          writer.Record(MakeRecord(id), [&, id](Status s) {
            if (!s) failed.fetch_add(1);
            calls[id].fetch_add(1);
            {
              std::lock_guard<std::mutex> lock(threads_mu);
              callback_threads.insert(std::this_thread::get_id());
            }
            completed.fetch_add(1);
          });
        }
      });
    }
    for (std::thread& t : threads) t.join();
    writer.Stop();
    EXPECT_TRUE(writer.healthy());
  }
  EXPECT_EQ(completed.load(), kThreads * kPerThread);
  EXPECT_EQ(failed.load(), 0);
  for (size_t id = 0; id < calls.size(); ++id) ASSERT_EQ(calls[id].load(), 1) << id;
  EXPECT_EQ(callback_threads.size(), 1u);  // the writer thread
  EXPECT_EQ(callback_threads.count(std::this_thread::get_id()), 0u);

  std::set<int64_t> seqs;
  std::set<int64_t> times;
  model::AuditFilter f;
  f.limit = store::kMaxAuditQueryLimit;
  for (auto page = *store->Query(f); !page.empty(); page = *store->Query(f)) {
    for (const model::AuditRecord& r : page) {
      seqs.insert(r.seq);
      times.insert(r.time_ms);
    }
    f.after_seq = page.back().seq;
  }
  EXPECT_EQ(seqs.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(times.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST(AuditWriterTest, RecordsQueuedDuringAnAppendShareTheNextBatch) {
  FakeAuditStore store;
  Outcomes outcomes;
  AuditWriter writer(store);
  store.Close();
  writer.Record(MakeRecord(0), outcomes.Callback());
  store.AwaitAppends(1);  // the first batch, of one, is in Append
  for (int i = 1; i <= 49; ++i) writer.Record(MakeRecord(i), outcomes.Callback());
  store.Open();
  EXPECT_EQ(CountOk(outcomes.Await()), 50u);
  EXPECT_EQ(store.batch_sizes(), (std::vector<size_t>{1, 49}));
}

TEST(AuditWriterTest, AnIdleWriterIsWokenByTheNextRecord) {
  FakeAuditStore store;
  AuditWriter writer(store);
  for (int i = 0; i < 3; ++i) {
    Outcomes outcomes;
    writer.Record(MakeRecord(i), outcomes.Callback());
    EXPECT_EQ(CountOk(outcomes.Await()), 1u);
    std::this_thread::sleep_for(20ms);  // the writer goes back to waiting for a record
  }
  EXPECT_EQ(store.batch_sizes(), (std::vector<size_t>{1, 1, 1}));
}

TEST(AuditWriterTest, RecordsMadeInAWakeBatchWakeTheWriterOnceForOneAppend) {
  FakeAuditStore store;
  Outcomes outcomes;
  AuditWriter writer(store);
  std::this_thread::sleep_for(20ms);  // the writer is waiting for a record
  {
    WakeBatch batch;
    for (int i = 0; i < 10; ++i) writer.Record(MakeRecord(i), outcomes.Callback());
    std::this_thread::sleep_for(20ms);  // not woken by the first record: nothing is appended
    EXPECT_TRUE(store.batch_sizes().empty());
  }
  EXPECT_EQ(CountOk(outcomes.Await()), 10u);
  EXPECT_EQ(store.batch_sizes(), (std::vector<size_t>{10}));
}

TEST(AuditWriterTest, BatchesAreCappedAtMaxBatch) {
  FakeAuditStore store;
  Outcomes outcomes;
  AuditWriter writer(store, {.max_batch = 4});
  store.Close();
  writer.Record(MakeRecord(0), outcomes.Callback());
  store.AwaitAppends(1);
  for (int i = 1; i <= 10; ++i) writer.Record(MakeRecord(i), outcomes.Callback());
  store.Open();
  EXPECT_EQ(CountOk(outcomes.Await()), 11u);
  EXPECT_EQ(store.batch_sizes(), (std::vector<size_t>{1, 4, 4, 2}));
}

TEST(AuditWriterTest, AFailingStoreFailsTheBatchAndFlipsHealthUntilItRecovers) {
  FakeAuditStore store;
  AuditWriter writer(store);
  EXPECT_TRUE(writer.healthy());

  store.FailWith(Error::Unavailable("disk full"));
  Outcomes failing;
  // Held at the gate so that both records land in the failing batch.
  store.Close();
  writer.Record(MakeRecord(1), failing.Callback());
  store.AwaitAppends(1);
  writer.Record(MakeRecord(2), failing.Callback());
  writer.Record(MakeRecord(3), failing.Callback());
  store.Open();
  std::vector<Status> statuses = failing.Await();
  ASSERT_EQ(statuses.size(), 3u);
  for (const Status& s : statuses) {
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().kind(), ErrorKind::kUnavailable);
    EXPECT_EQ(s.error().message(), "disk full");
  }
  EXPECT_FALSE(writer.healthy());  // already false when the callbacks ran

  store.FailWith(std::nullopt);
  std::promise<bool> healthy_in_callback;
  writer.Record(MakeRecord(4), [&](Status s) {
    EXPECT_TRUE(s);
    healthy_in_callback.set_value(writer.healthy());
  });
  EXPECT_TRUE(healthy_in_callback.get_future().get());
  EXPECT_TRUE(writer.healthy());
  EXPECT_EQ(store.Query({})->size(), 1u);  // only the record of the good batch
}

TEST(AuditWriterTest, AFullQueueRefusesAtOnceOnTheCallersThread) {
  FakeAuditStore store;
  Outcomes outcomes;
  AuditWriter writer(store, {.max_batch = 1000, .max_queue = 2});
  store.Close();
  writer.Record(MakeRecord(0), outcomes.Callback());  // taken by the writer thread: not queued
  store.AwaitAppends(1);
  writer.Record(MakeRecord(1), outcomes.Callback());
  writer.Record(MakeRecord(2), outcomes.Callback());

  std::optional<Status> refused;
  std::thread::id refused_on;
  writer.Record(MakeRecord(3), [&](Status s) {
    refused = std::move(s);
    refused_on = std::this_thread::get_id();
  });
  ASSERT_TRUE(refused.has_value());  // called before Record returned
  ASSERT_FALSE(*refused);
  EXPECT_EQ(refused->error().kind(), ErrorKind::kUnavailable);
  EXPECT_EQ(refused_on, std::this_thread::get_id());

  store.Open();
  EXPECT_EQ(CountOk(outcomes.Await()), 3u);
  EXPECT_TRUE(writer.healthy());  // a refusal is not a store failure
}

TEST(AuditWriterTest, StopDrainsTheQueueThenRefuses) {
  FakeAuditStore store;
  Outcomes outcomes;
  auto writer = std::make_unique<AuditWriter>(store, AuditWriterOptions{.max_batch = 3});
  store.Close();
  writer->Record(MakeRecord(0), outcomes.Callback());
  store.AwaitAppends(1);
  for (int i = 1; i <= 10; ++i) writer->Record(MakeRecord(i), outcomes.Callback());

  std::thread stopper([&] { writer->Stop(); });
  std::this_thread::sleep_for(20ms);  // let Stop begin waiting for the drain
  store.Open();
  stopper.join();
  // Stop returned only after every queued record was written and completed.
  std::vector<Status> statuses = outcomes.Await();
  EXPECT_EQ(statuses.size(), 11u);
  EXPECT_EQ(CountOk(statuses), 11u);
  EXPECT_EQ(store.Query(Limit(100))->size(), 11u);

  std::optional<Status> after;
  writer->Record(MakeRecord(11), [&](Status s) { after = std::move(s); });
  ASSERT_TRUE(after.has_value());
  ASSERT_FALSE(*after);
  EXPECT_EQ(after->error().kind(), ErrorKind::kUnavailable);

  writer->Stop();  // idempotent
  writer.reset();  // and so is the destructor's
}

TEST(AuditWriterTest, DestructorDrainsToo) {
  auto store = store::NewMemoryAuditStore();
  std::atomic<int> ok{0};
  {
    AuditWriter writer(*store);
    for (int i = 0; i < 100; ++i) {
      writer.Record(MakeRecord(i), [&](Status s) { ok.fetch_add(s ? 1 : 0); });
    }
  }
  EXPECT_EQ(ok.load(), 100);
  EXPECT_EQ(store->Query(Limit(1000))->size(), 100u);
}

TEST(AuditWriterTest, AThrowingCallbackDoesNotStopTheWriter) {
  auto store = store::NewMemoryAuditStore();
  AuditWriter writer(*store);
  std::promise<void> thrown;
  writer.Record(MakeRecord(1), [&](Status) {
    thrown.set_value();
    throw std::runtime_error("callback failure");
  });
  writer.Record(MakeRecord(2), [](Status) { throw 42; });
  thrown.get_future().get();
  std::promise<Status> next;
  writer.Record(MakeRecord(3), [&](Status s) { next.set_value(std::move(s)); });
  EXPECT_TRUE(next.get_future().get());
  EXPECT_TRUE(writer.healthy());
}

TEST(AuditWriterTest, StopFromACallbackDoesNotDeadlock) {
  auto store = store::NewMemoryAuditStore();
  AuditWriter writer(*store);
  std::promise<void> stopped;
  writer.Record(MakeRecord(1), [&](Status) {
    writer.Stop();
    stopped.set_value();
  });
  stopped.get_future().get();
  std::optional<Status> after;
  writer.Record(MakeRecord(2), [&](Status s) { after = std::move(s); });
  ASSERT_TRUE(after.has_value());
  EXPECT_FALSE(*after);
  writer.Stop();  // joins from this thread
}

TEST(AuditWriterTest, ANullCallbackIsAllowed) {
  auto store = store::NewMemoryAuditStore();
  {
    AuditWriter writer(*store);
    writer.Record(MakeRecord(1), nullptr);
  }
  EXPECT_EQ(store->Query({})->size(), 1u);
}

}  // namespace
}  // namespace certvault::auth
