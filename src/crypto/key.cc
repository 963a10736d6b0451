#include "crypto/key.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto/internal/keys.h"
#include "crypto/internal/legacy_ec.h"
#include "crypto/internal/ossl.h"
#include "crypto/internal/pem.h"

namespace certvault::crypto {

using internal::EvpPkeyPtr;

namespace {

std::shared_ptr<EVP_PKEY> Share(EvpPkeyPtr pkey) {
  return std::shared_ptr<EVP_PKEY>(pkey.release(), EVP_PKEY_free);
}

std::string OpenSslCurveName(const std::string& curve) {
  if (curve == "P-256") return "prime256v1";
  if (curve == "P-384") return "secp384r1";
  if (curve == "P-521") return "secp521r1";
  return {};
}

KeySpec SpecOf(EVP_PKEY* pkey) {
  KeySpec spec;
  if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC) {
    spec.kind = KeyKind::kEc;
    spec.rsa_bits = 0;
    char group[80] = {};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &len) == 1) {
      spec.curve = internal::CurveFromGroupName(std::string_view(group, len));
    } else {
      internal::ClearErrors();
      spec.curve.clear();
    }
  } else {
    spec.kind = KeyKind::kRsa;
    spec.rsa_bits = EVP_PKEY_get_bits(pkey);
    spec.curve.clear();
  }
  return spec;
}

// What a JOSE algorithm needs from the key: its type, curve and the size of r and s.
struct JoseAlg {
  KeyKind kind;
  const char* curve;  // EC only
  const EVP_MD* md;
  size_t coord_len;  // EC only
};

Result<JoseAlg> LookupJoseAlg(std::string_view alg) {
  if (alg == "RS256") return JoseAlg{KeyKind::kRsa, "", EVP_sha256(), 0};
  if (alg == "ES256") return JoseAlg{KeyKind::kEc, "P-256", EVP_sha256(), 32};
  if (alg == "ES384") return JoseAlg{KeyKind::kEc, "P-384", EVP_sha384(), 48};
  if (alg == "ES512") return JoseAlg{KeyKind::kEc, "P-521", EVP_sha512(), 66};
  return Fail(Error::BadParameter("unsupported JOSE algorithm \"" + std::string(alg) + "\""));
}

bool KeyFitsAlg(EVP_PKEY* pkey, const JoseAlg& alg) {
  const KeySpec spec = SpecOf(pkey);
  return spec.kind == alg.kind && (alg.kind == KeyKind::kRsa || spec.curve == alg.curve);
}

std::string ToDerWith(EVP_PKEY* pkey, int (*encode)(const EVP_PKEY*, unsigned char**)) {
  unsigned char* out = nullptr;
  const int len = encode(pkey, &out);
  if (len <= 0) internal::Die("cannot encode a key");
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(len));
  OPENSSL_free(out);
  return der;
}

int EncodePkcs8(const EVP_PKEY* pkey, unsigned char** out) {
  internal::OsslPtr<PKCS8_PRIV_KEY_INFO, PKCS8_PRIV_KEY_INFO_free> p8(EVP_PKEY2PKCS8(pkey));
  if (!p8) return 0;
  return i2d_PKCS8_PRIV_KEY_INFO(p8.get(), out);
}

int EncodeSpki(const EVP_PKEY* pkey, unsigned char** out) { return i2d_PUBKEY(pkey, out); }

}  // namespace

Status ValidateKeySpec(const KeySpec& spec) {
  switch (spec.kind) {
    case KeyKind::kRsa:
      if (spec.rsa_bits == 2048 || spec.rsa_bits == 3072 || spec.rsa_bits == 4096) return Ok();
      return Fail(Error::BadParameter("unsupported RSA key size " + std::to_string(spec.rsa_bits) +
                                      "; use 2048, 3072 or 4096"));
    case KeyKind::kEc:
      if (!OpenSslCurveName(spec.curve).empty()) return Ok();
      return Fail(Error::BadParameter("unsupported curve \"" + spec.curve +
                                      "\"; use P-256, P-384 or P-521"));
  }
  return Fail(Error::BadParameter("unsupported key type"));
}

// --- PublicKey ---

Result<PublicKey> PublicKey::FromDer(std::string_view spki_der) {
  CV_RETURN_IF_ERROR(internal::CheckInputSize(spki_der, "public key"));
  const unsigned char* p = internal::Bytes(spki_der);
  EvpPkeyPtr pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki_der.size())));
  if (!pkey) return Fail(internal::BadInputError("malformed public key"));
  if (p != internal::Bytes(spki_der) + spki_der.size()) {
    return Fail(Error::BadParameter("malformed public key: trailing data"));
  }
  return Adopt(pkey.release());
}

