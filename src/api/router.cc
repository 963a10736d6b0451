#include "api/router.h"

namespace certvault::api {

namespace {

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < path.size()) {
    if (path[start] == '/') {
      ++start;
      continue;
    }
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    out.emplace_back(path.substr(start, end - start));
    start = end;
  }
  return out;
}

bool IsCapture(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// Number of literal segments: more literals = more specific.
int Specificity(const std::vector<std::string>& pattern) {
  int n = 0;
  for (const auto& s : pattern) n += IsCapture(s) ? 0 : 1;
  return n;
}

bool MatchSegments(const std::vector<std::string>& pattern, const std::vector<std::string>& path,
                   std::map<std::string, std::string>* params) {
  if (pattern.size() != path.size()) return false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (IsCapture(pattern[i])) {
      if (params) (*params)[pattern[i].substr(1, pattern[i].size() - 2)] = path[i];
    } else if (pattern[i] != path[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

void Router::Add(Route route) {
  segments_.push_back(Split(route.pattern));
  routes_.push_back(std::move(route));
}

RouteMatch Router::Match(std::string_view method, std::string_view path) const {
  const std::vector<std::string> parts = Split(path);
  RouteMatch best;
  int best_specificity = -1;
  for (size_t i = 0; i < routes_.size(); ++i) {
    std::map<std::string, std::string> params;
    if (!MatchSegments(segments_[i], parts, &params)) continue;
    const int specificity = Specificity(segments_[i]);
    if (routes_[i].method != method) {
      best.path_matched = true;
      continue;
    }
    if (specificity > best_specificity) {
      best_specificity = specificity;
      best.route = &routes_[i];
      best.params = std::move(params);
    }
  }
  if (best.route) best.path_matched = true;
  return best;
}

Access Router::AccessFor(std::string_view method, std::string_view path) const {
  RouteMatch m = Match(method, path);
  return m.route ? m.route->access : Access::kDataPlane;
}

}  // namespace certvault::api
