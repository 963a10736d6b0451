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

TEST(OneLineTail, KeepsTheEndOnOneLineAsValidUtf8) {
  EXPECT_EQ(OneLineTail("  first\r\n\n second\tline \n", 100), "first; second line");
  EXPECT_EQ(OneLineTail("bad \xff byte \x01", 100), "bad ? byte ?");
  EXPECT_EQ(OneLineTail("caf\xc3\xa9", 100), "caf\xc3\xa9");
  std::string long_text = std::string(5000, 'a') + "\nthe end";
  std::string tail = OneLineTail(long_text, 2048);
  EXPECT_EQ(tail.size(), 2048u + 3 + 1);  // "...", the line break as "; " less one byte
  EXPECT_EQ(tail.substr(0, 3), "...");
  EXPECT_EQ(tail.substr(tail.size() - 7), "the end");
  // A cut through a character leaves a '?', never invalid UTF-8.
  EXPECT_EQ(OneLineTail("\xc3\xa9\xc3\xa9", 3), "...?\xc3\xa9");
}

}  // namespace
}  // namespace certvault
