#include "cli/api_client.h"

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace certvault::cli {
namespace {

using nlohmann::json;

constexpr size_t kMaxPages = 10000;  // a server looping its nextLink must not hang the client

ErrorKind KindForStatus(int status) {
  switch (status) {
    case 400:
      return ErrorKind::kBadRequest;
    case 401:
      return ErrorKind::kUnauthorized;
    case 403:
      return ErrorKind::kForbidden;
    case 404:
      return ErrorKind::kNotFound;
    case 405:
      return ErrorKind::kMethodNotAllowed;
    case 409:
      return ErrorKind::kConflict;
    case 413:
      return ErrorKind::kPayloadTooLarge;
    case 429:
      return ErrorKind::kTooManyRequests;
    case 503:
      return ErrorKind::kUnavailable;
    default:
      return status >= 500 ? ErrorKind::kInternal : ErrorKind::kBadRequest;
  }
}

// Reads both the Key Vault envelope {"error":{"code","message"}} and the OAuth2 form
// {"error":"invalid_client","error_description":"..."}.
Error ErrorFromResponse(const HttpResponse& response, const std::string& url) {
  ErrorKind kind = KindForStatus(response.status);
  json j = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("error")) {
    const json& e = j["error"];
    if (e.is_object()) {
      std::string code = e.value("code", "");
      std::string message = e.value("message", "");
      if (!code.empty()) return Error(kind, code, message);
    } else if (e.is_string()) {
      return Error(kind, e.get<std::string>(), j.value("error_description", ""));
    }
  }
  std::string snippet = response.body.substr(0, 200);
  return Error(kind, "HTTP" + std::to_string(response.status),
               url + " answered " + std::to_string(response.status) +
                   (snippet.empty() ? "" : ": " + snippet));
}

std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += '&';
    out += UrlEncode(k) + "=" + UrlEncode(v);
  }
  return out;
}

bool HasQueryParam(std::string_view url, std::string_view name) {
  size_t q = url.find('?');
  if (q == std::string_view::npos) return false;
  std::string_view query = url.substr(q + 1);
  std::string key = std::string(name) + "=";
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    std::string_view part = query.substr(pos, amp == std::string_view::npos ? amp : amp - pos);
    if (part.substr(0, key.size()) == key) return true;
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return false;
}

std::string WithQueryParam(std::string url, std::string_view name, std::string_view value) {
  if (HasQueryParam(url, name)) return url;
  url += url.find('?') == std::string::npos ? '?' : '&';
  url += std::string(name) + "=" + std::string(value);
  return url;
}

// `url` with every query parameter of `from` that it does not name yet.
std::string WithQueryParamsOf(std::string url, std::string_view from) {
  size_t q = from.find('?');
  if (q == std::string_view::npos) return url;
  std::string_view query = from.substr(q + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    size_t eq = part.find('=');
    if (eq != std::string_view::npos && eq != 0) {
      url = WithQueryParam(std::move(url), part.substr(0, eq), part.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  return url;
}

// When to fetch a new token: a fifth of its lifetime before it expires, at most five minutes
// before, so that a request never sets out with a token about to lapse.
int64_t RefreshAt(int64_t now, const json& token_response) {
  auto it = token_response.find("expires_in");
  int64_t lifetime = 0;
  if (it != token_response.end() && it->is_number_integer()) {
    lifetime = it->get<int64_t>();
  } else if (it != token_response.end() && it->is_string()) {  // Entra v1 sends a string
    lifetime = std::strtoll(it->get<std::string>().c_str(), nullptr, 10);
  }
  if (lifetime <= 0) return 0;
  return now + lifetime - std::min<int64_t>(lifetime / 5, 300);
}

const Clock& DefaultClock() {
  static const SystemClock clock;
  return clock;
}

bool SameOrigin(const Url& url, const std::string& origin) {
  auto other = ParseUrl(origin);
  return other && other->Origin() == url.Origin();
}

}  // namespace

std::string PathSegment(std::string_view name) { return UrlEncode(name); }

ApiClient::ApiClient(HttpClient& http, ClientConfig config, const Clock* clock)
    : http_(http), config_(std::move(config)), clock_(clock ? *clock : DefaultClock()) {
  // RequireConnectionSettings/ResolveConfig validated the server URL already.
  server_ = ParseUrl(config_.server).value_or(Url{});
  vault_ = AddressVault(server_, config_.vault);
}

std::string ApiClient::UrlFor(Plane plane, std::string_view path) const {
  if (plane == Plane::kManagement) return config_.server + std::string(path);
  return WithQueryParam(vault_.base_url + std::string(path), "api-version", kApiVersion);
}

Result<std::string> ApiClient::Token(bool* fetched) {
  *fetched = false;
  if (!token_.empty() && (token_refresh_at_ == 0 || clock_.NowUnix() < token_refresh_at_)) {
    return token_;
  }
  token_.clear();
  HttpRequest request;
  request.method = "POST";
  request.url = config_.token_url;
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                     {"Accept", "application/json"}};
  request.body = FormEncode({{"grant_type", "client_credentials"},
                             {"client_id", config_.client_id},
                             {"client_secret", config_.client_secret}});
  request.cancelled = cancelled_;
  CV_ASSIGN_OR_RETURN(HttpResponse response, http_.Send(request));
  if (response.status != 200) {
    return Fail(ErrorFromResponse(response, request.url).WithContext("getting a token"));
  }
  json j = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("access_token") || !j["access_token"].is_string()) {
    return Fail(Error(ErrorKind::kInternal, "InvalidTokenResponse",
                      config_.token_url + " answered without an access_token"));
  }
  token_ = j["access_token"].get<std::string>();
  token_refresh_at_ = RefreshAt(clock_.NowUnix(), j);
  *fetched = true;
  return token_;
}

