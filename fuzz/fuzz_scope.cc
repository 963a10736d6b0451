// Role-assignment scopes and audit query times from callers.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "auth/rbac.h"
#include "common/time_text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto scope = certvault::auth::NormalizeScope(text)) {
    // A normalised scope is a fixed point.
    auto again = certvault::auth::NormalizeScope(*scope);
    if (!again || *again != *scope) __builtin_trap();
  }
  if (auto seconds = certvault::ParseRfc3339(text)) {
    (void)certvault::FormatRfc3339Millis(*seconds * 1000);
  }
  return 0;
}
