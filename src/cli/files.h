#pragma once
// Reading inputs and writing outputs of the client. Files that hold a private key are created
// with mode 0600 so that no other user can read them, even briefly.

#include <sys/types.h>

#include <string>

#include "common/result.h"

namespace certvault::cli {

// The whole file as bytes. Fails with "ClientError" naming the path and the reason.
Result<std::string> ReadFile(const std::string& path);

// Writes `data` to `path` through a temporary file in the same directory that is renamed into
// place, so readers never see a half-written file. The file gets exactly `mode`.
Status WriteFile(const std::string& path, std::string_view data, mode_t mode);

inline constexpr mode_t kPrivateFileMode = 0600;
inline constexpr mode_t kPublicFileMode = 0644;

}  // namespace certvault::cli
