#pragma once
// The `internal` provider: the server's own issuing CA, signing by templates as AD CS does.
//
// By default every `internal` issuer signs with the server's issuing CA, an intermediate
// ("certvault Issuing CA ...") under the built-in root, made on first use; issued chains are
// leaf, intermediate, root. An issuer whose settings carry `ca_certificate` signs with that
// imported CA instead (its PEM private key is the issuer's credentials password); chains are
// leaf, CA certificate, the CA's issuers as given. The settings and what templates decide are
// described in settings.h and template.h.
//
// Issued certificates name, when ProviderContext::public_base_url is set, the CA's CRL at
// {public_base_url}/pki/{ca_id}/crl (CRL distribution point) and its certificate at
// {public_base_url}/pki/{ca_id}/ca (authority information access, caIssuers). ca_id is
// "default" for the server's issuing CA and 16 hex digits for an imported one.
//
// The issuers Build returns also implement Revoker: Revoke checks that the version's
// certificate was issued by the issuer's CA, records a model::Revocation (ca = ca_id) and makes
// the CA's next CRL list it. Reasons are RFC 5280 names, case-insensitive, "" meaning
// unspecified; certificateHold and removeFromCRL are refused (revocation is permanent).
//
// Thread-safe.

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "issuer/issuer.h"

namespace certvault::issuer::internal_ca {

inline constexpr char kProviderName[] = "internal";

// REQUIRES: ctx.clock, ctx.store and ctx.kek are set and outlive the provider and its issuers.
std::unique_ptr<Provider> NewInternalCaProvider(const ProviderContext& ctx);

// The current CRL of CA `ca_id` (DER; serve as application/pkix-crl) for
// GET {public_base_url}/pki/{ca_id}/crl, without authentication. Signed again when a
// revocation changed it or it is an hour old; thisUpdate is then now and nextUpdate a day
// later, and the CRL number grows by one. Fails with NotFound (code
// "CertificateAuthorityNotFound") for an id that names no CA; the "default" CA is made if it
// does not exist yet.
Result<std::string> CrlFor(const ProviderContext& ctx, std::string_view ca_id);

// The certificate of CA `ca_id` (DER; serve as application/pkix-cert) for
// GET {public_base_url}/pki/{ca_id}/ca. Fails like CrlFor.
Result<std::string> CaCertificateFor(const ProviderContext& ctx, std::string_view ca_id);

}  // namespace certvault::issuer::internal_ca
