#include "cli/output.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/views.h"
#include "crypto/encoding.h"

namespace certvault::cli {
namespace {

using nlohmann::json;

TEST(Output, TableAlignsColumnsWithoutTrailingSpaces) {
  std::string t = RenderTable({"name", "enabled"}, {{"web", "true"}, {"a-long-name", ""}});
  EXPECT_EQ(t,
            "NAME         ENABLED\n"
            "web          true\n"
            "a-long-name\n");
}

TEST(Output, FieldsSkipEmptyValues) {
  EXPECT_EQ(RenderFields({{"name", "web"}, {"version", ""}, {"thumbprint", "AB"}}),
            "name        web\n"
            "thumbprint  AB\n");
}

TEST(Output, FormatsUtcTimes) {
  EXPECT_EQ(FormatTime(1700000000), "2023-11-14T22:13:20Z");
  EXPECT_EQ(FormatTime(1700000000, true), "2023-11-14");
  EXPECT_EQ(TimeField(json{{"exp", 0}}, "exp", true), "1970-01-01");
  EXPECT_EQ(TimeField(json{{"exp", "x"}}, "exp"), "");
}

TEST(Output, JsonIsPrettyPrinted) { EXPECT_EQ(RenderJson(json{{"a", 1}}), "{\n  \"a\": 1\n}\n"); }

TEST(Output, ParsesFormat) {
  EXPECT_EQ(*ParseOutputFormat("json"), OutputFormat::kJson);
  EXPECT_EQ(*ParseOutputFormat(""), OutputFormat::kTable);
  EXPECT_EQ(ParseOutputFormat("yaml").error().code(), "UsageError");
}

TEST(Views, IdParts) {
  EXPECT_EQ(NameFromId("https://v.localhost:8443/certificates/web/0123abcd"), "web");
  EXPECT_EQ(VersionFromId("https://v.localhost:8443/certificates/web/0123abcd"), "0123abcd");
  EXPECT_EQ(VersionFromId("https://v.localhost:8443/certificates/web"), "");
  EXPECT_EQ(NameFromId("https://v.localhost:8443/deletedcertificates/web?x=1"), "web");
  EXPECT_EQ(NameFromId(""), "");
}

TEST(Views, ThumbprintAsUpperHex) {
  std::string raw("\x01\xab\xff", 3);
  EXPECT_EQ(ThumbprintHex(crypto::Base64UrlEncode(raw)), "01ABFF");
  EXPECT_EQ(ThumbprintHex(""), "");
}

TEST(Views, CertificateListTable) {
  std::vector<json> items = {
      {{"id", "https://v.h:1/certificates/web"},
       {"x5t", crypto::Base64UrlEncode(std::string("\x0a\x0b", 2))},
       {"attributes", {{"enabled", true}, {"exp", 1700000000}}}},
      {{"id", "https://v.h:1/certificates/api"}, {"attributes", {{"enabled", false}}}},
  };
  EXPECT_EQ(CertificateListView(items, false),
            "NAME  ENABLED  EXPIRES     THUMBPRINT\n"
            "web   true     2023-11-14  0A0B\n"
            "api   false\n");
  std::string versions = CertificateListView({items[0]}, true);
  EXPECT_EQ(versions.substr(0, versions.find('\n')),
            "NAME  VERSION  CREATED  ENABLED  EXPIRES     THUMBPRINT");
}

TEST(Views, OperationShowsCsrAndError) {
  json op = {{"id", "https://v.h:1/certificates/ext/pending"},
             {"issuer", {{"name", "Unknown"}}},
             {"status", "failed"},
             {"csr", crypto::Base64Encode("csrbytes")},
             {"error", {{"code", "Denied"}, {"message", "no"}}}};
  std::string view = OperationView(op, true);
  EXPECT_NE(view.find("name    ext\n"), std::string::npos) << view;
  EXPECT_NE(view.find("error   Denied: no\n"), std::string::npos) << view;
  EXPECT_NE(view.find("-----BEGIN CERTIFICATE REQUEST-----"), std::string::npos);
  EXPECT_EQ(OperationView(op, false).find("BEGIN"), std::string::npos);
}

TEST(Views, SecretViewNeverShowsTheValue) {
  json s = {
      {"id", "https://v.h:1/secrets/db/01"}, {"value", "hunter2"}, {"contentType", "text/plain"}};
  std::string view = SecretView(s);
  EXPECT_EQ(view.find("hunter2"), std::string::npos);
  EXPECT_NE(view.find("content type  text/plain"), std::string::npos) << view;
}

}  // namespace
}  // namespace certvault::cli
