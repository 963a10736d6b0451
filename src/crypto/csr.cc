// PKCS#10 certificate signing requests.

#include "crypto/internal/keys.h"
#include "crypto/internal/legacy_ec.h"
#include "crypto/internal/ossl.h"
#include "crypto/internal/pem.h"
#include "crypto/internal/x509_spec.h"
#include "crypto/x509.h"

namespace certvault::crypto {

using internal::OsslPtr;

Result<std::string> BuildCsrDer(const PrivateKey& key, const CertificateSpec& spec) {
  CV_ASSIGN_OR_RETURN(auto subject, internal::ParseSubject(spec.subject));
  CV_ASSIGN_OR_RETURN(auto exts, internal::BuildExtensions(spec, /*with_basic_constraints=*/false));
  internal::X509ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_subject_name(req.get(), subject.get()) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.get()) != 1) {
    return Fail(internal::InternalError("cannot build the CSR"));
  }
  if (!exts.empty()) {
    internal::ExtensionStackPtr stack(sk_X509_EXTENSION_new_null());
    if (!stack) return Fail(internal::InternalError("out of memory"));
    for (auto& ext : exts) {
      if (sk_X509_EXTENSION_push(stack.get(), ext.get()) <= 0) {
        return Fail(internal::InternalError("out of memory"));
      }
      ext.release();
    }
    if (X509_REQ_add_extensions(req.get(), stack.get()) != 1) {
      return Fail(internal::InternalError("cannot add extensions to the CSR"));
    }
  }
  const EVP_MD* md = internal::DigestForKey(key.get());
  CV_ASSIGN_OR_RETURN(const bool signed_here, internal::LegacyEcSign(req.get(), key.get(), md));
  if (!signed_here && X509_REQ_sign(req.get(), key.get(), md) <= 0) {
    return Fail(internal::InternalError("cannot sign the CSR"));
  }
  unsigned char* out = nullptr;
  const int len = i2d_X509_REQ(req.get(), &out);
  if (len <= 0) return Fail(internal::InternalError("cannot encode the CSR"));
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(len));
  OPENSSL_free(out);
  return der;
}

Result<CsrInfo> ParseCsr(std::string_view pem_or_der) {
  CV_RETURN_IF_ERROR(internal::CheckInputSize(pem_or_der, "CSR"));
  std::string der;
  if (internal::LooksLikePem(pem_or_der)) {
    CV_ASSIGN_OR_RETURN(auto blocks, internal::ParsePemBlocks(pem_or_der));
    for (auto& block : blocks) {
      if (block.label == "CERTIFICATE REQUEST" || block.label == "NEW CERTIFICATE REQUEST") {
        der = std::move(block.der);
        break;
      }
    }
    if (der.empty()) return Fail(Error::BadParameter("no CERTIFICATE REQUEST block found"));
  } else {
    der = std::string(pem_or_der);
  }
  const unsigned char* p = internal::Bytes(der);
  internal::X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  if (!req) return Fail(internal::BadInputError("malformed CSR"));
  if (p != internal::Bytes(der) + der.size()) {
    return Fail(Error::BadParameter("malformed CSR: trailing data"));
  }
  EVP_PKEY* pkey = X509_REQ_get0_pubkey(req.get());
  if (pkey == nullptr) {
    return Fail(internal::BadInputError("CSR public key is malformed or of an unknown type"));
  }
  auto supported = internal::CheckSupportedKey(pkey, /*strict=*/false);
  if (!supported) return Fail(supported.error().WithContext("CSR public key"));
  if (X509_REQ_verify(req.get(), pkey) != 1) {
    internal::ClearErrors();
    return Fail(Error::BadParameter("the CSR signature does not verify"));
  }
  if (!EVP_PKEY_up_ref(pkey)) return Fail(internal::InternalError("cannot reference a key"));
  CV_ASSIGN_OR_RETURN(PublicKey public_key, PublicKey::Adopt(pkey));

  CertificateSpec spec;
  spec.subject = internal::RenderName(X509_REQ_get_subject_name(req.get()));
  internal::ExtensionStackPtr exts(X509_REQ_get_extensions(req.get()));
  internal::ClearErrors();
  if (exts) internal::ReadExtensions(exts.get(), spec);
  return CsrInfo{std::move(der), std::move(spec), std::move(public_key)};
}

}  // namespace certvault::crypto
