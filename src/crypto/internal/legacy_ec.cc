#include "crypto/internal/legacy_ec.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

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
}  // namespace

EvpPkeyPtr GenerateLegacyEcKey(const std::string& curve) {
  const int nid = OBJ_sn2nid(curve.c_str());
  if (nid == NID_undef) return nullptr;
  EC_KEY* ec = EC_KEY_new_by_curve_name(nid);
  if (ec == nullptr) return nullptr;
  // Encode the curve by name (not explicit parameters), as certificates and PKCS#8 require.
  EC_KEY_set_asn1_flag(ec, OPENSSL_EC_NAMED_CURVE);
  if (EC_KEY_generate_key(ec) != 1) {
    EC_KEY_free(ec);
    return nullptr;
  }
  return Wrap(ec);
}

EvpPkeyPtr LegacyEcPublicKey(EVP_PKEY* pkey) {
  // EVP_PKEY_get0_EC_KEY would export a provider key into a cached EC_KEY; only keys that are
  // EC_KEY-backed already are handled here.
  if (EVP_PKEY_get0_provider(pkey) != nullptr || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) {
    return nullptr;
  }
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
  if (EVP_PKEY_get0_provider(pkey) != nullptr || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) {
    return {};
  }
  const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(pkey);
  if (ec == nullptr || EC_KEY_get0_public_key(ec) == nullptr) return {};
  unsigned char buf[1 + 2 * 66];
  const size_t len = EC_POINT_point2oct(EC_KEY_get0_group(ec), EC_KEY_get0_public_key(ec),
                                        POINT_CONVERSION_UNCOMPRESSED, buf, sizeof(buf), nullptr);
  return std::string(reinterpret_cast<const char*>(buf), len);
}

}  // namespace certvault::crypto::internal
