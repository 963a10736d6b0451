#include "cli/worker.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/api_client.h"
#include "cli/config.h"
#include "cli/output.h"
#include "cli/pem.h"
#include "common/text.h"

namespace certvault::cli {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// How much of the end of stderr goes into a failure's error, as the server's command issuer.
constexpr size_t kStderrTail = 2048;
// Between empty polls when the server may not hold them (--wait 0).
constexpr std::chrono::milliseconds kIdlePoll = 5s;
// How long to keep trying to report a job's result through transient failures: a certificate
// the CA issued is worth minutes of retrying, since losing it means asking the CA again.
constexpr std::chrono::milliseconds kReportPersistence = 5min;
// How long past its wait a poll may run once the worker is asked to stop.
constexpr int64_t kPollGraceSeconds = 5;
// Sleeps are cut in slices so that a stop request is noticed quickly.
constexpr std::chrono::milliseconds kSleepSlice = 250ms;

constexpr std::string_view kBeginCertificate = "-----BEGIN CERTIFICATE-----";
constexpr std::string_view kEndCertificate = "-----END CERTIFICATE-----";

// Failures worth trying again: the server or the network is down or busy.
bool Transient(const Error& e) { return e.retryable() || e.kind() == ErrorKind::kInternal; }

int64_t IntField(const json& j, std::string_view key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::string Plural(int64_t n, std::string_view unit) {
  return std::to_string(n) + " " + std::string(unit) + (n == 1 ? "" : "s");
}

// The PEM CERTIFICATE blocks of `text`, in order, each ending in a newline; other text (a
// script's chatter on stdout) is dropped.
std::string CertificateBlocks(std::string_view text) {
  std::string out;
  size_t pos = 0;
  while ((pos = text.find(kBeginCertificate, pos)) != std::string_view::npos) {
    size_t end = text.find(kEndCertificate, pos);
    if (end == std::string_view::npos) {
      out.append(text.substr(pos));  // left for the parser to call malformed
      break;
    }
    end += kEndCertificate.size();
    out.append(text.substr(pos, end - pos));
    out += '\n';
    pos = end;
  }
  return out;
}

std::string StderrSuffix(std::string_view err) {
  std::string tail = OneLineTail(err, kStderrTail);
  return tail.empty() ? " (nothing on stderr)" : ": " + tail;
}

class WorkerLoop {
 public:
  WorkerLoop(CommandContext& ctx, const WorkerOptions& options, const WorkerHooks& hooks)
      : ctx_(ctx), options_(options), hooks_(hooks) {}

  Result<int> Run() {
    Log("leasing jobs of issuer " + options_.issuer + " in vault " + ctx_.api.config().vault +
        " for " + options_.command.front());
    int handled = 0;
    Backoff backoff;
    while (!hooks_.stop()) {
      const int64_t polled_at = ctx_.clock.NowUnix();
      Result<json> leased = Lease();
      if (!leased) {
        if (hooks_.stop()) break;  // the poll may have been abandoned
        if (!Transient(leased.error())) {
          return Fail(leased.error().WithContext("leasing a job of issuer " + options_.issuer));
        }
        const auto delay = backoff.Next();
        Log("cannot lease a job: " + leased.error().message() + "; trying again in " +
            Plural(delay.count(), "second"));
        Sleep(delay);
        continue;
      }
      backoff.Reset();
      if (leased->is_null()) {  // 204: nothing came within the wait
        if (options_.once) {
          Log("no job within " + Plural(options_.wait_seconds, "second"));
          return kExitNoJob;
        }
        if (options_.wait_seconds == 0) {
          Sleep(kIdlePoll);
        } else if (ctx_.clock.NowUnix() == polled_at) {
          Sleep(1s);  // a server that did not hold the poll must not be asked again at once
        }
        continue;
      }
      const json& job = *leased;
      Handled result = hooks_.stop() ? Release(job) : Handle(job);
      ++handled;
      Record(job, result);
      if (options_.once) {
        if (result.outcome == Outcome::kCompleted) return 0;
        return Fail(ClientError("job " + TextField(job, "job_id") + " was not completed (" +
                                OutcomeName(result.outcome) + ")"));
      }
      if (options_.max_jobs > 0 && handled >= options_.max_jobs) {
        Log("handled " + Plural(handled, "job") + "; stopping");
        return 0;
      }
    }
    Log("stopped");
    return options_.once ? kExitNoJob : 0;
  }

 private:
  enum class Outcome { kCompleted, kFailed, kRefused, kAbandoned, kReleased };
  struct Handled {
    Outcome outcome;
    std::string detail;  // the error, for every outcome but kCompleted
  };

  static const char* OutcomeName(Outcome outcome) {
    switch (outcome) {
      case Outcome::kCompleted:
        return "completed";
      case Outcome::kFailed:
        return "failed";
      case Outcome::kRefused:
        return "refused";
      case Outcome::kAbandoned:
        return "abandoned";
      case Outcome::kReleased:
        return "released";
    }
    return "";
  }

  void Log(const std::string& line) {
    ctx_.err << FormatTime(ctx_.clock.NowUnix()) << " worker " << options_.name << ": " << line
             << "\n"
             << std::flush;
  }

  void Sleep(std::chrono::milliseconds duration) {
    while (duration.count() > 0 && !hooks_.stop()) {
      const auto step = std::min(duration, kSleepSlice);
      ctx_.sleep(step);
      duration -= step;
    }
  }

  // One long poll; null when no job came. A stop request lets the poll run its course: the
  // server may lease a job to a poll it holds even after the client has gone, and that job would
  // then wait for its lease to expire; answered, it can be handed back at once. Only a poll that
  // overruns its wait (a network gone quiet) is abandoned.
  Result<json> Lease() {
    const json body = {
        {"issuer", options_.issuer}, {"worker", options_.name}, {"wait", options_.wait_seconds}};
    const int64_t started = ctx_.clock.NowUnix();
    const int64_t limit = options_.wait_seconds + kPollGraceSeconds;
    ctx_.api.set_cancelled(
        [this, started, limit] { return hooks_.stop() && ctx_.clock.NowUnix() - started > limit; });
    Result<json> leased = ctx_.api.Data("POST", "/jobs/lease", &body);
    ctx_.api.set_cancelled({});
    if (leased && !leased->is_null() &&
        (!leased->is_object() || TextField(*leased, "job_id").empty())) {
      return Fail(Error(ErrorKind::kInternal, "InvalidResponse",
                        "the server answered the lease without a job_id"));
    }
    return leased;
  }

  // POSTs `body`, retrying transient failures for a while unless asked to stop.
  Status Post(const std::string& path, const json& body) {
    Backoff backoff;
    std::chrono::milliseconds waited{0};
    for (;;) {
      auto answer = ctx_.api.Data("POST", path, &body);
      if (answer) return Ok();
      if (!Transient(answer.error()) || hooks_.stop() || waited >= kReportPersistence) {
        return Fail(answer.error());
      }
      const auto delay = backoff.Next();
      Log("cannot reach the server (" + answer.error().message() + "); trying again in " +
          Plural(delay.count(), "second"));
      Sleep(delay);
      waited += delay;
    }
  }

  std::string JobPath(const json& job, std::string_view action) {
    return "/jobs/" + PathSegment(TextField(job, "job_id")) + "/" + std::string(action);
  }

  // A complete that failed may still have been carried out (the answer was lost, and the retry
  // found the job finished).
  bool Succeeded(const json& job) {
    auto now = ctx_.api.Data("GET", "/jobs/" + PathSegment(TextField(job, "job_id")));
    return now && TextField(*now, "status") == "succeeded";
  }

  Handled Handle(const json& job) {
    const int64_t timeout = JobTimeoutSeconds(job, options_.timeout_seconds);
    std::string note;
    if (timeout < options_.timeout_seconds) {
      note = " (time limit " + Plural(timeout, "second") + ", within the job's lease)";
    }
    Log("job " + TextField(job, "job_id") + " for certificate " + TextField(job, "certificate") +
        ": running " + options_.command.front() + note);
    JobReport report;
    if (TextField(job, "csr").find("CERTIFICATE REQUEST") == std::string::npos) {
      report.error = "the job came without a CSR";
    } else {
      report = ClassifyRun(hooks_.run(BuildJobSpec(options_, job, timeout)),
                           options_.command.front(), timeout);
    }
    if (report.complete) {
      const json body = {{"worker", options_.name}, {"certificate", report.certificate}};
      Status sent = Post(JobPath(job, "complete"), body);
      if (sent || (sent.error().kind() == ErrorKind::kConflict && Succeeded(job))) {
        return {Outcome::kCompleted, ""};
      }
      return {Outcome::kAbandoned, "the server did not take the certificate: " +
                                       sent.error().code() + ": " + sent.error().message()};
    }
    const json body = {
        {"worker", options_.name}, {"error", report.error}, {"retryable", report.retryable}};
    Status sent = Post(JobPath(job, "fail"), body);
    if (!sent) {
      return {Outcome::kAbandoned, report.error + " (and the server did not take the failure: " +
                                       sent.error().code() + ": " + sent.error().message() + ")"};
    }
    return {report.retryable ? Outcome::kFailed : Outcome::kRefused, report.error};
  }

  // A job leased just as the worker was asked to stop goes back at once rather than when its
  // lease runs out.
  Handled Release(const json& job) {
    const std::string error = "worker " + options_.name + " stopped before running the job";
    const json body = {{"worker", options_.name}, {"error", error}, {"retryable", true}};
    Status sent = Post(JobPath(job, "fail"), body);
    if (!sent) return {Outcome::kAbandoned, error};
    return {Outcome::kReleased, error};
  }

  void Record(const json& job, const Handled& result) {
    std::string line = "job " + TextField(job, "job_id") + " for certificate " +
                       TextField(job, "certificate") + ": ";
    switch (result.outcome) {
      case Outcome::kCompleted:
        line += "completed";
        break;
      case Outcome::kFailed:
        line += "failed, the server retries it: " + result.detail;
        break;
      case Outcome::kRefused:
        line += "failed for good: " + result.detail;
        break;
      case Outcome::kAbandoned:
        line += "abandoned, the server offers it again when its lease expires: " + result.detail;
        break;
      case Outcome::kReleased:
        line += "handed back: " + result.detail;
        break;
    }
    Log(line);
    if (ctx_.format == OutputFormat::kJson) {
      json record = {{"job_id", TextField(job, "job_id")},
                     {"certificate", TextField(job, "certificate")},
                     {"outcome", OutcomeName(result.outcome)}};
      if (!result.detail.empty()) record["error"] = result.detail;
      ctx_.out << record.dump(-1, ' ', false, json::error_handler_t::replace) << "\n" << std::flush;
    }
  }

  CommandContext& ctx_;
  const WorkerOptions& options_;
  const WorkerHooks& hooks_;
};

}  // namespace

Result<int> RunWorker(CommandContext& ctx, const WorkerOptions& options, const WorkerHooks& hooks) {
  if (options.command.empty()) return Fail(UsageError("--exec is required"));
  CV_RETURN_IF_ERROR(ValidateWorkerName(options.name));
  if (options.wait_seconds < 0 || options.wait_seconds > kMaxLeaseWaitSeconds) {
    return Fail(UsageError("--wait must be 0 to 60 seconds"));
  }
  return WorkerLoop(ctx, options, hooks).Run();
}

Status ValidateWorkerName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 127;
  for (char c : name) {
    ok = ok &&
         ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-');
  }
  if (!ok) {
    return Fail(UsageError("--name '" + std::string(name.substr(0, 140)) +
                           "' must be 1 to 127 letters, digits or dashes"));
  }
  return Ok();
}

