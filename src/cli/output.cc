#include "cli/output.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <nlohmann/json.hpp>

#include "cli/config.h"

namespace certvault::cli {

using nlohmann::json;

Result<OutputFormat> ParseOutputFormat(std::string_view text) {
  if (text == "table" || text.empty()) return OutputFormat::kTable;
  if (text == "json") return OutputFormat::kJson;
  return Fail(UsageError("--output must be json or table, not '" + std::string(text) + "'"));
}

std::string RenderJson(const json& j) {
  // Replace rather than throw on invalid UTF-8: output must never abort the command.
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string RenderTable(const Row& headers, const std::vector<Row>& rows) {
  std::vector<size_t> widths(headers.size(), 0);
  auto measure = [&](const Row& row) {
    for (size_t i = 0; i < widths.size() && i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  };
  Row upper = headers;
  for (auto& h : upper) {
    std::transform(h.begin(), h.end(), h.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  }
  measure(upper);
  for (const auto& row : rows) measure(row);
  std::string out;
  auto emit = [&](const Row& row) {
    std::string line;
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      line += cell;
      if (i + 1 < widths.size()) line += std::string(widths[i] - cell.size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  emit(upper);
  for (const auto& row : rows) emit(row);
  return out;
}

std::string RenderFields(const Fields& fields) {
  size_t width = 0;
  for (const auto& [key, value] : fields) {
    if (!value.empty()) width = std::max(width, key.size());
  }
  std::string out;
  for (const auto& [key, value] : fields) {
    if (value.empty()) continue;
    out += key + std::string(width - key.size() + 2, ' ') + value + "\n";
  }
  return out;
}

std::string FormatTime(int64_t unix_seconds, bool date_only) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return std::to_string(unix_seconds);
  char buf[32];
  std::strftime(buf, sizeof buf, date_only ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string TimeField(const json& j, std::string_view key, bool date_only) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return "";
  return FormatTime(it->get<int64_t>(), date_only);
}

std::string TextField(const json& j, std::string_view key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_boolean()) return it->get<bool>() ? "true" : "false";
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return it->dump();
}

}  // namespace certvault::cli
