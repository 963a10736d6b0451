#pragma once
// Client secrets are stored only as slow salted hashes (PBKDF2-HMAC-SHA256).

#include <string>
#include <string_view>

namespace certvault::auth {

// A fresh random client secret (URL-safe text, 256 bits).
std::string NewClientSecret();

// "pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>".
std::string HashClientSecret(std::string_view secret);

// Constant-time check of `secret` against a stored hash. False for malformed hashes.
bool VerifyClientSecret(std::string_view secret, std::string_view stored_hash);

}  // namespace certvault::auth
