// Issuing certificates: self-signed or signed by an issuing CA certificate.

#include <openssl/x509v3.h>

#include "crypto/encoding.h"
#include "crypto/internal/keys.h"
#include "crypto/internal/ossl.h"
#include "crypto/internal/x509_spec.h"
#include "crypto/x509.h"

namespace certvault::crypto {

using internal::OsslPtr;

namespace {

// RFC 5280 4.2.1.2 method (1): SHA-1 over the subjectPublicKey BIT STRING.
Result<std::string> KeyIdentifier(X509* cert) {
  const unsigned char* bits = nullptr;
  int len = 0;
  if (X509_PUBKEY_get0_param(nullptr, &bits, &len, nullptr, X509_get_X509_PUBKEY(cert)) != 1) {
    return Fail(internal::InternalError("cannot read the public key"));
  }
  return Sha1(std::string_view(reinterpret_cast<const char*>(bits), static_cast<size_t>(len)));
}

Result<internal::Asn1OctetStringPtr> OctetString(std::string_view bytes) {
  internal::Asn1OctetStringPtr octets(ASN1_OCTET_STRING_new());
  if (!octets || ASN1_OCTET_STRING_set(octets.get(), internal::Bytes(bytes),
                                       static_cast<int>(bytes.size())) != 1) {
    return Fail(internal::InternalError("out of memory"));
  }
  return octets;
}

// 16 random bytes, positive and with the top byte non-zero, so that the DER INTEGER is always
// exactly 128 bits (RFC 5280 allows up to 20 octets).
Result<internal::Asn1IntegerPtr> RandomSerial() {
  std::string bytes = RandomBytes(16);
  bytes[0] = static_cast<char>((static_cast<unsigned char>(bytes[0]) & 0x7f) | 0x40);
  internal::BignumPtr bn(
      BN_bin2bn(internal::Bytes(bytes), static_cast<int>(bytes.size()), nullptr));
  internal::Asn1IntegerPtr serial(bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
  if (!serial) return Fail(internal::InternalError("cannot make a serial number"));
  return serial;
}

Status CheckSigner(const IssueRequest& request, const std::optional<Certificate>& issuer,
                   const PrivateKey& signer) {
  if (!issuer) {
    if (EVP_PKEY_eq(request.subject_key.get(), signer.get()) != 1) {
      internal::ClearErrors();
      return Fail(Error::BadParameter(
          "a self-signed certificate must be signed with the subject's own key"));
    }
    return Ok();
  }
  if (!issuer->MatchesKey(signer)) {
    return Fail(Error::BadParameter("the signing key does not match the issuer certificate"));
  }
  if (!issuer->IsCa()) {
    return Fail(Error::BadParameter("the issuer certificate is not a CA certificate"));
  }
  return Ok();
}

}  // namespace

Result<Certificate> IssueCertificate(const IssueRequest& request,
                                     const std::optional<Certificate>& issuer,
                                     const PrivateKey& signer) {
  if (request.not_after <= request.not_before) {
    return Fail(Error::BadParameter("the validity period ends before it starts"));
  }
  // X.509 times run from 1950 to 9999-12-31.
  constexpr int64_t kMinTime = -631152000;
  constexpr int64_t kMaxTime = 253402300799;
  if (request.not_before < kMinTime || request.not_after > kMaxTime) {
    return Fail(Error::BadParameter("the validity period is outside the years 1950 to 9999"));
  }
  CV_RETURN_IF_ERROR(CheckSigner(request, issuer, signer));
  CV_ASSIGN_OR_RETURN(auto subject, internal::ParseSubject(request.spec.subject));
  CV_ASSIGN_OR_RETURN(auto exts,
                      internal::BuildExtensions(request.spec, /*with_basic_constraints=*/true));
  CV_ASSIGN_OR_RETURN(auto serial, RandomSerial());

  internal::X509Ptr x509(X509_new());
  const X509_NAME* issuer_name = issuer ? X509_get_subject_name(issuer->get()) : subject.get();
  if (!x509 || X509_set_version(x509.get(), X509_VERSION_3) != 1 ||
      X509_set_serialNumber(x509.get(), serial.get()) != 1 ||
      X509_set_subject_name(x509.get(), subject.get()) != 1 ||
      X509_set_issuer_name(x509.get(), issuer_name) != 1 ||
      ASN1_TIME_set(X509_getm_notBefore(x509.get()), static_cast<time_t>(request.not_before)) ==
          nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(x509.get()), static_cast<time_t>(request.not_after)) ==
          nullptr ||
      X509_set_pubkey(x509.get(), request.subject_key.get()) != 1) {
    return Fail(internal::InternalError("cannot build the certificate"));
  }

  CV_ASSIGN_OR_RETURN(const std::string ski, KeyIdentifier(x509.get()));
  CV_ASSIGN_OR_RETURN(auto ski_octets, OctetString(ski));
  if (X509_add1_ext_i2d(x509.get(), NID_subject_key_identifier, ski_octets.get(), 0,
                        X509V3_ADD_DEFAULT) != 1) {
    return Fail(internal::InternalError("cannot add the subject key identifier"));
  }
  if (issuer) {
    // The issuer's own SKI if it has one (so chains built by other CAs link up), else the same
    // hash computed over its key.
    std::string issuer_kid;
    if (const ASN1_OCTET_STRING* kid = X509_get0_subject_key_id(issuer->get()); kid != nullptr) {
      issuer_kid.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(kid)),
                        static_cast<size_t>(ASN1_STRING_length(kid)));
    } else {
      internal::ClearErrors();
      CV_ASSIGN_OR_RETURN(issuer_kid, KeyIdentifier(issuer->get()));
    }
    OsslPtr<AUTHORITY_KEYID, AUTHORITY_KEYID_free> akid(AUTHORITY_KEYID_new());
    if (!akid) return Fail(internal::InternalError("out of memory"));
    CV_ASSIGN_OR_RETURN(auto kid_octets, OctetString(issuer_kid));
    akid->keyid = kid_octets.release();
    if (X509_add1_ext_i2d(x509.get(), NID_authority_key_identifier, akid.get(), 0,
                          X509V3_ADD_DEFAULT) != 1) {
      return Fail(internal::InternalError("cannot add the authority key identifier"));
    }
  }
  for (const auto& ext : exts) {
    if (X509_add_ext(x509.get(), ext.get(), -1) != 1) {
      return Fail(internal::InternalError("cannot add a certificate extension"));
    }
  }
  if (X509_sign(x509.get(), signer.get(), internal::DigestForKey(signer.get())) <= 0) {
    return Fail(internal::InternalError("cannot sign the certificate"));
  }
  return Certificate::Adopt(x509.release());
}

}  // namespace certvault::crypto
