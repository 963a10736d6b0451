#include "model/codec.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace certvault::model {
namespace {

using nlohmann::json;

TEST(IsoDuration, ParsesCommonForms) {
  EXPECT_EQ(*ParseIsoDuration("PT10M"), 600);
  EXPECT_EQ(*ParseIsoDuration("P7D"), 7 * 86400);
  EXPECT_EQ(*ParseIsoDuration("P2W"), 14 * 86400);
  EXPECT_EQ(*ParseIsoDuration("P1DT2H30M5S"), 86400 + 2 * 3600 + 30 * 60 + 5);
  EXPECT_EQ(*ParseIsoDuration("P1Y"), 365 * 86400);
}

TEST(IsoDuration, RejectsMalformed) {
  for (const char* bad : {"", "P", "PT", "10M", "PT10", "P1H", "PTM", "PT1D", "P-1D", "P1DT",
                          "PT99999999999999999M", "P1M2"}) {
    EXPECT_FALSE(ParseIsoDuration(bad).has_value()) << bad;
  }
}

TEST(Policy, MergeKeepsDefaultsAndValidates) {
  CertificatePolicy p;
  json j = json::parse(R"({"key_props":{"kty":"EC","crv":"P-384"},
      "x509_props":{"subject":"CN=a","sans":{"dns_names":["a.example"]},"validity_duration":"P7D"},
      "lifetime_actions":[{"trigger":{"days_before_expiry":10},"action":{"action_type":"EmailContacts"}}],
      "issuer":{"name":"Unknown"}})");
  ASSERT_TRUE(MergePolicyFromJson(j, p));
  EXPECT_EQ(p.key.kty, "EC");
  EXPECT_EQ(p.key.curve, "P-384");
  EXPECT_EQ(p.content_type, "application/x-pkcs12");
  EXPECT_EQ(p.x509.sans.dns_names, std::vector<std::string>{"a.example"});
  EXPECT_EQ(*PolicyValiditySeconds(p.x509), 7 * 86400);
  EXPECT_EQ(p.issuer.name, "Unknown");
  ASSERT_EQ(p.lifetime_actions.size(), 1u);
  EXPECT_EQ(*p.lifetime_actions[0].days_before_expiry, 10);
  EXPECT_TRUE(ValidatePolicy(p));
}

TEST(Policy, RoundTripsThroughJson) {
  CertificatePolicy p;
  p.key = {"RSA", 3072, "", false, true};
  p.x509.subject = "CN=x";
  p.x509.ekus = {"1.3.6.1.5.5.7.3.1"};
  p.x509.key_usage = {"digitalSignature"};
  p.x509.sans.ip_addresses = {"10.0.0.1"};
  p.lifetime_actions = {DefaultLifetimeAction()};
  CertificatePolicy back;
  ASSERT_TRUE(MergePolicyFromJson(PolicyToJson(p), back));
  EXPECT_EQ(PolicyToJson(back), PolicyToJson(p));
}

TEST(Policy, RejectsWrongTypesAndValues) {
  CertificatePolicy p;
  EXPECT_FALSE(MergePolicyFromJson(json::parse(R"({"key_props":{"key_size":"big"}})"), p));
  EXPECT_FALSE(MergePolicyFromJson(json::parse(R"({"x509_props":[]})"), p));
  EXPECT_FALSE(MergePolicyFromJson(json::parse(R"([1])"), p));
  CertificatePolicy q;
  q.key.key_size = 1024;
  EXPECT_FALSE(ValidatePolicy(q));
  CertificatePolicy r;
  r.content_type = "text/plain";
  EXPECT_FALSE(ValidatePolicy(r));
  CertificatePolicy s;
  s.lifetime_actions = {LifetimeAction{}};  // neither trigger
  EXPECT_FALSE(ValidatePolicy(s));
  CertificatePolicy t;
  t.x509.validity_duration = "PT30S";
  EXPECT_FALSE(ValidatePolicy(t));
}

TEST(Tags, LimitsAndTypes) {
  EXPECT_TRUE(TagsFromJson(json::parse(R"({"a":"b"})")));
  EXPECT_FALSE(TagsFromJson(json::parse(R"({"a":1})")));
  json many = json::object();
  for (int i = 0; i < 16; ++i) many["k" + std::to_string(i)] = "v";
  EXPECT_FALSE(TagsFromJson(many));
}

}  // namespace
}  // namespace certvault::model
