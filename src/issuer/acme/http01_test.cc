#include "issuer/acme/http01.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <memory>

namespace certvault::issuer::acme {
namespace {

struct Reply {
  long status = 0;
  std::string body;
  std::string content_type;
};

size_t Append(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

Reply Fetch(CURL* curl, int port, const std::string& path, const char* method = "GET") {
  Reply reply;
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(curl, CURLOPT_NOBODY, std::string(method) == "HEAD" ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  if (curl_easy_perform(curl) != CURLE_OK) return reply;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  char* type = nullptr;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
  if (type != nullptr) reply.content_type = type;
  return reply;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};

TEST(Http01ResponderTest, AnswersPublishedTokensOnly) {
  Http01Responder responder;
  auto port = responder.Start("127.0.0.1:0");
  ASSERT_TRUE(port) << port.error().message();
  ASSERT_GT(*port, 0);
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());  // one connection, kept alive

  EXPECT_EQ(Fetch(curl.get(), *port, "/.well-known/acme-challenge/tok_1").status, 404);
  responder.Put("tok_1", "tok_1.thumb");
  EXPECT_EQ(responder.Get("tok_1"), "tok_1.thumb");
  Reply ok = Fetch(curl.get(), *port, "/.well-known/acme-challenge/tok_1");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "tok_1.thumb");
  EXPECT_EQ(ok.content_type, "application/octet-stream");
  EXPECT_EQ(Fetch(curl.get(), *port, "/.well-known/acme-challenge/tok_1", "HEAD").status, 200);
  EXPECT_EQ(Fetch(curl.get(), *port, "/.well-known/acme-challenge/tok_1", "POST").status, 405);
  EXPECT_EQ(Fetch(curl.get(), *port, "/tok_1").status, 404);
  EXPECT_EQ(Fetch(curl.get(), *port, "/.well-known/acme-challenge/tok_").status, 404);
  responder.Remove("tok_1");
  EXPECT_EQ(Fetch(curl.get(), *port, "/.well-known/acme-challenge/tok_1").status, 404);

  auto again = responder.Start("127.0.0.1:0");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind(), ErrorKind::kConflict);
  responder.Stop();
  responder.Stop();
  EXPECT_EQ(Fetch(curl.get(), *port, "/.well-known/acme-challenge/tok_1").status, 0);
  // Restartable after a stop.
  auto restarted = responder.Start("localhost:0");
  ASSERT_TRUE(restarted);
}

TEST(Http01ResponderTest, RefusesMalformedAddresses) {
  Http01Responder responder;
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:99999", "host.example:80",
                          "[::1", "[::1]80", "1.2.3.4:8x"}) {
    auto r = responder.Start(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind(), ErrorKind::kBadRequest) << bad;
  }
  auto v6 = responder.Start("[::1]:0");
  if (v6) responder.Stop();  // no IPv6 loopback on some build machines
}

}  // namespace
}  // namespace certvault::issuer::acme
