#include "vault/internal.h"

#include "common/text.h"

namespace certvault::vault::internal {

std::string CertKeyAad(std::string_view vault, std::string_view name, std::string_view version) {
  return "cert-key/" + AsciiLower(vault) + "/" + AsciiLower(name) + "/" + std::string(version);
}

std::string PendingKeyAad(std::string_view vault, std::string_view name,
                          std::string_view request_id) {
  return "pending-key/" + AsciiLower(vault) + "/" + AsciiLower(name) + "/" +
         std::string(request_id);
}

std::string SecretValueAad(std::string_view vault, std::string_view name,
                           std::string_view version) {
  return "secret/" + AsciiLower(vault) + "/" + AsciiLower(name) + "/" + std::string(version);
}

Error CertificateNotFound(std::string_view name) {
  return Error::NotFound(
      "CertificateNotFound",
      "A certificate with (name/id) " + std::string(name) + " was not found in this key vault.");
}

Error DeletedCertificateNotFound(std::string_view name) {
  return Error::NotFound("CertificateNotFound",
                         "Deleted Certificate not found: " + std::string(name));
}

Error SecretNotFound(std::string_view name) {
  return Error::NotFound("SecretNotFound", "A secret with (name/id) " + std::string(name) +
                                               " was not found in this key vault.");
}

Error DeletedSecretNotFound(std::string_view name) {
  return Error::NotFound("SecretNotFound", "Deleted Secret not found: " + std::string(name));
}

Error VaultNotFound(std::string_view name) {
  return Error::NotFound("VaultNotFound", "Vault " + std::string(name) + " does not exist.");
}

Status RequireVault(store::Transaction& txn, std::string_view vault) {
  CV_ASSIGN_OR_RETURN(auto v, txn.GetVault(vault));
  if (!v) return Fail(VaultNotFound(vault));
  return Ok();
}

void ApplyAttributes(const AttributesPatch& patch, model::Attributes& attributes) {
  if (patch.enabled) attributes.enabled = *patch.enabled;
  if (patch.nbf) attributes.nbf = *patch.nbf;
  if (patch.exp) attributes.exp = *patch.exp;
}

store::Page Probe(store::Page page) { return {page.offset, page.limit + 1}; }

}  // namespace certvault::vault::internal
