#pragma once
// WakeBatch: one wake-up for a burst of hand-offs.
//
// A thread that completes many requests in a row (the store's writer thread, after a commit)
// opens a WakeBatch around them. A component that would wake its own thread for each hand-off
// (the audit writer, for each record) asks Defer instead: while a batch is open on the calling
// thread, its wake-up runs once, when the batch closes, so the woken thread finds the whole burst
// queued instead of waking for the first item of it. Without an open batch Defer returns false and
// the caller wakes its thread at once, as before.
//
// Thread safety: a WakeBatch belongs to the thread that opened it; batches do not nest (an inner
// one is a no-op). Deferred wake-ups run on that thread, in the order they were first deferred,
// and must not throw.

#include <functional>

namespace certvault {

class WakeBatch {
 public:
  WakeBatch();
  ~WakeBatch();  // runs the deferred wake-ups
  WakeBatch(const WakeBatch&) = delete;
  WakeBatch& operator=(const WakeBatch&) = delete;

  // With a batch open on this thread: keeps `wake` to run when it closes, once per `key` (the
  // first `wake` given for a key is kept), and returns true. Otherwise returns false.
  static bool Defer(const void* key, std::function<void()> wake);

 private:
  bool outermost_;
};

}  // namespace certvault
