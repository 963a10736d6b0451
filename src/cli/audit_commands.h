#pragma once
// `certvault audit ...`: the server's audit trail (management API: GET /management/audit), shown
// as a table (list) or exported as JSON lines (export).

#include <string>

#include "cli/command_context.h"
#include "common/result.h"

namespace CLI {
class App;
}

namespace certvault::cli {

class CommandRunner;

// The filters both commands take; empty strings match everything.
struct AuditFilterArgs {
  std::string from;  // WHEN (when.h), durations counted back from now; inclusive
  std::string to;    // the same; exclusive
  std::string principal;
  std::string object;  // exact, or a prefix ending in '*'
  std::string operation;
  std::string outcome;  // success, denied, throttled or failed
};

// The path and query of the first page: from/to as Unix seconds, filters percent-encoded, and
// `page_size` as maxresults. Fails with UsageError for a malformed WHEN, an unknown outcome or
// --from not before --to.
Result<std::string> AuditQueryPath(const AuditFilterArgs& filter, int64_t now, int page_size);

// Shows at most `max_records` records (following nextLink), oldest first.
Status AuditList(CommandContext& ctx, const AuditFilterArgs& filter, int max_records);

struct AuditExportArgs {
  AuditFilterArgs filter;
  std::string file;  // "" = ctx.out
};
// Writes every matching record, one compact JSON object per line. A file is created with mode
// 0600 and appears only when the export is complete.
Status AuditExport(CommandContext& ctx, const AuditExportArgs& args);

void AddAuditCommands(CLI::App& app, CommandRunner& runner);

}  // namespace certvault::cli
