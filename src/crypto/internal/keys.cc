#include "crypto/internal/keys.h"

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

namespace certvault::crypto::internal {

namespace {

std::string GroupName(EVP_PKEY* pkey) {
  char name[80] = {};
  size_t len = 0;
  if (EVP_PKEY_get_group_name(pkey, name, sizeof(name), &len) != 1) {
    ClearErrors();
    return {};
  }
  return std::string(name, len);
}

// OpenSSL must never prompt on a terminal for a passphrase while parsing untrusted input.
int RefusePassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return 0; }

}  // namespace

std::string CurveFromGroupName(std::string_view group) {
  if (group == "prime256v1" || group == "P-256") return "P-256";
  if (group == "secp384r1" || group == "P-384") return "P-384";
  if (group == "secp521r1" || group == "P-521") return "P-521";
  return std::string(group);
}

Status CheckSupportedKey(EVP_PKEY* pkey, bool strict) {
  if (pkey == nullptr) return Fail(Error::BadParameter("missing key"));
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA: {
      const int bits = EVP_PKEY_get_bits(pkey);
      if (strict && (bits < 2048 || bits > 16384)) {
        return Fail(Error::BadParameter("unsupported RSA key size " + std::to_string(bits) +
                                        " (2048 to 16384 bits are accepted)"));
      }
      return Ok();
    }
    case EVP_PKEY_EC: {
      const std::string group = GroupName(pkey);
      if (group.empty()) {
        return Fail(
            Error::BadParameter("EC keys with explicit curve parameters are not supported"));
      }
      const std::string curve = CurveFromGroupName(group);
      if (strict && curve != "P-256" && curve != "P-384" && curve != "P-521") {
        return Fail(Error::BadParameter("unsupported EC curve " + group +
                                        " (P-256, P-384 and P-521 are accepted)"));
      }
      return Ok();
    }
    default:
      return Fail(Error::BadParameter("unsupported key type (RSA and EC keys are accepted)"));
  }
}

Status CheckHasPrivatePart(EVP_PKEY* pkey) {
  // Decoders and callers may hand over key material that has only public parts.
  const char* param =
      EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA ? OSSL_PKEY_PARAM_RSA_D : OSSL_PKEY_PARAM_PRIV_KEY;
  BIGNUM* secret = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, param, &secret) != 1) {
    ClearErrors();
    return Fail(Error::BadParameter("malformed private key: no private part"));
  }
  BN_clear_free(secret);
  return Ok();
}

Result<EvpPkeyPtr> DecodePrivateKeyDer(std::string_view der, const char* structure,
                                       const char* key_type) {
  CV_RETURN_IF_ERROR(CheckInputSize(der, "private key"));
  EvpPkeyPtr pkey;
  const unsigned char* data = Bytes(der);
  if (std::string_view(structure) == "PrivateKeyInfo") {
    // The plain PKCS#8 structure only: unlike the generic decoders, this cannot wander into
    // EncryptedPrivateKeyInfo or accept a PKCS#1 body under a PKCS#8 label.
    OsslPtr<PKCS8_PRIV_KEY_INFO, PKCS8_PRIV_KEY_INFO_free> p8(
        d2i_PKCS8_PRIV_KEY_INFO(nullptr, &data, static_cast<long>(der.size())));
    if (!p8) return Fail(BadInputError("malformed private key"));
    pkey.reset(EVP_PKCS82PKEY(p8.get()));
    if (!pkey) return Fail(BadInputError("malformed private key"));
  } else {
    EVP_PKEY* raw = nullptr;
    OsslPtr<OSSL_DECODER_CTX, OSSL_DECODER_CTX_free> dctx(OSSL_DECODER_CTX_new_for_pkey(
        &raw, "DER", structure, key_type, EVP_PKEY_KEYPAIR, nullptr, nullptr));
    if (!dctx) return Fail(InternalError("cannot create a key decoder"));
    OSSL_DECODER_CTX_set_pem_password_cb(dctx.get(), RefusePassphrase, nullptr);
    size_t len = der.size();
    if (OSSL_DECODER_from_data(dctx.get(), &data, &len) != 1 || raw == nullptr) {
      EVP_PKEY_free(raw);
      return Fail(BadInputError("malformed private key"));
    }
    pkey.reset(raw);
  }
  if (data != Bytes(der) + der.size()) {
    return Fail(Error::BadParameter("malformed private key: trailing data"));
  }
  CV_RETURN_IF_ERROR(CheckSupportedKey(pkey.get(), /*strict=*/true));
  CV_RETURN_IF_ERROR(CheckHasPrivatePart(pkey.get()));
  return pkey;
}

Result<EvpPkeyPtr> DecodePrivateKeyBlock(std::string_view label, std::string_view der) {
  if (label == "PRIVATE KEY") return DecodePrivateKeyDer(der, "PrivateKeyInfo", nullptr);
  if (label == "RSA PRIVATE KEY") return DecodePrivateKeyDer(der, "type-specific", "RSA");
  if (label == "EC PRIVATE KEY") return DecodePrivateKeyDer(der, "type-specific", "EC");
  return Fail(Error::BadParameter("PEM block \"" + std::string(label) + "\" is not a private key"));
}

const EVP_MD* DigestForKey(EVP_PKEY* pkey) {
  if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC) {
    const std::string curve = CurveFromGroupName(GroupName(pkey));
    if (curve == "P-384") return EVP_sha384();
    if (curve == "P-521") return EVP_sha512();
  }
  return EVP_sha256();
}

}  // namespace certvault::crypto::internal
