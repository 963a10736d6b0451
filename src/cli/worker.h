#pragma once
// The remote enrollment worker behind `certvault worker`: the hybrid-worker pattern for issuers
// whose provider is `worker`. It runs next to a CA the server cannot reach and makes outbound
// HTTPS requests only:
//
//   loop: POST /jobs/lease {"issuer", "worker", "wait"}   204: nothing yet, ask again
//         200: a job with its CSR -> run the command (CSR PEM on stdin, CERTVAULT_* environment,
//              the convention of the server's `command` issuer)
//         exit 0   -> POST /jobs/{id}/complete {"worker", "certificate": PEM chain from stdout}
//         exit 65  -> POST /jobs/{id}/fail {"worker", "error", "retryable": false}  (CA refused)
//         other, timeout -> POST /jobs/{id}/fail {..., "retryable": true}
//
// Transient failures (unreachable server, 429, 5xx) are retried with a bounded backoff; other
// server refusals of a lease (bad credentials, no such issuer, no permission) end the worker.
// The ApiClient renews the token as it nears expiry. Each job is logged on ctx.err (id,
// certificate, outcome), never its CSR, chain or any secret.
//
// Single-threaded. WorkerHooks::stop may become true at any time (a signal handler sets it); the
// worker then lets a lease poll in flight end (abandoning it only if it overruns its wait by more
// than 5 s), hands back a job it leased but has not started, lets a running command finish and
// report, and returns.

#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command_context.h"
#include "common/result.h"
#include "common/subprocess.h"

namespace certvault::cli {

// `worker --once` that got no job within --wait.
inline constexpr int kExitNoJob = 3;
// EX_DATAERR (sysexits.h): the command says the CA refused the request; the job fails for good.
inline constexpr int kExitRefused = 65;
// The most the server holds a lease poll open.
inline constexpr int kMaxLeaseWaitSeconds = 60;

struct WorkerOptions {
  std::string issuer;
  std::string name;                  // ^[0-9a-zA-Z-]{1,127}$, see ValidateWorkerName
  std::vector<std::string> command;  // argv; command[0] is the executable
  int wait_seconds = 30;             // how long each lease poll may be held, 0-60
  bool once = false;                 // handle at most one job
  int max_jobs = 0;                  // stop after this many jobs; 0 = no limit
  int64_t timeout_seconds = 300;     // the command's time limit (the lease may shorten it)
};

// The worker's doors to the process and the machine, so that tests run it without either.
struct WorkerHooks {
  std::function<Result<SubprocessResult>(const SubprocessSpec&)> run = RunSubprocess;
  std::function<bool()> stop = [] { return false; };
};

// Runs the loop until it is asked to stop, `max_jobs` jobs were handled, or (once) one lease poll
// or job is over. Returns the exit status: 0, or kExitNoJob when `once` got no job. Fails when
// the server refuses the lease for good, or (once) when the job was not completed.
Result<int> RunWorker(CommandContext& ctx, const WorkerOptions& options, const WorkerHooks& hooks);

// --- Parts of the loop, exposed for tests ---

// Fails with UsageError unless `name` matches ^[0-9a-zA-Z-]{1,127}$ (the server's rule).
Status ValidateWorkerName(std::string_view name);
// "HOST-PID": the first label of `hostname` with characters other than letters, digits and
// dashes turned into dashes, cut so that the whole fits 127 characters ("worker-PID" without a
// host name).
std::string DefaultWorkerName(std::string_view hostname, long pid);

// The command's time limit for `job`: `timeout_seconds`, but at most the job's lease (the
// server's lease_expires - updated) less a margin to report in, so that a slow CA does not cost
// the lease. At least 1.
int64_t JobTimeoutSeconds(const nlohmann::json& job, int64_t timeout_seconds);

// The command line, stdin and environment for `job` (a leased job with its csr, template, vault,
// not_before, not_after). The worker's own client secret is blanked in the child's environment.
SubprocessSpec BuildJobSpec(const WorkerOptions& options, const nlohmann::json& job,
                            int64_t timeout_seconds);

// What to tell the server about one run of the command.
struct JobReport {
  bool complete = false;    // POST complete with `certificate`; else POST fail
  std::string certificate;  // the PEM CERTIFICATE blocks of stdout, in order
  std::string error;        // one line, valid UTF-8, at most ~2.3 KB
  bool retryable = true;
};
// Maps the command's result (or its failure to start) to a report: exit 0 with certificates ->
// complete; 65 -> not retryable; 0 without (or with malformed) certificates -> not retryable, as
// the server's command issuer; any other status, a signal or the timeout -> retryable. Errors
// carry the end of stderr (never stdout).
JobReport ClassifyRun(const Result<SubprocessResult>& run, const std::string& executable,
                      int64_t timeout_seconds);

// Delays between retries of a transient failure: 1 s, doubling up to 30 s; Reset() after a
// success.
class Backoff {
 public:
  std::chrono::seconds Next();
  void Reset() { next_ = kFirst; }

 private:
  static constexpr std::chrono::seconds kFirst{1};
  static constexpr std::chrono::seconds kMax{30};
  std::chrono::seconds next_ = kFirst;
};

}  // namespace certvault::cli
