// Certificate revocation lists (RFC 5280 section 5), signed by an issuing CA.

#include <openssl/x509v3.h>

#include <algorithm>
#include <array>

#include "common/text.h"
#include "crypto/internal/keys.h"
#include "crypto/internal/ossl.h"
#include "crypto/x509.h"

namespace certvault::crypto {

using internal::OsslPtr;

namespace {

struct Reason {
  const char* name;
  int code;
};
// RFC 5280 5.3.1 CRLReason; 7 is not used.
constexpr std::array<Reason, 10> kReasons = {{
    {"unspecified", CRL_REASON_UNSPECIFIED},
    {"keyCompromise", CRL_REASON_KEY_COMPROMISE},
    {"cACompromise", CRL_REASON_CA_COMPROMISE},
    {"affiliationChanged", CRL_REASON_AFFILIATION_CHANGED},
    {"superseded", CRL_REASON_SUPERSEDED},
    {"cessationOfOperation", CRL_REASON_CESSATION_OF_OPERATION},
    {"certificateHold", CRL_REASON_CERTIFICATE_HOLD},
    {"removeFromCRL", CRL_REASON_REMOVE_FROM_CRL},
    {"privilegeWithdrawn", CRL_REASON_PRIVILEGE_WITHDRAWN},
    {"aACompromise", CRL_REASON_AA_COMPROMISE},
}};

const Reason* FindReason(std::string_view name) {
  for (const auto& reason : kReasons) {
    if (EqualsIgnoreCase(name, reason.name)) return &reason;
  }
  return nullptr;
}

// RFC 5280 4.1.2.2: serials are positive and at most 20 octets.
Result<internal::Asn1IntegerPtr> SerialFromHex(const std::string& hex) {
  const bool is_hex = !hex.empty() && hex.size() <= 40 &&
                      hex.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
  if (!is_hex) {
    return Fail(Error::BadParameter("invalid serial number \"" + hex.substr(0, 64) +
                                    "\": expected up to 40 hex digits"));
  }
  BIGNUM* raw = nullptr;
  if (BN_hex2bn(&raw, hex.c_str()) == 0) return Fail(internal::InternalError("out of memory"));
  internal::BignumPtr bn(raw);
  if (BN_is_zero(bn.get())) {
    return Fail(Error::BadParameter("invalid serial number 0: serials are positive"));
  }
  internal::Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!serial) return Fail(internal::InternalError("out of memory"));
  return serial;
}

using Asn1TimePtr = OsslPtr<ASN1_TIME, ASN1_TIME_free>;

// UTCTime up to 2049 and GeneralizedTime after, as RFC 5280 5.1.2.4 asks.
Result<Asn1TimePtr> Time(int64_t unix_seconds) {
  // X.509 times run from 1950 to 9999-12-31.
  if (unix_seconds < -631152000 || unix_seconds > 253402300799) {
    return Fail(Error::BadParameter("time outside the years 1950 to 9999"));
  }
  Asn1TimePtr time(ASN1_TIME_set(nullptr, static_cast<time_t>(unix_seconds)));
  if (!time) return Fail(internal::InternalError("cannot encode a time"));
  return time;
}

Status CheckCrlSigner(const Certificate& issuer, const PrivateKey& signer) {
  if (!issuer.MatchesKey(signer)) {
    return Fail(Error::BadParameter("the signing key does not match the CRL issuer certificate"));
  }
  if (!issuer.IsCa()) {
    return Fail(Error::BadParameter("the CRL issuer certificate is not a CA certificate"));
  }
  const int idx = X509_get_ext_by_NID(issuer.get(), NID_key_usage, -1);
  internal::ClearErrors();
  if (idx >= 0) {
    const auto usage = issuer.KeyUsage();
    if (std::find(usage.begin(), usage.end(), "cRLSign") == usage.end()) {
      return Fail(
          Error::BadParameter("the CRL issuer certificate's key usage does not include cRLSign"));
    }
  }
  return Ok();
}

Result<OsslPtr<X509_REVOKED, X509_REVOKED_free>> Entry(const RevokedEntry& entry) {
  CV_ASSIGN_OR_RETURN(auto serial, SerialFromHex(entry.serial_hex));
  CV_ASSIGN_OR_RETURN(auto when, Time(entry.revoked_at));
  const Reason* reason = nullptr;
  if (!entry.reason.empty()) {
    CV_RETURN_IF_ERROR(CanonicalCrlReason(entry.reason));
    reason = FindReason(entry.reason);
  }
  OsslPtr<X509_REVOKED, X509_REVOKED_free> revoked(X509_REVOKED_new());
  if (!revoked || X509_REVOKED_set_serialNumber(revoked.get(), serial.get()) != 1 ||
      X509_REVOKED_set_revocationDate(revoked.get(), when.get()) != 1) {
    return Fail(internal::InternalError("cannot build a CRL entry"));
  }
  // RFC 5280 5.3.1: the reason code extension SHOULD be absent instead of "unspecified".
  if (reason != nullptr && reason->code != CRL_REASON_UNSPECIFIED) {
    OsslPtr<ASN1_ENUMERATED, ASN1_ENUMERATED_free> code(ASN1_ENUMERATED_new());
    if (!code || ASN1_ENUMERATED_set(code.get(), reason->code) != 1 ||
        X509_REVOKED_add1_ext_i2d(revoked.get(), NID_crl_reason, code.get(), 0,
                                  X509V3_ADD_DEFAULT) != 1) {
      return Fail(internal::InternalError("cannot add a CRL reason code"));
    }
  }
  return revoked;
}

Status AddCrlExtensions(X509_CRL* crl, const Certificate& issuer, int64_t crl_number) {
  const std::string kid = issuer.KeyIdentifier();
  OsslPtr<AUTHORITY_KEYID, AUTHORITY_KEYID_free> akid(AUTHORITY_KEYID_new());
  if (!akid) return Fail(internal::InternalError("out of memory"));
  akid->keyid = ASN1_OCTET_STRING_new();
  if (akid->keyid == nullptr ||
      ASN1_OCTET_STRING_set(akid->keyid, internal::Bytes(kid), static_cast<int>(kid.size())) != 1 ||
      X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid.get(), 0, X509V3_ADD_DEFAULT) !=
          1) {
    return Fail(internal::InternalError("cannot add the authority key identifier"));
  }
  internal::Asn1IntegerPtr number(ASN1_INTEGER_new());
  if (!number || ASN1_INTEGER_set_int64(number.get(), crl_number) != 1 ||
      X509_CRL_add1_ext_i2d(crl, NID_crl_number, number.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return Fail(internal::InternalError("cannot add the CRL number"));
  }
  return Ok();
}

}  // namespace

