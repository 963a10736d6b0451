#include "crypto/aead.h"

#include <openssl/evp.h>

#include <limits>

#include "crypto/encoding.h"
#include "crypto/internal/ossl.h"

namespace certvault::crypto {

namespace {

constexpr size_t kKeyLen = 32;
constexpr size_t kIvLen = 12;
constexpr size_t kTagLen = 16;

unsigned char* Out(std::string& s, size_t offset) {
  return reinterpret_cast<unsigned char*>(s.data()) + offset;
}

Status CheckArgs(std::string_view key, std::string_view data, std::string_view aad) {
  if (key.size() != kKeyLen) return Fail(Error::Internal("AES-256-GCM needs a 32-byte key"));
  // EVP_*Update lengths are ints.
  constexpr size_t kMax = std::numeric_limits<int>::max() - kIvLen - kTagLen;
  if (data.size() > kMax || aad.size() > kMax) {
    return Fail(Error::BadParameter("data too large to encrypt"));
  }
  return Ok();
}

}  // namespace

Result<std::string> AesGcmSeal(std::string_view key, std::string_view plaintext,
                               std::string_view aad) {
  CV_RETURN_IF_ERROR(CheckArgs(key, plaintext, aad));
  const std::string iv = RandomBytes(kIvLen);
  internal::EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  std::string out(kIvLen + plaintext.size() + kTagLen, '\0');
  out.replace(0, kIvLen, iv);
  int len = 0;
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, internal::Bytes(key),
                         internal::Bytes(iv)) != 1 ||
      (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &len, internal::Bytes(aad),
                                         static_cast<int>(aad.size())) != 1) ||
      (!plaintext.empty() &&
       EVP_EncryptUpdate(ctx.get(), Out(out, kIvLen), &len, internal::Bytes(plaintext),
                         static_cast<int>(plaintext.size())) != 1) ||
      EVP_EncryptFinal_ex(ctx.get(), Out(out, kIvLen + plaintext.size()), &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagLen,
                          Out(out, kIvLen + plaintext.size())) != 1) {
    return Fail(internal::InternalError("AES-256-GCM encryption failed"));
  }
  return out;
}

Result<std::string> AesGcmOpen(std::string_view key, std::string_view sealed,
                               std::string_view aad) {
  CV_RETURN_IF_ERROR(CheckArgs(key, sealed, aad));
  if (sealed.size() < kIvLen + kTagLen) {
    return Fail(Error::BadParameter("encrypted data is truncated"));
  }
  const std::string_view iv = sealed.substr(0, kIvLen);
  const std::string_view ciphertext = sealed.substr(kIvLen, sealed.size() - kIvLen - kTagLen);
  std::string tag(sealed.substr(sealed.size() - kTagLen));
  std::string out(ciphertext.size(), '\0');
  internal::EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, internal::Bytes(key),
                         internal::Bytes(iv)) != 1 ||
      (!aad.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &len, internal::Bytes(aad),
                                         static_cast<int>(aad.size())) != 1) ||
      (!ciphertext.empty() &&
       EVP_DecryptUpdate(ctx.get(), Out(out, 0), &len, internal::Bytes(ciphertext),
                         static_cast<int>(ciphertext.size())) != 1) ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagLen, tag.data()) != 1) {
    return Fail(internal::InternalError("AES-256-GCM decryption failed"));
  }
  // Final checks the tag; the plaintext must not be released before it passes.
  if (EVP_DecryptFinal_ex(ctx.get(), Out(out, ciphertext.size()), &len) != 1) {
    internal::ClearErrors();
    return Fail(Error::BadParameter(
        "encrypted data failed authentication (tampered, wrong key or wrong context)"));
  }
  return out;
}

}  // namespace certvault::crypto
