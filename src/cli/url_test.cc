#include "cli/url.h"

#include <gtest/gtest.h>

namespace certvault::cli {
namespace {

TEST(ParseUrl, SplitsParts) {
  auto url = ParseUrl("https://LocalHost:8443/oauth2/token?x=1");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->host, "localhost");
  EXPECT_EQ(url->port, 8443);
  EXPECT_EQ(url->path, "/oauth2/token?x=1");
  EXPECT_EQ(url->Origin(), "https://localhost:8443");
}

TEST(ParseUrl, DefaultsPortAndHandlesIpv6) {
  EXPECT_EQ(ParseUrl("https://example.com")->port, 443);
  auto v6 = ParseUrl("https://[::1]:9000/x");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->HostPort(), "[::1]:9000");
}

TEST(ParseUrl, RejectsBadInput) {
  EXPECT_FALSE(ParseUrl("localhost:8443"));
  EXPECT_FALSE(ParseUrl("ftp://x"));
  EXPECT_FALSE(ParseUrl("https://:80"));
  EXPECT_FALSE(ParseUrl("https://host:99999"));
  EXPECT_FALSE(ParseUrl("https://host:12x"));
  EXPECT_FALSE(ParseUrl("https://user@host"));
}

TEST(AddressVault, MultiLabelHostUsesConnectTo) {
  auto a = AddressVault(*ParseUrl("https://vault.example.com:8443"), "team");
  EXPECT_EQ(a.base_url, "https://team.vault.example.com:8443");
  EXPECT_EQ(a.connect_to, "team.vault.example.com:8443:vault.example.com:8443");
  EXPECT_EQ(a.host_header, "");
  EXPECT_EQ(a.vault_origin, a.base_url);
}

TEST(AddressVault, SingleLabelHostUsesHostHeader) {
  auto a = AddressVault(*ParseUrl("https://localhost:8443"), "default");
  EXPECT_EQ(a.base_url, "https://localhost:8443");
  EXPECT_EQ(a.connect_to, "");
  EXPECT_EQ(a.host_header, "default.localhost:8443");
  EXPECT_EQ(a.vault_origin, "https://default.localhost:8443");
}

TEST(AddressVault, IpLiteralDefaultVaultNeedsNoOverride) {
  auto a = AddressVault(*ParseUrl("https://127.0.0.1:8443"), "default");
  EXPECT_EQ(a.base_url, "https://127.0.0.1:8443");
  EXPECT_EQ(a.host_header, "");
  auto b = AddressVault(*ParseUrl("https://127.0.0.1:8443"), "team");
  EXPECT_EQ(b.host_header, "team.127.0.0.1:8443");
}

TEST(UrlEncode, KeepsUnreserved) {
  EXPECT_EQ(UrlEncode("a-b_c.d~e"), "a-b_c.d~e");
  EXPECT_EQ(UrlEncode("a b/c&d=é"), "a%20b%2Fc%26d%3D%C3%A9");
}

}  // namespace
}  // namespace certvault::cli