Result<std::string> CanonicalCrlReason(std::string_view name) {
  if (const Reason* reason = FindReason(name); reason != nullptr) return std::string(reason->name);
  std::string names;
  for (const auto& reason : kReasons) {
    if (!names.empty()) names += ", ";
    names += reason.name;
  }
  return Fail(Error::BadParameter("unknown revocation reason \"" + std::string(name.substr(0, 64)) +
                                  "\" (expected one of " + names + ")"));
}

Result<std::string> BuildCrl(const Certificate& issuer, const PrivateKey& signer,
                             const std::vector<RevokedEntry>& revoked, int64_t this_update,
                             int64_t next_update, int64_t crl_number) {
  if (next_update <= this_update) {
    return Fail(Error::BadParameter("the CRL's next update must come after its this update"));
  }
  if (crl_number < 0) return Fail(Error::BadParameter("the CRL number must not be negative"));
  CV_RETURN_IF_ERROR(CheckCrlSigner(issuer, signer));
  CV_ASSIGN_OR_RETURN(auto last_update, Time(this_update));
  CV_ASSIGN_OR_RETURN(auto next, Time(next_update));

  OsslPtr<X509_CRL, X509_CRL_free> crl(X509_CRL_new());
  if (!crl || X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer.get())) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), last_update.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1) {
    return Fail(internal::InternalError("cannot build the CRL"));
  }
  for (const auto& entry : revoked) {
    auto made = Entry(entry);
    if (!made)
      return Fail(made.error().WithContext("revoked serial " + entry.serial_hex.substr(0, 64)));
    if (X509_CRL_add0_revoked(crl.get(), made->get()) != 1) {
      return Fail(internal::InternalError("cannot add a CRL entry"));
    }
    made->release();
  }
  if (X509_CRL_sort(crl.get()) != 1) return Fail(internal::InternalError("cannot sort the CRL"));
  CV_RETURN_IF_ERROR(AddCrlExtensions(crl.get(), issuer, crl_number));
  if (X509_CRL_sign(crl.get(), signer.get(), internal::DigestForKey(signer.get())) <= 0) {
    return Fail(internal::InternalError("cannot sign the CRL"));
  }
  unsigned char* out = nullptr;
  const int len = i2d_X509_CRL(crl.get(), &out);
  if (len <= 0) return Fail(internal::InternalError("cannot encode the CRL"));
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(len));
  OPENSSL_free(out);
  return der;
}

}  // namespace certvault::crypto
