#pragma once
// AES-256-GCM authenticated encryption. Output layout: 12-byte IV | ciphertext | 16-byte tag.

#include <string>
#include <string_view>

#include "common/result.h"

namespace certvault::crypto {

// REQUIRES: key.size() == 32. A fresh random IV is drawn for each call.
Result<std::string> AesGcmSeal(std::string_view key, std::string_view plaintext,
                               std::string_view aad);
// Fails (BadParameter) if the data was tampered with, the key is wrong or the AAD differs.
Result<std::string> AesGcmOpen(std::string_view key, std::string_view sealed, std::string_view aad);

}  // namespace certvault::crypto
