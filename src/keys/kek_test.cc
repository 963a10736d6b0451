#include "keys/kek.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace certvault::keys {
namespace {

TEST(Kek, SealOpenRoundTripAndBinding) {
  auto kek = NewKekFromBytes(std::string(32, 'k'));
  auto sealed = kek->Seal("private key bytes", "cert-key/v/n/1");
  ASSERT_TRUE(sealed);
  EXPECT_EQ(sealed->find("private key bytes"), std::string::npos);
  EXPECT_EQ(*kek->Open(*sealed, "cert-key/v/n/1"), "private key bytes");
  EXPECT_FALSE(kek->Open(*sealed, "cert-key/v/n/2"));  // moved to another record
  std::string tampered = *sealed;
  tampered.back() ^= 1;
  EXPECT_FALSE(kek->Open(tampered, "cert-key/v/n/1"));
  auto other = NewKekFromBytes(std::string(32, 'x'));
  EXPECT_FALSE(other->Open(*sealed, "cert-key/v/n/1"));
}

TEST(Kek, FileIsCreatedPrivateAndReused) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("kek_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "kek").string();
  auto first = LoadOrCreateFileKek(path);
  ASSERT_TRUE(first);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto sealed = (*first)->Seal("x", "a");
  auto second = LoadOrCreateFileKek(path);
  ASSERT_TRUE(second);
  EXPECT_EQ(*(*second)->Open(*sealed, "a"), "x");
  chmod(path.c_str(), 0644);
  EXPECT_FALSE(LoadOrCreateFileKek(path));  // refuses a readable key file
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace certvault::keys
