#pragma once
// When a certificate version's lifetime actions fall due (Key Vault's semantics): a
// lifetime_percentage trigger at nbf + lifetime * percentage / 100, a days_before_expiry trigger
// at exp - days. Pure functions; the lifecycle scheduler acts on them.

#include <cstdint>
#include <vector>

#include "model/types.h"

namespace certvault::model {

struct DueAction {
  LifetimeAction action;
  int64_t due = 0;  // Unix seconds
};

// Every action of `policy` with its due time for a version valid from `nbf` to `exp`, earliest
// first.
std::vector<DueAction> DueActions(const CertificatePolicy& policy, int64_t nbf, int64_t exp);

// The earliest time after `now` at which the scheduler must look at the version again: the next
// action due, or the expiry (for the Expired event); 0 if nothing is left. With `now` < 0 the
// earliest of all (past ones included), which is what a new or re-scheduled version starts from.
int64_t NextLifetimeCheck(const CertificatePolicy& policy, int64_t nbf, int64_t exp, int64_t now);

}  // namespace certvault::model
