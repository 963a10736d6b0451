#pragma once
// X.509 certificates and certificate signing requests (CSRs).
//
// Certificates are immutable and cheap to copy. Parsing functions accept untrusted input and fail
// with BadParameter and a message that says what was wrong.

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "crypto/key.h"

namespace certvault::crypto {

struct SubjectAltNames {
  std::vector<std::string> dns_names;
  std::vector<std::string> emails;
  std::vector<std::string> upns;  // otherName 1.3.6.1.4.1.311.20.2.3, UTF8String
  std::vector<std::string> uris;
  std::vector<std::string> ip_addresses;  // textual IPv4 or IPv6
  bool empty() const {
    return dns_names.empty() && emails.empty() && upns.empty() && uris.empty() &&
           ip_addresses.empty();
  }
};

// What goes into a CSR or certificate besides the key and validity.
struct CertificateSpec {
  // Distinguished name in the form Key Vault uses: "CN=www.example.com, O=Contoso, C=US".
  // Also accepts ";" or "," separators. Attribute keys: CN, O, OU, L, ST, S, C, E, DC, SN, ...
  std::string subject;
  SubjectAltNames sans;
  // Key Vault key usage names: digitalSignature, nonRepudiation, keyEncipherment,
  // dataEncipherment, keyAgreement, keyCertSign, cRLSign, encipherOnly, decipherOnly.
  std::vector<std::string> key_usage;
  std::vector<std::string> ekus;  // dotted OIDs, e.g. 1.3.6.1.5.5.7.3.1
  bool is_ca = false;
  std::optional<int> path_len;
};

// Fails with BadParameter if the subject, SANs, key usage or EKUs cannot be encoded.
Status ValidateCertificateSpec(const CertificateSpec& spec);

// A DNS name of letter-digit-hyphen labels (at most 63 characters each, 253 in all), optionally
// "*." followed by one.
bool IsValidDnsName(std::string_view name);

class Certificate {
 public:
  static Result<Certificate> FromDer(std::string_view der);
  // The first CERTIFICATE block in `pem`.
  static Result<Certificate> FromPem(std::string_view pem);
  // Takes ownership of one reference to `x509` (also on failure). Fails with BadParameter if its
  // public key is not RSA or EC. For code that gets certificates from OpenSSL objects.
  static Result<Certificate> Adopt(X509* x509);

  std::string ToDer() const;
  std::string ToPem() const;
  std::string Sha1Thumbprint() const;  // 20 raw bytes over the DER
  int64_t NotBefore() const;           // Unix seconds
  int64_t NotAfter() const;
  std::string Subject() const;  // "CN=foo, O=bar" in certificate order
  std::string Issuer() const;
  std::string SerialHex() const;
  SubjectAltNames Sans() const;
  std::vector<std::string> KeyUsage() const;  // Key Vault names
  std::vector<std::string> Ekus() const;      // dotted OIDs
  bool IsCa() const;
  // The subject key identifier extension's bytes; if the certificate has none, the RFC 5280
  // 4.2.1.2 method (1) value (SHA-1 over the subjectPublicKey BIT STRING), as issuers name it.
  std::string KeyIdentifier() const;
  PublicKey PublicKeyOf() const;
  bool MatchesKey(const PrivateKey& key) const;
  // True if `issuer`'s key verifies this certificate's signature and names match.
  bool IsIssuedBy(const Certificate& issuer) const;
  X509* get() const { return x509_.get(); }

