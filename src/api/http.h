#pragma once
// Plain HTTP request and response types. The transport (https_server.cc) fills and sends them;
// handlers never see Boost.Beast.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace certvault::api {

struct HttpRequest {
  std::string method;                                        // upper case
  std::string path;                                          // percent-decoded, without the query
  std::map<std::string, std::string> query;                  // decoded; keys as sent
  std::vector<std::pair<std::string, std::string>> headers;  // names lower case
  std::string body;
  std::string remote_address;
  // When the request's header was read: for the audit record's time and duration.
  std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now();
  int64_t received_unix_ms = 0;

  // The first header named `name` (lower case), or "".
  std::string_view Header(std::string_view name) const;
  std::string_view Query(const std::string& key) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Set by a handler that answers later (a long poll): called once with the function that sends
  // the real response, which may be called from any thread. The other fields are then unused.
  std::function<void(std::function<void(HttpResponse)>)> defer;
};

// A Host header value split: "[::1]:8443" gives host "::1" and port ":8443"; without a port,
// port is empty.
struct HostAndPort {
  std::string host;
  std::string port;  // with its colon, or empty
};
HostAndPort SplitHostHeader(std::string_view host_header);

// Splits "a/b?x=1&y=%20" into a decoded path and query map. Returns false for malformed
// percent-encoding.
bool ParseTarget(std::string_view target, std::string& path,
                 std::map<std::string, std::string>& query);
std::string PercentDecode(std::string_view s, bool plus_as_space, bool* ok);
// Encodes all but unreserved characters (RFC 3986), for query values.
std::string PercentEncode(std::string_view s);
// Parses an application/x-www-form-urlencoded body.
std::map<std::string, std::string> ParseForm(std::string_view body);

}  // namespace certvault::api
