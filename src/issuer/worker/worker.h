#pragma once
// The `worker` provider, the hybrid-worker pattern: enrollment is done by a remote
// `certvault worker` process, running next to a CA the server cannot reach, that pulls jobs over
// HTTPS (outbound connections only) and completes them through the API. The provider only
// checks the settings and marks each job as waiting for a worker.
//
// Settings (model::Issuer::settings):
//   {"lease": "PT5M"}   optional ISO 8601 duration, PT10S..P1D, default PT5M: how long a worker
//                       holds a job it took before the job is offered to another worker
//
// Thread-safe.

#include <cstdint>
#include <memory>

#include "common/result.h"
#include "issuer/issuer.h"
#include "model/types.h"

namespace certvault::issuer::worker {

inline constexpr int64_t kDefaultLeaseSeconds = 300;

// The lease duration of `issuer` (a worker issuer), in seconds. Fails with BadParameter naming
// the field if its settings are invalid.
Result<int64_t> LeaseSeconds(const model::Issuer& issuer);

std::unique_ptr<Provider> NewWorkerProvider();

}  // namespace certvault::issuer::worker