Result<PublicKey> PublicKey::Adopt(EVP_PKEY* pkey) {
  EvpPkeyPtr owned(pkey);
  CV_RETURN_IF_ERROR(internal::CheckSupportedKey(owned.get(), /*strict=*/false));
  return PublicKey(Share(std::move(owned)));
}

std::string PublicKey::ToDer() const { return ToDerWith(pkey_.get(), EncodeSpki); }

KeySpec PublicKey::Spec() const { return SpecOf(pkey_.get()); }

Status PublicKey::VerifyJose(std::string_view alg_name, std::string_view data,
                             std::string_view sig) const {
  auto alg = LookupJoseAlg(alg_name);
  if (!alg) return Fail(Error::Unauthorized("unsupported token algorithm"));
  if (!KeyFitsAlg(pkey_.get(), *alg)) {
    return Fail(Error::Unauthorized("token algorithm does not match the key"));
  }
  std::string der_sig;
  if (alg->kind == KeyKind::kEc) {
    // JOSE carries r||s at fixed width; OpenSSL wants a DER ECDSA-Sig-Value.
    if (sig.size() != 2 * alg->coord_len) {
      return Fail(Error::Unauthorized("invalid token signature"));
    }
    internal::EcdsaSigPtr ecdsa(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(internal::Bytes(sig), static_cast<int>(alg->coord_len), nullptr);
    BIGNUM* s =
        BN_bin2bn(internal::Bytes(sig) + alg->coord_len, static_cast<int>(alg->coord_len), nullptr);
    if (!ecdsa || r == nullptr || s == nullptr || ECDSA_SIG_set0(ecdsa.get(), r, s) != 1) {
      BN_free(r);
      BN_free(s);
      return Fail(internal::InternalError("cannot build an ECDSA signature"));
    }
    unsigned char* out = nullptr;
    const int len = i2d_ECDSA_SIG(ecdsa.get(), &out);
    if (len <= 0) return Fail(internal::InternalError("cannot encode an ECDSA signature"));
    der_sig.assign(reinterpret_cast<char*>(out), static_cast<size_t>(len));
    OPENSSL_free(out);
    sig = der_sig;
  }
  internal::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, alg->md, nullptr, pkey_.get()) != 1) {
    return Fail(internal::InternalError("cannot start signature verification"));
  }
  if (EVP_DigestVerify(ctx.get(), internal::Bytes(sig), sig.size(), internal::Bytes(data),
                       data.size()) != 1) {
    internal::ClearErrors();
    return Fail(Error::Unauthorized("invalid token signature"));
  }
  return Ok();
}

// --- PrivateKey ---

Result<PrivateKey> PrivateKey::Generate(const KeySpec& spec) {
  CV_RETURN_IF_ERROR(ValidateKeySpec(spec));
  EVP_PKEY* raw = nullptr;
  if (spec.kind == KeyKind::kRsa) {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(spec.rsa_bits));
  } else {
    raw = internal::GenerateLegacyEcKey(OpenSslCurveName(spec.curve)).release();
  }
  if (raw == nullptr) return Fail(internal::InternalError("key generation failed"));
  return PrivateKey(Share(EvpPkeyPtr(raw)));
}

Result<PrivateKey> PrivateKey::FromPem(std::string_view pem) {
  CV_RETURN_IF_ERROR(internal::CheckInputSize(pem, "PEM text"));
  CV_ASSIGN_OR_RETURN(const auto blocks, internal::ParsePemBlocks(pem));
  for (const auto& block : blocks) {
    if (internal::IsEncryptedKeyLabel(block.label) ||
        (internal::IsPrivateKeyLabel(block.label) && block.encrypted)) {
      return Fail(Error::BadParameter(
          "the private key is encrypted; supply it unencrypted (for example with `openssl pkey`)"));
    }
    if (!internal::IsPrivateKeyLabel(block.label)) continue;
    CV_ASSIGN_OR_RETURN(auto pkey, internal::DecodePrivateKeyBlock(block.label, block.der));
    return PrivateKey(Share(std::move(pkey)));
  }
  return Fail(Error::BadParameter("no PRIVATE KEY block found in the PEM text"));
}

Result<PrivateKey> PrivateKey::FromDer(std::string_view pkcs8_der) {
  CV_ASSIGN_OR_RETURN(auto pkey, internal::DecodePrivateKeyDer(pkcs8_der, "PrivateKeyInfo",
                                                               /*key_type=*/nullptr));
  return PrivateKey(Share(std::move(pkey)));
}

