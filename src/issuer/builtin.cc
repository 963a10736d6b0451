#include "issuer/builtin.h"

#include "issuer/acme/acme.h"
#include "issuer/command/command.h"
#include "issuer/internal_ca/internal_ca.h"
#include "issuer/worker/worker.h"

namespace certvault::issuer {

void RegisterBuiltinIssuers(Registry& registry, const ProviderContext& ctx,
                            acme::Http01Responder* http01) {
  registry.Register("internal", internal_ca::NewInternalCaProvider(ctx));
  registry.Register("acme", acme::NewAcmeProvider(ctx, http01));
  registry.Register("command", command::NewCommandProvider(ctx));
  registry.Register("worker", worker::NewWorkerProvider());
}

}  // namespace certvault::issuer
