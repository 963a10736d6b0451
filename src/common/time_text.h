#pragma once
// Times as text: RFC 3339 in and out, for the audit trail and the command-line client.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace certvault {

// Parses an RFC 3339 time ("2025-01-31T12:00:00Z", "2025-01-31T14:00:00.250+02:00"; 't', 'z'
// and a space for 'T' also pass) or a bare date ("2025-01-31", midnight UTC) into Unix seconds.
// Fractions of a second are dropped. Fails with BadParameter.
Result<int64_t> ParseRfc3339(std::string_view text);

// "2026-11-23T10:00:00.123Z" for Unix milliseconds.
std::string FormatRfc3339Millis(int64_t unix_ms);

}  // namespace certvault
