#pragma once
// The `acme` provider: issues certificates from an RFC 8555 CA (Let's Encrypt, step-ca, pebble,
// a commercial CA with External Account Binding).
//
// An acme issuer's settings are described in issuer/acme/settings.h. Its credentials, when set,
// are the External Account Binding: account_id is the EAB key id and the password the EAB HMAC
// key (base64url). The ACME account key is made on first use and kept sealed by the KEK in the
// store's settings ("acme/{vault}/{issuer}/account-key"); enrollments resume their saved order.
//
// http-01 challenges are answered by `http01` (the server's --acme-http-listen listener);
// without one, only dns-01 issuers can be validated and built.

#include <memory>

#include "issuer/issuer.h"

namespace certvault::issuer::acme {

class Http01Responder;

// `http01` may be null; otherwise it must outlive the provider and the issuers it builds.
std::unique_ptr<Provider> NewAcmeProvider(const ProviderContext& ctx, Http01Responder* http01);

}  // namespace certvault::issuer::acme
