#pragma once
// `certvault jobs ...`: the vault's renewal jobs (list, show, retry), and waiting for one job to
// finish, which `cert renew` shares. A job is the durable unit of issuance work: the lifecycle
// engine, `cert renew` and `cert create` make them; issuers and workers carry them out.

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "cli/command_context.h"
#include "common/result.h"

namespace CLI {
class App;
}

namespace certvault::cli {

class CommandRunner;

struct JobListArgs {
  std::string certificate;  // "" = any
  std::string status;       // "" = any; else queued, running, waiting, succeeded, failed, cancelled
  int max_items = 0;        // 0 = every page
};
// The path and query of the first page. Fails with UsageError for an unknown status.
Result<std::string> JobListPath(const JobListArgs& args);
Status JobsList(CommandContext& ctx, const JobListArgs& args);

// `id` is the job id (32 hex) or the job's full id URL (https://host/jobs/ID).
Status JobsShow(CommandContext& ctx, const std::string& id);
Status JobsRetry(CommandContext& ctx, const std::string& id);

// The job id in a job id argument: the last path segment of a URL, else the text itself.
std::string JobIdFromArg(std::string_view id);

// succeeded, failed and cancelled: the job will not change again.
bool IsFinishedJobStatus(std::string_view status);

// Polls GET /jobs/{id} (`job` as last seen) until it finishes, showing progress on ctx.err when
// ctx.progress, for at most `timeout_seconds` (ctx.sleep counts the time). Returns the finished
// job whatever its status; fails with ClientError naming `certvault jobs show ID` on timeout.
Result<nlohmann::json> WaitForJob(CommandContext& ctx, nlohmann::json job, int64_t timeout_seconds);

// A failed or cancelled job as an Error ("JobFailed" / "JobCancelled") carrying its last_error.
Error JobError(const nlohmann::json& job);

void AddJobCommands(CLI::App& app, CommandRunner& runner);

}  // namespace certvault::cli
