#include "crypto/aead.h"

#include <gtest/gtest.h>

#include "crypto/encoding.h"

namespace certvault::crypto {
namespace {

const std::string kKey(32, 'k');

TEST(AesGcmTest, RoundTrip) {
  for (const std::string& plain : {std::string(), std::string("hello"), std::string(10000, 'x')}) {
    auto sealed = AesGcmSeal(kKey, plain, "context");
    ASSERT_TRUE(sealed);
    EXPECT_EQ(sealed->size(), 12 + plain.size() + 16);
    auto opened = AesGcmOpen(kKey, *sealed, "context");
    ASSERT_TRUE(opened) << opened.error().message();
    EXPECT_EQ(*opened, plain);
  }
}

TEST(AesGcmTest, FreshIvEachTime) {
  EXPECT_NE(*AesGcmSeal(kKey, "same", ""), *AesGcmSeal(kKey, "same", ""));
}

TEST(AesGcmTest, DetectsTamperingEverywhere) {
  const std::string sealed = *AesGcmSeal(kKey, "secret data", "aad");
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] ^= 0x01;
    auto r = AesGcmOpen(kKey, bad, "aad");
    ASSERT_FALSE(r) << "byte " << i;
    EXPECT_EQ(r.error().code(), "BadParameter");
  }
}

TEST(AesGcmTest, WrongKeyOrAadFails) {
  const std::string sealed = *AesGcmSeal(kKey, "secret", "aad");
  EXPECT_FALSE(AesGcmOpen(std::string(32, 'j'), sealed, "aad"));
  EXPECT_FALSE(AesGcmOpen(kKey, sealed, "other"));
  EXPECT_FALSE(AesGcmOpen(kKey, sealed, ""));
}

TEST(AesGcmTest, RejectsTruncatedDataAndBadKeySize) {
  EXPECT_FALSE(AesGcmOpen(kKey, "", ""));
  EXPECT_FALSE(AesGcmOpen(kKey, std::string(27, 'x'), ""));
  auto r = AesGcmSeal("short", "x", "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), "InternalError");
  EXPECT_FALSE(AesGcmOpen("short", std::string(40, 'x'), ""));
}

}  // namespace
}  // namespace certvault::crypto
