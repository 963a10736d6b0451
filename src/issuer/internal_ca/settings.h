#pragma once
// The settings of an `internal` issuer (model::Issuer::settings, a JSON object):
//
//   {
//     "templates": {                         optional; none: one permissive built-in template
//       "web": {                             a name (policy.issuer.cty picks it, any case)
//         "key_types": ["RSA-2048", "EC-P256"],   keys the CSR may carry: RSA-2048, RSA-3072,
//                                                 RSA-4096, EC-P256, EC-P384, EC-P521;
//                                                 default: all of them
//         "key_usage": ["digitalSignature"],      what the CA sets (Key Vault names; no
//                                                 keyCertSign or cRLSign); default: the CSR's
//         "ekus": ["1.3.6.1.5.5.7.3.1"],          what the CA sets (dotted OIDs); default: the
//                                                 CSR's
//         "max_validity": "P90D",                 ISO 8601, at least PT1M; default P397D
//         "dns_names": ["*.example.test", "example.test"],
//                                                 allowed DNS names (SANs, and a DNS-like CN):
//                                                 "*.x" matches one label under x, any other
//                                                 pattern itself; case-insensitive; default: any
//         "allow_wildcards": false,               may the CSR ask for "*.x" names; default false
//         "san_kinds": ["dns", "ip"],             SAN kinds the CSR may carry: dns, ip, email,
//                                                 uri, upn; default: all
//         "subject_required": false               refuse a CSR with an empty subject
//       }
//     },
//     "default_template": "web",             optional: the template for an empty cty
//     "ca_certificate": "-----BEGIN ..."     optional: import a CA (PEM, the CA certificate
//   }                                        first, then its issuers); the issuer's credentials
//                                            password holds the CA's PEM private key. Without
//                                            it the server's own issuing CA signs.
//
// Unknown members are refused, so a misspelt one does not silently fall back to a default.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "crypto/x509.h"

namespace certvault::issuer::internal_ca {

// The maximum validity of a template that names none: the CA/Browser Forum's 397 days, which
// also covers Key Vault's default policy (12 months).
inline constexpr int64_t kDefaultMaxValidity = 397 * 86400;

// Canonical key type names, in the order Validate lists them.
inline constexpr const char* kKeyTypes[] = {"RSA-2048", "RSA-3072", "RSA-4096",
                                            "EC-P256",  "EC-P384",  "EC-P521"};
inline constexpr const char* kSanKinds[] = {"dns", "ip", "email", "uri", "upn"};

struct Template {
  std::string name;
  std::vector<std::string> key_types;                 // canonical names; never empty
  std::optional<std::vector<std::string>> key_usage;  // nullopt: the CSR's
  std::optional<std::vector<std::string>> ekus;       // nullopt: the CSR's
  int64_t max_validity = kDefaultMaxValidity;         // seconds
  std::vector<std::string> dns_names;                 // lower-case patterns; empty: any name
  bool allow_wildcards = false;
  std::vector<std::string> san_kinds;  // from kSanKinds
  bool subject_required = false;
};

struct Settings {
  std::map<std::string, Template> templates;  // by lower-case name
  std::string default_template;               // lower-case; empty if none
  // The imported CA certificate followed by its issuers; empty: the server's issuing CA.
  std::vector<crypto::Certificate> ca_chain;
};

// Parses and checks `json`; fails with BadParameter naming the member
// ("settings.templates.web.max_validity: ..."). An imported CA certificate must be a CA allowed
// to sign certificates and CRLs, and each certificate after it must have issued the one before.
Result<Settings> ParseSettings(std::string_view json);

// The template for a request's `cty` (compared case-insensitively): the named one, else the
// default template, else (no templates at all) the permissive built-in one: every key type, the
// CSR's key usage and EKUs, any names of every kind, wildcards allowed, P397D. Fails with
// CertificateRequestRefused when the name is unknown or nothing is named and there is no
// default.
Result<Template> SelectTemplate(const Settings& settings, std::string_view cty);

}  // namespace certvault::issuer::internal_ca
