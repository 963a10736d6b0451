#include "issuer/acme/client.h"

#include <thread>

#include "issuer/acme/jws.h"

namespace certvault::issuer::acme {
namespace {

using nlohmann::json;

constexpr char kJoseJson[] = "application/jose+json";

std::optional<json> ParseProblem(const HttpResponse& response) {
  json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.contains("type") || !body["type"].is_string()) {
    return std::nullopt;
  }
  return body;
}

std::string ShortType(const json& problem) {
  std::string type = problem.value("type", std::string());
  if (type.rfind(kProblemPrefix, 0) == 0) return type.substr(kProblemPrefix.size());
  return type;
}

}  // namespace

std::string ProblemType(const HttpResponse& response) {
  auto problem = ParseProblem(response);
  if (!problem) return {};
  const std::string type = (*problem)["type"].get<std::string>();
  if (type.rfind(kProblemPrefix, 0) != 0) return {};
  return type.substr(kProblemPrefix.size());
}

std::string DescribeProblem(const json& problem) {
  if (!problem.is_object()) return "no details given";
  std::string text;
  if (problem.contains("detail") && problem["detail"].is_string()) {
    text = problem["detail"].get<std::string>();
  }
  const std::string type = ShortType(problem);
  if (!type.empty()) text += (text.empty() ? "" : " ") + ("(" + type + ")");
  if (problem.contains("subproblems") && problem["subproblems"].is_array()) {
    int shown = 0;
    for (const json& sub : problem["subproblems"]) {
      if (!sub.is_object()) continue;
      if (++shown > 10) break;  // enough to act on; the rest would only lengthen the message
      std::string who;
      if (sub.contains("identifier") && sub["identifier"].is_object()) {
        who = sub["identifier"].value("value", std::string());
      }
      text += "; " + (who.empty() ? std::string() : who + ": ") +
              sub.value("detail", std::string("no details")) + " (" + ShortType(sub) + ")";
    }
  }
  return text.empty() ? "no details given" : text;
}

Error ProblemError(const HttpResponse& response) {
  const auto problem = ParseProblem(response);
  const std::string type = problem ? ShortType(*problem) : std::string();
  const std::string detail =
      problem ? DescribeProblem(*problem) : "HTTP " + std::to_string(response.status);
  std::string message = "the ACME server refused the request: " + detail;
  if (type == "rateLimited" || response.status == 429) {
    if (response.retry_after) {
      message += "; retry after " + std::to_string(*response.retry_after) + " s";
    }
    return Error(ErrorKind::kUnavailable, "AcmeRateLimited", message);
  }
  if (type == "serverInternal" || type == "badNonce" || response.status >= 500) {
    return Error(ErrorKind::kUnavailable, "AcmeUnavailable",
                 "the ACME server is unavailable: " + detail);
  }
  return Error(ErrorKind::kBadRequest, "AcmeError", message)
      .WithInnerCode(type.empty() ? "http" + std::to_string(response.status) : type);
}

Result<json> JsonObjectBody(const HttpResponse& response, std::string_view what) {
  json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) {
    return Fail(Error(ErrorKind::kBadRequest, "AcmeError",
                      "the ACME server sent a malformed " + std::string(what)));
  }
  return body;
}

AcmeClient::AcmeClient(HttpTransport& transport, Options options)
    : transport_(transport), options_(std::move(options)) {}

void AcmeClient::Sleep(std::chrono::milliseconds d) const {
  if (options_.sleep) {
    options_.sleep(d);
  } else {
    std::this_thread::sleep_for(d);
  }
}

Result<HttpResponse> AcmeClient::Send(HttpRequest request) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  const auto now = std::chrono::steady_clock::now();
  int64_t timeout_ms = options_.request_timeout_ms;
  if (options_.deadline != std::chrono::steady_clock::time_point::max()) {
    const int64_t left = duration_cast<milliseconds>(options_.deadline - now).count();
    if (left <= 0) {
      return Fail(Error::Unavailable("the enrollment attempt ran out of time"));
    }
    timeout_ms = std::min(timeout_ms, left);
  }
  request.timeout_ms = timeout_ms;
  CV_ASSIGN_OR_RETURN(HttpResponse response, transport_.Send(request));
  if (!response.replay_nonce.empty()) nonce_ = response.replay_nonce;
  return response;
}

