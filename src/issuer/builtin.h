#pragma once
// The providers certvault ships, registered explicitly (no registration by side effect).

#include "issuer/issuer.h"

namespace certvault::issuer {

namespace acme {
class Http01Responder;
}

// Registers internal (the built-in CA), acme, command and worker. `http01` answers ACME http-01
// challenges; it may be null when no HTTP listener is configured (http-01 orders then fail with
// a message saying so).
void RegisterBuiltinIssuers(Registry& registry, const ProviderContext& ctx,
                            acme::Http01Responder* http01);

}  // namespace certvault::issuer
