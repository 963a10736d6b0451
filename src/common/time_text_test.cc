#include "common/time_text.h"

#include <gtest/gtest.h>

namespace certvault {
namespace {

TEST(TimeTextTest, ParsesRfc3339) {
  EXPECT_EQ(*ParseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*ParseRfc3339("2025-01-31"), 1738281600);
  EXPECT_EQ(*ParseRfc3339("2025-01-31T14:00:00.250+02:00"), 1738281600 + 12 * 3600);
  EXPECT_EQ(*ParseRfc3339("2025-01-31t12:00:00z"), 1738281600 + 12 * 3600);
  for (const char* bad : {"", "2025", "2025-02-30", "2025-01-31T12:00", "2025-01-31T12:00:00",
                          "2025-01-31T25:00:00Z", "2025-01-31T12:00:00Zx", "yesterday"}) {
    EXPECT_FALSE(ParseRfc3339(bad)) << bad;
  }
}

TEST(TimeTextTest, FormatsMillisecondsInUtc) {
  EXPECT_EQ(FormatRfc3339Millis(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339Millis(1738281600123), "2025-01-31T00:00:00.123Z");
  EXPECT_EQ(*ParseRfc3339(FormatRfc3339Millis(1795000000999)), 1795000000);
}

}  // namespace
}  // namespace certvault
