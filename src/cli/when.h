#pragma once
// WHEN arguments: the points in time commands take (--secret-expires, --from, --to).
//
// One parser for every command so that they all accept the same forms: an RFC 3339 time or date
// (ParseRfc3339 in common/time_text.h, as the server reads them), Unix seconds, or an ISO 8601
// duration (model::ParseIsoDuration) counted from now, forward or back depending on the option.

#include <cstdint>
#include <string_view>

#include "common/result.h"

namespace certvault::cli {

// Which way a duration counts from now.
enum class DurationCounts { kForward, kBack };

// A WHEN argument as Unix seconds: an RFC 3339 time ("2025-01-31T14:00:00+02:00"; fractions of a
// second are dropped) or date ("2025-01-31", midnight UTC), Unix seconds (digits only), or an
// ISO 8601 duration ("P90D", "PT1H") added to `now` (kForward: "in 90 days") or subtracted from
// it (kBack: "an hour ago"). Fails with UsageError naming `option` and the accepted forms.
Result<int64_t> ParseWhen(std::string_view text, int64_t now, DurationCounts counts,
                          std::string_view option);

// A length of time (--timeout, --validity) as seconds: an ISO 8601 duration ("PT5M", "P30D", any
// case) or whole seconds ("300"). Fails with UsageError naming `option` unless it is between
// `min_seconds` and `max_seconds`.
Result<int64_t> ParseDurationArg(std::string_view text, std::string_view option,
                                 int64_t min_seconds = 1, int64_t max_seconds = INT64_MAX);

}  // namespace certvault::cli
