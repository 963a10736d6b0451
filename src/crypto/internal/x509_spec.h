#pragma once
// Translation between CertificateSpec and OpenSSL's X509_NAME and extensions, shared by
// certificate issuing and CSRs so that both encode (and read back) a spec the same way.

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "crypto/internal/ossl.h"
#include "crypto/x509.h"

namespace certvault::crypto::internal {

// Parses "CN=a, O=b; C=US" (separators ',' or ';', values optionally double-quoted, '\' escapes
// the next character) into an X509_NAME in the order given.
Result<X509NamePtr> ParseSubject(std::string_view subject);
// Renders `name` as "CN=a, O=b" in certificate order, in a form ParseSubject reads back.
std::string RenderName(const X509_NAME* name);

// The extensions `spec` asks for: SAN (critical if the subject is empty), key usage (critical),
// EKU and, if `with_basic_constraints` or spec.is_ca, basic constraints (critical). Validates the
// spec's values on the way.
Result<std::vector<X509ExtensionPtr>> BuildExtensions(const CertificateSpec& spec,
                                                      bool with_basic_constraints);

// Reads SANs, key usage, EKUs and basic constraints from `exts` into `spec`. Entries that cannot
// be represented (unknown SAN kinds, malformed extensions) are skipped.
void ReadExtensions(const STACK_OF(X509_EXTENSION) * exts, CertificateSpec& spec);

// The key usage names set in `exts`' key usage extension, in bit order.
std::vector<std::string> ReadKeyUsage(const STACK_OF(X509_EXTENSION) * exts);

// Dotted text of `obj` (never a long name), "" if it cannot be rendered.
std::string OidText(const ASN1_OBJECT* obj);

}  // namespace certvault::crypto::internal
