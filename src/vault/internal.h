#pragma once
// Helpers shared by the VaultService implementation files. Not part of the module's interface.

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/text.h"
#include "model/types.h"
#include "store/store.h"
#include "vault/events.h"
#include "vault/vault_service.h"

namespace certvault::vault::internal {

// Additional authenticated data that binds a sealed blob to its record.
std::string CertKeyAad(std::string_view vault, std::string_view name, std::string_view version);
std::string PendingKeyAad(std::string_view vault, std::string_view name,
                          std::string_view request_id);
std::string SecretValueAad(std::string_view vault, std::string_view name, std::string_view version);

Error CertificateNotFound(std::string_view name);
Error DeletedCertificateNotFound(std::string_view name);
Error SecretNotFound(std::string_view name);
Error DeletedSecretNotFound(std::string_view name);
Error VaultNotFound(std::string_view name);

// Fails with VaultNotFound unless the vault exists.
Status RequireVault(store::Transaction& txn, std::string_view vault);

void ApplyAttributes(const AttributesPatch& patch, model::Attributes& attributes);

// Reads the page one item past `page.limit` so the caller can tell whether more exist.
store::Page Probe(store::Page page);

// Records in the outbox that `version` became `cert`'s current version, and schedules the
// lifecycle's first look at it (cert.next_check; the caller puts `cert`).
Status RecordNewVersion(store::Transaction& txn, model::Certificate& cert,
                        const model::CertificateVersion& version, int64_t now);
// Re-computes cert.next_check from its current version and policy (after a policy change).
Status Reschedule(store::Transaction& txn, model::Certificate& cert);

// Ends job `id` (if not empty and still open) with `status` and a reason, when the user settles
// its pending operation by hand.
Status EndJob(store::Transaction& txn, std::string_view id, std::string_view status,
              std::string_view reason, int64_t now);
// Fails with BadParameter unless the vault has an enabled issuer of that name.
Status RequireUsableIssuer(store::Transaction& txn, std::string_view vault,
                           std::string_view issuer);
// A queued job for a certificate.
model::Job NewJob(std::string_view vault, std::string_view name, std::string trigger,
                  std::string issuer, int64_t now);

bool IsSelfIssuer(std::string_view issuer);
bool IsUnknownIssuer(std::string_view issuer);
// Drops the probe item, returning the next offset or -1.
template <typename T>
int64_t TrimProbe(std::vector<T>& items, store::Page page) {
  if (static_cast<int64_t>(items.size()) > page.limit) {
    items.resize(page.limit);
    return page.offset + page.limit;
  }
  return -1;
}

}  // namespace certvault::vault::internal
