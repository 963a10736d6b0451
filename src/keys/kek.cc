#include "keys/kek.h"

#include <sys/stat.h>

#include <cstdint>
#include <fstream>
#include <sstream>

#include "crypto/aead.h"
#include "crypto/encoding.h"

namespace certvault::keys {

namespace {

constexpr char kFormatV1 = 1;

class AesKek final : public KeyProtector {
 public:
  explicit AesKek(std::string kek) : kek_(std::move(kek)), id_(crypto::Sha256(kek_).substr(0, 8)) {}

  // Layout: 0x01 | kek id (8) | wrapped data key length (2, big endian) | wrapped data key |
  // sealed plaintext.
  Result<std::string> Seal(std::string_view plaintext, std::string_view aad) const override {
    const std::string data_key = crypto::RandomBytes(32);
    CV_ASSIGN_OR_RETURN(std::string wrapped, crypto::AesGcmSeal(kek_, data_key, id_));
    CV_ASSIGN_OR_RETURN(std::string sealed, crypto::AesGcmSeal(data_key, plaintext, aad));
    std::string out;
    out.reserve(1 + id_.size() + 2 + wrapped.size() + sealed.size());
    out.push_back(kFormatV1);
    out += id_;
    out.push_back(static_cast<char>((wrapped.size() >> 8) & 0xff));
    out.push_back(static_cast<char>(wrapped.size() & 0xff));
    out += wrapped;
    out += sealed;
    return out;
  }

  Result<std::string> Open(std::string_view blob, std::string_view aad) const override {
    if (blob.size() < 1 + 8 + 2 || blob[0] != kFormatV1) {
      return Fail(Error::Internal("sealed blob has an unknown format"));
    }
    if (blob.substr(1, 8) != id_) {
      return Fail(Error::Internal("sealed blob was made with a different key-encryption key"));
    }
    const size_t wrapped_len =
        (static_cast<uint8_t>(blob[9]) << 8) | static_cast<uint8_t>(blob[10]);
    if (blob.size() < 11 + wrapped_len) return Fail(Error::Internal("sealed blob is truncated"));
    auto data_key = crypto::AesGcmOpen(kek_, blob.substr(11, wrapped_len), id_);
    if (!data_key) return Fail(Error::Internal("cannot unwrap data key"));
    auto plain = crypto::AesGcmOpen(*data_key, blob.substr(11 + wrapped_len), aad);
    if (!plain) return Fail(Error::Internal("sealed blob failed authentication"));
    return plain;
  }

 private:
  std::string kek_;
  std::string id_;
};

}  // namespace

std::unique_ptr<KeyProtector> NewKekFromBytes(std::string_view kek) {
  return std::make_unique<AesKek>(std::string(kek));
}

Result<std::unique_ptr<KeyProtector>> LoadOrCreateFileKek(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    const std::string encoded = crypto::Base64Encode(crypto::RandomBytes(32)) + "\n";
    const mode_t old_mask = umask(077);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << encoded;
    out.close();
    umask(old_mask);
    if (!out) return Fail(Error::Internal("cannot write key-encryption key file " + path));
    chmod(path.c_str(), 0600);
    if (stat(path.c_str(), &st) != 0) {
      return Fail(Error::Internal("cannot stat key-encryption key file " + path));
    }
  }
  if ((st.st_mode & 077) != 0) {
    return Fail(Error::Internal("key-encryption key file " + path +
                                " is readable by group or others; chmod 600 it"));
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto kek = crypto::Base64Decode(buffer.str());
  if (!kek || kek->size() != 32) {
    return Fail(Error::Internal("key-encryption key file " + path + " is malformed"));
  }
  return NewKekFromBytes(*kek);
}

}  // namespace certvault::keys
