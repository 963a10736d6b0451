#include "crypto/encoding.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <cstdint>

#include "crypto/internal/ossl.h"

namespace certvault::crypto {

namespace {

constexpr char kStdAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrlAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr int8_t kInvalid = -1;

// Maps both alphabets at once: the decoders below are lenient about which one was used.
constexpr std::array<int8_t, 256> MakeDecodeTable() {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = kInvalid;
  for (int i = 0; i < 64; ++i) {
    table[static_cast<unsigned char>(kStdAlphabet[i])] = static_cast<int8_t>(i);
    table[static_cast<unsigned char>(kUrlAlphabet[i])] = static_cast<int8_t>(i);
  }
  return table;
}
constexpr std::array<int8_t, 256> kDecodeTable = MakeDecodeTable();

std::string Encode(std::string_view bytes, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) |
                       (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                       static_cast<uint8_t>(bytes[i + 2]);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (rest == 2) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    if (rest == 2) out.push_back(alphabet[(v >> 6) & 63]);
    if (pad) out.append(rest == 1 ? "==" : "=");
  }
  return out;
}

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Decodes either alphabet. Padding is optional, but if present it must complete the last
// quantum and nothing but whitespace may follow it.
Result<std::string> Decode(std::string_view text, bool skip_whitespace) {
  std::string out;
  out.reserve(text.size() / 4 * 3 + 3);
  uint32_t acc = 0;
  int bits = 0;
  size_t symbols = 0;
  size_t padding = 0;
  for (char c : text) {
    if (skip_whitespace && IsAsciiSpace(c)) continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    const int8_t v = kDecodeTable[static_cast<unsigned char>(c)];
    if (v == kInvalid || padding > 0) return Fail(Error::BadParameter("invalid base64"));
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    ++symbols;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // One leftover symbol carries fewer than 8 bits: no encoder produces that.
  if (symbols % 4 == 1) return Fail(Error::BadParameter("invalid base64"));
  if (padding > 0 && (symbols + padding) % 4 != 0) {
    return Fail(Error::BadParameter("invalid base64"));
  }
  return out;
}

constexpr char kHexDigits[] = "0123456789abcdef";

std::string Digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out, &len, md, nullptr) != 1) {
    internal::Die("digest failed");
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

}  // namespace

std::string Base64Encode(std::string_view bytes) { return Encode(bytes, kStdAlphabet, true); }

Result<std::string> Base64Decode(std::string_view text) {
  return Decode(text, /*skip_whitespace=*/true);
}

std::string Base64UrlEncode(std::string_view bytes) { return Encode(bytes, kUrlAlphabet, false); }

Result<std::string> Base64UrlDecode(std::string_view text) {
  return Decode(text, /*skip_whitespace=*/false);
}

std::string HexEncode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto b = static_cast<uint8_t>(c);
    out.push_back(kHexDigits[b >> 4]);
    out.push_back(kHexDigits[b & 15]);
  }
  return out;
}

std::string Sha1(std::string_view data) { return Digest(EVP_sha1(), data); }

std::string Sha256(std::string_view data) { return Digest(EVP_sha256(), data); }

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // HMAC() rejects a null key pointer even with length 0.
  static const unsigned char kEmpty = 0;
  const void* key_ptr = key.empty() ? static_cast<const void*>(&kEmpty) : key.data();
  if (HMAC(EVP_sha256(), key_ptr, static_cast<int>(key.size()), internal::Bytes(data), data.size(),
           out, &len) == nullptr) {
    internal::Die("HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    internal::Die("the random number generator failed");
  }
  return out;
}

std::string NewId() { return HexEncode(RandomBytes(16)); }

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // The length is not secret (hashes and MACs have fixed sizes); the contents are.
  if (a.size() != b.size()) return false;
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Pbkdf2Sha256(std::string_view password, std::string_view salt, int iterations,
                         size_t out_len) {
  std::string out(out_len, '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), internal::Bytes(salt),
                        static_cast<int>(salt.size()), iterations, EVP_sha256(),
                        static_cast<int>(out_len),
                        reinterpret_cast<unsigned char*>(out.data())) != 1) {
    internal::Die("PBKDF2 failed");
  }
  return out;
}

std::string PemEncode(std::string_view label, std::string_view der) {
  const std::string b64 = Base64Encode(der);
  std::string pem = "-----BEGIN " + std::string(label) + "-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) pem.append(b64, i, 64).push_back('\n');
  pem += "-----END " + std::string(label) + "-----\n";
  return pem;
}

}  // namespace certvault::crypto
