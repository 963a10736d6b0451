// The route table: every operation the server answers, in one place.

#include "api/handlers.h"

namespace certvault::api {

Router BuildRouter(Services& services) {
  Router router;
  auto add = [&](const char* method, const char* pattern, const char* operation, Access access,
                 HandlerFn fn) {
    router.Add(Route{method, pattern, operation, access,
                     [&services, fn](RequestContext& ctx, const HttpRequest& req) {
                       return fn(services, ctx, req);
                     }});
  };
  constexpr Access kData = Access::kDataPlane;
  constexpr Access kPublic = Access::kPublic;
  constexpr Access kManage = Access::kManagement;

  // Certificates
  add("GET", "/certificates", "certificates.list", kData, ListCertificates);
  add("POST", "/certificates/{name}/create", "certificates.create", kData, CreateCertificate);
  add("POST", "/certificates/{name}/import", "certificates.import", kData, ImportCertificate);
  add("GET", "/certificates/{name}", "certificates.get", kData, GetCertificate);
  add("GET", "/certificates/{name}/{version}", "certificates.get", kData, GetCertificate);
  add("PATCH", "/certificates/{name}", "certificates.update", kData, UpdateCertificate);
  add("PATCH", "/certificates/{name}/{version}", "certificates.update", kData, UpdateCertificate);
  add("GET", "/certificates/{name}/versions", "certificates.listversions", kData,
      ListCertificateVersions);
  add("GET", "/certificates/{name}/policy", "certificates.getpolicy", kData, GetCertificatePolicy);
  add("PATCH", "/certificates/{name}/policy", "certificates.updatepolicy", kData,
      UpdateCertificatePolicy);
  add("GET", "/certificates/{name}/pending", "certificates.getpending", kData, GetPending);
  add("PATCH", "/certificates/{name}/pending", "certificates.updatepending", kData, UpdatePending);
  add("DELETE", "/certificates/{name}/pending", "certificates.deletepending", kData, DeletePending);
  add("POST", "/certificates/{name}/pending/merge", "certificates.merge", kData, MergeCertificate);
  add("DELETE", "/certificates/{name}", "certificates.delete", kData, DeleteCertificate);
  add("POST", "/certificates/{name}/backup", "certificates.backup", kData, BackupCertificate);
  add("POST", "/certificates/restore", "certificates.restore", kData, RestoreCertificate);
  add("GET", "/certificates/contacts", "certificates.getcontacts", kData, GetContacts);
  add("PUT", "/certificates/contacts", "certificates.setcontacts", kData, SetContacts);
  add("DELETE", "/certificates/contacts", "certificates.deletecontacts", kData, DeleteContacts);
  add("POST", "/certificates/{name}/renew", "certificates.renew", kData, RenewCertificate);
  add("POST", "/certificates/{name}/{version}/revoke", "certificates.revoke", kData,
      RevokeCertificate);
  add("GET", "/certificates/issuers", "issuers.list", kData, ListIssuers);
  add("GET", "/certificates/issuers/{issuer}", "issuers.get", kData, GetIssuer);
  add("PUT", "/certificates/issuers/{issuer}", "issuers.set", kData, SetIssuer);
  add("PATCH", "/certificates/issuers/{issuer}", "issuers.update", kData, UpdateIssuer);
  add("DELETE", "/certificates/issuers/{issuer}", "issuers.delete", kData, DeleteIssuer);
  add("GET", "/deletedcertificates", "deletedcertificates.list", kData, ListDeletedCertificates);
  add("GET", "/deletedcertificates/{name}", "deletedcertificates.get", kData,
      GetDeletedCertificate);
  add("POST", "/deletedcertificates/{name}/recover", "deletedcertificates.recover", kData,
      RecoverCertificate);
  add("DELETE", "/deletedcertificates/{name}", "deletedcertificates.purge", kData,
      PurgeCertificate);

  // Renewal jobs and remote workers (certvault extensions)
  add("GET", "/jobs", "jobs.list", kData, ListJobs);
  add("GET", "/jobs/{id}", "jobs.get", kData, GetJob);
  add("POST", "/jobs/{id}/retry", "jobs.retry", kData, RetryJob);
  add("POST", "/jobs/lease", "jobs.lease", kData, LeaseJob);
  add("POST", "/jobs/{id}/complete", "jobs.complete", kData, CompleteJob);
  add("POST", "/jobs/{id}/fail", "jobs.fail", kData, FailJob);

  // Secrets
  add("GET", "/secrets", "secrets.list", kData, ListSecrets);
  add("PUT", "/secrets/{name}", "secrets.set", kData, SetSecret);
  add("GET", "/secrets/{name}", "secrets.get", kData, GetSecret);
  add("GET", "/secrets/{name}/{version}", "secrets.get", kData, GetSecret);
  add("PATCH", "/secrets/{name}", "secrets.update", kData, UpdateSecret);
  add("PATCH", "/secrets/{name}/{version}", "secrets.update", kData, UpdateSecret);
  add("GET", "/secrets/{name}/versions", "secrets.listversions", kData, ListSecretVersions);
  add("DELETE", "/secrets/{name}", "secrets.delete", kData, DeleteSecret);
  add("POST", "/secrets/{name}/backup", "secrets.backup", kData, BackupSecret);
  add("POST", "/secrets/restore", "secrets.restore", kData, RestoreSecret);
  add("GET", "/deletedsecrets", "deletedsecrets.list", kData, ListDeletedSecrets);
  add("GET", "/deletedsecrets/{name}", "deletedsecrets.get", kData, GetDeletedSecret);
  add("POST", "/deletedsecrets/{name}/recover", "deletedsecrets.recover", kData, RecoverSecret);
  add("DELETE", "/deletedsecrets/{name}", "deletedsecrets.purge", kData, PurgeSecret);

  // Tokens and discovery
  add("POST", "/oauth2/token", "token.issue", kPublic, IssueToken);
  add("POST", "/{tenant}/oauth2/v2.0/token", "token.issue", kPublic, IssueToken);
  add("POST", "/{tenant}/oauth2/token", "token.issue", kPublic, IssueToken);
  add("GET", "/{tenant}/v2.0/.well-known/openid-configuration", "token.discovery", kPublic,
      OpenIdConfiguration);
  add("GET", "/.well-known/openid-configuration", "token.discovery", kPublic, OpenIdConfiguration);
  add("GET", "/.well-known/jwks.json", "token.jwks", kPublic, Jwks);
  add("GET", "/healthz", "health", kPublic, Health);
  add("GET", "/pki/{ca}/crl", "pki.crl", kPublic, GetCrl);
  add("GET", "/pki/{ca}/ca", "pki.ca", kPublic, GetCaCertificate);

  // Management
  add("GET", "/management/vaults", "vaults.list", kManage, ListVaults);
  add("PUT", "/management/vaults/{vault}", "vaults.create", kManage, CreateVault);
  add("DELETE", "/management/vaults/{vault}", "vaults.delete", kManage, DeleteVault);
  add("GET", "/management/principals", "principals.list", kManage, ListPrincipals);
  add("POST", "/management/principals", "principals.create", kManage, CreatePrincipal);
  add("GET", "/management/principals/{id}", "principals.get", kManage, GetPrincipal);
  add("PATCH", "/management/principals/{id}", "principals.update", kManage, UpdatePrincipal);
  add("DELETE", "/management/principals/{id}", "principals.delete", kManage, DeletePrincipal);
  add("POST", "/management/principals/{id}/rotate-secret", "principals.rotatesecret", kManage,
      RotatePrincipalSecret);
  add("GET", "/management/roleassignments", "roleassignments.list", kManage, ListRoleAssignments);
  add("POST", "/management/roleassignments", "roleassignments.create", kManage,
      CreateRoleAssignment);
  add("DELETE", "/management/roleassignments/{id}", "roleassignments.delete", kManage,
      DeleteRoleAssignment);
  add("GET", "/management/audit", "audit.list", kManage, ListAudit);
  add("POST", "/management/tokenkeys/rotate", "tokenkeys.rotate", kManage, RotateTokenKey);
  add("GET", "/management/events", "events.list", kManage, ListEvents);
  add("POST", "/management/clock", "clock.advance", kManage, AdvanceClock);
  return router;
}

}  // namespace certvault::api
