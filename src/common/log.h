#pragma once
// Logging. A thin front over spdlog so that its headers stay out of widely included files.
// Never pass secrets, keys or tokens to these functions.

#include <string_view>

namespace certvault::log {

enum class Level { kDebug, kInfo, kWarn, kError };

void SetLevel(Level level);
void Debug(std::string_view message);
void Info(std::string_view message);
void Warn(std::string_view message);
void Error(std::string_view message);

}  // namespace certvault::log
