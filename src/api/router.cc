#include "api/router.h"

#include <cstdlib>

namespace certvault::api {

namespace {

// Splits `path` on '/' (empty segments skipped) into at most `max` views; returns the number of
// segments, or max + 1 when there are more.
size_t Split(std::string_view path, std::string_view* out, size_t max) {
  size_t n = 0;
  size_t start = 0;
  while (start < path.size()) {
    if (path[start] == '/') {
      ++start;
      continue;
    }
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (n == max) return max + 1;
    out[n++] = path.substr(start, end - start);
    start = end;
  }
  return n;
}

bool IsCapture(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

void Router::Add(Route route) {
  std::string_view parts[kMaxSegments];
  const size_t n = Split(route.pattern, parts, kMaxSegments);
  if (n > kMaxSegments) std::abort();  // a route table bug, found at startup
  Pattern pattern;
  for (size_t i = 0; i < n; ++i) {
    const bool capture = IsCapture(parts[i]);
    pattern.segments.emplace_back(capture ? parts[i].substr(1, parts[i].size() - 2) : parts[i]);
    pattern.captures.push_back(capture);
    pattern.specificity += capture ? 0 : 1;
  }
  patterns_.push_back(std::move(pattern));
  routes_.push_back(std::move(route));
}

int Router::Find(std::string_view method, std::string_view path, bool* path_matched,
                 std::string_view* parts, size_t* part_count) const {
  const size_t n = Split(path, parts, kMaxSegments);
  *part_count = n;
  *path_matched = false;
  if (n > kMaxSegments) return -1;  // longer than any pattern
  int best = -1;
  int best_specificity = -1;
  for (size_t i = 0; i < routes_.size(); ++i) {
    const Pattern& pattern = patterns_[i];
    if (pattern.segments.size() != n) continue;
    bool matched = true;
    for (size_t k = 0; k < n && matched; ++k) {
      matched = pattern.captures[k] || pattern.segments[k] == parts[k];
    }
    if (!matched) continue;
    *path_matched = true;
    if (routes_[i].method != method) continue;
    if (pattern.specificity > best_specificity) {
      best_specificity = pattern.specificity;
      best = static_cast<int>(i);
    }
  }
  return best;
}

RouteMatch Router::Match(std::string_view method, std::string_view path) const {
  std::string_view parts[kMaxSegments];
  size_t n = 0;
  RouteMatch match;
  const int best = Find(method, path, &match.path_matched, parts, &n);
  if (best < 0) return match;
  match.route = &routes_[best];
  const Pattern& pattern = patterns_[best];
  for (size_t k = 0; k < n; ++k) {
    if (pattern.captures[k]) match.params[pattern.segments[k]] = std::string(parts[k]);
  }
  return match;
}

Access Router::AccessFor(std::string_view method, std::string_view path) const {
  std::string_view parts[kMaxSegments];
  size_t n = 0;
  bool path_matched = false;
  const int best = Find(method, path, &path_matched, parts, &n);
  return best >= 0 ? routes_[best].access : Access::kDataPlane;
}

}  // namespace certvault::api
