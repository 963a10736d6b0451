#include "auth/secret_hash.h"

#include <charconv>
#include <vector>

#include "crypto/encoding.h"

namespace certvault::auth {

namespace {
// OWASP's 2023 guidance for PBKDF2-HMAC-SHA256 is 600,000 iterations; client secrets are 256-bit
// random values, not passwords, so a lower count keeps token requests fast without weakening them.
constexpr int kIterations = 100000;
constexpr char kScheme[] = "pbkdf2-sha256";
}  // namespace

std::string NewClientSecret() { return crypto::Base64UrlEncode(crypto::RandomBytes(32)); }

std::string HashClientSecret(std::string_view secret) {
  const std::string salt = crypto::RandomBytes(16);
  const std::string hash = crypto::Pbkdf2Sha256(secret, salt, kIterations, 32);
  return std::string(kScheme) + "$" + std::to_string(kIterations) + "$" +
         crypto::Base64Encode(salt) + "$" + crypto::Base64Encode(hash);
}

bool VerifyClientSecret(std::string_view secret, std::string_view stored_hash) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (parts.size() < 4) {
    const size_t end = stored_hash.find('$', start);
    parts.push_back(stored_hash.substr(start, end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  if (parts.size() != 4 || parts[0] != kScheme) return false;
  int iterations = 0;
  auto [ptr, ec] = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), iterations);
  if (ec != std::errc() || iterations < 1000 || iterations > 10000000) return false;
  auto salt = crypto::Base64Decode(parts[2]);
  auto hash = crypto::Base64Decode(parts[3]);
  if (!salt || !hash || hash->empty()) return false;
  const std::string computed = crypto::Pbkdf2Sha256(secret, *salt, iterations, hash->size());
  return crypto::ConstantTimeEquals(computed, *hash);
}

}  // namespace certvault::auth
