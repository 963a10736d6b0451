// Bearer tokens from callers.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "auth/jwt.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)certvault::auth::ParseJwt(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
