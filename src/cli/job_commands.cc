#include "cli/job_commands.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/api_client.h"
#include "cli/config.h"
#include "cli/lifecycle_views.h"
#include "cli/output.h"
#include "cli/runner.h"

namespace certvault::cli {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr std::array<std::string_view, 6> kStatuses = {"queued",    "running", "waiting",
                                                       "succeeded", "failed",  "cancelled"};
constexpr int kMaxPageSize = 25;  // Key Vault's (and the server's) limit for maxresults

std::string JobPath(std::string_view id, std::string_view suffix = "") {
  return "/jobs/" + PathSegment(JobIdFromArg(id)) + std::string(suffix);
}

void AddParam(std::string& query, std::string_view name, const std::string& value) {
  if (value.empty()) return;
  query += query.empty() ? '?' : '&';
  query += std::string(name) + "=" + UrlEncode(value);
}

std::string Seconds(int64_t seconds) { return std::to_string(seconds) + " s"; }

}  // namespace

std::string JobIdFromArg(std::string_view id) {
  if (id.find("://") == std::string_view::npos) return std::string(id);
  id = id.substr(0, id.find_first_of("?#"));
  while (!id.empty() && id.back() == '/') id.remove_suffix(1);
  size_t slash = id.rfind('/');
  return std::string(slash == std::string_view::npos ? id : id.substr(slash + 1));
}

bool IsFinishedJobStatus(std::string_view status) {
  return status == "succeeded" || status == "failed" || status == "cancelled";
}

Result<std::string> JobListPath(const JobListArgs& args) {
  if (!args.status.empty() &&
      std::find(kStatuses.begin(), kStatuses.end(), args.status) == kStatuses.end()) {
    return Fail(
        UsageError("--status must be one of queued, running, waiting, succeeded, failed, "
                   "cancelled; not '" +
                   args.status + "'"));
  }
  std::string query;
  AddParam(query, "certificate", args.certificate);
  AddParam(query, "status", args.status);
  if (args.max_items > 0 && args.max_items < kMaxPageSize) {
    AddParam(query, "maxresults", std::to_string(args.max_items));
  }
  return "/jobs" + query;
}

Status JobsList(CommandContext& ctx, const JobListArgs& args) {
  CV_ASSIGN_OR_RETURN(std::string path, JobListPath(args));
  CV_ASSIGN_OR_RETURN(auto jobs, ctx.api.DataList(path, args.max_items));
  Print(ctx, json(jobs), JobListView(jobs));
  return Ok();
}

Status JobsShow(CommandContext& ctx, const std::string& id) {
  CV_ASSIGN_OR_RETURN(json job, ctx.api.Data("GET", JobPath(id)));
  Print(ctx, job, JobView(job));
  return Ok();
}

Status JobsRetry(CommandContext& ctx, const std::string& id) {
  CV_ASSIGN_OR_RETURN(json job, ctx.api.Data("POST", JobPath(id, "/retry")));
  Print(ctx, job, JobView(job));
  return Ok();
}

Error JobError(const json& job) {
  const std::string status = TextField(job, "status");
  std::string message = "job " + JobIdFromArg(TextField(job, "id"));
  if (std::string cert = TextField(job, "certificate"); !cert.empty()) {
    message += " for certificate " + cert;
  }
  message += status == "cancelled" ? " was cancelled" : " " + status;
  if (std::string error = TextField(job, "last_error"); !error.empty()) message += ": " + error;
  return Error(ErrorKind::kConflict, status == "cancelled" ? "JobCancelled" : "JobFailed", message);
}

Result<json> WaitForJob(CommandContext& ctx, json job, int64_t timeout_seconds) {
  const std::string id = JobIdFromArg(TextField(job, "job_id").empty() ? TextField(job, "id")
                                                                       : TextField(job, "job_id"));
  const std::chrono::milliseconds limit = std::chrono::seconds(timeout_seconds);
  std::chrono::milliseconds waited{0}, interval{250};
  std::string shown;
  auto show = [&] {
    if (!ctx.progress) return;
    std::string line = JobProgressLine(job);
    if (line == shown) return;
    ctx.err << "job " << id << ": " << line << "\n" << std::flush;
    shown = std::move(line);
  };
  show();
  while (!IsFinishedJobStatus(TextField(job, "status"))) {
    if (waited >= limit) {
      return Fail(ClientError("job " + id + " is still " + TextField(job, "status") + " after " +
                              Seconds(timeout_seconds) + "; follow it with `certvault jobs show " +
                              id + "`"));
    }
    std::chrono::milliseconds step = std::min(interval, limit - waited);
    ctx.sleep(step);
    waited += step;
    interval = std::min<std::chrono::milliseconds>(interval * 2, 5s);
    CV_ASSIGN_OR_RETURN(job, ctx.api.Data("GET", JobPath(id)));
    show();
  }
  return job;
}

void AddJobCommands(CLI::App& app, CommandRunner& runner) {
  auto& jobs = *app.add_subcommand(
      "jobs", "Follow and retry renewal jobs: the durable issuance work of a vault");
  jobs.require_subcommand(1);
  {
    auto args = std::make_shared<JobListArgs>();
    auto& cmd = *AddCommand(
        jobs, "list",
        "List renewal jobs, newest first, following every page.\n"
        "Columns: ID, CERTIFICATE, ISSUER, TRIGGER (AutoRenew, manual, create), STATUS, "
        "ATTEMPTS, LAST ERROR (shortened; `jobs show` has it whole), UPDATED.\n\n"
        "Examples:\n"
        "  certvault jobs list\n"
        "  certvault jobs list --status failed\n"
        "  certvault jobs list --certificate web --max 5 -o json");
    cmd.add_option("--certificate", args->certificate, "Only jobs of this certificate");
    cmd.add_option("--status", args->status, "Only jobs in this status")
        ->check(
            CLI::IsMember({"queued", "running", "waiting", "succeeded", "failed", "cancelled"}));
    cmd.add_option("--max", args->max_items, "Show at most N jobs")->check(CLI::PositiveNumber);
    runner.Bind(cmd, [args](CommandContext& ctx) { return JobsList(ctx, *args); });
  }
  {
    auto id = std::make_shared<std::string>();
    auto& cmd = *AddCommand(jobs, "show",
                            "Show a job and its attempts (start, end, outcome, error).\n\n"
                            "Examples:\n"
                            "  certvault jobs show 5f0c2a...\n"
                            "  certvault jobs show https://default.localhost:8443/jobs/5f0c2a... "
                            "-o json");
    cmd.add_option("id", *id, "Job id (32 hex) or the job's id URL")->required();
    runner.Bind(cmd, [id](CommandContext& ctx) { return JobsShow(ctx, *id); });
  }
  {
    auto id = std::make_shared<std::string>();
    auto& cmd =
        *AddCommand(jobs, "retry",
                    "Retry a failed or cancelled job: it is queued again and starts at once.\n\n"
                    "Example:\n"
                    "  certvault jobs retry 5f0c2a...");
    cmd.add_option("id", *id, "Job id (32 hex) or the job's id URL")->required();
    runner.Bind(cmd, [id](CommandContext& ctx) { return JobsRetry(ctx, *id); });
  }
}

}  // namespace certvault::cli
