// PEM text from callers: certificate imports, PEM bundles and private keys.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/key.h"
#include "crypto/x509.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace certvault::crypto;
  if (auto bundle = ParsePemBundle(text); bundle) {
    // Exercise the accessors an import touches on whatever parsed.
    for (const auto& cert : bundle->certificates) {
      (void)cert.Subject();
      (void)cert.Sans();
      (void)cert.KeyUsage();
      (void)cert.Ekus();
      (void)cert.IsCa();
      (void)cert.SerialHex();
      (void)cert.NotAfter();
      if (bundle->key) (void)cert.MatchesKey(*bundle->key);
    }
    if (bundle->key && !bundle->certificates.empty()) {
      (void)OrderChain(*bundle->key, bundle->certificates);
    }
  }
  if (auto certs = ParsePemCertificates(text); certs && certs->size() > 1) {
    (void)(*certs)[0].IsIssuedBy((*certs)[1]);
  }
  if (auto key = PrivateKey::FromPem(text); key) {
    (void)key->Spec();
    (void)key->ToPkcs8Der();
  }
  return 0;
}
