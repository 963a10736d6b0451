#include "lifecycle/engine.h"

#include <algorithm>
#include <chrono>

#include "common/log.h"
#include "common/text.h"
#include "common/thread.h"
#include "common/time_text.h"
#include "crypto/encoding.h"
#include "issuer/worker/worker.h"
#include "model/codec.h"
#include "model/jobs.h"

namespace certvault::lifecycle {

using model::EndAttempt;
using model::StartAttempt;

namespace {

constexpr int kMaxStepsPerJob = 8;  // steps one lease may take before the job is re-queued

bool Finished(const model::Job& job) {
  return job.status == "succeeded" || job.status == "failed" || job.status == "cancelled";
}

int ConsecutiveFailures(const model::Job& job) {
  int n = 0;
  for (auto it = job.attempts.rbegin(); it != job.attempts.rend(); ++it) {
    if (it->outcome != "retry" && it->outcome != "running") break;
    if (it->outcome == "retry") ++n;
  }
  return n;
}

}  // namespace

Engine::Engine(vault::VaultService& vault, store::Store& store, const issuer::Registry& issuers,
               const Clock& clock, EngineOptions options)
    : vault_(vault),
      store_(store),
      issuers_(issuers),
      clock_(clock),
      options_(std::move(options)),
      scheduler_(store, clock),
      rng_(std::random_device{}()) {}

Engine::~Engine() { Stop(); }

void Engine::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!threads_.empty()) return;
  stopping_ = false;
  threads_.emplace_back([this] { SchedulerLoop(); });
  threads_.emplace_back([this] { WaiterLoop(); });
  for (int i = 0; i < std::max(1, options_.threads); ++i) {
    threads_.emplace_back([this, i] { RunnerLoop(i); });
  }
}

void Engine::Stop() {
  std::list<Waiter> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    dropped.swap(waiters_);
  }
  wake_.notify_all();
  waiters_cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  for (auto& w : dropped) w.done(std::optional<WorkerJob>());
}

void Engine::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++wakeups_;
  }
  wake_.notify_all();
  waiters_cv_.notify_all();
}

void Engine::SchedulerLoop() {
  NameThisThread("cv-scheduler");
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    auto queued = scheduler_.RunDue();
    if (!queued) {
      log::Warn("lifecycle: scheduling due certificates failed: " + queued.error().message());
    }
    lock.lock();
    if (queued && *queued > 0) {
      ++wakeups_;
      wake_.notify_all();
    }
    const uint64_t seen = wakeups_;
    wake_.wait_for(lock, std::chrono::milliseconds(options_.tick_ms),
                   [&] { return stopping_ || wakeups_ != seen; });
  }
}

void Engine::RunnerLoop(int index) {
  NameThisThread("cv-job-" + std::to_string(index));
  const std::string owner = options_.owner + "/" + std::to_string(index);
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const uint64_t seen = wakeups_;
    lock.unlock();
    auto job = Claim(owner);
    if (!job) log::Warn("lifecycle: leasing a job failed: " + job.error().message());
    const bool ran = job && *job;
    if (ran) RunJob(std::move(**job));
    lock.lock();
    if (!ran) {
      wake_.wait_for(lock, std::chrono::milliseconds(options_.tick_ms),
                     [&] { return stopping_ || wakeups_ != seen; });
    }
  }
}

Status Engine::RunUntilIdle(int max_steps) {
  for (int step = 0; step < max_steps; ++step) {
    CV_RETURN_IF_ERROR(scheduler_.RunDue());
    CV_ASSIGN_OR_RETURN(auto job, Claim(options_.owner + "/inline"));
    if (!job) return Ok();
    RunJob(std::move(*job));
  }
  return Ok();
}

Result<std::optional<model::Job>> Engine::Claim(const std::string& owner) {
  const int64_t now = clock_.NowUnix();
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_ASSIGN_OR_RETURN(auto runnable, txn->ListRunnableJobs(now, 1));
  if (runnable.empty()) return std::optional<model::Job>();
  model::Job job = std::move(runnable.front());
  if (job.status == "running" && !job.attempts.empty() && job.attempts.back().finished == 0) {
    // Its last holder died mid-attempt.
    EndAttempt(job, now, "retry", "the attempt was interrupted (lease expired)");
  }
  job.status = "running";
  // Unique per claim: an attempt that outlives its lease is refused once another takes over.
  job.lease_owner = owner + "/" + crypto::NewId().substr(0, 12);
  job.lease_expires = now + options_.lease_seconds;
  job.updated = now;
  StartAttempt(job, now);
  CV_RETURN_IF_ERROR(txn->PutJob(job));
  CV_RETURN_IF_ERROR(txn->Commit());
  return std::optional<model::Job>(std::move(job));
}

