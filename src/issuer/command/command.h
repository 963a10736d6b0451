#pragma once
// The `command` provider, the runbook pattern: each enrollment attempt runs a configured
// executable (a wrapper around certreq for AD CS, `openssl ca`, a cfssl call...) with the CSR on
// its stdin, and merges the PEM certificates it prints on stdout.
//
// Settings (model::Issuer::settings):
//   {"command": "/abs/path/to/exe",   required, an absolute path; run directly, no shell
//    "args": ["..."],                 optional, passed as given
//    "timeout": "PT2M",               optional ISO 8601 duration, PT1S..P1D; default PT2M
//    "env": {"NAME": "value"}}        optional extra environment; names may not start with
//                                     CERTVAULT_ (those are the request's, below)
//
// The child inherits the server's environment plus settings.env and:
//   CERTVAULT_VAULT, CERTVAULT_CERTIFICATE (the certificate's name), CERTVAULT_ISSUER (the
//   issuer's name), CERTVAULT_TEMPLATE (policy.issuer.cty, may be empty), CERTVAULT_REQUEST_ID
//   and CERTVAULT_JOB_ID (stable across the attempts of one renewal, so a script can resume a
//   request it submitted earlier), CERTVAULT_NOT_BEFORE and CERTVAULT_NOT_AFTER (the validity the
//   policy asks for, Unix seconds), CERTVAULT_VALIDITY_DAYS (the same, in days rounded up).
//
// Exit status conventions:
//   0          stdout holds the certificate and, optionally, its chain as PEM CERTIFICATE blocks
//              (other text is ignored); no certificate is a terminal failure
//   65         (EX_DATAERR) the CA refused the request: terminal, error CertificateRequestRefused
//   any other  a transient failure (CA unreachable, request pending approval...): the attempt is
//              retried with backoff
//   A timeout is retried too. Failures carry the end of stderr (never stdout) in their message.
//   A command that does not exist or is not executable fails terminally.

#include <memory>

#include "issuer/issuer.h"

namespace certvault::issuer::command {

// Uses ctx.clock (the system clock if null) to bound each run by the attempt's deadline.
std::unique_ptr<Provider> NewCommandProvider(const ProviderContext& ctx);

}  // namespace certvault::issuer::command
