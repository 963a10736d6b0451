#pragma once
// Api: turns one HttpRequest into one HttpResponse. Resolves the vault from the Host header,
// authenticates the bearer token, throttles per caller and vault, authorises the operation
// against the caller's roles, runs the handler, renders any error in Key Vault's envelope (in
// exactly one place) and records the request in the audit trail. A response is handed back only
// after its audit record is durable: there is no unaudited access. Thread-safe; the transport
// calls it from many threads.

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api/handlers.h"
#include "api/http.h"
#include "api/rate_limiter.h"
#include "api/router.h"
#include "auth/audit_writer.h"
#include "auth/rbac.h"

namespace certvault::api {

struct ApiOptions {
  std::string dns_suffix = "localhost";
  size_t max_body_bytes = 1024 * 1024;
  // Requests per second and burst per caller (principal, or source address before a token) and
  // vault; a rate <= 0 turns throttling off.
  double rate_limit = 1000;
  double rate_burst = 2000;
};

// Receives the response, on any thread, once.
using Respond = std::function<void(HttpResponse)>;

class Api {
 public:
  Api(Services services, auth::Authorizer& authorizer, auth::AuditWriter& audit,
      ApiOptions options);

  // Called once the request line and headers are read, before the body. Returns a response to
  // send instead of reading the body: the Key Vault challenge (401) for a request without a
  // token. Such answers, and the transport's own (413), go through Answer() to be audited.
  std::optional<HttpResponse> BeforeBody(const HttpRequest& head) const;

  // Handles `request`; `respond` gets the response after its audit record is written.
  void Handle(HttpRequest& request, Respond respond) const;

  // Audits a response the transport or BeforeBody produced without running a handler, then
  // passes it to `respond`.
  void Answer(const HttpRequest& request, HttpResponse response, Respond respond) const;

  const ApiOptions& options() const { return options_; }

 private:
  HttpResponse Run(HttpRequest& request, RequestContext& ctx, const Route*& route) const;
  HttpResponse Challenge(const HttpRequest& request, const Error& error) const;
  // The vault a Host header addresses, or an error.
  Result<std::string> VaultForHost(std::string_view host) const;
  void Audit(const HttpRequest& request, const RequestContext& ctx, const Route* route,
             HttpResponse response, Respond respond) const;

  ApiOptions options_;
  mutable Services services_;
  auth::Authorizer& authorizer_;
  auth::AuditWriter& audit_;
  mutable RateLimiter limiter_;
  Router router_;
};

}  // namespace certvault::api