Result<PrivateKey> PrivateKey::Adopt(EVP_PKEY* pkey) {
  EvpPkeyPtr owned(pkey);
  CV_RETURN_IF_ERROR(internal::CheckSupportedKey(owned.get(), /*strict=*/true));
  CV_RETURN_IF_ERROR(internal::CheckHasPrivatePart(owned.get()));
  return PrivateKey(Share(std::move(owned)));
}

std::string PrivateKey::ToPkcs8Der() const { return ToDerWith(pkey_.get(), EncodePkcs8); }

std::string PrivateKey::ToPkcs8Pem() const { return internal::ToPem("PRIVATE KEY", ToPkcs8Der()); }

PublicKey PrivateKey::Public() const {
  if (EvpPkeyPtr legacy = internal::LegacyEcPublicKey(pkey_.get())) {
    return PublicKey(Share(std::move(legacy)));
  }
  // A copy of the public parameters only, so that the public key never carries private
  // material. Copying parameters avoids OpenSSL 3.0's encoder round trip, which is slow.
  OSSL_PARAM* params = nullptr;
  if (EVP_PKEY_todata(pkey_.get(), EVP_PKEY_PUBLIC_KEY, &params) == 1) {
    EVP_PKEY* pub = nullptr;
    internal::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_.get(), nullptr));
    const bool ok = ctx && EVP_PKEY_fromdata_init(ctx.get()) == 1 &&
                    EVP_PKEY_fromdata(ctx.get(), &pub, EVP_PKEY_PUBLIC_KEY, params) == 1;
    OSSL_PARAM_free(params);
    if (ok) return PublicKey(Share(EvpPkeyPtr(pub)));
    EVP_PKEY_free(pub);
  }
  ERR_clear_error();
  const std::string spki = ToDerWith(pkey_.get(), EncodeSpki);
  const unsigned char* p = internal::Bytes(spki);
  EvpPkeyPtr pub(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())));
  if (!pub) internal::Die("cannot decode our own public key");
  return PublicKey(Share(std::move(pub)));
}

KeySpec PrivateKey::Spec() const { return SpecOf(pkey_.get()); }

Result<std::string> PrivateKey::SignJose(std::string_view alg_name, std::string_view data) const {
  CV_ASSIGN_OR_RETURN(const JoseAlg alg, LookupJoseAlg(alg_name));
  if (!KeyFitsAlg(pkey_.get(), alg)) {
    return Fail(Error::BadParameter("algorithm " + std::string(alg_name) +
                                    " does not match the signing key"));
  }
  internal::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, alg.md, nullptr, pkey_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, internal::Bytes(data), data.size()) != 1) {
    return Fail(internal::InternalError("cannot sign"));
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     internal::Bytes(data), data.size()) != 1) {
    return Fail(internal::InternalError("signing failed"));
  }
  sig.resize(len);
  if (alg.kind == KeyKind::kRsa) return sig;

  const unsigned char* p = internal::Bytes(sig);
  internal::EcdsaSigPtr ecdsa(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
  if (!ecdsa) return Fail(internal::InternalError("cannot decode our own ECDSA signature"));
  std::string raw(2 * alg.coord_len, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa.get()), out, static_cast<int>(alg.coord_len)) < 0 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa.get()), out + alg.coord_len,
                   static_cast<int>(alg.coord_len)) < 0) {
    return Fail(internal::InternalError("cannot encode an ECDSA signature"));
  }
  return raw;
}

Result<EcPoint> EcPublicPoint(const PublicKey& key) {
  const KeySpec spec = key.Spec();
  if (spec.kind != KeyKind::kEc) return Fail(Error::BadParameter("not an EC key"));
  const size_t width = static_cast<size_t>((EVP_PKEY_get_bits(key.get()) + 7) / 8);
  // The uncompressed point 04 || X || Y; EC_KEY-backed keys export it, but not X and Y apart.
  std::string encoded = internal::LegacyEcEncodedPoint(key.get());
  if (encoded.empty()) {
    encoded.resize(1 + 2 * 66);
    size_t len = 0;
    if (EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                        reinterpret_cast<unsigned char*>(encoded.data()),
                                        encoded.size(), &len) != 1) {
      len = 0;
    }
    encoded.resize(len);
  }
  if (encoded.size() != 1 + 2 * width || encoded[0] != 0x04) {
    internal::ClearErrors();
    return Fail(internal::InternalError("cannot read the EC public point"));
  }
  EcPoint point;
  point.crv = spec.curve;
  point.x = encoded.substr(1, width);
  point.y = encoded.substr(1 + width, width);
  return point;
}

bool SameKeyKind(const KeySpec& a, const KeySpec& b) {
  if (a.kind != b.kind) return false;
  return a.kind == KeyKind::kRsa ? a.rsa_bits == b.rsa_bits : a.curve == b.curve;
}

}  // namespace certvault::crypto
