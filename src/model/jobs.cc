#include "model/jobs.h"

namespace certvault::model {

void StartAttempt(Job& job, int64_t now) {
  job.attempts.push_back({now, 0, "running", ""});
  if (job.attempts.size() > kMaxJobAttempts) {
    job.attempts.erase(job.attempts.begin(),
                       job.attempts.end() - static_cast<std::ptrdiff_t>(kMaxJobAttempts));
  }
}

void EndAttempt(Job& job, int64_t now, std::string outcome, std::string error) {
  if (job.attempts.empty() || job.attempts.back().finished != 0) {
    StartAttempt(job, now);
  }
  job.attempts.back().finished = now;
  job.attempts.back().outcome = std::move(outcome);
  job.attempts.back().error = std::move(error);
  job.lease_owner.clear();
  job.lease_expires = 0;
}

}  // namespace certvault::model
