#include "crypto/x509.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <ctime>

#include "common/text.h"
#include "crypto/encoding.h"
#include "crypto/internal/keys.h"
#include "crypto/internal/ossl.h"
#include "crypto/internal/pem.h"
#include "crypto/internal/x509_spec.h"

namespace certvault::crypto {

using internal::X509Ptr;

namespace {

int64_t UnixTime(const ASN1_TIME* t) {
  struct tm tm = {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    internal::ClearErrors();
    return 0;
  }
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

Status ValidateCertificateSpec(const CertificateSpec& spec) {
  CV_ASSIGN_OR_RETURN(auto exts, internal::BuildExtensions(spec, /*with_basic_constraints=*/true));
  return Ok();
}

// --- Certificate ---

Result<Certificate> Certificate::FromDer(std::string_view der) {
  CV_RETURN_IF_ERROR(internal::CheckInputSize(der, "certificate"));
  const unsigned char* p = internal::Bytes(der);
  X509Ptr x509(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!x509) return Fail(internal::BadInputError("malformed certificate"));
  if (p != internal::Bytes(der) + der.size()) {
    return Fail(Error::BadParameter("malformed certificate: trailing data"));
  }
  return Adopt(x509.release());
}

Result<Certificate> Certificate::FromPem(std::string_view pem) {
  CV_RETURN_IF_ERROR(internal::CheckInputSize(pem, "PEM text"));
  CV_ASSIGN_OR_RETURN(const auto blocks, internal::ParsePemBlocks(pem));
  for (const auto& block : blocks) {
    if (block.label == "CERTIFICATE") return FromDer(block.der);
  }
  return Fail(Error::BadParameter("no CERTIFICATE block found in the PEM text"));
}

Result<Certificate> Certificate::Adopt(X509* x509) {
  X509Ptr owned(x509);
  if (!owned) return Fail(Error::BadParameter("missing certificate"));
  // Every Certificate has a usable public key, so PublicKeyOf() cannot fail later.
  EVP_PKEY* pkey = X509_get0_pubkey(owned.get());
  internal::ClearErrors();
  if (pkey == nullptr) {
    return Fail(Error::BadParameter("certificate public key is malformed or of an unknown type"));
  }
  auto supported = internal::CheckSupportedKey(pkey, /*strict=*/false);
  if (!supported) return Fail(supported.error().WithContext("certificate public key"));
  return Certificate(std::shared_ptr<X509>(owned.release(), X509_free));
}

std::string Certificate::ToDer() const {
  unsigned char* out = nullptr;
  const int len = i2d_X509(x509_.get(), &out);
  if (len <= 0) internal::Die("cannot encode a certificate");
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(len));
  OPENSSL_free(out);
  return der;
}

std::string Certificate::ToPem() const { return internal::ToPem("CERTIFICATE", ToDer()); }

std::string Certificate::Sha1Thumbprint() const { return Sha1(ToDer()); }

int64_t Certificate::NotBefore() const { return UnixTime(X509_get0_notBefore(x509_.get())); }

int64_t Certificate::NotAfter() const { return UnixTime(X509_get0_notAfter(x509_.get())); }

std::string Certificate::Subject() const {
  return internal::RenderName(X509_get_subject_name(x509_.get()));
}

std::string Certificate::Issuer() const {
  return internal::RenderName(X509_get_issuer_name(x509_.get()));
}

std::string Certificate::SerialHex() const {
  internal::BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(x509_.get()), nullptr));
  if (!bn) {
    internal::ClearErrors();
    return {};
  }
  char* hex = BN_bn2hex(bn.get());
  if (hex == nullptr) internal::Die("cannot render a serial number");
  std::string out = AsciiLower(hex);
  OPENSSL_free(hex);
  return out;
}

SubjectAltNames Certificate::Sans() const {
  CertificateSpec spec;
  internal::ReadExtensions(X509_get0_extensions(x509_.get()), spec);
  return spec.sans;
}

std::vector<std::string> Certificate::KeyUsage() const {
  return internal::ReadKeyUsage(X509_get0_extensions(x509_.get()));
}

std::vector<std::string> Certificate::Ekus() const {
  CertificateSpec spec;
  internal::ReadExtensions(X509_get0_extensions(x509_.get()), spec);
  return spec.ekus;
}

bool Certificate::IsCa() const {
  CertificateSpec spec;
  internal::ReadExtensions(X509_get0_extensions(x509_.get()), spec);
  return spec.is_ca;
}

PublicKey Certificate::PublicKeyOf() const {
  EVP_PKEY* pkey = X509_get_pubkey(x509_.get());
  auto key = PublicKey::Adopt(pkey);
  // Adopt() checked the same key when this Certificate was made.
  if (!key) internal::Die("certificate public key vanished");
  return *std::move(key);
}

bool Certificate::MatchesKey(const PrivateKey& key) const {
  EVP_PKEY* pub = X509_get0_pubkey(x509_.get());
  const bool match = pub != nullptr && EVP_PKEY_eq(pub, key.get()) == 1;
  internal::ClearErrors();
  return match;
}

bool Certificate::IsIssuedBy(const Certificate& issuer) const {
  if (X509_NAME_cmp(X509_get_issuer_name(x509_.get()), X509_get_subject_name(issuer.x509_.get())) !=
      0) {
    return false;
  }
  EVP_PKEY* issuer_key = X509_get0_pubkey(issuer.x509_.get());
  const bool verified = issuer_key != nullptr && X509_verify(x509_.get(), issuer_key) == 1;
  internal::ClearErrors();
  return verified;
}

// --- Lists of certificates ---

Result<std::vector<Certificate>> ParsePemCertificates(std::string_view pem) {
  CV_RETURN_IF_ERROR(internal::CheckInputSize(pem, "PEM text"));
  CV_ASSIGN_OR_RETURN(const auto blocks, internal::ParsePemBlocks(pem));
  std::vector<Certificate> certs;
  for (const auto& block : blocks) {
    if (block.label != "CERTIFICATE") continue;
    auto cert = Certificate::FromDer(block.der);
    if (!cert) {
      return Fail(cert.error().WithContext("certificate " + std::to_string(certs.size() + 1)));
    }
    certs.push_back(*std::move(cert));
  }
  if (certs.empty()) return Fail(Error::BadParameter("no CERTIFICATE block found in the PEM text"));
  return certs;
}

Result<std::vector<Certificate>> OrderChain(const PrivateKey& leaf_key,
                                            std::vector<Certificate> certs) {
  std::vector<std::optional<Certificate>> rest(certs.begin(), certs.end());
  std::vector<Certificate> chain;
  for (auto& cert : rest) {
    if (cert->MatchesKey(leaf_key)) {
      chain.push_back(*std::move(cert));
      cert.reset();
      break;
    }
  }
  if (chain.empty()) {
    return Fail(Error::BadParameter("no certificate matches the private key"));
  }
  // Walk up from the leaf. Real chains are a handful deep; the cap bounds the signature checks
  // an adversarial bundle (many certificates with the same names) can cause.
  constexpr int kMaxDepth = 16;
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    const Certificate& last = chain.back();
    if (last.IsIssuedBy(last)) break;  // a self-signed root ends the chain
    bool found = false;
    for (auto& cert : rest) {
      if (cert && last.IsIssuedBy(*cert)) {
        chain.push_back(*std::move(cert));
        cert.reset();
        found = true;
        break;
      }
    }
    if (!found) break;
  }
  for (auto& cert : rest) {
    if (cert) chain.push_back(*std::move(cert));
  }
  return chain;
}

}  // namespace certvault::crypto
