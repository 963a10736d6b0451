#include "common/log.h"

#include <spdlog/spdlog.h>

namespace certvault::log {

void SetLevel(Level level) {
  switch (level) {
    case Level::kDebug:
      spdlog::set_level(spdlog::level::debug);
      break;
    case Level::kInfo:
      spdlog::set_level(spdlog::level::info);
      break;
    case Level::kWarn:
      spdlog::set_level(spdlog::level::warn);
      break;
    case Level::kError:
      spdlog::set_level(spdlog::level::err);
      break;
  }
}

void Debug(std::string_view message) { spdlog::debug("{}", message); }
void Info(std::string_view message) { spdlog::info("{}", message); }
void Warn(std::string_view message) { spdlog::warn("{}", message); }
void Error(std::string_view message) { spdlog::error("{}", message); }

}  // namespace certvault::log
