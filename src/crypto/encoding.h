#pragma once
// Encodings, digests and randomness (OpenSSL-backed). All functions are thread-safe.

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"

namespace certvault::crypto {

std::string Base64Encode(std::string_view bytes);
// Accepts standard base64 with or without padding; ignores ASCII whitespace.
Result<std::string> Base64Decode(std::string_view text);
std::string Base64UrlEncode(std::string_view bytes);  // no padding
// Accepts base64url (and, leniently, standard base64), with or without padding.
Result<std::string> Base64UrlDecode(std::string_view text);
std::string HexEncode(std::string_view bytes);  // lowercase
// A PEM block: "-----BEGIN {label}-----", base64 of `der` in 64-column lines, "-----END...".
std::string PemEncode(std::string_view label, std::string_view der);

std::string Sha1(std::string_view data);    // 20 raw bytes
std::string Sha256(std::string_view data);  // 32 raw bytes
std::string HmacSha256(std::string_view key, std::string_view data);

// Cryptographically secure random bytes. Aborts only if the OS RNG is broken.
std::string RandomBytes(size_t n);
// 32 lowercase hex characters, the form of Key Vault version ids and request ids.
std::string NewId();

bool ConstantTimeEquals(std::string_view a, std::string_view b);

// PBKDF2-HMAC-SHA256, for hashing client secrets.
std::string Pbkdf2Sha256(std::string_view password, std::string_view salt, int iterations,
                         size_t out_len);

}  // namespace certvault::crypto
