#pragma once
// AcmeClient: the request layer of an RFC 8555 client. It fetches the directory, signs every
// POST with the account key (a "jwk" header for newAccount, the account URL as "kid" after),
// keeps the Replay-Nonce of each response for the next request (asking newNonce when it has
// none), and turns problem documents into Errors:
//   - badNonce: retried at once with the fresh nonce, a bounded number of times;
//   - rateLimited, serverInternal, HTTP 429 and 5xx, no response at all: retryable Errors; a
//     Retry-After of a few seconds is waited out here (a bounded number of times), a longer one
//     is left to the caller through retry_after();
//   - any other problem: a terminal Error carrying the problem's detail.
//
// Thread safety: an AcmeClient is used by one thread at a time (one enrollment attempt).

#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "crypto/key.h"
#include "issuer/acme/transport.h"

namespace certvault::issuer::acme {

inline constexpr std::string_view kProblemPrefix = "urn:ietf:params:acme:error:";

struct Directory {
  std::string new_nonce;
  std::string new_account;
  std::string new_order;
  std::string terms_of_service;
  bool external_account_required = false;
};

// The short problem type of an error response ("badNonce" for
// urn:ietf:params:acme:error:badNonce); empty if the body is no ACME problem document.
std::string ProblemType(const HttpResponse& response);
// The Error for an error response (status >= 400), as the header comment describes. Terminal
// errors are BadRequest with code "AcmeError" and the problem's short type as inner code.
Error ProblemError(const HttpResponse& response);
// A problem document already parsed (an order's, authorization's or challenge's "error").
std::string DescribeProblem(const nlohmann::json& problem);

// Parses a JSON object body; a non-object or malformed body is a terminal error naming `what`.
Result<nlohmann::json> JsonObjectBody(const HttpResponse& response, std::string_view what);

class AcmeClient {
 public:
  struct Options {
    int max_bad_nonce_retries = 5;
    int max_wait_retries = 2;      // Retry-After waits taken here per request
    int64_t max_inline_wait = 10;  // seconds; a longer Retry-After goes back to the caller
    int64_t request_timeout_ms = 30000;
    // Give up (retryably) at this time.
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    // How to wait; tests pass one that does not.
    std::function<void(std::chrono::milliseconds)> sleep;
  };

  // `transport` must outlive the client.
  AcmeClient(HttpTransport& transport, Options options);

  Result<Directory> LoadDirectory(const std::string& url);
  const Directory& directory() const { return directory_; }

  void SetAccountKey(crypto::PrivateKey key) { account_key_ = std::move(key); }
  void SetAccountUrl(std::string url) { account_url_ = std::move(url); }
  const std::string& account_url() const { return account_url_; }

  // A signed POST of `payload` (JSON text). `use_jwk`: identify the account by its public key
  // (newAccount) instead of its URL. REQUIRES: SetAccountKey, and SetAccountUrl unless use_jwk.
  Result<HttpResponse> Post(const std::string& url, std::string_view payload, bool use_jwk = false);
  // POST-as-GET (an empty payload).
  Result<HttpResponse> PostAsGet(const std::string& url, std::string_view accept = {});

  // The Retry-After (seconds) of the last retryable failure that was not waited out here.
  std::optional<int64_t> retry_after() const { return retry_after_; }

 private:
  Result<HttpResponse> Send(HttpRequest request);
  Result<std::string> TakeNonce();
  Result<HttpResponse> SignedPost(const std::string& url, std::string_view payload, bool use_jwk,
                                  std::string_view accept);
  void Sleep(std::chrono::milliseconds d) const;

  HttpTransport& transport_;
  Options options_;
  Directory directory_;
  std::optional<crypto::PrivateKey> account_key_;
  std::string account_url_;
  std::string nonce_;
  std::optional<int64_t> retry_after_;
};

}  // namespace certvault::issuer::acme
