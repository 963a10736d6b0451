#pragma once
// Recording a job's attempts, the same way wherever a job is settled.

#include <cstdint>
#include <string>

#include "model/types.h"

namespace certvault::model {

// At most this many attempts are kept per job (the oldest are dropped).
inline constexpr size_t kMaxJobAttempts = 20;

// Opens a new attempt (outcome "running").
void StartAttempt(Job& job, int64_t now);
// Closes the open attempt with `outcome` (opening one first if none is open) and releases the
// job's lease.
void EndAttempt(Job& job, int64_t now, std::string outcome, std::string error);

}  // namespace certvault::model
