#pragma once
// ASCII case folding, as names, hosts and header names compare (and as SQLite's NOCASE does):
// A-Z fold to a-z, every other byte stays as it is, whatever the locale.

#include <cstddef>
#include <string>
#include <string_view>

namespace certvault {

inline char AsciiLower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

// The last `max_bytes` of `text` as one printable line, for error messages built from a child
// process's output: line breaks become "; ", tabs spaces, control characters and invalid UTF-8
// '?'; "..." in front when the start was cut off.
std::string OneLineTail(std::string_view text, size_t max_bytes);

}  // namespace certvault
