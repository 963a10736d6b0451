#pragma once
// Handlers: decode, validate, act (through VaultService / TokenService), render. Each is a free
// function; routes.cc binds them into the one route table.

#include <functional>
#include <string>

#include "api/http.h"
#include "api/router.h"
#include "auth/identity_service.h"
#include "auth/token_service.h"
#include "common/clock.h"
#include "common/result.h"
#include "lifecycle/engine.h"
#include "store/audit_store.h"
#include "store/store.h"
#include "vault/vault_service.h"

namespace certvault::api {

struct Services {
  vault::VaultService& vault;
  auth::TokenService& tokens;
  auth::IdentityService& identities;
  store::AuditStore& audit;
  std::string dns_suffix;
  // Called after a vault is created or deleted (the server re-issues its TLS certificate).
  std::function<void()> vaults_changed;
  lifecycle::Engine& engine;
  store::Store& store;
  // The signed CRL (DER) of a CA this server runs, by CA id; null if none are published.
  std::function<Result<std::string>(std::string_view ca)> crl;
  // The certificate (DER) of a CA this server runs, by CA id; null if none.
  std::function<Result<std::string>(std::string_view ca)> ca_certificate;
  // The server's clock when it runs with --test-clock; null otherwise.
  OffsetClock* test_clock = nullptr;
};

using HandlerFn = Result<HttpResponse> (*)(Services&, RequestContext&, const HttpRequest&);

// Certificates (certificate_handlers.cc)
Result<HttpResponse> CreateCertificate(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> ImportCertificate(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> GetCertificate(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> ListCertificates(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> ListCertificateVersions(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> UpdateCertificate(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> GetCertificatePolicy(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> UpdateCertificatePolicy(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> GetPending(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> UpdatePending(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> DeletePending(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> MergeCertificate(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> DeleteCertificate(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> GetDeletedCertificate(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> ListDeletedCertificates(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> RecoverCertificate(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> PurgeCertificate(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> BackupCertificate(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> RestoreCertificate(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> GetContacts(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> SetContacts(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> DeleteContacts(Services&, RequestContext&, const HttpRequest&);

// Secrets (secret_handlers.cc)
Result<HttpResponse> SetSecret(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> GetSecret(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> ListSecrets(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> ListSecretVersions(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> UpdateSecret(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> DeleteSecret(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> GetDeletedSecret(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> ListDeletedSecrets(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> RecoverSecret(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> PurgeSecret(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> BackupSecret(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> RestoreSecret(Services&, RequestContext&, const HttpRequest&);

// Tokens and discovery (token_handlers.cc)
Result<HttpResponse> IssueToken(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> OpenIdConfiguration(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> Jwks(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> Health(Services&, RequestContext&, const HttpRequest&);

// Management (management_handlers.cc)
Result<HttpResponse> ListVaults(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> CreateVault(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> DeleteVault(Services&, RequestContext&, const HttpRequest&);

// Identities, roles, audit, token keys (identity_handlers.cc)
Result<HttpResponse> ListPrincipals(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> CreatePrincipal(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> GetPrincipal(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> UpdatePrincipal(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> DeletePrincipal(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> RotatePrincipalSecret(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> ListRoleAssignments(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> CreateRoleAssignment(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> DeleteRoleAssignment(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> ListAudit(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> RotateTokenKey(Services&, RequestContext&, const HttpRequest&);

// Issuers, renewal, revocation, jobs, workers, events, test clock, CRLs (lifecycle_handlers.cc)
Result<HttpResponse> ListIssuers(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> GetIssuer(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> SetIssuer(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> UpdateIssuer(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> DeleteIssuer(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> RenewCertificate(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> RevokeCertificate(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> ListJobs(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> GetJob(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> RetryJob(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> LeaseJob(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> CompleteJob(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> FailJob(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> ListEvents(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> AdvanceClock(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> GetCrl(Services&, RequestContext&, const HttpRequest&);
Result<HttpResponse> GetCaCertificate(Services&, RequestContext&, const HttpRequest&);

// Builds the route table.
Router BuildRouter(Services& services);

}  // namespace certvault::api
