#pragma once
// Generic rendering for the client's two output formats: JSON (the server's JSON, pretty-printed)
// and compact human tables. Pure functions that return text, so tests compare strings.

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace certvault::cli {

enum class OutputFormat { kTable, kJson };

// "json" or "table"; fails with UsageError otherwise.
Result<OutputFormat> ParseOutputFormat(std::string_view text);

// Two-space indented JSON and a final newline.
std::string RenderJson(const nlohmann::json& j);

// Column table: a header row in upper case, then rows; columns padded to the widest cell and
// separated by two spaces; no trailing spaces. Missing cells render empty.
using Row = std::vector<std::string>;
std::string RenderTable(const Row& headers, const std::vector<Row>& rows);

// "key   value" lines for one object; fields with an empty value are left out.
using Fields = std::vector<std::pair<std::string, std::string>>;
std::string RenderFields(const Fields& fields);

// Unix seconds as "2025-01-31T12:00:00Z", or as "2025-01-31" when `date_only`.
std::string FormatTime(int64_t unix_seconds, bool date_only = false);

// Reads a Unix-seconds field of `j` ("" when absent or not a number).
std::string TimeField(const nlohmann::json& j, std::string_view key, bool date_only = false);
// A scalar field as text ("" when absent); booleans read "true"/"false".
std::string TextField(const nlohmann::json& j, std::string_view key);

}  // namespace certvault::cli
