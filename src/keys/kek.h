#pragma once
// Key protection: envelope encryption of private keys and secret values under a key-encryption
// key (KEK).
//
// Each Seal draws a fresh 256-bit data key, encrypts the plaintext with it (AES-256-GCM) and
// wraps the data key with the KEK (AES-256-GCM). The blob names the KEK by id so that a later
// KEK rotation can unwrap old blobs. `aad` binds a blob to its owner (for example
// "cert/vault/name/version"), so a blob copied to another record fails to open.
//
// Thread-safe. The KEK bytes never leave this class.

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace certvault::keys {

class KeyProtector {
 public:
  virtual ~KeyProtector() = default;
  virtual Result<std::string> Seal(std::string_view plaintext, std::string_view aad) const = 0;
  virtual Result<std::string> Open(std::string_view blob, std::string_view aad) const = 0;
};

// A KEK kept in a file (32 random bytes, base64, mode 0600). Created on first use; refused if the
// file is readable by group or others.
Result<std::unique_ptr<KeyProtector>> LoadOrCreateFileKek(const std::string& path);

// A KEK from raw bytes, for tests. REQUIRES: kek.size() == 32.
std::unique_ptr<KeyProtector> NewKekFromBytes(std::string_view kek);

}  // namespace certvault::keys
