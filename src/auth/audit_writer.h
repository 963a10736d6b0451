#pragma once
// AuditWriter: group commit for the audit trail.
//
// Every answered request hands its record to Record() and sends its response only once `done`
// reports the record durable. One background thread takes whatever is queued (up to max_batch
// records) and writes it with a single AuditStore::Append, so concurrent requests share one commit
// and one fsync; then it calls each record's `done`. Completion is a callback rather than a wait
// so that the I/O threads answering requests never block on the disk. Records made inside a
// WakeBatch (the store's writer thread answering a batch of creates) wake the writer once, when
// the batch closes, so that they make one append instead of a first record alone and the rest.
//
// Thread safety: Record, healthy and Stop may be called from any thread. `done` callbacks run on
// the writer thread, one after another (a refused record's runs at once on the caller's): they
// must be short and must not wait for another record's completion, which would deadlock the
// writer. An exception thrown by a callback is logged and otherwise ignored.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/result.h"
#include "model/audit.h"
#include "store/audit_store.h"

namespace certvault::auth {

struct AuditWriterOptions {
  size_t max_batch = 1000;    // records per Append at most (0 counts as 1)
  size_t max_queue = 100000;  // records waiting for a batch at most; more are refused
};

class AuditWriter {
 public:
  // Starts the writer thread. `store` must outlive the AuditWriter.
  explicit AuditWriter(store::AuditStore& store, AuditWriterOptions options = {});
  ~AuditWriter();  // Stop()s
  AuditWriter(const AuditWriter&) = delete;
  AuditWriter& operator=(const AuditWriter&) = delete;

  // Queues `record` (its seq is assigned by the store). `done` is called exactly once: on the
  // writer thread with Ok after the batch holding the record was appended, or with the batch's
  // error; or at once, on the calling thread, with an Unavailable error when the queue is full or
  // the writer is stopped. A null `done` is allowed and never called.
  void Record(model::AuditRecord record, std::function<void(Status)> done);

  // False after a batch failed, true again once one succeeds (true at start). Callers use it to
  // refuse requests up front while the audit store is failing; the records of those refusals
  // still go through Record, and are what finds out that the store works again.
  bool healthy() const;

  // Refuses new records, writes (and completes) everything already queued, then joins the writer
  // thread. Idempotent. When called from a `done` callback, it only stops the intake; the thread
  // finishes the queue and the destructor (or another Stop) joins it.
  void Stop();

 private:
  using Done = std::function<void(Status)>;

  void Run();

  store::AuditStore& store_;
  const AuditWriterOptions options_;

  std::mutex mu_;
  // Signalled when stopping_ is set, or a record is queued while the writer is idle (waiting for
  // one): records queued while it writes a batch need not wake it.
  std::condition_variable wake_;
  // The queue, as two parallel vectors that the writer swaps with its own (emptied) ones, so that
  // their capacity is reused and taking a batch costs no allocation.
  std::vector<model::AuditRecord> queued_records_;  // guarded by mu_
  std::vector<Done> queued_dones_;                  // guarded by mu_, parallel to queued_records_
  bool idle_ = false;                               // guarded by mu_
  bool stopping_ = false;                           // guarded by mu_

  std::atomic<bool> healthy_{true};  // written by the writer thread only

  std::mutex join_mu_;  // serialises joining thread_
  std::thread thread_;  // started last, in the constructor
};

}  // namespace certvault::auth