std::string DefaultWorkerName(std::string_view hostname, long pid) {
  const std::string suffix = "-" + std::to_string(pid);
  std::string host(hostname.substr(0, hostname.find('.')));
  for (char& c : host) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!ok) c = '-';
  }
  if (host.empty()) host = "worker";
  host.resize(std::min(host.size(), 127 - suffix.size()));
  return host + suffix;
}

int64_t JobTimeoutSeconds(const json& job, int64_t timeout_seconds) {
  int64_t timeout = timeout_seconds;
  const int64_t leased_at = IntField(job, "updated");
  const int64_t expires = IntField(job, "lease_expires");
  if (leased_at > 0 && expires > leased_at) {
    // Both times are the server's, so the two clocks need not agree.
    const int64_t lease = expires - leased_at;
    const int64_t margin = std::clamp<int64_t>(lease / 4, 5, 30);
    timeout = std::min(timeout, lease - margin);
  }
  return std::max<int64_t>(timeout, 1);
}

SubprocessSpec BuildJobSpec(const WorkerOptions& options, const json& job,
                            int64_t timeout_seconds) {
  SubprocessSpec spec;
  spec.argv = options.command;
  spec.stdin_data = TextField(job, "csr");
  if (!spec.stdin_data.empty() && spec.stdin_data.back() != '\n') spec.stdin_data += '\n';
  const int64_t not_before = IntField(job, "not_before");
  const int64_t not_after = IntField(job, "not_after");
  const int64_t validity = std::max<int64_t>(0, not_after - not_before);
  std::string issuer = TextField(job, "issuer");
  spec.env = {
      {"CERTVAULT_VAULT", TextField(job, "vault")},
      {"CERTVAULT_CERTIFICATE", TextField(job, "certificate")},
      {"CERTVAULT_ISSUER", issuer.empty() ? options.issuer : issuer},
      {"CERTVAULT_TEMPLATE", TextField(job, "template")},
      {"CERTVAULT_REQUEST_ID", TextField(job, "request_id")},
      {"CERTVAULT_JOB_ID", TextField(job, "job_id")},
      {"CERTVAULT_NOT_BEFORE", std::to_string(not_before)},
      {"CERTVAULT_NOT_AFTER", std::to_string(not_after)},
      {"CERTVAULT_VALIDITY_DAYS", std::to_string((validity + 86399) / 86400)},
      // The CA's command has no business with the worker's own credentials.
      {"CERTVAULT_CLIENT_SECRET", ""},
  };
  spec.timeout_ms = timeout_seconds * 1000;
  return spec;
}

