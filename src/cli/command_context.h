#pragma once
// What a client command runs with: the server connection, the output format and streams, the
// clock that relative times count from, and the sleep for waiting. Commands are plain functions of
// a CommandContext and their arguments, so tests run them against a fake HttpClient and string
// streams.

#include <chrono>
#include <functional>
#include <iosfwd>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "cli/api_client.h"
#include "cli/output.h"
#include "common/clock.h"
#include "common/result.h"

namespace certvault::cli {

// The process's wall clock, the default of CommandContext::clock.
const Clock& SystemTime();

struct CommandContext {
  ApiClient& api;
  OutputFormat format = OutputFormat::kTable;
  std::ostream& out;      // the command's result
  std::ostream& err;      // progress and notes for a human
  bool progress = false;  // err is a terminal: show progress while waiting
  std::function<void(std::chrono::milliseconds)> sleep;
  const Clock& clock = SystemTime();  // "now" for arguments like --from PT1H
  std::istream* in = nullptr;         // standard input (--password-stdin); nullptr: std::cin
  // The exit status of a command that succeeded but wants a status other than 0 (`worker --once`
  // that got no job exits 3). Failures are reported as errors instead.
  int exit_code = 0;
};

// Prints `j` pretty-printed in JSON mode, else `table` (already rendered).
void Print(CommandContext& ctx, const nlohmann::json& j, const std::string& table);

// Tags given as "k=v" items, as a JSON object; fails with UsageError for an item without "=" or
// with an empty key.
Result<nlohmann::json> ParseTags(const std::vector<std::string>& items);

// Reports `error` on `err` and returns the process exit status: 2 for usage errors, else 1.
// Errors from the server show their code ("error: CertificateNotFound: ..."); local ones do not.
int ReportError(const Error& error, std::ostream& err);

}  // namespace certvault::cli
