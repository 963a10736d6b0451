// CSRs from callers (PEM or DER), as merged or signed by an issuer.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/x509.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  using namespace certvault::crypto;
  if (auto csr = ParseCsr(input); csr) {
    // What we read back must be something we can encode again, or be refused cleanly.
    (void)ValidateCertificateSpec(csr->spec);
    (void)csr->public_key.Spec();
  }
  return 0;
}
