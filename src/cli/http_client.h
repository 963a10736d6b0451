#pragma once
// HttpClient: the command-line client's only door to the network.
//
// The interface is deliberately small (one blocking call) so that command logic can be tested
// against a fake that records requests and replays canned responses. Implementations need not be
// thread-safe; the client is single-threaded.

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace certvault::cli {

struct HttpRequest {
  std::string method;  // GET, PUT, POST, PATCH, DELETE
  std::string url;     // absolute https:// URL
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent as is; empty means no body
  // Optional curl CONNECT_TO entry "HOST:PORT:CONNECT_HOST:CONNECT_PORT": resolve the URL's host
  // by connecting elsewhere while TLS still verifies the URL's host.
  std::string connect_to;
  // Optional: polled while the request is in flight (about once a second); returning true
  // abandons it, and Send fails with "ConnectionFailed" ("request cancelled"). For long polls
  // that a signal must be able to cut short.
  std::function<bool()> cancelled;
};

struct HttpResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Performs `request`. An HTTP error status is a successful call (the caller reads the status);
  // the call fails only when no response arrived (connection refused, TLS failure, timeout), with
  // code "ConnectionFailed" and a message naming the URL.
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

struct CurlOptions {
  std::string ca_file;  // PEM bundle to trust; empty uses the system store
  long timeout_seconds = 60;
};

// A libcurl-backed client. TLS peer and host verification are always on.
std::unique_ptr<HttpClient> NewCurlHttpClient(CurlOptions options);

}  // namespace certvault::cli
