#include "crypto/internal/legacy_ec.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include <map>
#include <memory>
#include <mutex>

// See legacy_ec.h for why this file uses the EC_KEY API.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace certvault::crypto::internal {

namespace {
EvpPkeyPtr Wrap(EC_KEY* ec) {
  if (ec == nullptr) return nullptr;
  EvpPkeyPtr pkey(EVP_PKEY_new());
  if (!pkey || EVP_PKEY_assign_EC_KEY(pkey.get(), ec) != 1) {
    EC_KEY_free(ec);
    return nullptr;
  }
  return pkey;
}

// The curve's group, made once per curve: EC_KEY_new_by_curve_name builds a new group each time,
// which costs about as much as generating the key. Groups are never freed; there are three.
const EC_GROUP* CachedGroup(int nid) {
  static std::mutex mu;
  static std::map<int, EC_GROUP*> groups;
  std::lock_guard<std::mutex> lock(mu);
  EC_GROUP*& group = groups[nid];
  if (group == nullptr) {
    group = EC_GROUP_new_by_curve_name(nid);
    // Encode the curve by name (not explicit parameters), as certificates and PKCS#8 require.
    if (group != nullptr) EC_GROUP_set_asn1_flag(group, OPENSSL_EC_NAMED_CURVE);
  }
  return group;
}

struct EcKeyDeleter {
  void operator()(EC_KEY* ec) const { EC_KEY_free(ec); }
};
using EcKeyPtr = std::unique_ptr<EC_KEY, EcKeyDeleter>;

// Whether `pkey` is backed by an EC_KEY. EVP_PKEY_get0_EC_KEY would export a provider key into
// a cached EC_KEY; only keys that are EC_KEY-backed already take this file's paths.
bool IsEcKeyBacked(EVP_PKEY* pkey) {
  return EVP_PKEY_get0_provider(pkey) == nullptr && EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC;
}

// The EC_KEY of an EC_KEY-backed key (a new reference), null for any other key.
EcKeyPtr EcKeyOf(EVP_PKEY* pkey) {
  return IsEcKeyBacked(pkey) ? EcKeyPtr(EVP_PKEY_get1_EC_KEY(pkey)) : nullptr;
}

void FreeBytes(unsigned char* p) { OPENSSL_free(p); }

// Sets `alg` to ecdsa-with-<md> with absent parameters (RFC 5758 3.2).
Status SetEcdsaAlgorithm(X509_ALGOR* alg, const EVP_MD* md) {
  int sig_nid = NID_undef;
  if (alg == nullptr || OBJ_find_sigid_by_algs(&sig_nid, EVP_MD_get_type(md), EVP_PKEY_EC) != 1 ||
      X509_ALGOR_set0(alg, OBJ_nid2obj(sig_nid), V_ASN1_UNDEF, nullptr) != 1) {
    return Fail(InternalError("cannot set the ECDSA signature algorithm"));
  }
  return Ok();
}

// Signs the digest of `tbs` and stores the DER ECDSA-Sig-Value in `signature` as a BIT STRING
// with no unused bits. Frees `tbs`.
Status SignInto(unsigned char* tbs, int tbs_len, EC_KEY* ec, const EVP_MD* md,
                ASN1_BIT_STRING* signature) {
  OsslPtr<unsigned char, FreeBytes> owned(tbs);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (tbs_len <= 0 ||
      EVP_Digest(tbs, static_cast<size_t>(tbs_len), digest, &digest_len, md, nullptr) != 1) {
    return Fail(InternalError("cannot hash the data to sign"));
  }
  std::string sig(static_cast<size_t>(ECDSA_size(ec)), '\0');
  unsigned int sig_len = 0;
  if (ECDSA_sign(0, digest, static_cast<int>(digest_len),
                 reinterpret_cast<unsigned char*>(sig.data()), &sig_len, ec) != 1 ||
      ASN1_BIT_STRING_set(signature, reinterpret_cast<unsigned char*>(sig.data()),
                          static_cast<int>(sig_len)) != 1) {
    return Fail(InternalError("cannot sign"));
  }
  signature->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
  signature->flags |= ASN1_STRING_FLAG_BITS_LEFT;
  return Ok();
}

}  // namespace

