#include "cli/audit_commands.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/api_client.h"
#include "cli/config.h"
#include "cli/files.h"
#include "cli/identity_views.h"
#include "cli/runner.h"
#include "cli/when.h"

namespace certvault::cli {
namespace {

using nlohmann::json;

constexpr int kMaxPageSize = 1000;  // the server's limit for maxresults

bool IsOutcome(const std::string& outcome) {
  return outcome == "success" || outcome == "denied" || outcome == "throttled" ||
         outcome == "failed";
}

void AddParam(std::string& query, std::string_view name, const std::string& value) {
  if (value.empty()) return;
  query += query.empty() ? '?' : '&';
  query += std::string(name) + "=" + UrlEncode(value);
}

void AddFilterOptions(CLI::App& cmd, AuditFilterArgs& filter) {
  cmd.add_option("--from", filter.from,
                 "Records at or after WHEN: RFC 3339 (2025-01-31T12:00:00Z), Unix seconds, or a "
                 "duration ago (PT1H: an hour ago, P7D: a week ago)");
  cmd.add_option("--to", filter.to, "Records before WHEN (same forms as --from)");
  cmd.add_option("--principal", filter.principal, "Only requests by this client id");
  cmd.add_option("--object", filter.object,
                 "Only this object, e.g. certificates/web, or a prefix ending in *, e.g. "
                 "'certificates/*'");
  cmd.add_option("--operation", filter.operation,
                 "Only this operation, e.g. secrets.get (names as in docs/permissions.md)");
  cmd.add_option("--outcome", filter.outcome, "Only this outcome")
      ->check(CLI::IsMember({"success", "denied", "throttled", "failed"}));
}

// One record as a JSON line. Replaces rather than throws on invalid UTF-8, as RenderJson does.
std::string JsonLine(const json& record) {
  return record.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace

Result<std::string> AuditQueryPath(const AuditFilterArgs& filter, int64_t now, int page_size) {
  std::string query;
  int64_t from = 0, to = 0;
  if (!filter.from.empty()) {
    CV_ASSIGN_OR_RETURN(from, ParseWhen(filter.from, now, DurationCounts::kBack, "--from"));
    query += (query.empty() ? "?" : "&") + std::string("from=") + std::to_string(from);
  }
  if (!filter.to.empty()) {
    CV_ASSIGN_OR_RETURN(to, ParseWhen(filter.to, now, DurationCounts::kBack, "--to"));
    query += (query.empty() ? "?" : "&") + std::string("to=") + std::to_string(to);
  }
  if (!filter.from.empty() && !filter.to.empty() && from >= to) {
    return Fail(UsageError("--from (" + FormatTime(from) + ") must be before --to (" +
                           FormatTime(to) + ")"));
  }
  if (!filter.outcome.empty() && !IsOutcome(filter.outcome)) {
    return Fail(UsageError("--outcome must be success, denied, throttled or failed"));
  }
  AddParam(query, "principal", filter.principal);
  AddParam(query, "object", filter.object);
  AddParam(query, "operation", filter.operation);
  AddParam(query, "outcome", filter.outcome);
  AddParam(query, "maxresults", std::to_string(std::clamp(page_size, 1, kMaxPageSize)));
  return "/management/audit" + query;
}

Status AuditList(CommandContext& ctx, const AuditFilterArgs& filter, int max_records) {
  if (max_records <= 0) return Fail(UsageError("--max must be at least 1"));
  CV_ASSIGN_OR_RETURN(std::string path, AuditQueryPath(filter, ctx.clock.NowUnix(), max_records));
  CV_ASSIGN_OR_RETURN(auto records, ctx.api.ManagementList(path, max_records));
  Print(ctx, json(records), AuditListView(records));
  return Ok();
}

Status AuditExport(CommandContext& ctx, const AuditExportArgs& args) {
  CV_ASSIGN_OR_RETURN(std::string path,
                      AuditQueryPath(args.filter, ctx.clock.NowUnix(), kMaxPageSize));
  std::unique_ptr<FileWriter> file;
  if (!args.file.empty()) {
    CV_ASSIGN_OR_RETURN(file, FileWriter::Create(args.file, kPrivateFileMode));
  }
  int64_t count = 0;
  int pages = 0;
  auto on_page = [&](std::vector<json>& records) -> Result<bool> {
    std::string lines;
    for (const auto& record : records) lines += JsonLine(record);
    if (file) {
      CV_RETURN_IF_ERROR(file->Write(lines));
    } else {
      ctx.out << lines << std::flush;
      if (!ctx.out) return Fail(ClientError("cannot write to standard output"));
    }
    count += static_cast<int64_t>(records.size());
    ++pages;
    // A one-page export is over before anyone could read a progress line.
    if (ctx.progress && pages > 1) {
      ctx.err << "\rexporting audit records: " << count << std::flush;
    }
    return true;
  };
  Status walked = ctx.api.ManagementPages(path, on_page);
  if (ctx.progress && pages > 1) ctx.err << "\n";  // end the progress line, also before an error
  CV_RETURN_IF_ERROR(walked);
  if (!file) return Ok();
  CV_RETURN_IF_ERROR(file->Commit());
  if (ctx.format == OutputFormat::kJson) {
    ctx.out << RenderJson({{"file", args.file}, {"records", count}});
  } else {
    ctx.err << "wrote " << count << " audit record" << (count == 1 ? "" : "s") << " to "
            << args.file << "\n";
  }
  return Ok();
}

void AddAuditCommands(CLI::App& app, CommandRunner& runner) {
  auto& audit = *app.add_subcommand(
      "audit",
      "Read the server's audit trail: who did what, when, and how it ended (administrators)");
  audit.require_subcommand(1);
  {
    auto filter = std::make_shared<AuditFilterArgs>();
    auto max = std::make_shared<int>(100);
    auto& cmd = *AddCommand(
        audit, "list",
        "Show audit records, oldest first: time, principal, operation, object, outcome, HTTP "
        "status and duration.\n"
        "Shows at most --max records; narrow with --from or the filters to see later ones.\n\n"
        "Examples:\n"
        "  certvault audit list --from PT1H\n"
        "  certvault audit list --outcome denied --from P7D --max 500\n"
        "  certvault audit list --principal ID --object 'certificates/web*' -o json");
    AddFilterOptions(cmd, *filter);
    cmd.add_option("--max", *max, "Show at most N records (default 100)")
        ->check(CLI::PositiveNumber);
    runner.Bind(
        cmd, [filter, max](CommandContext& ctx) { return AuditList(ctx, *filter, *max); }, false);
  }
  {
    auto args = std::make_shared<AuditExportArgs>();
    auto& cmd = *AddCommand(
        audit, "export",
        "Export every matching audit record as JSON lines (one JSON object per line, as the "
        "server sent it), following the list to its end.\n"
        "--file is written with mode 0600 and appears only once the export is complete; "
        "without it the lines go to standard output. --output does not apply to the lines.\n\n"
        "Examples:\n"
        "  certvault audit export --from P30D --file audit-30d.jsonl\n"
        "  certvault audit export --from 2025-01-01T00:00:00Z --to 2025-02-01T00:00:00Z \\\n"
        "      --outcome denied | jq -r .principal | sort | uniq -c");
    AddFilterOptions(cmd, args->filter);
    cmd.add_option("--file", args->file, "Write to this file instead of standard output");
    runner.Bind(
        cmd, [args](CommandContext& ctx) { return AuditExport(ctx, *args); }, false);
  }
}

}  // namespace certvault::cli
