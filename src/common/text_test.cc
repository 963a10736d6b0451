#include "common/text.h"

#include <gtest/gtest.h>

namespace certvault {
namespace {

TEST(TextTest, FoldsAsciiLettersOnly) {
  EXPECT_EQ(AsciiLower("Web-01.Example"), "web-01.example");
  EXPECT_EQ(AsciiLower("\xC3\x84Z"), "\xC3\x84z");  // bytes outside A-Z stay as they are
  EXPECT_TRUE(EqualsIgnoreCase("Secrets", "sECRETS"));
  EXPECT_FALSE(EqualsIgnoreCase("secret", "secrets"));
  EXPECT_FALSE(EqualsIgnoreCase("a-b", "a_b"));
}

}  // namespace
}  // namespace certvault
