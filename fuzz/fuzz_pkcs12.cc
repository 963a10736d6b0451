// PFX files from callers, with the empty password and the one the seeds use.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/x509.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view der(reinterpret_cast<const char*>(data), size);
  using namespace certvault::crypto;
  for (std::string_view password : {"", "fuzz"}) {
    if (auto contents = ParsePkcs12(der, password); contents) {
      (void)contents->key.Spec();
      for (const auto& cert : contents->certificates) (void)cert.Subject();
    }
  }
  return 0;
}