void Engine::RunJob(model::Job job) {
  const std::string lease = job.lease_owner;
  // 1. The pending operation: created now, or the one an earlier attempt created.
  auto op = vault_.StartJobOperation(job, lease);
  if (!op) {
    const Error& e = op.error();
    if (e.kind() == ErrorKind::kNotFound) {
      job.status = "cancelled";
      EndAttempt(job, clock_.NowUnix(), "cancelled", e.message());
      job.last_error = e.message();
      (void)vault_.RecordJobProgress(job, lease, "");
      return;
    }
    // Another operation in flight (a manual create or merge): wait for it to settle. (Or this
    // attempt lost its lease: then the write below is refused too, and the new holder goes on.)
    if (e.kind() == ErrorKind::kConflict) {
      return HandleFailure(std::move(job), lease, Error::Unavailable(e.message()));
    }
    return HandleFailure(std::move(job), lease, e);
  }
  if (op->status == "completed") return;  // Self: issued, and the job recorded as succeeded
  job.request_id = op->request_id;

  // 2. The issuer.
  auto enrollment = Enroll(job, *op);
  if (!enrollment) return HandleFailure(std::move(job), lease, enrollment.error());
  const int64_t now = clock_.NowUnix();
  if (!enrollment->chain.empty()) {
    model::Job done = job;
    done.status = "succeeded";
    done.last_error.clear();
    done.state.clear();
    EndAttempt(done, now, "succeeded", "");
    auto merged = vault_.CompleteJobOperation(done, lease, enrollment->chain);
    if (merged) return;
    if (merged.error().kind() == ErrorKind::kConflict) {
      // Cancelled by the user, or this attempt lost its lease: whoever holds the job now
      // decides; nothing is written here.
      log::Info("lifecycle: job " + job.id + ": " + merged.error().message());
      return;
    }
    return HandleFailure(std::move(job), lease, merged.error());
  }
  if (enrollment->external) {
    job.status = "waiting";
    EndAttempt(job, now, "waiting", "");
    auto saved = vault_.RecordJobProgress(
        job, lease, "Waiting for a worker of issuer " + job.issuer + " to take the request.");
    if (!saved) log::Warn("lifecycle: job " + job.id + ": " + saved.error().message());
    waiters_cv_.notify_all();
    return;
  }
  job.status = "queued";
  job.not_before = std::max(now + 1, enrollment->check_after);
  EndAttempt(job, now, "in progress", "");
  auto saved = vault_.RecordJobProgress(job, lease, "The issuer is processing the request.");
  if (!saved) log::Warn("lifecycle: job " + job.id + ": " + saved.error().message());
}

Result<issuer::Enrollment> Engine::Enroll(model::Job& job, const model::PendingOperation& op) {
  CV_ASSIGN_OR_RETURN(model::Issuer record, vault_.GetIssuer(job.vault, job.issuer));
  if (!record.enabled) {
    return Fail(Error::Unavailable("issuer " + record.name + " is disabled"));
  }
  const issuer::Provider* provider = issuers_.Find(record.provider);
  if (!provider) {
    return Fail(Error::BadParameter("issuer " + record.name + " has an unknown provider " +
                                    record.provider));
  }
  CV_ASSIGN_OR_RETURN(std::string password, vault_.IssuerPassword(record));
  CV_ASSIGN_OR_RETURN(auto issuer, provider->Build(record, password));
  CV_ASSIGN_OR_RETURN(model::Certificate cert, vault_.GetPolicy(job.vault, job.name));
  const int64_t now = clock_.NowUnix();
  int64_t validity = 0;
  if (!job.validity.empty()) {
    CV_ASSIGN_OR_RETURN(validity, model::ParseIsoDuration(job.validity));
  } else {
    CV_ASSIGN_OR_RETURN(validity, model::PolicyValiditySeconds(cert.policy.x509));
  }
  issuer::EnrollRequest request;
  request.vault = job.vault;
  request.certificate = job.name;
  request.request_id = op.request_id;
  request.job_id = job.id;
  request.csr_der = op.csr;
  request.policy = cert.policy;
  request.policy.issuer = op.issuer;  // as the operation was created
  request.not_before = now;
  request.not_after = now + validity;
  request.deadline = job.lease_expires - std::min<int64_t>(10, options_.lease_seconds / 4);
  request.state = job.state;
  request.save_state = [this, &job](const std::string& state) { return SaveState(job, state); };
  return issuer->Enroll(request);
}

