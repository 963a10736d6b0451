// Issuer settings (JSON from API callers) and the ACME order state the server saved: the
// parsers must refuse bad input with an error, never crash, and accept what they print.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "issuer/acme/order_state.h"
#include "issuer/acme/settings.h"
#include "issuer/internal_ca/settings.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto settings = certvault::issuer::internal_ca::ParseSettings(text)) {
    for (const auto& [name, tmpl] : settings->templates) {
      (void)certvault::issuer::internal_ca::SelectTemplate(*settings, name);
    }
    (void)certvault::issuer::internal_ca::SelectTemplate(*settings, "");
  }
  (void)certvault::issuer::acme::ParseAcmeSettings(text);
  if (auto state = certvault::issuer::acme::DecodeOrderState(text)) {
    auto again = certvault::issuer::acme::DecodeOrderState(
        certvault::issuer::acme::EncodeOrderState(*state));
    if (!again) __builtin_trap();
  }
  return 0;
}
