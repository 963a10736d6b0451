// Issuing certificates: self-signed or signed by an issuing CA certificate.

#include <openssl/x509v3.h>

#include "crypto/encoding.h"
#include "crypto/internal/keys.h"
#include "crypto/internal/legacy_ec.h"
#include "crypto/internal/ossl.h"
#include "crypto/internal/x509_spec.h"
#include "crypto/x509.h"

namespace certvault::crypto {

using internal::OsslPtr;

namespace {

// RFC 5280 4.2.1.2 method (1): SHA-1 over the subjectPublicKey BIT STRING.
Result<std::string> ComputeKeyIdentifier(X509* cert) {
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

// Absolute URIs only: relying parties fetch these without a base to resolve against.
Status CheckUrl(const std::string& url, std::string_view what) {
  const size_t colon = url.find(':');
  bool printable = !url.empty();
  for (char c : url) printable = printable && c > 0x20 && c < 0x7f;
  if (!printable || colon == 0 || colon == std::string::npos) {
    return Fail(Error::BadParameter("invalid " + std::string(what) + " URL \"" + url +
                                    "\": expected an absolute URI such as https://host/path"));
  }
  return Ok();
}

Result<OsslPtr<GENERAL_NAME, GENERAL_NAME_free>> UriName(const std::string& url) {
  OsslPtr<GENERAL_NAME, GENERAL_NAME_free> name(GENERAL_NAME_new());
  ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
  if (!name || ia5 == nullptr ||
      ASN1_STRING_set(ia5, url.data(), static_cast<int>(url.size())) != 1) {
    ASN1_IA5STRING_free(ia5);
    return Fail(internal::InternalError("out of memory"));
  }
  GENERAL_NAME_set0_value(name.get(), GEN_URI, ia5);
  return name;
}

// One distribution point whose fullName lists `urls`, with no reasons and no CRL issuer: the
// CRL covers every reason and is signed by the certificate's issuer (RFC 5280 4.2.1.13).
Status AddCrlDistributionPoints(X509* x509, const std::vector<std::string>& urls) {
  OsslPtr<GENERAL_NAMES, GENERAL_NAMES_free> names(sk_GENERAL_NAME_new_null());
  if (!names) return Fail(internal::InternalError("out of memory"));
  for (const auto& url : urls) {
    CV_RETURN_IF_ERROR(CheckUrl(url, "CRL distribution point"));
    CV_ASSIGN_OR_RETURN(auto name, UriName(url));
    if (sk_GENERAL_NAME_push(names.get(), name.get()) <= 0) {
      return Fail(internal::InternalError("out of memory"));
    }
    name.release();
  }
  OsslPtr<DIST_POINT, DIST_POINT_free> point(DIST_POINT_new());
  OsslPtr<CRL_DIST_POINTS, CRL_DIST_POINTS_free> points(sk_DIST_POINT_new_null());
  if (!point || !points) return Fail(internal::InternalError("out of memory"));
  point->distpoint = DIST_POINT_NAME_new();
  if (point->distpoint == nullptr) return Fail(internal::InternalError("out of memory"));
  point->distpoint->type = 0;  // fullName
  point->distpoint->name.fullname = names.release();
  if (sk_DIST_POINT_push(points.get(), point.get()) <= 0) {
    return Fail(internal::InternalError("out of memory"));
  }
  point.release();
  if (X509_add1_ext_i2d(x509, NID_crl_distribution_points, points.get(), 0, X509V3_ADD_DEFAULT) !=
      1) {
    return Fail(internal::InternalError("cannot add the CRL distribution points"));
  }
  return Ok();
}

Status AddCaIssuers(X509* x509, const std::vector<std::string>& urls) {
  OsslPtr<AUTHORITY_INFO_ACCESS, AUTHORITY_INFO_ACCESS_free> access(
      sk_ACCESS_DESCRIPTION_new_null());
  if (!access) return Fail(internal::InternalError("out of memory"));
  for (const auto& url : urls) {
    CV_RETURN_IF_ERROR(CheckUrl(url, "CA issuers"));
    CV_ASSIGN_OR_RETURN(auto name, UriName(url));
    OsslPtr<ACCESS_DESCRIPTION, ACCESS_DESCRIPTION_free> desc(ACCESS_DESCRIPTION_new());
    if (!desc) return Fail(internal::InternalError("out of memory"));
    ASN1_OBJECT_free(desc->method);
    desc->method = OBJ_nid2obj(NID_ad_ca_issuers);
    GENERAL_NAME_free(desc->location);
    desc->location = name.release();
    if (sk_ACCESS_DESCRIPTION_push(access.get(), desc.get()) <= 0) {
      return Fail(internal::InternalError("out of memory"));
    }
    desc.release();
  }
  if (X509_add1_ext_i2d(x509, NID_info_access, access.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return Fail(internal::InternalError("cannot add the authority information access"));
  }
  return Ok();
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

std::string Certificate::KeyIdentifier() const {
  if (const ASN1_OCTET_STRING* kid = X509_get0_subject_key_id(x509_.get()); kid != nullptr) {
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(kid)),
                       static_cast<size_t>(ASN1_STRING_length(kid)));
  }
  internal::ClearErrors();
  auto computed = ComputeKeyIdentifier(x509_.get());
  // Adopt() checked that the certificate has a usable public key.
  if (!computed) internal::Die("cannot read a certificate's public key");
  return *std::move(computed);
}

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

  CV_ASSIGN_OR_RETURN(const std::string ski, ComputeKeyIdentifier(x509.get()));
  CV_ASSIGN_OR_RETURN(auto ski_octets, OctetString(ski));
  if (X509_add1_ext_i2d(x509.get(), NID_subject_key_identifier, ski_octets.get(), 0,
                        X509V3_ADD_DEFAULT) != 1) {
    return Fail(internal::InternalError("cannot add the subject key identifier"));
  }
  if (issuer) {
    // The issuer's own SKI if it has one (so chains built by other CAs link up), else the same
    // hash computed over its key.
    OsslPtr<AUTHORITY_KEYID, AUTHORITY_KEYID_free> akid(AUTHORITY_KEYID_new());
    if (!akid) return Fail(internal::InternalError("out of memory"));
    CV_ASSIGN_OR_RETURN(auto kid_octets, OctetString(issuer->KeyIdentifier()));
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
  if (!request.crl_urls.empty()) {
    CV_RETURN_IF_ERROR(AddCrlDistributionPoints(x509.get(), request.crl_urls));
  }
  if (!request.ca_issuers_urls.empty()) {
    CV_RETURN_IF_ERROR(AddCaIssuers(x509.get(), request.ca_issuers_urls));
  }
  const EVP_MD* md = internal::DigestForKey(signer.get());
  CV_ASSIGN_OR_RETURN(const bool signed_here, internal::LegacyEcSign(x509.get(), signer.get(), md));
  if (!signed_here && X509_sign(x509.get(), signer.get(), md) <= 0) {
    return Fail(internal::InternalError("cannot sign the certificate"));
  }
  return Certificate::Adopt(x509.release());
}

}  // namespace certvault::crypto
