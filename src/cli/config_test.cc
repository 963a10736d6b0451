#include "cli/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

// Designated initializers name only the fields a test cares about; GCC 12 warns about the rest.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace certvault::cli {
namespace {

namespace fs = std::filesystem;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cv_cli_config_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    env_["HOME"] = dir_.string();  // no default config file unless a test writes one
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    fs::path p = dir_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
  EnvLookup Env() {
    return [this](std::string_view name) -> std::optional<std::string> {
      auto it = env_.find(std::string(name));
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
  }

  fs::path dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(ConfigTest, FlagBeatsEnvBeatsFile) {
  std::string config = Write("c.json", R"({"server":"https://file.example:1",
      "vault":"filevault","client_id":"file-id","client_secret":"file-secret"})");
  env_["CERTVAULT_SERVER"] = "https://env.example:2";
  env_["CERTVAULT_VAULT"] = "envvault";
  ConfigFlags flags{.config = config, .server = "https://flag.example:3"};
  auto c = ResolveConfig(flags, Env());
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->server, "https://flag.example:3");
  EXPECT_EQ(c->vault, "envvault");
  EXPECT_EQ(c->client_id, "file-id");
  EXPECT_EQ(c->client_secret, "file-secret");
  EXPECT_EQ(c->token_url, "https://flag.example:3/oauth2/token");
}

TEST_F(ConfigTest, EnvNamesTheConfigFile) {
  env_["CERTVAULT_CONFIG"] = Write("other.json", R"({"vault":"v2"})");
  auto c = ResolveConfig({}, Env());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->vault, "v2");
}

TEST_F(ConfigTest, DefaultConfigFileIsOptional) {
  auto c = ResolveConfig({}, Env());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->vault, "default");
  EXPECT_EQ(c->server, "");
  Write(".config/certvault/config.json", R"({"server":"https://home.example"})");
  c = ResolveConfig({}, Env());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->server, "https://home.example:443");
}

TEST_F(ConfigTest, ExplicitConfigFileMustExist) {
  auto c = ResolveConfig({.config = (dir_ / "missing.json").string()}, Env());
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), "UsageError");
}

TEST_F(ConfigTest, MalformedConfigIsUsageError) {
  auto c = ResolveConfig({.config = Write("bad.json", "{nope")}, Env());
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), "UsageError");
  c = ResolveConfig({.config = Write("bad2.json", R"({"vault": 3})")}, Env());
  ASSERT_FALSE(c);
}

TEST_F(ConfigTest, CredentialsFileSuppliesSecretAndServer) {
  std::string creds = Write("admin.json", R"({"client_id":"admin","client_secret":"s3",
      "token_url":"https://localhost:8443/oauth2/token"})");
  auto c = ResolveConfig({.credentials = creds}, Env());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->client_id, "admin");
  EXPECT_EQ(c->client_secret, "s3");
  EXPECT_EQ(c->token_url, "https://localhost:8443/oauth2/token");
  EXPECT_EQ(c->server, "https://localhost:8443");
  EXPECT_TRUE(RequireConnectionSettings(*c));
}

TEST_F(ConfigTest, ExplicitClientIdBeatsCredentialsFile) {
  std::string creds = Write("admin.json", R"({"client_id":"admin","client_secret":"s3"})");
  env_["CERTVAULT_CLIENT_ID"] = "other";
  auto c = ResolveConfig({.server = "https://h:1", .credentials = creds}, Env());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->client_id, "other");
  EXPECT_EQ(c->client_secret, "s3");
}

TEST_F(ConfigTest, PathsInConfigAreRelativeToIt) {
  Write("sub/admin.json", R"({"client_id":"a","client_secret":"b"})");
  std::string config =
      Write("sub/config.json",
            R"({"server":"https://h:1","credentials":"admin.json","ca_file":"ca.pem"})");
  auto c = ResolveConfig({.config = config}, Env());
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->ca_file, (dir_ / "sub/ca.pem").string());
  EXPECT_EQ(c->client_id, "a");
}

TEST_F(ConfigTest, RejectsServerWithPath) {
  auto c = ResolveConfig({.server = "https://h:1/certificates"}, Env());
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), "UsageError");
}

TEST_F(ConfigTest, MissingSettingsAreReported) {
  auto c = ResolveConfig({}, Env());
  ASSERT_TRUE(c);
  auto s = RequireConnectionSettings(*c);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("--server"), std::string::npos);
  c = ResolveConfig({.server = "https://h:1"}, Env());
  s = RequireConnectionSettings(*c);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("--credentials"), std::string::npos);
}

}  // namespace
}  // namespace certvault::cli