 private:
  explicit Certificate(std::shared_ptr<X509> x509) : x509_(std::move(x509)) {}
  std::shared_ptr<X509> x509_;
};

// Every CERTIFICATE block in `pem`, in order. Fails if there is none or one is malformed.
Result<std::vector<Certificate>> ParsePemCertificates(std::string_view pem);

// Reorders `certs` so that the certificate matching `leaf_key` comes first and each following
// certificate issued the one before it, where that relation can be found; unrelated certificates
// keep their relative order at the end. Fails if no certificate matches the key.
Result<std::vector<Certificate>> OrderChain(const PrivateKey& leaf_key,
                                            std::vector<Certificate> certs);

// --- CSRs ---

// Builds and signs (SHA-256) a PKCS#10 request for `key` carrying `spec` as requested extensions.
Result<std::string> BuildCsrDer(const PrivateKey& key, const CertificateSpec& spec);

struct CsrInfo {
  std::string der;
  CertificateSpec spec;  // subject, SANs, key usage, EKUs read back from the request
  PublicKey public_key;
};
// Accepts PEM ("CERTIFICATE REQUEST" / "NEW CERTIFICATE REQUEST") or DER; verifies the request's
// self-signature.
Result<CsrInfo> ParseCsr(std::string_view pem_or_der);

// --- Issuing ---

struct IssueRequest {
  CertificateSpec spec;
  PublicKey subject_key;
  int64_t not_before = 0;  // Unix seconds
  int64_t not_after = 0;
  // Where relying parties fetch the issuer's CRL: one CRL distribution point whose full name
  // lists these URLs (alternative locations of the same CRL). No extension if empty.
  std::vector<std::string> crl_urls = {};
  // Where they fetch the issuer's certificate: authority information access, caIssuers. No
  // extension if empty.
  std::vector<std::string> ca_issuers_urls = {};
};

// Issues a certificate signed with `signer` (SHA-256 for RSA, ECDSA with a digest matching the
// curve). `issuer` names the issuing certificate; nullopt makes the certificate self-signed (then
// `signer` must be the subject's key). Adds a random 128-bit serial, SKI, AKI and basic
// constraints (critical), key usage (critical), EKUs, CRL distribution points and authority
// information access as given. Fails with BadParameter for a URL that is not an absolute URI.
Result<Certificate> IssueCertificate(const IssueRequest& request,
                                     const std::optional<Certificate>& issuer,
                                     const PrivateKey& signer);

// --- Certificate revocation lists ---

// One revoked certificate.
struct RevokedEntry {
  std::string serial_hex;  // as Certificate::SerialHex (either case)
  int64_t revoked_at = 0;  // Unix seconds
  // An RFC 5280 reason name (see CanonicalCrlReason); "" or "unspecified" leaves the entry
  // without a reason code, as RFC 5280 5.3.1 asks.
  std::string reason;
};

// The RFC 5280 spelling of a CRL reason name, matched case-insensitively: unspecified,
// keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation,
// certificateHold, removeFromCRL, privilegeWithdrawn, aACompromise. Fails with BadParameter
// listing them.
Result<std::string> CanonicalCrlReason(std::string_view name);

// A signed X.509 v2 CRL (DER) of `issuer`, signed with `signer` (the issuer's key; digest as for
// certificates), with an authority key identifier, the CRL number and, per entry, its serial,
// revocation date and reason code. Entries are sorted by serial. Fails with BadParameter if
// `signer` does not match `issuer`, `issuer` is not a CA allowed to sign CRLs (a key usage
// extension without cRLSign), a serial is not hex, a reason is unknown, next_update is not after
// this_update or crl_number is negative.
Result<std::string> BuildCrl(const Certificate& issuer, const PrivateKey& signer,
                             const std::vector<RevokedEntry>& revoked, int64_t this_update,
                             int64_t next_update, int64_t crl_number);

// --- Containers ---

struct PemBundle {
  std::optional<PrivateKey> key;
  std::vector<Certificate> certificates;
};
// Text holding PEM blocks: zero or one private key and any number of certificates, in any order.
Result<PemBundle> ParsePemBundle(std::string_view text);

struct Pkcs12Contents {
  PrivateKey key;
  std::vector<Certificate> certificates;  // leaf (matching key) first, then the rest
};
// Fails with BadParameter for malformed data or a wrong password (saying which, where known).
Result<Pkcs12Contents> ParsePkcs12(std::string_view der, std::string_view password);
// A PKCS#12 file readable by OpenSSL 3 and Node; AES-256-CBC + PBKDF2 and a SHA-256 MAC.
Result<std::string> BuildPkcs12(const PrivateKey& key, const std::vector<Certificate>& certs,
                                std::string_view password);

}  // namespace certvault::crypto
