#pragma once
// The HTTP exchanges the ACME client makes, behind a small interface so that tests can script a
// server's answers. The libcurl implementation verifies the server's TLS certificate against a
// CA bundle (or the system's trust store) and caps response bodies.
//
// Thread safety: Send may be called from several threads at once.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace certvault::issuer::acme {

struct HttpRequest {
  std::string method;  // GET, HEAD or POST
  std::string url;
  std::string body;
  std::string content_type;  // sent with a body
  std::string accept;        // empty: none
  int64_t timeout_ms = 30000;
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::string content_type;  // without parameters, lower case
  std::string location;
  std::string replay_nonce;
  // Seconds the server asks the client to wait (Retry-After, as delay-seconds or an HTTP date).
  std::optional<int64_t> retry_after;
  std::vector<std::string> links;  // raw Link header values
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Fails (Unavailable, retryable) only when no HTTP response came back: DNS, connection, TLS,
  // timeout, or a body over the cap. Any HTTP status is a response.
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

// `ca_bundle_path`: PEM trust anchors for the server's certificate; empty: the system's.
std::unique_ptr<HttpTransport> NewCurlTransport(std::string ca_bundle_path);

}  // namespace certvault::issuer::acme
