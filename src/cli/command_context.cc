#include "cli/command_context.h"

#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/config.h"

namespace certvault::cli {

const Clock& SystemTime() {
  static const SystemClock clock;
  return clock;
}

void Print(CommandContext& ctx, const nlohmann::json& j, const std::string& table) {
  if (ctx.format == OutputFormat::kJson) {
    ctx.out << RenderJson(j);
  } else {
    ctx.out << table;
  }
  ctx.out.flush();
}

Result<nlohmann::json> ParseTags(const std::vector<std::string>& items) {
  nlohmann::json tags = nlohmann::json::object();
  for (const auto& item : items) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Fail(UsageError("--tags wants key=value items, got '" + item + "'"));
    }
    tags[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return tags;
}

int ReportError(const Error& error, std::ostream& err) {
  const std::string& code = error.code();
  bool local = code == "UsageError" || code == "ClientError" || code == "ConnectionFailed";
  err << "error: ";
  if (!local && !code.empty()) err << code << ": ";
  err << error.message() << "\n";
  err.flush();
  return code == "UsageError" ? 2 : 1;
}

}  // namespace certvault::cli
