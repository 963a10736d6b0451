#include "api/api.h"

#include <arpa/inet.h>

#include <algorithm>
#include <atomic>
#include <cstdio>

#include "api/decode.h"
#include "api/render.h"
#include "common/log.h"
#include "common/names.h"
#include "common/text.h"
#include "crypto/encoding.h"

namespace certvault::api {

namespace {

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// The token in an "Authorization: Bearer ..." value (a view into it), or empty.
std::string_view BearerToken(std::string_view authorization) {
  constexpr std::string_view kPrefix = "bearer ";
  if (authorization.size() <= kPrefix.size()) return {};
  for (size_t i = 0; i < kPrefix.size(); ++i) {
    if (AsciiLower(authorization[i]) != kPrefix[i]) return {};
  }
  std::string_view token = authorization.substr(kPrefix.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  return token;
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

// The answer to a handler that threw: logged with the operation, answered without the detail.
HttpResponse HandlerThrew(const Route& route, const RequestContext& ctx, const std::exception& e) {
  log::Error("handler " + route.operation + " threw: " + e.what());
  return ErrorAnswer(Error::Internal("internal error; request id " + ctx.request_id));
}

Error AuditUnavailable(std::string message) {
  return Error(ErrorKind::kUnavailable, "AuditUnavailable", std::move(message));
}

// The audit record's object: "{collection}/{name}[/{version}]" for the route's captures.
std::string ObjectOf(const Route* route, const std::map<std::string, std::string>& params) {
  if (route == nullptr) return {};
  std::vector<std::string_view> segments;
  std::string_view pattern = route->pattern;
  while (!pattern.empty()) {
    pattern.remove_prefix(1);
    const size_t slash = pattern.find('/');
    segments.push_back(pattern.substr(0, slash));
    if (slash == std::string_view::npos) break;
    pattern.remove_prefix(slash);
  }
  auto param = [&](const char* key) -> std::string {
    auto it = params.find(key);
    return it == params.end() ? std::string() : it->second;
  };
  if (auto name = param("name"); !name.empty()) {
    std::string object = std::string(segments.front()) + "/" + name;
    if (auto version = param("version"); !version.empty()) object += "/" + version;
    return object;
  }
  if (auto vault = param("vault"); !vault.empty()) return "vaults/" + vault;
  if (auto id = param("id"); !id.empty()) {
    // The collection is the segment before the id: /management/principals/{id}, /jobs/{id}.
    auto at = std::find(segments.begin(), segments.end(), "{id}");
    if (at != segments.begin() && at != segments.end()) return std::string(*(at - 1)) + "/" + id;
  }
  return {};
}

}  // namespace

Api::Api(Services services, auth::Authorizer& authorizer, auth::AuditWriter& audit,
         ApiOptions options)
    : options_(std::move(options)),
      services_(std::move(services)),
      authorizer_(authorizer),
      audit_(audit),
      limiter_(options_.rate_limit, options_.rate_burst),
      router_(BuildRouter(services_)) {}

Result<std::string> Api::VaultForHost(std::string_view host_header) const {
  const std::string host = AsciiLower(SplitHostHeader(host_header).host);
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

HttpResponse Api::Challenge(const HttpRequest& request, const Error& error) const {
  HttpResponse r = ErrorAnswer(error);
  const std::string authority = "https://" + options_.dns_suffix +
                                SplitHostHeader(request.Header("host")).port + "/certvault";
  r.headers.emplace_back("WWW-Authenticate", "Bearer authorization=\"" + authority +
                                                 "\", resource=\"https://" + options_.dns_suffix +
                                                 "\"");
  return r;
}

std::optional<HttpResponse> Api::BeforeBody(const HttpRequest& head) const {
  const Access access = router_.AccessFor(head.method, head.path);
  if (access != Access::kPublic && head.Header("authorization").empty()) {
    return Challenge(head,
                     Error::Unauthorized("AKV10000: Request is missing a Bearer or PoP token."));
  }
  return std::nullopt;
}

HttpResponse Api::Run(HttpRequest& request, RequestContext& ctx, const Route*& route) const {
  RouteMatch match = router_.Match(request.method, request.path);
  route = match.route;
  const Access access = match.route ? match.route->access : Access::kDataPlane;
  if (!audit_.healthy()) {
    return ErrorAnswer(
        AuditUnavailable("the audit trail cannot be written; requests are refused until it can"));
  }
  // Known before authentication, so that refused requests are audited with them too.
  ctx.params = std::move(match.params);
  Result<std::string> vault = std::string();
  if (access == Access::kDataPlane) {
    vault = VaultForHost(request.Header("host"));
    if (vault) ctx.vault = *vault;
  }
  if (access != Access::kPublic) {
    const std::string_view token = BearerToken(request.Header("authorization"));
    if (token.empty()) {
      return Challenge(request,
                       Error::Unauthorized("AKV10000: Request is missing a Bearer or PoP token."));
    }
    auto caller = services_.tokens.Verify(token);
    if (!caller) return Challenge(request, caller.error());
    ctx.caller = *caller;
  }
  if (!vault) return ErrorAnswer(vault.error());
  // The key is only built when throttling is on: it costs an allocation per request.
  const std::string& who =
      ctx.caller.client_id.empty() ? request.remote_address : ctx.caller.client_id;
  if (int64_t wait = limiter_.enabled() ? limiter_.Acquire(who + "|" + ctx.vault) : 0; wait > 0) {
    HttpResponse r =
        ErrorAnswer(Error(ErrorKind::kTooManyRequests, "Throttled",
                          "too many requests from this caller to this vault; retry after " +
                              std::to_string(wait) + " seconds"));
    r.headers.emplace_back("Retry-After", std::to_string(wait));
    return r;
  }
  if (!match.route) {
    if (match.path_matched) {
      return ErrorAnswer(Error(ErrorKind::kMethodNotAllowed, "MethodNotAllowed",
                               "method " + request.method + " is not allowed here"));
    }
    return ErrorAnswer(Error::NotFound("NotFound", "no operation at " + request.path));
  }
  auto name = ctx.params.find("name");
  if (name != ctx.params.end()) {
    if (auto ok = ValidateObjectName(name->second, "object"); !ok) {
      return ErrorAnswer(ok.error());
    }
  }
  if (access != Access::kPublic) {
    const auth::Target target{match.route->operation, ctx.vault,
                              name == ctx.params.end() ? std::string_view() : name->second};
    if (auto allowed = authorizer_.Authorize(ctx.caller.client_id, target); !allowed) {
      if (allowed.error().http_status() == 401) return Challenge(request, allowed.error());
      return ErrorAnswer(allowed.error());
    }
  }
  try {
    auto result = match.route->handler(ctx, request);
    if (!result) return ErrorAnswer(result.error());
    return std::move(*result);
  } catch (const std::exception& e) {
    return HandlerThrew(*match.route, ctx, e);
  }
}

void Api::Handle(HttpRequest& request, Respond respond) const {
  RequestContext ctx;
  ctx.request_id = NewRequestId();
  ctx.base_url = "https://" + std::string(request.Header("host"));
  const Route* route = nullptr;
  HttpResponse response = Run(request, ctx, route);
  if (response.defer) {
    // The request is copied: the answer outlives this call. The first answer counts: a handler
    // that throws after answering is not answered twice.
    struct Deferred {
      HttpRequest request;
      RequestContext ctx;
      Respond respond;
      std::atomic<bool> answered{false};
    };
    auto deferred = std::make_shared<Deferred>(request, std::move(ctx), std::move(respond));
    auto answer = [this, deferred, route](HttpResponse answer) {
      if (deferred->answered.exchange(true)) return;
      Audit(deferred->request, deferred->ctx, route, std::move(answer),
            std::move(deferred->respond));
    };
    try {
      response.defer(answer);
    } catch (const std::exception& e) {
      answer(HandlerThrew(*route, deferred->ctx, e));
    }
    return;
  }
  Audit(request, ctx, route, std::move(response), std::move(respond));
}

void Api::Answer(const HttpRequest& request, HttpResponse response, Respond respond) const {
  RequestContext ctx;
  ctx.request_id = NewRequestId();
  RouteMatch match = router_.Match(request.method, request.path);
  if (!match.route || match.route->access == Access::kDataPlane) {
    if (auto vault = VaultForHost(request.Header("host"))) ctx.vault = *vault;
  }
  ctx.params = std::move(match.params);
  Audit(request, ctx, match.route, std::move(response), std::move(respond));
}

void Api::Audit(const HttpRequest& request, const RequestContext& ctx, const Route* route,
                HttpResponse response, Respond respond) const {
  response.headers.emplace_back("x-ms-request-id", ctx.request_id);
  if (auto client_id = request.Header("x-ms-client-request-id"); !client_id.empty()) {
    response.headers.emplace_back("x-ms-client-request-id", std::string(client_id));
  }
  model::AuditRecord record;
  record.time_ms = request.received_unix_ms;
  record.request_id = ctx.request_id;
  record.principal = ctx.caller.client_id;
  record.source = request.remote_address;
  record.vault = ctx.vault;
  record.operation = route ? route->operation : "unknown";
  record.object = ctx.object.empty() ? ObjectOf(route, ctx.params) : ctx.object;
  record.status = response.status;
  record.outcome = model::AuditOutcome(response.status);
  record.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::steady_clock::now() - request.received)
                           .count();
  audit_.Record(std::move(record), [this, route, response = std::move(response),
                                    respond = std::move(respond)](Status written) mutable {
    if (!written) {
      // Enough to find the gap in the trail, nothing secret.
      std::string request_id;
      for (const auto& [name, value] : response.headers) {
        if (name == "x-ms-request-id") request_id = value;
      }
      log::Error("audit record not written for request " + request_id + " (" +
                 (route ? route->operation : "unknown") + ", HTTP " +
                 std::to_string(response.status) + "); answered 503 instead");
      HttpResponse refused = ErrorAnswer(
          AuditUnavailable("the request could not be audited, so its result is withheld"));
      for (auto& header : response.headers) {
        if (header.first.starts_with("x-ms-")) refused.headers.push_back(header);
      }
      response = std::move(refused);
    }
    respond(std::move(response));
  });
}

}  // namespace certvault::api