Result<Directory> AcmeClient::LoadDirectory(const std::string& url) {
  CV_ASSIGN_OR_RETURN(HttpResponse response, Send({"GET", url, "", "", "", 0}));
  if (response.status >= 400) return Fail(ProblemError(response));
  json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  auto url_of = [&body](const char* name) {
    return body.is_object() && body.contains(name) && body[name].is_string()
               ? body[name].get<std::string>()
               : std::string();
  };
  Directory dir;
  dir.new_nonce = url_of("newNonce");
  dir.new_account = url_of("newAccount");
  dir.new_order = url_of("newOrder");
  if (dir.new_nonce.empty() || dir.new_account.empty() || dir.new_order.empty()) {
    return Fail(
        Error(ErrorKind::kBadRequest, "AcmeError",
              url + " is not an ACME directory (newNonce, newAccount or newOrder missing)"));
  }
  if (body.contains("meta") && body["meta"].is_object()) {
    const json& meta = body["meta"];
    if (meta.contains("termsOfService") && meta["termsOfService"].is_string()) {
      dir.terms_of_service = meta["termsOfService"].get<std::string>();
    }
    if (meta.contains("externalAccountRequired") && meta["externalAccountRequired"].is_boolean()) {
      dir.external_account_required = meta["externalAccountRequired"].get<bool>();
    }
  }
  directory_ = dir;
  return dir;
}

Result<std::string> AcmeClient::TakeNonce() {
  if (nonce_.empty()) {
    if (directory_.new_nonce.empty()) return Fail(Error::Internal("ACME directory not loaded"));
    CV_ASSIGN_OR_RETURN(HttpResponse response, Send({"HEAD", directory_.new_nonce, "", "", "", 0}));
    if (response.status >= 400) return Fail(ProblemError(response));
    if (nonce_.empty()) {
      return Fail(Error::Unavailable("the ACME server's newNonce gave no Replay-Nonce"));
    }
  }
  std::string nonce = std::move(nonce_);
  nonce_.clear();
  return nonce;
}

Result<HttpResponse> AcmeClient::SignedPost(const std::string& url, std::string_view payload,
                                            bool use_jwk, std::string_view accept) {
  if (!account_key_) return Fail(Error::Internal("ACME account key not set"));
  if (!use_jwk && account_url_.empty()) return Fail(Error::Internal("ACME account URL not set"));
  retry_after_.reset();
  int bad_nonces = 0;
  int waits = 0;
  // Each pass but the last uses up one of the two bounded budgets.
  const int max_passes = 1 + options_.max_bad_nonce_retries + options_.max_wait_retries;
  for (int pass = 0; pass < max_passes; ++pass) {
    CV_ASSIGN_OR_RETURN(std::string nonce, TakeNonce());
    CV_ASSIGN_OR_RETURN(std::string jws,
                        SignJws(*account_key_, {url, nonce, use_jwk ? "" : account_url_}, payload));
    CV_ASSIGN_OR_RETURN(HttpResponse response,
                        Send({"POST", url, std::move(jws), kJoseJson, std::string(accept), 0}));
    if (response.status < 400) return response;
    if (ProblemType(response) == "badNonce" && bad_nonces < options_.max_bad_nonce_retries) {
      ++bad_nonces;  // the error response carried a fresh nonce (or the next pass asks for one)
      continue;
    }
    Error error = ProblemError(response);
    if (error.retryable() && response.retry_after) {
      const int64_t wait = *response.retry_after;
      const auto wake = std::chrono::steady_clock::now() + std::chrono::seconds(wait);
      if (wait <= options_.max_inline_wait && waits < options_.max_wait_retries &&
          wake < options_.deadline) {
        ++waits;
        Sleep(std::chrono::seconds(wait));
        continue;
      }
      retry_after_ = wait;
    }
    return Fail(std::move(error));
  }
  return Fail(Error::Unavailable("the ACME server kept refusing the request"));
}

Result<HttpResponse> AcmeClient::Post(const std::string& url, std::string_view payload,
                                      bool use_jwk) {
  return SignedPost(url, payload, use_jwk, {});
}

Result<HttpResponse> AcmeClient::PostAsGet(const std::string& url, std::string_view accept) {
  return SignedPost(url, "", false, accept);
}

}  // namespace certvault::issuer::acme
