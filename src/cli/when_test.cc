#include "cli/when.h"

#include <gtest/gtest.h>

namespace certvault::cli {
namespace {

constexpr int64_t kNow = 1700000000;  // 2023-11-14T22:13:20Z

Result<int64_t> Absolute(const char* text) {
  return ParseWhen(text, kNow, DurationCounts::kBack, "--from");
}

TEST(ParseWhen, Rfc3339TimesOffsetsFractionsAndDates) {
  EXPECT_EQ(*Absolute("2023-11-14T22:13:20Z"), kNow);
  EXPECT_EQ(*Absolute("2023-11-14t22:13:20z"), kNow);
  EXPECT_EQ(*Absolute("2023-11-14 22:13:20Z"), kNow);
  EXPECT_EQ(*Absolute("2023-11-14T22:13:20.999Z"), kNow);
  EXPECT_EQ(*Absolute("2023-11-15T00:13:20+02:00"), kNow);
  EXPECT_EQ(*Absolute("2023-11-14T17:43:20-04:30"), kNow);
  EXPECT_EQ(*Absolute("2024-02-29"), 1709164800);
}

TEST(ParseWhen, RejectsMalformedTimes) {
  for (const char* bad :
       {"2023-11-14T", "2023-11-14T22:13Z", "2023-11-14T22:13:20", "2023-02-30T00:00:00Z",
        "2023-13-01", "2023-11-14T24:00:00Z", "2023-11-14T22:13:20.Z", "2023-11-14T22:13:20+0200",
        "2023-11-14T22:13:20Zjunk", "23-11-14", "2023-1-14"}) {
    auto t = Absolute(bad);
    ASSERT_FALSE(t) << bad;
    EXPECT_EQ(t.error().code(), "UsageError");
  }
}

TEST(ParseWhen, DurationsCountForwardOrBack) {
  EXPECT_EQ(*ParseWhen("P90D", kNow, DurationCounts::kForward, "--x"), kNow + 90 * 86400);
  EXPECT_EQ(*ParseWhen("PT1H", kNow, DurationCounts::kBack, "--x"), kNow - 3600);
  EXPECT_EQ(*ParseWhen("pt30m", kNow, DurationCounts::kBack, "--x"), kNow - 1800);
  EXPECT_EQ(*ParseWhen("P1DT12H", kNow, DurationCounts::kForward, "--x"), kNow + 129600);
}

TEST(ParseWhen, TimesAndUnixSecondsAreAbsolute) {
  for (auto counts : {DurationCounts::kForward, DurationCounts::kBack}) {
    EXPECT_EQ(*ParseWhen("2025-01-31T12:00:00Z", kNow, counts, "--x"), 1738324800);
    EXPECT_EQ(*ParseWhen("1738324800", kNow, counts, "--x"), 1738324800);
  }
}

TEST(ParseWhen, UsageErrorNamesOptionAndForms) {
  for (const char* bad : {"", "yesterday", "P", "P1X", "PT", "-PT1H", "2025-01-31T12:00:00", "1e9",
                          "12345678901234567890"}) {
    auto t = ParseWhen(bad, kNow, DurationCounts::kBack, "--from");
    ASSERT_FALSE(t) << bad;
    EXPECT_EQ(t.error().code(), "UsageError");
    EXPECT_EQ(t.error().message().rfind("--from: '", 0), 0u) << t.error().message();
    EXPECT_NE(t.error().message().find("PT1H (an hour ago)"), std::string::npos);
  }
  auto t = ParseWhen("soon", kNow, DurationCounts::kForward, "--secret-expires");
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message().find("P90D (in 90 days)"), std::string::npos);
}

}  // namespace
}  // namespace certvault::cli
