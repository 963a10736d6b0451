#pragma once
// Reading inputs and writing outputs of the client. Files that hold a private key are created
// with mode 0600 so that no other user can read them, even briefly.

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace certvault::cli {

// The whole file as bytes. Fails with "ClientError" naming the path and the reason.
Result<std::string> ReadFile(const std::string& path);

// Writes `data` to `path` through a temporary file in the same directory that is renamed into
// place, so readers never see a half-written file. The file gets exactly `mode`.
Status WriteFile(const std::string& path, std::string_view data, mode_t mode);

// A file written in pieces that appears at its path only when Commit() succeeds: data goes to a
// temporary file in the same directory, which Commit() syncs and renames into place. Destroying
// an uncommitted writer removes the temporary file, so a failed export leaves nothing behind.
// Failures are "ClientError" naming the path.
class FileWriter {
 public:
  // Creates the temporary file for `path` with exactly `mode`.
  static Result<std::unique_ptr<FileWriter>> Create(const std::string& path, mode_t mode);
  ~FileWriter();
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  // REQUIRES: Commit() was not called.
  Status Write(std::string_view data);
  // REQUIRES: called at most once.
  Status Commit();

 private:
  FileWriter(std::string path, std::string tmp, int fd);
  Error Abandon(const std::string& what, const std::string& path, int err);

  std::string path_;
  std::string tmp_;
  int fd_;  // -1 once closed
  bool committed_ = false;
};

inline constexpr mode_t kPrivateFileMode = 0600;
inline constexpr mode_t kPublicFileMode = 0644;

}  // namespace certvault::cli
