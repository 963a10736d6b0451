#pragma once
// A scripted HttpClient for tests: answers requests from a queue of responses, in order, and
// records every request it was sent.

#include <deque>
#include <string>
#include <vector>

#include "cli/http_client.h"

namespace certvault::cli::testing {

class FakeHttpClient : public HttpClient {
 public:
  // Queues a response for the next request.
  FakeHttpClient& Then(int status, std::string body) {
    responses_.push_back(HttpResponse{status, "application/json", std::move(body)});
    return *this;
  }
  // Queues a connection failure.
  FakeHttpClient& ThenUnreachable() {
    responses_.push_back(HttpResponse{-1, "", ""});
    return *this;
  }
  FakeHttpClient& ThenToken() { return Then(200, R"({"access_token":"tok","expires_in":3600})"); }

  Result<HttpResponse> Send(const HttpRequest& request) override {
    requests.push_back(request);
    if (responses_.empty()) {
      return Fail(Error::Internal("unexpected request " + request.method + " " + request.url));
    }
    HttpResponse response = responses_.front();
    responses_.pop_front();
    if (response.status < 0) {
      return Fail(Error(ErrorKind::kUnavailable, "ConnectionFailed",
                        "cannot reach " + request.url + ": Connection refused"));
    }
    return response;
  }

  bool AllConsumed() const { return responses_.empty(); }

  std::vector<HttpRequest> requests;

 private:
  std::deque<HttpResponse> responses_;
};

}  // namespace certvault::cli::testing