Status Engine::SaveState(model::Job& job, const std::string& state) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_ASSIGN_OR_RETURN(auto stored, txn->GetJob(job.id));
  if (!stored || stored->lease_owner != job.lease_owner || Finished(*stored)) {
    return Fail(Error::Unavailable("job " + job.id + " is no longer leased by this attempt"));
  }
  job.state = state;
  job.updated = clock_.NowUnix();
  stored->state = state;
  stored->updated = job.updated;
  CV_RETURN_IF_ERROR(txn->PutJob(*stored));
  return txn->Commit();
}

int64_t Engine::RetryDelay(const model::Job& job) {
  std::lock_guard<std::mutex> lock(mu_);
  return options_.retry.Delay(ConsecutiveFailures(job) + 1, rng_);
}

void Engine::HandleFailure(model::Job job, std::string_view lease, const Error& error) {
  const int64_t now = clock_.NowUnix();
  job.last_error = error.message();
  const bool worker_job = job.status == "waiting";
  if (error.retryable() && (job.deadline == 0 || now < job.deadline)) {
    const int64_t delay = RetryDelay(job);
    EndAttempt(job, now, "retry", error.message());
    if (worker_job) {
      job.lease_expires = now + delay;  // no worker takes it before then
    } else {
      job.status = "queued";
      job.not_before = now + delay;
    }
    const std::string details = "Attempt " + std::to_string(job.attempts.size()) +
                                " failed: " + error.message() + " Next attempt at " +
                                FormatRfc3339Millis((now + delay) * 1000) + ".";
    auto saved = vault_.RecordJobProgress(job, lease, details);
    if (!saved) log::Warn("lifecycle: job " + job.id + ": " + saved.error().message());
    return;
  }
  job.status = "failed";
  EndAttempt(job, now, "failed", error.message());
  log::Info("lifecycle: job " + job.id + " for certificate " + job.vault + "/" + job.name +
            " failed: " + error.message());
  auto saved = vault_.FailJobOperation(job, lease, error);
  if (!saved) log::Warn("lifecycle: job " + job.id + ": " + saved.error().message());
}

Status Engine::Revoke(std::string_view vault, std::string_view name, std::string_view version,
                      std::string_view reason) {
  CV_ASSIGN_OR_RETURN(vault::CertificateView view, vault_.GetCertificate(vault, name, version));
  if (view.version.version.empty()) {
    return Fail(Error::NotFound("CertificateNotFound",
                                "certificate " + std::string(name) + " has no version to revoke"));
  }
  const std::string& issuer_name = view.cert.policy.issuer.name;
  auto record = vault_.GetIssuer(vault, issuer_name);
  if (!record) {
    return Fail(Error::BadParameter("certificate " + view.cert.name + " is issued by " +
                                    issuer_name + ", which certvault cannot revoke"));
  }
  const issuer::Provider* provider = issuers_.Find(record->provider);
  if (!provider) {
    return Fail(Error::BadParameter("issuer " + record->name + " has an unknown provider"));
  }
  CV_ASSIGN_OR_RETURN(std::string password, vault_.IssuerPassword(*record));
  CV_ASSIGN_OR_RETURN(auto built, provider->Build(*record, password));
  auto* revoker = dynamic_cast<issuer::Revoker*>(built.get());
  if (!revoker) {
    return Fail(Error::BadParameter("issuer " + record->name + " (provider " + record->provider +
                                    ") cannot revoke through certvault; revoke at the CA"));
  }
  return revoker->Revoke(view.version, reason);
}

// --- Remote workers ---

Result<std::optional<WorkerJob>> Engine::LeaseForWorker(std::string_view vault,
                                                        std::string_view issuer,
                                                        std::string_view worker) {
  CV_ASSIGN_OR_RETURN(model::Issuer record, vault_.GetIssuer(vault, issuer));
  CV_ASSIGN_OR_RETURN(const int64_t lease, issuer::worker::LeaseSeconds(record));
  const int64_t now = clock_.NowUnix();
  model::Job job;
  {
    CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
    CV_ASSIGN_OR_RETURN(auto waiting, txn->ListWaitingJobs(vault, issuer, now, 1));
    if (waiting.empty()) return std::optional<WorkerJob>();
    job = std::move(waiting.front());
    if (!job.lease_owner.empty() && !job.attempts.empty() && job.attempts.back().finished == 0) {
      EndAttempt(
          job, now, "retry",
          "worker " + job.lease_owner.substr(7) + " did not finish before its lease expired");
    }
    job.lease_owner = "worker:" + std::string(worker);
    job.lease_expires = now + lease;
    job.updated = now;
    StartAttempt(job, now);
    job.attempts.back().outcome = "leased by " + std::string(worker);
    CV_RETURN_IF_ERROR(txn->PutJob(job));
    CV_RETURN_IF_ERROR(txn->Commit());
  }
  CV_ASSIGN_OR_RETURN(auto op, vault_.GetPending(job.vault, job.name));
  CV_ASSIGN_OR_RETURN(auto cert, vault_.GetPolicy(job.vault, job.name));
  WorkerJob out;
  out.csr_der = op.csr;
  out.template_name = op.issuer.cty;
  out.not_before = now;
  int64_t validity = 0;
  if (!job.validity.empty()) {
    CV_ASSIGN_OR_RETURN(validity, model::ParseIsoDuration(job.validity));
  } else {
    CV_ASSIGN_OR_RETURN(validity, model::PolicyValiditySeconds(cert.policy.x509));
  }
  out.not_after = now + validity;
  out.job = std::move(job);
  return std::optional<WorkerJob>(std::move(out));
}

