#pragma once
// Http01Responder: answers ACME http-01 validation requests (RFC 8555 section 8.3).
//
// The ACME issuer publishes token -> key authorization pairs here while a challenge is being
// validated; a small plain-HTTP listener answers `GET /.well-known/acme-challenge/{token}` with
// the key authorization (application/octet-stream) and everything else with 404. The CA reaches
// it on port 80 of the names being validated, so the server runs it on the address given by
// `--acme-http-listen` (or port 80 is forwarded to it).
//
// Thread safety: every method may be called from any thread. The listener runs on its own
// thread. Entries older than a day are dropped, so abandoned enrollments leave nothing behind.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace certvault::issuer::acme {

class Http01Responder {
 public:
  Http01Responder();
  ~Http01Responder();  // stops the listener
  Http01Responder(const Http01Responder&) = delete;
  Http01Responder& operator=(const Http01Responder&) = delete;

  // Starts listening on "host:port" (an IP literal or "localhost"; "[::1]:80" for IPv6; ":80"
  // for every IPv4 address, "[::]:80" for every address). Port 0 picks a free port. Returns the
  // bound port. Fails with BadParameter for a malformed address, Unavailable if it cannot bind,
  // Conflict if started.
  Result<int> Start(std::string_view listen);
  // Closes the listener and open connections and joins the thread. Idempotent.
  void Stop();

  void Put(std::string_view token, std::string_view key_authorization);
  void Remove(std::string_view token);
  std::optional<std::string> Get(std::string_view token) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace certvault::issuer::acme