EvpPkeyPtr GenerateLegacyEcKey(const std::string& curve) {
  const int nid = OBJ_sn2nid(curve.c_str());
  const EC_GROUP* group = nid == NID_undef ? nullptr : CachedGroup(nid);
  if (group == nullptr) return nullptr;
  EC_KEY* ec = EC_KEY_new();
  if (ec == nullptr || EC_KEY_set_group(ec, group) != 1 || EC_KEY_generate_key(ec) != 1) {
    EC_KEY_free(ec);
    return nullptr;
  }
  return Wrap(ec);  // the group copied from CachedGroup encodes the curve by name
}

Result<bool> LegacyEcSign(X509_REQ* req, EVP_PKEY* key, const EVP_MD* md) {
  auto ec = EcKeyOf(key);
  if (!ec) return false;
  OsslPtr<X509_ALGOR, X509_ALGOR_free> alg(X509_ALGOR_new());
  CV_RETURN_IF_ERROR(SetEcdsaAlgorithm(alg.get(), md));
  if (X509_REQ_set1_signature_algo(req, alg.get()) != 1) {
    return Fail(InternalError("cannot set the CSR's signature algorithm"));
  }
  OsslPtr<ASN1_BIT_STRING, ASN1_BIT_STRING_free> signature(ASN1_BIT_STRING_new());
  if (!signature) return Fail(InternalError("out of memory"));
  unsigned char* tbs = nullptr;
  const int tbs_len = i2d_re_X509_REQ_tbs(req, &tbs);
  CV_RETURN_IF_ERROR(SignInto(tbs, tbs_len, ec.get(), md, signature.get()));
  X509_REQ_set0_signature(req, signature.release());
  return true;
}

Result<bool> LegacyEcSign(X509* cert, EVP_PKEY* key, const EVP_MD* md) {
  auto ec = EcKeyOf(key);
  if (!ec) return false;
  // OpenSSL 3.0 has no setters for a certificate's two signature algorithm fields and its
  // signature (X509_REQ has them); they belong to `cert`, which the caller owns and is building,
  // so writing through the getters' pointers is what X509_sign itself does to them.
  const X509_ALGOR* outer_alg = nullptr;
  const ASN1_BIT_STRING* signature = nullptr;
  X509_get0_signature(&signature, &outer_alg, cert);
  CV_RETURN_IF_ERROR(SetEcdsaAlgorithm(const_cast<X509_ALGOR*>(X509_get0_tbs_sigalg(cert)), md));
  CV_RETURN_IF_ERROR(SetEcdsaAlgorithm(const_cast<X509_ALGOR*>(outer_alg), md));
  unsigned char* tbs = nullptr;
  const int tbs_len = i2d_re_X509_tbs(cert, &tbs);  // re-encodes: the cached encoding is stale
  CV_RETURN_IF_ERROR(SignInto(tbs, tbs_len, ec.get(), md, const_cast<ASN1_BIT_STRING*>(signature)));
  return true;
}

EvpPkeyPtr LegacyEcPublicKey(EVP_PKEY* pkey) {
  if (!IsEcKeyBacked(pkey)) return nullptr;
  const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(pkey);
  if (ec == nullptr) return nullptr;
  EC_KEY* pub = EC_KEY_new();
  if (pub == nullptr || EC_KEY_set_group(pub, EC_KEY_get0_group(ec)) != 1 ||
      EC_KEY_set_public_key(pub, EC_KEY_get0_public_key(ec)) != 1) {
    EC_KEY_free(pub);
    return nullptr;
  }
  EC_KEY_set_asn1_flag(pub, OPENSSL_EC_NAMED_CURVE);
  return Wrap(pub);
}

std::string LegacyEcEncodedPoint(EVP_PKEY* pkey) {
  if (!IsEcKeyBacked(pkey)) return {};
  const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(pkey);
  if (ec == nullptr || EC_KEY_get0_public_key(ec) == nullptr) return {};
  unsigned char buf[1 + 2 * 66];
  const size_t len = EC_POINT_point2oct(EC_KEY_get0_group(ec), EC_KEY_get0_public_key(ec),
                                        POINT_CONVERSION_UNCOMPRESSED, buf, sizeof(buf), nullptr);
  return std::string(reinterpret_cast<const char*>(buf), len);
}

}  // namespace certvault::crypto::internal