Status Engine::AwaitWorkerJob(std::string vault, std::string issuer, std::string worker,
                              int64_t wait_ms, LeaseCallback done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Fail(Error::Unavailable("the server is stopping"));
    if (static_cast<int>(waiters_.size()) >= options_.max_waiting_workers) {
      return Fail(Error(ErrorKind::kTooManyRequests, "Throttled",
                        "too many workers are waiting; try again later"));
    }
    waiters_.push_back({std::move(vault), std::move(issuer), std::move(worker),
                        std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms),
                        std::move(done)});
  }
  waiters_cv_.notify_all();
  return Ok();
}

void Engine::WaiterLoop() {
  NameThisThread("cv-job-waiter");
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    // Take the held polls, try each, and put back those still waiting.
    std::list<Waiter> polls;
    polls.swap(waiters_);
    lock.unlock();
    std::list<Waiter> still;
    for (auto& w : polls) {
      auto leased = LeaseForWorker(w.vault, w.issuer, w.worker);
      if (!leased || *leased || std::chrono::steady_clock::now() >= w.deadline) {
        w.done(std::move(leased));
      } else {
        still.push_back(std::move(w));
      }
    }
    lock.lock();
    waiters_.splice(waiters_.end(), still);
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.tick_ms);
    for (const auto& w : waiters_) until = std::min(until, w.deadline);
    const size_t held = waiters_.size();
    waiters_cv_.wait_until(lock, until, [&] { return stopping_ || waiters_.size() != held; });
  }
}

Result<model::Job> Engine::WorkerJobFor(std::string_view vault, std::string_view job_id,
                                        std::string_view worker) {
  CV_ASSIGN_OR_RETURN(model::Job job, vault_.GetJob(vault, job_id));
  if (job.status != "waiting" || job.lease_owner != "worker:" + std::string(worker)) {
    return Fail(Error::Conflict("job " + job.id + " is not leased by worker " +
                                std::string(worker) + " (status " + job.status + ")"));
  }
  return job;
}

Result<model::Job> Engine::CompleteFromWorker(std::string_view vault, std::string_view job_id,
                                              std::string_view worker,
                                              const std::vector<std::string>& chain) {
  CV_ASSIGN_OR_RETURN(model::Job job, WorkerJobFor(vault, job_id, worker));
  const int64_t now = clock_.NowUnix();
  model::Job done = job;
  done.status = "succeeded";
  done.last_error.clear();
  EndAttempt(done, now, "succeeded", "");
  const std::string lease = job.lease_owner;
  auto merged = vault_.CompleteJobOperation(done, lease, chain);
  if (!merged) {
    // A chain that does not fit the key is the worker's error: the job stays for another try.
    if (merged.error().kind() != ErrorKind::kConflict) {
      const int64_t delay = RetryDelay(job);
      job.last_error = merged.error().message();
      EndAttempt(job, now, "retry", merged.error().message());
      job.lease_expires = now + delay;  // no worker gets it again before then
      (void)vault_.RecordJobProgress(job, lease, "");
    }
    return Fail(merged.error());
  }
  return done;
}

Result<model::Job> Engine::FailFromWorker(std::string_view vault, std::string_view job_id,
                                          std::string_view worker, std::string_view message,
                                          bool retryable) {
  CV_ASSIGN_OR_RETURN(model::Job job, WorkerJobFor(vault, job_id, worker));
  const std::string reason = "worker " + std::string(worker) + ": " + std::string(message);
  const std::string lease = job.lease_owner;
  HandleFailure(job, lease,
                retryable ? Error::Unavailable(reason)
                          : Error(ErrorKind::kBadRequest, "CertificateRequestRefused", reason));
  return vault_.GetJob(vault, job_id);
}

}  // namespace certvault::lifecycle
