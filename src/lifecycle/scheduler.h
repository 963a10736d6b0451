#pragma once
// Scheduler: acts on lifetime actions when they fall due.
//
// Each certificate carries next_check, the time its current version next needs a look (set by
// the vault whenever the current version or the policy changes). RunDue takes the certificates
// whose time has come and, for each, in one transaction: records a CertificateNearExpiry event for
// every action due (AutoRenew and EmailContacts alike; the action is in the event's detail),
// queues exactly one renewal job for the version when an AutoRenew action is due (unless the
// version was already due when it was issued: renewing it would loop), records
// CertificateExpired once the version has expired, and moves next_check on. Events and jobs carry
// de-duplication keys (per version and action), so a pass repeated after a crash or a policy
// change records nothing twice. Thread-compatible: one thread runs it.

#include <cstdint>

#include "common/clock.h"
#include "common/result.h"
#include "store/store.h"

namespace certvault::lifecycle {

class Scheduler {
 public:
  Scheduler(store::Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  // Handles up to `limit` due certificates; returns how many renewal jobs it queued.
  Result<int> RunDue(int64_t limit = 256);

 private:
  Result<int> Handle(const model::Certificate& due, int64_t now);

  store::Store& store_;
  const Clock& clock_;
};

}  // namespace certvault::lifecycle
