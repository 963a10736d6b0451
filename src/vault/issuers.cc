// Certificate issuers of VaultService (Key Vault's issuers API). The credentials password is
// sealed by the KEK like a private key; the provider's settings are checked before they are kept.

#include "common/names.h"
#include "vault/internal.h"
#include "vault/vault_service.h"

namespace certvault::vault {

using namespace internal;  // NOLINT(google-build-using-namespace): this module's own helpers

namespace {

Error IssuerNotFound(std::string_view name) {
  return Error::NotFound("CertificateIssuerNotFound", "Issuer not found: " + std::string(name));
}

std::string IssuerPasswordAad(std::string_view vault, std::string_view name) {
  return "issuer-password/" + AsciiLower(vault) + "/" + AsciiLower(name);
}

}  // namespace

Result<model::Issuer> VaultService::GetIssuer(std::string_view vault, std::string_view name) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  CV_ASSIGN_OR_RETURN(auto issuer, txn->GetIssuer(vault, name));
  if (!issuer) return Fail(IssuerNotFound(name));
  return *issuer;
}

Result<std::vector<model::Issuer>> VaultService::ListIssuers(std::string_view vault) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  return txn->ListIssuers(vault);
}

Result<model::Issuer> VaultService::SetIssuer(std::string_view vault, std::string_view name,
                                              const IssuerPatch& patch, bool create) {
  CV_RETURN_IF_ERROR(ValidateObjectName(name, "issuer"));
  if (IsSelfIssuer(name) || IsUnknownIssuer(name)) {
    return Fail(Error::BadParameter("issuer names Self and Unknown are reserved"));
  }
  CV_ASSIGN_OR_RETURN(auto read, store_.BeginRead());
  CV_RETURN_IF_ERROR(RequireVault(*read, vault));
  CV_ASSIGN_OR_RETURN(auto existing, read->GetIssuer(vault, name));
  read.reset();
  if (!create && !existing) return Fail(IssuerNotFound(name));

  const int64_t now = clock_.NowUnix();
  model::Issuer issuer;
  if (existing && !create) issuer = *existing;
  issuer.vault = existing ? existing->vault : std::string(vault);
  issuer.name = existing ? existing->name : std::string(name);
  issuer.created = existing ? existing->created : now;
  issuer.updated = now;
  if (patch.provider) issuer.provider = *patch.provider;
  if (patch.account_id) issuer.account_id = *patch.account_id;
  if (patch.organization_id) issuer.organization_id = *patch.organization_id;
  if (patch.admins) issuer.admins = *patch.admins;
  if (patch.settings) issuer.settings = *patch.settings;
  if (patch.enabled) issuer.enabled = *patch.enabled;
  if (issuer.provider.empty()) return Fail(Error::BadParameter("provider is required"));
  std::string password;
  if (patch.password) {
    password = *patch.password;
  } else if (!issuer.wrapped_password.empty()) {
    CV_ASSIGN_OR_RETURN(password, IssuerPassword(issuer));
  }
  if (issuer_validator_) {
    model::Issuer checked = issuer;
    checked.wrapped_password = password;  // validators see the plain password, nothing stores it
    CV_RETURN_IF_ERROR(issuer_validator_(checked));
  }
  issuer.wrapped_password.clear();
  if (!password.empty()) {
    CV_ASSIGN_OR_RETURN(issuer.wrapped_password,
                        kek_.Seal(password, IssuerPasswordAad(issuer.vault, issuer.name)));
  }

  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  CV_ASSIGN_OR_RETURN(auto again, txn->GetIssuer(vault, name));
  if (!create && !again) return Fail(IssuerNotFound(name));
  CV_RETURN_IF_ERROR(txn->PutIssuer(issuer));
  CV_RETURN_IF_ERROR(Commit(*txn));
  return issuer;
}

Result<model::Issuer> VaultService::DeleteIssuer(std::string_view vault, std::string_view name) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  CV_ASSIGN_OR_RETURN(auto issuer, txn->GetIssuer(vault, name));
  if (!issuer) return Fail(IssuerNotFound(name));
  CV_RETURN_IF_ERROR(txn->DeleteIssuer(vault, name));
  CV_RETURN_IF_ERROR(Commit(*txn));
  return *issuer;
}

Result<std::string> VaultService::IssuerPassword(const model::Issuer& issuer) {
  if (issuer.wrapped_password.empty()) return std::string();
  return kek_.Open(issuer.wrapped_password, IssuerPasswordAad(issuer.vault, issuer.name));
}

}  // namespace certvault::vault
