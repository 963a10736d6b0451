#include "issuer/acme/transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <mutex>
#include <string_view>

#include "common/text.h"

namespace certvault::issuer::acme {
namespace {

constexpr size_t kMaxBody = 4 << 20;  // a certificate chain or a directory is far smaller

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

struct Capture {
  HttpResponse* response;
  bool too_large = false;
};

size_t AppendBody(char* data, size_t size, size_t n, void* user) {
  auto* capture = static_cast<Capture*>(user);
  if (capture->response->body.size() + size * n > kMaxBody) {
    capture->too_large = true;
    return 0;  // makes curl fail the transfer
  }
  capture->response->body.append(data, size * n);
  return size * n;
}

std::optional<int64_t> ParseRetryAfter(std::string_view value) {
  value = Trim(value);
  if (value.empty()) return std::nullopt;
  bool digits = true;
  for (char c : value) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (digits) {
    if (value.size() > 9) return int64_t{999999999};
    return std::stoll(std::string(value));
  }
  const std::string text(value);
  const time_t when = curl_getdate(text.c_str(), nullptr);
  if (when < 0) return std::nullopt;
  const int64_t delta = static_cast<int64_t>(when) - static_cast<int64_t>(std::time(nullptr));
  return delta > 0 ? delta : 0;
}

size_t ReadHeader(char* data, size_t size, size_t n, void* user) {
  HttpResponse* response = static_cast<Capture*>(user)->response;
  std::string_view line(data, size * n);
  const size_t colon = line.find(':');
  if (line.rfind("HTTP/", 0) == 0) {
    // A new response (after a redirect or a 100 Continue): forget the previous one's headers.
    *response = HttpResponse{};
    return size * n;
  }
  if (colon == std::string_view::npos) return size * n;
  const std::string name = AsciiLower(Trim(line.substr(0, colon)));
  const std::string_view value = Trim(line.substr(colon + 1));
  if (name == "content-type") {
    response->content_type = AsciiLower(Trim(value.substr(0, value.find(';'))));
  } else if (name == "location") {
    response->location = std::string(value);
  } else if (name == "replay-nonce") {
    response->replay_nonce = std::string(value);
  } else if (name == "retry-after") {
    response->retry_after = ParseRetryAfter(value);
  } else if (name == "link") {
    response->links.emplace_back(value);
  }
  return size * n;
}

class CurlTransport : public HttpTransport {
 public:
  explicit CurlTransport(std::string ca_bundle_path) : ca_bundle_path_(std::move(ca_bundle_path)) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  }

  Result<HttpResponse> Send(const HttpRequest& request) override {
    std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
    if (!curl) return Fail(Error::Internal("curl_easy_init failed"));
    CURL* c = curl.get();
    HttpResponse response;
    Capture capture{&response};
    char error_buffer[CURL_ERROR_SIZE] = {0};

    curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout_ms));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::min<int64_t>(request.timeout_ms, 15000)));
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!ca_bundle_path_.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, ca_bundle_path_.c_str());
    curl_easy_setopt(c, CURLOPT_USERAGENT, "certvault-acme/0.1");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &AppendBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &capture);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &ReadHeader);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &capture);
    if (request.method == "HEAD") {
      curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (request.method == "POST") {
      curl_easy_setopt(c, CURLOPT_POST, 1L);
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    } else if (request.method != "GET") {
      return Fail(Error::Internal("unsupported HTTP method " + request.method));
    }

    std::unique_ptr<curl_slist, SlistDeleter> headers;
    auto add_header = [&headers](const std::string& line) {
      headers.reset(curl_slist_append(headers.release(), line.c_str()));
    };
    add_header("Expect:");
    if (!request.content_type.empty()) add_header("Content-Type: " + request.content_type);
    if (!request.accept.empty()) add_header("Accept: " + request.accept);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());

    const CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
      std::string detail = capture.too_large         ? "response body too large"
                           : error_buffer[0] != '\0' ? error_buffer
                                                     : curl_easy_strerror(rc);
      return Fail(Error(ErrorKind::kUnavailable, "ConnectionFailed",
                        "cannot reach the ACME server at " + request.url + ": " + detail));
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    response.status = static_cast<int>(status);
    return response;
  }

 private:
  const std::string ca_bundle_path_;
};

}  // namespace

std::unique_ptr<HttpTransport> NewCurlTransport(std::string ca_bundle_path) {
  return std::make_unique<CurlTransport>(std::move(ca_bundle_path));
}

}  // namespace certvault::issuer::acme
