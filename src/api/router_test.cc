#include "api/router.h"

#include <gtest/gtest.h>

namespace certvault::api {
namespace {

Route R(const char* method, const char* pattern, const char* op) {
  return Route{
      method, pattern, op, Access::kDataPlane,
      [](RequestContext&, const HttpRequest&) -> Result<HttpResponse> { return HttpResponse{}; }};
}

TEST(Router, LiteralsWinAndTrailingSlashMatches) {
  Router router;
  router.Add(R("GET", "/certificates/{name}", "get"));
  router.Add(R("GET", "/certificates/{name}/{version}", "getversion"));
  router.Add(R("GET", "/certificates/{name}/pending", "pending"));
  router.Add(R("GET", "/certificates/contacts", "contacts"));
  EXPECT_EQ(router.Match("GET", "/certificates/a/").route->operation, "get");
  EXPECT_EQ(router.Match("GET", "/certificates/a").route->operation, "get");
  EXPECT_EQ(router.Match("GET", "/certificates/contacts").route->operation, "contacts");
  EXPECT_EQ(router.Match("GET", "/certificates/a/pending").route->operation, "pending");
  auto m = router.Match("GET", "/certificates/a/0123");
  EXPECT_EQ(m.route->operation, "getversion");
  EXPECT_EQ(m.params.at("version"), "0123");
}

TEST(Router, MethodMismatchIsDistinguishedFromUnknownPath) {
  Router router;
  router.Add(R("GET", "/secrets/{name}", "get"));
  auto wrong_method = router.Match("POST", "/secrets/a");
  EXPECT_EQ(wrong_method.route, nullptr);
  EXPECT_TRUE(wrong_method.path_matched);
  auto unknown = router.Match("GET", "/nothing/here/at/all");
  EXPECT_EQ(unknown.route, nullptr);
  EXPECT_FALSE(unknown.path_matched);
}

TEST(Http, ParsesTargetsAndForms) {
  std::string path;
  std::map<std::string, std::string> query;
  ASSERT_TRUE(ParseTarget("/certificates/a%2Db?api-version=7.5&maxresults=2", path, query));
  EXPECT_EQ(path, "/certificates/a-b");
  EXPECT_EQ(query["maxresults"], "2");
  EXPECT_FALSE(ParseTarget("/x%zz", path, query));
  EXPECT_FALSE(ParseTarget("/x%2", path, query));
  auto form = ParseForm("grant_type=client_credentials&client_secret=a%2Bb+c");
  EXPECT_EQ(form["client_secret"], "a+b c");
}

TEST(Http, SplitsHostHeaders) {
  EXPECT_EQ(SplitHostHeader("default.localhost:8443").host, "default.localhost");
  EXPECT_EQ(SplitHostHeader("default.localhost:8443").port, ":8443");
  EXPECT_EQ(SplitHostHeader("localhost").port, "");
  EXPECT_EQ(SplitHostHeader("[::1]:8443").host, "::1");
  EXPECT_EQ(SplitHostHeader("[::1]:8443").port, ":8443");
  EXPECT_EQ(SplitHostHeader("[::1]").port, "");
}

}  // namespace
}  // namespace certvault::api
