// DER from callers: certificates, PKCS#8 private keys and SubjectPublicKeyInfo.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/key.h"
#include "crypto/x509.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view der(reinterpret_cast<const char*>(data), size);
  using namespace certvault::crypto;
  if (auto cert = Certificate::FromDer(der); cert) {
    (void)cert->Subject();
    (void)cert->Issuer();
    (void)cert->Sans();
    (void)cert->KeyUsage();
    (void)cert->Ekus();
    (void)cert->IsCa();
    (void)cert->SerialHex();
    (void)cert->NotBefore();
    (void)cert->NotAfter();
    (void)cert->PublicKeyOf().Spec();
    (void)cert->IsIssuedBy(*cert);
    (void)cert->ToPem();
  }
  if (auto key = PrivateKey::FromDer(der); key) {
    (void)key->Spec();
    (void)key->Public().ToDer();
  }
  if (auto key = PublicKey::FromDer(der); key) {
    (void)key->Spec();
    (void)EcPublicPoint(*key);
    (void)key->VerifyJose("ES256", "a.b", std::string(64, '\1'));
  }
  return 0;
}
