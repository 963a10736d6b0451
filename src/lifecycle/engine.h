#pragma once
// Engine: runs the lifecycle in the server. A scheduler thread acts on lifetime actions as they
// fall due (see scheduler.h); worker threads lease queued jobs from the store and take each one a
// step: create the pending operation (vault), send its CSR to the certificate's issuer, and merge
// what comes back, or record the failure.
//
// Durability: every step is a store transaction that also updates the job, so a crash at any
// moment leaves a job that a later lease resumes. A lease runs out after `lease_seconds`, so a
// job held by a thread of a dead process is taken again. Retryable failures are retried with
// exponential backoff and jitter until the renewed version expires; terminal ones fail the
// operation with the reason and record a CertificateRenewalFailed event.
//
// Jobs of `worker` issuers wait (status "waiting") for a remote `certvault worker` to lease them
// through the API (LeaseForWorker / AwaitWorkerJob) and post the chain back.
//
// Thread-safe.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "issuer/issuer.h"
#include "lifecycle/retry.h"
#include "lifecycle/scheduler.h"
#include "store/store.h"
#include "vault/vault_service.h"

namespace certvault::lifecycle {

struct EngineOptions {
  int threads = 4;              // jobs in progress at once (issuers may block on the network)
  int64_t lease_seconds = 120;  // a job's lease; an attempt must finish within it
  RetryPolicy retry;
  int64_t tick_ms = 1000;         // how often due certificates and runnable jobs are looked for
  std::string owner = "engine";   // lease owner prefix of this process
  int max_waiting_workers = 256;  // long polls held at once
};

// A job handed to a remote worker.
struct WorkerJob {
  model::Job job;
  std::string csr_der;
  std::string template_name;  // policy.issuer.cty
  int64_t not_before = 0;
  int64_t not_after = 0;
};

class Engine {
 public:
  Engine(vault::VaultService& vault, store::Store& store, const issuer::Registry& issuers,
         const Clock& clock, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void Start();
  void Stop();  // waits for attempts in progress; answers held long polls with "no job"
  // Something changed (a job queued, the clock moved): look again now.
  void Wake();

  // For tests and benchmarks, on the calling thread: runs the scheduler and every runnable job
  // until nothing is left to do now (at most `max_steps` job steps).
  Status RunUntilIdle(int max_steps = 100000);

  // Revokes a version through the issuer the certificate's policy names, if that issuer can
  // revoke (the built-in CA); BadParameter otherwise.
  Status Revoke(std::string_view vault, std::string_view name, std::string_view version,
                std::string_view reason);

  // --- Remote workers ---
  // Leases the oldest waiting job of `issuer` in `vault` to `worker`, or returns nullopt.
  Result<std::optional<WorkerJob>> LeaseForWorker(std::string_view vault, std::string_view issuer,
                                                  std::string_view worker);
  // As LeaseForWorker, waiting up to `wait_ms` for a job; `done` is called once, on another
  // thread. Fails at once (TooManyRequests) if too many polls are held.
  using LeaseCallback = std::function<void(Result<std::optional<WorkerJob>>)>;
  Status AwaitWorkerJob(std::string vault, std::string issuer, std::string worker, int64_t wait_ms,
                        LeaseCallback done);
  // The worker's result for a job it leased: the chain (DER, any order), or a failure.
  Result<model::Job> CompleteFromWorker(std::string_view vault, std::string_view job_id,
                                        std::string_view worker,
                                        const std::vector<std::string>& chain);
  Result<model::Job> FailFromWorker(std::string_view vault, std::string_view job_id,
                                    std::string_view worker, std::string_view message,
                                    bool retryable);

 private:
  struct Waiter {
    std::string vault, issuer, worker;
    std::chrono::steady_clock::time_point deadline;
    LeaseCallback done;
  };

  void SchedulerLoop();
  void RunnerLoop(int index);
  void WaiterLoop();
  // Leases the next runnable job to `owner`; nullopt when none is runnable.
  Result<std::optional<model::Job>> Claim(const std::string& owner);
  // Takes the leased job one step; never fails (failures are recorded on the job).
  void RunJob(model::Job job);
  Result<issuer::Enrollment> Enroll(model::Job& job, const model::PendingOperation& op);
  // Records a failed attempt (retry later, or fail for good) if `lease` still holds the job.
  void HandleFailure(model::Job job, std::string_view lease, const Error& error);
  Status SaveState(model::Job& job, const std::string& state);
  int64_t RetryDelay(const model::Job& job);
  Result<model::Job> WorkerJobFor(std::string_view vault, std::string_view job_id,
                                  std::string_view worker);

  vault::VaultService& vault_;
  store::Store& store_;
  const issuer::Registry& issuers_;
  const Clock& clock_;
  const EngineOptions options_;
  Scheduler scheduler_;

  std::mutex mu_;
  std::condition_variable wake_;  // runners and the scheduler wait here
  std::condition_variable waiters_cv_;
  bool stopping_ = false;      // under mu_
  uint64_t wakeups_ = 0;       // under mu_
  std::list<Waiter> waiters_;  // under mu_
  std::mt19937_64 rng_;        // under mu_
  std::vector<std::thread> threads_;
};

}  // namespace certvault::lifecycle
