#pragma once
// Clock: the one source of time. Inject it wherever expiry, validity or renewal is computed, so
// that tests move time instead of waiting. Implementations are thread-safe.

#include <atomic>
#include <cstdint>

namespace certvault {

class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds since the Unix epoch.
  virtual int64_t NowUnix() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowUnix() const override;
};

// A clock that stands still until a test moves it.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now) : now_(now) {}
  int64_t NowUnix() const override { return now_.load(); }
  void Set(int64_t now) { now_.store(now); }
  void Advance(int64_t seconds) { now_.fetch_add(seconds); }

 private:
  std::atomic<int64_t> now_;
};

// The system clock moved by an offset that can be changed at run time: the server's clock when it
// runs with --test-clock, so that end-to-end tests move time instead of waiting.
class OffsetClock final : public Clock {
 public:
  int64_t NowUnix() const override { return system_.NowUnix() + offset_.load(); }
  void Advance(int64_t seconds) { offset_.fetch_add(seconds); }
  int64_t offset() const { return offset_.load(); }

 private:
  SystemClock system_;
  std::atomic<int64_t> offset_{0};
};

}  // namespace certvault
