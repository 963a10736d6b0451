#include "cli/when.h"

#include <cctype>
#include <string>

#include "cli/config.h"
#include "common/time_text.h"
#include "model/codec.h"

namespace certvault::cli {
namespace {

bool AllDigits(std::string_view text) {
  if (text.empty() || text.size() > 12) return false;  // 12 digits reach the year 33658
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

Result<int64_t> ParseWhen(std::string_view text, int64_t now, DurationCounts counts,
                          std::string_view option) {
  auto usage = [&] {
    const char* example =
        counts == DurationCounts::kForward ? "P90D (in 90 days)" : "PT1H (an hour ago)";
    return Fail(UsageError(std::string(option) + ": '" + std::string(text.substr(0, 64)) +
                           "' is not a time; give an RFC 3339 time (2025-01-31T12:00:00Z), Unix "
                           "seconds or an ISO 8601 duration such as " +
                           example));
  };
  if (AllDigits(text)) return static_cast<int64_t>(std::stoll(std::string(text)));
  if (!text.empty() && (text[0] == 'P' || text[0] == 'p')) {
    std::string upper(text);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto seconds = model::ParseIsoDuration(upper);
    if (!seconds) return usage();
    return counts == DurationCounts::kForward ? now + *seconds : now - *seconds;
  }
  auto time = ParseRfc3339(text);
  if (!time) return usage();
  return *time;
}

Result<int64_t> ParseDurationArg(std::string_view text, std::string_view option,
                                 int64_t min_seconds, int64_t max_seconds) {
  int64_t seconds = -1;
  if (AllDigits(text)) {
    seconds = std::stoll(std::string(text));
  } else if (!text.empty() && (text[0] == 'P' || text[0] == 'p')) {
    std::string upper(text);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (auto parsed = model::ParseIsoDuration(upper)) seconds = *parsed;
  }
  if (seconds < 0) {
    return Fail(UsageError(std::string(option) + ": '" + std::string(text.substr(0, 64)) +
                           "' is not a duration; give an ISO 8601 duration such as PT5M or P30D, "
                           "or seconds"));
  }
  if (seconds < min_seconds || seconds > max_seconds) {
    std::string range = "at least " + std::to_string(min_seconds) + " s";
    if (max_seconds != INT64_MAX) range += " and at most " + std::to_string(max_seconds) + " s";
    return Fail(UsageError(std::string(option) + ": " + std::string(text.substr(0, 64)) + " is " +
                           std::to_string(seconds) + " s; it must be " + range));
  }
  return seconds;
}

}  // namespace certvault::cli
