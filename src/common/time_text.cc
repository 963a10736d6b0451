#include "common/time_text.h"

#include <chrono>
#include <cstdio>

namespace certvault {

namespace {

// Reads exactly `digits` decimal digits at `pos`, advancing it; -1 when they are not there.
int ReadNumber(std::string_view text, size_t& pos, size_t digits) {
  if (pos + digits > text.size()) return -1;
  int value = 0;
  for (size_t i = 0; i < digits; ++i) {
    char c = text[pos + i];
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  pos += digits;
  return value;
}

bool Expect(std::string_view text, size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

}  // namespace

Result<int64_t> ParseRfc3339(std::string_view text) {
  auto bad = [&] {
    return Fail(Error::BadParameter("'" + std::string(text.substr(0, 64)) +
                                    "' is not an RFC 3339 time such as 2025-01-31T12:00:00Z"));
  };
  size_t pos = 0;
  int year = ReadNumber(text, pos, 4);
  if (year < 0 || !Expect(text, pos, '-')) return bad();
  int month = ReadNumber(text, pos, 2);
  if (month < 0 || !Expect(text, pos, '-')) return bad();
  int day = ReadNumber(text, pos, 2);
  if (day < 0) return bad();
  const std::chrono::year_month_day date{std::chrono::year(year),
                                         std::chrono::month(static_cast<unsigned>(month)),
                                         std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok()) return bad();
  const int64_t days = std::chrono::sys_days(date).time_since_epoch().count();
  if (pos == text.size()) return days * 86400;

  if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') return bad();
  ++pos;
  int hour = ReadNumber(text, pos, 2);
  if (hour < 0 || hour > 23 || !Expect(text, pos, ':')) return bad();
  int minute = ReadNumber(text, pos, 2);
  if (minute < 0 || minute > 59 || !Expect(text, pos, ':')) return bad();
  int second = ReadNumber(text, pos, 2);
  if (second < 0 || second > 60) return bad();  // 60: a leap second
  if (pos < text.size() && text[pos] == '.') {
    size_t start = ++pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == start) return bad();
  }
  int64_t offset = 0;
  if (Expect(text, pos, 'Z') || Expect(text, pos, 'z')) {
    // UTC
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '+' ? 1 : -1;
    ++pos;
    int oh = ReadNumber(text, pos, 2);
    if (oh < 0 || oh > 23 || !Expect(text, pos, ':')) return bad();
    int om = ReadNumber(text, pos, 2);
    if (om < 0 || om > 59) return bad();
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return bad();  // a time without a zone is ambiguous
  }
  if (pos != text.size()) return bad();
  return days * 86400 + hour * 3600 + minute * 60 + second - offset;
}

std::string FormatRfc3339Millis(int64_t unix_ms) {
  const int64_t seconds = unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000;
  const int64_t millis = unix_ms - seconds * 1000;
  const std::chrono::sys_seconds tp{std::chrono::seconds(seconds)};
  const auto day = std::chrono::floor<std::chrono::days>(tp);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{tp - day};
  char out[40];
  snprintf(out, sizeof(out), "%04d-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
           static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
           static_cast<unsigned>(ymd.day()), static_cast<long long>(hms.hours().count()),
           static_cast<long long>(hms.minutes().count()),
           static_cast<long long>(hms.seconds().count()), static_cast<long long>(millis));
  return out;
}

}  // namespace certvault
