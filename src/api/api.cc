#include "api/api.h"

#include <arpa/inet.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>

#include "api/render.h"
#include "common/log.h"
#include "common/names.h"
#include "crypto/encoding.h"

namespace certvault::api {

namespace {

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string BearerToken(std::string_view authorization) {
  constexpr std::string_view kPrefix = "bearer ";
  if (authorization.size() <= kPrefix.size()) return {};
  if (Lower(std::string(authorization.substr(0, kPrefix.size()))) != kPrefix) return {};
  std::string_view token = authorization.substr(kPrefix.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  return std::string(token);
}

// Request ids only need to be unique, not secret: a random per-process prefix and a counter
// avoid a call into the RNG on every request.
std::string NewRequestId() {
  static const std::string prefix = crypto::NewId().substr(0, 16);
  static std::atomic<uint64_t> counter{0};
  char suffix[17];
  snprintf(suffix, sizeof(suffix), "%016llx",
           static_cast<unsigned long long>(counter.fetch_add(1, std::memory_order_relaxed)));
  return prefix + suffix;
}

}  // namespace

Api::Api(vault::VaultService& vault, auth::TokenService& tokens, ApiOptions options)
    : options_(std::move(options)),
      services_{vault, tokens, options_.dns_suffix, options_.vaults_changed},
      router_(BuildRouter(services_)) {}

Result<std::string> Api::VaultForHost(std::string_view host_header) const {
  const std::string host = Lower(SplitHostHeader(host_header).host);
  if (host.empty() || host == options_.dns_suffix || IsIpLiteral(host))
    return std::string("default");
  const std::string suffix = "." + options_.dns_suffix;
  if (host.size() > suffix.size() &&
      host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0) {
    std::string vault = host.substr(0, host.size() - suffix.size());
    if (vault.find('.') == std::string::npos) return vault;
  }
  return Fail(
      Error::NotFound("VaultNotFound",
                      "the host " + host + " does not name a vault under ." + options_.dns_suffix));
}

HttpResponse Api::ErrorResponse(const Error& error) const {
  HttpResponse r;
  r.status = error.http_status();
  r.body = RenderError(error);
  return r;
}

HttpResponse Api::Challenge(const HttpRequest& request, const Error& error) const {
  HttpResponse r = ErrorResponse(error);
  const std::string authority = "https://" + options_.dns_suffix +
                                SplitHostHeader(request.Header("host")).port + "/certvault";
  r.headers.emplace_back("WWW-Authenticate", "Bearer authorization=\"" + authority +
                                                 "\", resource=\"https://" + options_.dns_suffix +
                                                 "\"");
  return r;
}

std::optional<HttpResponse> Api::BeforeBody(const HttpRequest& head) const {
  const RouteMatch match = router_.Match(head.method, head.path);
  const Access access = match.route ? match.route->access : Access::kDataPlane;
  if (access != Access::kPublic && head.Header("authorization").empty()) {
    return Challenge(head,
                     Error::Unauthorized("AKV10000: Request is missing a Bearer or PoP token."));
  }
  return std::nullopt;
}

HttpResponse Api::Handle(HttpRequest& request) const {
  RequestContext ctx;
  ctx.request_id = NewRequestId();
  ctx.base_url = "https://" + std::string(request.Header("host"));
  const RouteMatch match = router_.Match(request.method, request.path);
  const Access access = match.route ? match.route->access : Access::kDataPlane;

  HttpResponse response = [&]() -> HttpResponse {
    if (access != Access::kPublic) {
      const std::string token = BearerToken(request.Header("authorization"));
      if (token.empty()) {
        return Challenge(
            request, Error::Unauthorized("AKV10000: Request is missing a Bearer or PoP token."));
      }
      auto caller = services_.tokens.Verify(token);
      if (!caller) return Challenge(request, caller.error());
      ctx.caller = *caller;
    }
    if (access == Access::kDataPlane) {
      auto vault = VaultForHost(request.Header("host"));
      if (!vault) return ErrorResponse(vault.error());
      ctx.vault = *vault;
    }
    if (!match.route) {
      if (match.path_matched) {
        return ErrorResponse(Error(ErrorKind::kMethodNotAllowed, "MethodNotAllowed",
                                   "method " + request.method + " is not allowed here"));
      }
      return ErrorResponse(Error::NotFound("NotFound", "no operation at " + request.path));
    }
    ctx.params = match.params;
    if (auto it = ctx.params.find("name"); it != ctx.params.end()) {
      if (auto ok = ValidateObjectName(it->second, "object"); !ok) {
        return ErrorResponse(ok.error());
      }
    }
    try {
      auto result = match.route->handler(ctx, request);
      if (!result) return ErrorResponse(result.error());
      return std::move(*result);
    } catch (const std::exception& e) {
      log::Error("handler " + match.route->operation + " threw: " + e.what());
      return ErrorResponse(Error::Internal("internal error; request id " + ctx.request_id));
    }
  }();
  response.headers.emplace_back("x-ms-request-id", ctx.request_id);
  if (auto client_id = request.Header("x-ms-client-request-id"); !client_id.empty()) {
    response.headers.emplace_back("x-ms-client-request-id", std::string(client_id));
  }
  return response;
}

}  // namespace certvault::api