JobReport ClassifyRun(const Result<SubprocessResult>& run, const std::string& executable,
                      int64_t timeout_seconds) {
  const std::string who = "command " + executable;
  JobReport report;
  if (!run) {
    report.error = "cannot run " + who + ": " + OneLineTail(run.error().message(), kStderrTail);
    return report;
  }
  if (run->timed_out) {
    report.error = who + " did not finish within " + Plural(timeout_seconds, "second") +
                   " and was killed" + StderrSuffix(run->stderr_data);
    return report;
  }
  if (run->exit_code == kExitRefused) {
    report.retryable = false;
    report.error = "the CA refused the request (" + who + " exited with status 65)" +
                   StderrSuffix(run->stderr_data);
    return report;
  }
  if (run->exit_code != 0) {
    report.error = who +
                   (run->exit_code < 0 ? " was killed by a signal"
                                       : " exited with status " + std::to_string(run->exit_code)) +
                   StderrSuffix(run->stderr_data);
    return report;
  }
  std::string chain = CertificateBlocks(run->stdout_data);
  if (chain.empty()) {
    report.retryable = false;
    report.error = who + " exited with status 0 but printed no PEM certificate on stdout" +
                   StderrSuffix(run->stderr_data);
    return report;
  }
  if (auto parsed = PemToX5c(chain); !parsed) {
    report.retryable = false;
    report.error = who + " printed a malformed certificate: " +
                   OneLineTail(parsed.error().message(), kStderrTail);
    return report;
  }
  report.complete = true;
  report.certificate = std::move(chain);
  return report;
}

std::chrono::seconds Backoff::Next() {
  const std::chrono::seconds delay = next_;
  next_ = std::min(next_ * 2, kMax);
  return delay;
}

}  // namespace certvault::cli
