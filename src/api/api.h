#pragma once
// Api: turns one HttpRequest into one HttpResponse. Resolves the vault from the Host header,
// authenticates the bearer token, finds the route, runs the handler and renders any error in
// Key Vault's envelope, in exactly one place. Thread-safe; the transport calls it from many
// threads.

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api/handlers.h"
#include "api/http.h"
#include "api/router.h"

namespace certvault::api {

struct ApiOptions {
  std::string dns_suffix = "localhost";
  size_t max_body_bytes = 1024 * 1024;
  std::function<void()> vaults_changed;
};

class Api {
 public:
  Api(vault::VaultService& vault, auth::TokenService& tokens, ApiOptions options);

  // Called once the request line and headers are read, before the body. Returns a response to
  // send instead of reading the body: the Key Vault challenge (401) for a request without a
  // token, or 413 when the declared body is too large.
  std::optional<HttpResponse> BeforeBody(const HttpRequest& head) const;

  HttpResponse Handle(HttpRequest& request) const;

  const ApiOptions& options() const { return options_; }

 private:
  HttpResponse Challenge(const HttpRequest& request, const Error& error) const;
  HttpResponse ErrorResponse(const Error& error) const;
  // The vault a Host header addresses, or an error.
  Result<std::string> VaultForHost(std::string_view host) const;

  ApiOptions options_;
  mutable Services services_;
  Router router_;
};

}  // namespace certvault::api
