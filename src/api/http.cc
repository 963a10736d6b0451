#include "api/http.h"

#include <cctype>

namespace certvault::api {

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

std::string_view HttpRequest::Query(const std::string& key) const {
  auto it = query.find(key);
  return it == query.end() ? std::string_view() : std::string_view(it->second);
}

HostAndPort SplitHostHeader(std::string_view h) {
  if (!h.empty() && h.front() == '[') {  // [::1]:8443
    const size_t end = h.find(']');
    if (end == std::string_view::npos) return {std::string(h.substr(1)), ""};
    return {std::string(h.substr(1, end - 1)), std::string(h.substr(end + 1))};
  }
  const size_t colon = h.find(':');
  if (colon == std::string_view::npos) return {std::string(h), ""};
  return {std::string(h.substr(0, colon)), std::string(h.substr(colon))};
}

std::string PercentDecode(std::string_view s, bool plus_as_space, bool* ok) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
        if (ok) *ok = false;
        return out;
      }
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

namespace {
void ParsePairs(std::string_view s, std::map<std::string, std::string>& out, bool* ok) {
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find('&', start);
    if (end == std::string_view::npos) end = s.size();
    std::string_view pair = s.substr(start, end - start);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      std::string key = PercentDecode(pair.substr(0, eq), true, ok);
      std::string value =
          eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1), true, ok);
      out.emplace(std::move(key), std::move(value));
    }
    start = end + 1;
  }
}
}  // namespace

bool ParseTarget(std::string_view target, std::string& path,
                 std::map<std::string, std::string>& query) {
  bool ok = true;
  const size_t q = target.find('?');
  path = PercentDecode(target.substr(0, q), false, &ok);
  if (q != std::string_view::npos) ParsePairs(target.substr(q + 1), query, &ok);
  return ok;
}

std::map<std::string, std::string> ParseForm(std::string_view body) {
  std::map<std::string, std::string> out;
  bool ok = true;
  ParsePairs(body, out, &ok);
  return out;
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace certvault::api
