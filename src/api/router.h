#pragma once
// The route table: method + path pattern -> handler. Patterns are "/"-separated segments where
// "{name}" captures one segment; literal segments win over captures, so "/certificates/contacts"
// is found before "/certificates/{name}". A pattern ending in "/" also matches the path without
// it and vice versa (the Azure SDK asks for "/certificates/{name}/" for the latest version).

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"
#include "auth/token_service.h"
#include "common/result.h"

namespace certvault::api {

// What a handler knows about the request besides its text.
struct RequestContext {
  std::string request_id;
  std::string vault;     // resolved from the Host header; empty for non-vault routes
  std::string base_url;  // "https://host[:port]" as the caller addressed the server
  auth::Caller caller;
  std::map<std::string, std::string> params;  // path captures
  // The object the audit record names, when the handler knows better than the path (an id the
  // server made); empty: derived from the path.
  std::string object;

  const std::string& Param(const std::string& name) const { return params.at(name); }
};

using Handler = std::function<Result<HttpResponse>(RequestContext&, const HttpRequest&)>;

enum class Access {
  kPublic,     // no token (token endpoint, discovery, health)
  kDataPlane,  // a token and a vault addressed by host name
  kManagement  // a token; server-wide
};

struct Route {
  std::string method;
  std::string pattern;
  std::string operation;  // stable name for audit and metrics, e.g. "certificates.get"
  Access access;
  Handler handler;
};

struct RouteMatch {
  const Route* route = nullptr;
  std::map<std::string, std::string> params;
  bool path_matched = false;  // some route has this path (for 405 vs 404)
};

class Router {
 public:
  // REQUIRES: the pattern has at most kMaxSegments segments.
  void Add(Route route);
  RouteMatch Match(std::string_view method, std::string_view path) const;
  // The access level of the route `path` would reach with any method (kDataPlane if none).
  Access AccessFor(std::string_view method, std::string_view path) const;

  static constexpr size_t kMaxSegments = 16;

 private:
  struct Pattern {
    std::vector<std::string> segments;  // a capture's segment holds its name, without braces
    std::vector<bool> captures;         // parallel to segments
    int specificity = 0;                // literal segments: more literals = more specific
  };
  // Finds the route without building its captures (Match runs on every request, twice).
  // Sets *path_matched when some route has this path. Returns the index of the route, or -1.
  int Find(std::string_view method, std::string_view path, bool* path_matched,
           std::string_view* parts, size_t* part_count) const;

  std::vector<Route> routes_;
  std::vector<Pattern> patterns_;  // parallel to routes_
};

}  // namespace certvault::api
