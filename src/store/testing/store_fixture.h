#pragma once
// Scaffolding shared by the store conformance suites: which implementation a test runs against,
// and a fixture that opens a fresh store for each test, SQLite ones in a temporary directory
// removed afterwards.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <ostream>
#include <string>

#include "common/result.h"

namespace certvault::store_testing {

enum class Kind { kMemory, kSqlite };

inline void PrintTo(Kind kind, std::ostream* os) {
  *os << (kind == Kind::kMemory ? "memory" : "sqlite");
}

// Test-name suffix for INSTANTIATE_TEST_SUITE_P.
inline std::string KindName(const ::testing::TestParamInfo<Kind>& info) {
  return info.param == Kind::kMemory ? "Memory" : "Sqlite";
}

template <typename StoreT>
class StoreFixture : public ::testing::Test {
 protected:
  virtual Kind kind() const = 0;
  virtual std::unique_ptr<StoreT> OpenMemory() = 0;
  virtual Result<std::unique_ptr<StoreT>> OpenSqlite(const std::string& path) = 0;
  // The SQLite file's name inside the temporary directory.
  virtual const char* FileName() const = 0;

  void SetUp() override {
    if (kind() == Kind::kSqlite) {
      std::string tmpl = (std::filesystem::temp_directory_path() / "cv_store_test_XXXXXX").string();
      ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
      dir_ = tmpl;
      path_ = (dir_ / FileName()).string();
    }
    Open();
  }

  void TearDown() override {
    if (raw_ != nullptr) sqlite3_close(raw_);
    raw_ = nullptr;
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // A plain connection to the SQLite file, as another process would have; opened on first use.
  sqlite3* Raw() {
    if (raw_ == nullptr) {
      EXPECT_EQ(sqlite3_open_v2(path_.c_str(), &raw_, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    }
    return raw_;
  }

  void Open() {
    if (kind() == Kind::kMemory) {
      store_ = OpenMemory();
    } else {
      auto opened = OpenSqlite(path_);
      ASSERT_TRUE(opened.has_value()) << opened.error().message();
      store_ = std::move(*opened);
    }
  }

  void Reopen() {
    store_.reset();
    Open();
  }

  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<StoreT> store_;
  sqlite3* raw_ = nullptr;
};

}  // namespace certvault::store_testing
