#pragma once
// Applying a template to a certificate request, as AD CS does: the CSR proposes a key, a subject
// and names; the template decides whether they are allowed, and sets key usage, EKUs and the
// validity itself.

#include <cstdint>
#include <string>

#include "common/result.h"
#include "crypto/key.h"
#include "crypto/x509.h"
#include "issuer/internal_ca/settings.h"

namespace certvault::issuer::internal_ca {

// The error code of a request the CA refuses; terminal. Its message, shown on the pending
// operation, names the template and the rule ("template web: DNS name evil.com is not allowed
// (allowed: *.example.test)").
inline constexpr char kRefusedCode[] = "CertificateRequestRefused";
Error Refusal(std::string message);

// The template's name for `key`: "RSA-2048", "EC-P256"... ("EC-<curve>" for curves outside
// kKeyTypes).
std::string KeyTypeName(const crypto::PublicKey& key);

// True if `name` (lower case) is allowed by `pattern` (lower case): "*.x" matches any one label
// under x, any other pattern only itself.
bool DnsNameMatches(std::string_view pattern, std::string_view name);

// The subject, SANs, key usage and EKUs to issue for `csr` (whose signature ParseCsr checked).
// Fails with a Refusal naming the first rule the CSR breaks: key type, CA basic constraints,
// CA key usage bits, SAN kinds, wildcards, DNS names (SANs and a DNS-like CN), empty subject.
Result<crypto::CertificateSpec> ApplyTemplate(const Template& tmpl, const crypto::CsrInfo& csr);

struct Validity {
  int64_t not_before = 0;
  int64_t not_after = 0;
};

// The validity to issue: from the requested not_before (0: now, backdated 5 minutes for clock
// skew; never earlier than a day ago or the CA's own not_before) to the requested not_after (0:
// as long as allowed), capped at not_before + max_validity and at the CA certificate's
// not_after. Fails with a Refusal if nothing is left (an expired CA) and with BadParameter for
// a requested period that ends before it starts.
Result<Validity> ValidityFor(const Template& tmpl, int64_t requested_not_before,
                             int64_t requested_not_after, int64_t now,
                             const crypto::Certificate& ca);

}  // namespace certvault::issuer::internal_ca
