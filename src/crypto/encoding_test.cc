#include "crypto/encoding.h"

#include <gtest/gtest.h>

#include <set>

namespace certvault::crypto {
namespace {

TEST(Base64Test, EncodesRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
}

TEST(Base64Test, DecodesWithAndWithoutPaddingAndWhitespace) {
  EXPECT_EQ(*Base64Decode("Zg=="), "f");
  EXPECT_EQ(*Base64Decode("Zg"), "f");
  EXPECT_EQ(*Base64Decode("Zm8="), "fo");
  EXPECT_EQ(*Base64Decode("Zm9v\r\nYmFy\n"), "foobar");
  EXPECT_EQ(*Base64Decode(" Zm 9v "), "foo");
  EXPECT_EQ(*Base64Decode(""), "");
}

TEST(Base64Test, RoundTripsAllByteValues) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  for (size_t len = 0; len < bytes.size(); len += 37) {
    const std::string in = bytes.substr(0, len);
    EXPECT_EQ(*Base64Decode(Base64Encode(in)), in);
    EXPECT_EQ(*Base64UrlDecode(Base64UrlEncode(in)), in);
  }
}

TEST(Base64Test, RejectsInvalidInput) {
  for (const char* bad : {"Zm9v!", "Zg=a", "Z", "Zm9vY", "Zg===", "Z===", "=Zg", "Zm9v\x80"}) {
    auto r = Base64Decode(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), "BadParameter");
    EXPECT_EQ(r.error().message(), "invalid base64");
  }
}

TEST(Base64UrlTest, UsesUrlAlphabetWithoutPadding) {
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(*Base64UrlDecode("-_8"), "\xfb\xff");
}

TEST(Base64UrlTest, LenientAboutStandardAlphabetAndPadding) {
  EXPECT_EQ(*Base64UrlDecode("+/8="), "\xfb\xff");
  EXPECT_EQ(*Base64UrlDecode("Zg=="), "f");
}

TEST(Base64UrlTest, RejectsWhitespaceAndJunk) {
  EXPECT_FALSE(Base64UrlDecode("Zm 9v"));
  EXPECT_FALSE(Base64UrlDecode("Zm9v."));
}

TEST(HexTest, Lowercase) { EXPECT_EQ(HexEncode("\x01\xab\xff"), "01abff"); }

TEST(DigestTest, KnownVectors) {
  EXPECT_EQ(HexEncode(Sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(HmacSha256("", "x").size(), 32u);
}

TEST(Pbkdf2Test, KnownVector) {
  EXPECT_EQ(HexEncode(Pbkdf2Sha256("password", "salt", 1, 32)),
            "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b");
}

TEST(RandomTest, NewIdIs32LowercaseHexAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string id = NewId();
    ASSERT_EQ(id.size(), 32u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_TRUE(seen.insert(id).second);
  }
  EXPECT_EQ(RandomBytes(0), "");
  EXPECT_EQ(RandomBytes(64).size(), 64u);
}

TEST(ConstantTimeEqualsTest, ComparesContentsAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
}

}  // namespace
}  // namespace certvault::crypto