Result<json> ApiClient::Call(Plane plane, std::string_view method, std::string url,
                             const json* body) {
  HttpRequest request;
  request.method = std::string(method);
  request.url = std::move(url);
  if (body != nullptr) {
    try {
      request.body = body->dump();
    } catch (const json::exception&) {
      return Fail(UsageError("the request holds text that is not valid UTF-8"));
    }
  }
  if (plane == Plane::kData) request.connect_to = vault_.connect_to;
  request.cancelled = cancelled_;
  HttpResponse response;
  for (int attempt = 0;; ++attempt) {
    bool fetched = false;
    CV_ASSIGN_OR_RETURN(std::string token, Token(&fetched));
    request.headers = {{"Authorization", "Bearer " + token},
                       {"Accept", "application/json"},
                       {"User-Agent", "certvault-cli/0.1"}};
    if (body != nullptr) request.headers.emplace_back("Content-Type", "application/json");
    if (plane == Plane::kData && !vault_.host_header.empty()) {
      request.headers.emplace_back("Host", vault_.host_header);
    }
    CV_ASSIGN_OR_RETURN(response, http_.Send(request));
    // A cached token may have been revoked or outlived (the server restarted with new keys, the
    // clocks disagree): fetch a new one once. A 401 never means the request was carried out.
    if (response.status != 401 || fetched || attempt > 0) break;
    token_.clear();
  }
  if (response.status < 200 || response.status >= 300) {
    return Fail(ErrorFromResponse(response, request.url));
  }
  if (response.body.empty()) return json();
  json j = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return Fail(Error(ErrorKind::kInternal, "InvalidResponse",
                      request.url + " answered with invalid JSON"));
  }
  return j;
}

Status ApiClient::Pages(Plane plane, std::string url, const PageFn& on_page) {
  const std::string base = plane == Plane::kData ? vault_.base_url : config_.server;
  const std::string alias = plane == Plane::kData ? vault_.vault_origin : config_.server;
  const std::string first_url = url;
  for (size_t page = 0; page < kMaxPages; ++page) {
    CV_ASSIGN_OR_RETURN(json j, Call(plane, "GET", url, nullptr));
    if (!j.is_object() || !j.contains("value") || !j["value"].is_array()) {
      return Fail(Error(ErrorKind::kInternal, "InvalidResponse",
                        url + " answered without a \"value\" list"));
    }
    std::vector<json> items;
    items.reserve(j["value"].size());
    for (auto& item : j["value"]) items.push_back(std::move(item));
    CV_ASSIGN_OR_RETURN(bool more, on_page(items));
    if (!more) return Ok();
    auto next = j.find("nextLink");
    if (next == j.end() || !next->is_string() || next->get<std::string>().empty()) return Ok();
    std::string next_link = next->get<std::string>();
    // The token goes only where it came from: a nextLink elsewhere is refused.
    auto parsed = ParseUrl(next_link);
    if (!parsed || (!SameOrigin(*parsed, base) && !SameOrigin(*parsed, alias))) {
      return Fail(Error(ErrorKind::kInternal, "InvalidResponse",
                        "refusing to follow nextLink to another host: " + next_link));
    }
    // Filters (audit from/to/principal, jobs certificate/status...) and api-version must not
    // fall away after page one when a server leaves them out of its nextLink.
    url = WithQueryParamsOf(base + parsed->path, first_url);
  }
  return Fail(Error(ErrorKind::kInternal, "InvalidResponse",
                    "the server's list did not end after " + std::to_string(kMaxPages) + " pages"));
}

Result<std::vector<json>> ApiClient::List(Plane plane, std::string url, int max_items) {
  std::vector<json> items;
  CV_RETURN_IF_ERROR(Pages(plane, std::move(url), [&](std::vector<json>& page) -> Result<bool> {
    for (auto& item : page) {
      items.push_back(std::move(item));
      if (max_items > 0 && items.size() >= static_cast<size_t>(max_items)) return false;
    }
    return true;
  }));
  return items;
}

Result<json> ApiClient::Data(std::string_view method, std::string_view path, const json* body) {
  return Call(Plane::kData, method, UrlFor(Plane::kData, path), body);
}

Result<std::vector<json>> ApiClient::DataList(std::string_view path, int max_items) {
  return List(Plane::kData, UrlFor(Plane::kData, path), max_items);
}

Result<json> ApiClient::Management(std::string_view method, std::string_view path,
                                   const json* body) {
  return Call(Plane::kManagement, method, UrlFor(Plane::kManagement, path), body);
}

Result<std::vector<json>> ApiClient::ManagementList(std::string_view path, int max_items) {
  return List(Plane::kManagement, UrlFor(Plane::kManagement, path), max_items);
}

Status ApiClient::ManagementPages(std::string_view path, const PageFn& on_page) {
  return Pages(Plane::kManagement, UrlFor(Plane::kManagement, path), on_page);
}

}  // namespace certvault::cli
