#pragma once
// ApiClient: talks to a certvault server on behalf of one command.
//
// It obtains an OAuth2 client-credentials token and reuses it until shortly before it expires
// (by the token response's expires_in), fetching a new one then, or once when the server answers
// 401 to a cached token (a long-running worker outlives its tokens). It addresses the configured
// vault by host name (see url.h), adds api-version to data-plane requests, follows nextLink
// pages (keeping the first page's query parameters, so filters hold on every page), and turns the
// server's {"error":{"code","message"}} envelope into an Error whose code is the server's. Not
// thread-safe; one command uses one ApiClient.

#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "cli/config.h"
#include "cli/http_client.h"
#include "cli/url.h"
#include "common/clock.h"
#include "common/result.h"

namespace certvault::cli {

inline constexpr std::string_view kApiVersion = "7.5";

class ApiClient {
 public:
  // REQUIRES: RequireConnectionSettings(config) succeeded. `http` and `clock` must outlive this
  // object. `clock` (the system clock if null) times the token's expiry.
  ApiClient(HttpClient& http, ClientConfig config, const Clock* clock = nullptr);

  // A data-plane call on the configured vault. `path` starts with "/" and may hold a query;
  // api-version is appended. `body` == nullptr sends no body. Returns the response JSON, or
  // null for an empty body (204).
  Result<nlohmann::json> Data(std::string_view method, std::string_view path,
                              const nlohmann::json* body = nullptr);

  // Every item of a paged data-plane list ({"value":[...],"nextLink":...}), following nextLink.
  // Stops after `max_items` items when it is positive.
  Result<std::vector<nlohmann::json>> DataList(std::string_view path, int max_items = 0);

  // A management call on the server host itself (no vault, no api-version). `body` as for Data.
  Result<nlohmann::json> Management(std::string_view method, std::string_view path,
                                    const nlohmann::json* body = nullptr);
  // Every item of a paged management list, as DataList. A nextLink that lacks a query parameter
  // of `path` (a filter, maxresults) gets it added, so filters hold on every page.
  Result<std::vector<nlohmann::json>> ManagementList(std::string_view path, int max_items = 0);

  // Receives the items of one page; returns false to stop before the next page.
  using PageFn = std::function<Result<bool>(std::vector<nlohmann::json>& items)>;
  // Walks a paged management list page by page, for lists too long to hold in memory. Stops at
  // the last page, when `on_page` returns false, or with the first error (its own or the
  // server's).
  Status ManagementPages(std::string_view path, const PageFn& on_page);

  const ClientConfig& config() const { return config_; }

  // Requests made while `cancelled` is set are abandoned as soon as it returns true (see
  // HttpRequest::cancelled); an empty function makes them run to completion again.
  void set_cancelled(std::function<bool()> cancelled) { cancelled_ = std::move(cancelled); }

 private:
  enum class Plane { kData, kManagement };
  // The cached token, or a new one if there is none or it is about to expire; `*fetched` says
  // which.
  Result<std::string> Token(bool* fetched);
  Result<nlohmann::json> Call(Plane plane, std::string_view method, std::string url,
                              const nlohmann::json* body);
  Result<std::vector<nlohmann::json>> List(Plane plane, std::string url, int max_items);
  Status Pages(Plane plane, std::string url, const PageFn& on_page);
  // Builds the absolute URL of `path` on `plane`.
  std::string UrlFor(Plane plane, std::string_view path) const;

  HttpClient& http_;
  ClientConfig config_;
  Url server_;
  VaultAddress vault_;
  const Clock& clock_;
  std::string token_;
  int64_t token_refresh_at_ = 0;  // Unix seconds; 0: the token did not say when it expires
  std::function<bool()> cancelled_;
};

// Percent-encodes an object name for use as one path segment.
std::string PathSegment(std::string_view name);

}  // namespace certvault::cli
