#include "cli/worker_command.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "cli/config.h"
#include "cli/runner.h"
#include "cli/when.h"
#include "cli/worker.h"

namespace certvault::cli {
namespace {

struct WorkerArgs {
  std::string issuer;
  std::string exec;
  std::vector<std::string> args;
  std::string name;
  int wait_seconds = 30;
  bool once = false;
  int max_jobs = 0;
  std::string timeout = "PT5M";
};

// Set from the signal handler; the process has one worker loop, hence one flag.
std::atomic<bool> stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler needs a lock-free flag");

extern "C" void OnStopSignal(int) {
  stop_requested.store(true);
  // write(2) is async-signal-safe; a logger is not.
  static constexpr char kNote[] =
      "certvault worker: stopping after the current poll or job (signal again to stop at once)\n";
  ssize_t ignored = ::write(STDERR_FILENO, kNote, sizeof kNote - 1);
  (void)ignored;
}

// Routes SIGTERM and SIGINT to the stop flag while it lives. SA_RESETHAND: a second signal has
// the default effect, for an operator who does not want to wait for a running job. No
// SA_RESTART, so that sleeps and polls return early.
class StopSignals {
 public:
  StopSignals() {
    stop_requested.store(false);
    struct sigaction action {};
    action.sa_handler = &OnStopSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND;
    ::sigaction(SIGTERM, &action, &old_term_);
    ::sigaction(SIGINT, &action, &old_int_);
  }
  ~StopSignals() {
    ::sigaction(SIGTERM, &old_term_, nullptr);
    ::sigaction(SIGINT, &old_int_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction old_term_ {};
  struct sigaction old_int_ {};
};

bool IsExecutableFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// Checked at start so that a typo fails the worker at once instead of every job it leases.
Status CheckExecutable(const std::string& exec) {
  if (exec.find('/') != std::string::npos) {
    if (IsExecutableFile(exec)) return Ok();
    return Fail(UsageError("--exec: " + exec + " is not an executable file"));
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t colon = dirs.find(':', start);
    if (colon == std::string::npos) colon = dirs.size();
    std::string dir = dirs.substr(start, colon - start);
    if (IsExecutableFile((dir.empty() ? "." : dir) + "/" + exec)) return Ok();
    start = colon + 1;
  }
  return Fail(UsageError("--exec: no executable " + exec + " on PATH"));
}

std::string HostName() {
  char buf[HOST_NAME_MAX + 1] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

Status RunWorkerCommand(CommandContext& ctx, const WorkerArgs& args) {
  WorkerOptions options;
  options.issuer = args.issuer;
  options.name = args.name.empty() ? DefaultWorkerName(HostName(), ::getpid()) : args.name;
  CV_RETURN_IF_ERROR(ValidateWorkerName(options.name));
  options.command.push_back(args.exec);
  options.command.insert(options.command.end(), args.args.begin(), args.args.end());
  options.wait_seconds = args.wait_seconds;
  options.once = args.once;
  options.max_jobs = args.max_jobs;
  CV_ASSIGN_OR_RETURN(options.timeout_seconds,
                      ParseDurationArg(args.timeout, "--timeout", 1, 86400));
  CV_RETURN_IF_ERROR(CheckExecutable(args.exec));

  StopSignals signals;
  WorkerHooks hooks{.run = RunSubprocess, .stop = [] { return stop_requested.load(); }};
  CV_ASSIGN_OR_RETURN(ctx.exit_code, RunWorker(ctx, options, hooks));
  return Ok();
}

}  // namespace

void AddWorkerCommand(CLI::App& app, CommandRunner& runner) {
  auto args = std::make_shared<WorkerArgs>();
  auto& cmd = *AddCommand(
      app, "worker",
      "Run enrollment jobs of a `worker` issuer next to a CA the server cannot reach.\n"
      "Long-polls the vault for jobs (outbound HTTPS only), runs --exec for each with the CSR "
      "(PEM) on stdin and CERTVAULT_VAULT, CERTVAULT_CERTIFICATE, CERTVAULT_ISSUER, "
      "CERTVAULT_TEMPLATE, CERTVAULT_REQUEST_ID, CERTVAULT_JOB_ID, CERTVAULT_NOT_BEFORE, "
      "CERTVAULT_NOT_AFTER (Unix seconds) and CERTVAULT_VALIDITY_DAYS in its environment, as "
      "the server's command issuer does. No shell is involved.\n"
      "Exit 0 with PEM certificates on stdout completes the job; exit 65 (EX_DATAERR) means the "
      "CA refused and fails it for good; any other status or the --timeout fails it for a retry. "
      "Failures carry the end of stderr.\n"
      "Logs each job on stderr (with -o json also one JSON line per job on stdout). SIGTERM or "
      "SIGINT stops it after the current poll (at most --wait seconds; a job it brings is "
      "handed back) or job (a second signal stops at once). Exit status: 0; 3 with --once when no "
      "job came within --wait; 1 when "
      "--once's job was not completed or the server refuses the worker (credentials, role, "
      "issuer); 2 for usage errors.\n"
      "The principal needs the Certificates Officer role on the vault.\n\n"
      "Examples:\n"
      "  certvault worker --issuer adcs --exec /opt/certvault/adcs-sign.sh\n"
      "  certvault worker --issuer adcs --exec /usr/bin/openssl --arg=ca --arg=-batch \\\n"
      "      --arg=-config --arg=/etc/ca/openssl.cnf --arg=-in --arg=/dev/stdin --name ca-host-1\n"
      "  certvault worker --issuer adcs --exec ./sign.sh --once --wait 10   # CI / cron");
  cmd.add_option("--issuer", args->issuer, "Issuer (provider worker) whose jobs to run")
      ->required();
  cmd.add_option("--exec", args->exec, "Executable to run per job (a path, or a name on PATH)")
      ->required();
  cmd.add_option("--arg", args->args,
                 "An argument for --exec; repeat for several, in order (use --arg=-x for "
                 "arguments that start with a dash)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd.add_option("--name", args->name,
                 "Worker name shown in jobs, ^[0-9a-zA-Z-]{1,127}$ (default HOSTNAME-PID)");
  cmd.add_option("--wait", args->wait_seconds,
                 "Seconds the server may hold each poll open waiting for a job, 0-60 (default 30)")
      ->check(CLI::Range(0, kMaxLeaseWaitSeconds));
  cmd.add_flag("--once", args->once,
               "Handle at most one job, then exit (0: completed, 3: no job within --wait)");
  cmd.add_option("--max-jobs", args->max_jobs, "Exit after N jobs")->check(CLI::PositiveNumber);
  cmd.add_option("--timeout", args->timeout,
                 "Time limit of each run of --exec, ISO 8601 duration or seconds (default PT5M; "
                 "shortened to fit the job's lease)");
  runner.Bind(
      cmd, [args](CommandContext& ctx) { return RunWorkerCommand(ctx, *args); },
      /*needs_vault=*/true, /*http_timeout_seconds=*/kMaxLeaseWaitSeconds + 30);
}

}  // namespace certvault::cli
