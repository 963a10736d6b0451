#include "auth/audit_writer.h"

#include <algorithm>
#include <cstddef>
#include <exception>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "common/log.h"
#include "common/thread.h"
#include "common/wake_batch.h"

namespace certvault::auth {
namespace {

// The AuditWriter whose thread this is, if any; lets Stop() tell that a callback called it.
thread_local const AuditWriter* current_writer = nullptr;

// Calls `done` with `status`; an exception from it is logged, never propagated, so that it
// neither kills the writer thread nor escapes into a caller of Record.
void Complete(const std::function<void(Status)>& done, const Status& status) {
  if (!done) return;
  try {
    done(status);
  } catch (const std::exception& e) {
    log::Error(std::string("audit writer: a completion callback threw: ") + e.what());
  } catch (...) {
    log::Error("audit writer: a completion callback threw a non-standard exception");
  }
}

// The store's Append, with an exception (a bug, or out of memory) turned into an error so that
// the batch's callers are still answered.
Status AppendBatch(store::AuditStore& store, std::vector<model::AuditRecord>& records) {
  try {
    return store.Append(records);
  } catch (const std::exception& e) {
    return Fail(Error::Internal(std::string("audit writer: append threw: ") + e.what()));
  } catch (...) {
    return Fail(Error::Internal("audit writer: append threw a non-standard exception"));
  }
}

}  // namespace

AuditWriter::AuditWriter(store::AuditStore& store, AuditWriterOptions options)
    : store_(store), options_(options), thread_([this] { Run(); }) {}

AuditWriter::~AuditWriter() { Stop(); }

void AuditWriter::Record(model::AuditRecord record, std::function<void(Status)> done) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!stopping_ && queued_records_.size() < options_.max_queue) {
    queued_records_.push_back(std::move(record));
    try {
      queued_dones_.push_back(std::move(done));
    } catch (...) {
      queued_records_.pop_back();  // keeps the two vectors parallel
      throw;
    }
    const bool wake = idle_;
    idle_ = false;
    lock.unlock();
    // In a burst of completions (WakeBatch), the writer wakes once, after the last record of it.
    if (wake && !WakeBatch::Defer(this, [this] { wake_.notify_one(); })) wake_.notify_one();
    return;
  }
  const char* refusal = stopping_ ? "audit writer: stopped" : "audit writer: queue full";
  lock.unlock();
  Complete(done, Fail(Error::Unavailable(refusal)));
}

bool AuditWriter::healthy() const { return healthy_.load(std::memory_order_acquire); }

void AuditWriter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (current_writer == this) return;  // called from a callback: the thread cannot join itself
  std::lock_guard<std::mutex> lock(join_mu_);
  if (thread_.joinable()) thread_.join();
}

void AuditWriter::Run() {
  NameThisThread("cv-audit-write");
  current_writer = this;
  const size_t max_batch = std::max<size_t>(options_.max_batch, 1);
  std::vector<model::AuditRecord> records;
  std::vector<Done> dones;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (queued_records_.empty() && !stopping_) {
        idle_ = true;
        wake_.wait(lock, [&] { return stopping_ || !queued_records_.empty(); });
        idle_ = false;
      }
      if (queued_records_.empty()) return;  // stopping, and everything queued is done
      if (queued_records_.size() <= max_batch) {
        records.swap(queued_records_);
        dones.swap(queued_dones_);
      } else {
        const auto n = static_cast<std::ptrdiff_t>(max_batch);
        records.assign(std::make_move_iterator(queued_records_.begin()),
                       std::make_move_iterator(queued_records_.begin() + n));
        dones.assign(std::make_move_iterator(queued_dones_.begin()),
                     std::make_move_iterator(queued_dones_.begin() + n));
        queued_records_.erase(queued_records_.begin(), queued_records_.begin() + n);
        queued_dones_.erase(queued_dones_.begin(), queued_dones_.begin() + n);
      }
    }

    const Status status = AppendBatch(store_, records);
    const bool was_healthy = healthy_.exchange(status.has_value(), std::memory_order_acq_rel);
    // Logged on a change only: a failing store would otherwise log once per batch. The message
    // is the store's (it names tables, never values), so no record content reaches the log.
    if (!status && was_healthy) {
      log::Error("audit writer: cannot write the audit trail, refusing requests: " +
                 status.error().message());
    } else if (status && !was_healthy) {
      log::Info("audit writer: the audit trail is writable again");
    }

    for (const auto& done : dones) Complete(done, status);
    records.clear();
    dones.clear();
  }
}

}  // namespace certvault::auth
