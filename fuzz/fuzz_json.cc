// Certificate policies in JSON from callers: parse, merge onto Key Vault's defaults, validate.

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "model/codec.h"
#include "model/types.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Exceptions off for parsing (an invalid document is not a finding); the codec functions must
  // not throw at all, so anything they throw escapes and is reported as a crash.
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr,
                                                 /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  certvault::model::CertificatePolicy policy;
  if (!certvault::model::MergePolicyFromJson(j, policy)) return 0;
  (void)certvault::model::ValidatePolicy(policy);
  (void)certvault::model::PolicyToJson(policy);
  return 0;
}
