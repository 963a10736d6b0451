// Soft-delete, recovery, purge, backup and restore of certificates; contacts; vaults.

#include <nlohmann/json.hpp>

#include "common/names.h"
#include "crypto/encoding.h"
#include "model/codec.h"
#include "vault/backup.h"
#include "vault/internal.h"
#include "vault/vault_service.h"

namespace certvault::vault {

using namespace internal;  // NOLINT(google-build-using-namespace): this module's own helpers
using nlohmann::json;

namespace {

Result<CertificateView> WithCurrentVersion(store::Transaction& txn, model::Certificate cert) {
  CertificateView view{std::move(cert), {}};
  if (!view.cert.current_version.empty()) {
    CV_ASSIGN_OR_RETURN(auto v, txn.GetCertificateVersion(view.cert.vault, view.cert.name,
                                                          view.cert.current_version));
    if (v) view.version = std::move(*v);
  }
  return view;
}

Result<model::Certificate> RequireDeletedCertificate(store::Transaction& txn,
                                                     std::string_view vault,
                                                     std::string_view name) {
  CV_RETURN_IF_ERROR(RequireVault(txn, vault));
  CV_ASSIGN_OR_RETURN(auto cert, txn.GetCertificate(vault, name));
  if (!cert || !cert->deleted) return Fail(DeletedCertificateNotFound(name));
  return *cert;
}

}  // namespace

Result<CertificateView> VaultService::DeleteCertificate(std::string_view vault,
                                                        std::string_view name) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  CV_ASSIGN_OR_RETURN(auto cert, txn->GetCertificate(vault, name));
  if (!cert || cert->deleted) return Fail(CertificateNotFound(name));
  const int64_t now = clock_.NowUnix();
  cert->deleted = model::Deletion{now, now + int64_t{kRecoverableDays} * 86400};
  cert->updated = now;
  CV_RETURN_IF_ERROR(txn->PutCertificate(*cert));
  CV_ASSIGN_OR_RETURN(auto view, WithCurrentVersion(*txn, *cert));
  CV_RETURN_IF_ERROR(Commit(*txn));
  return view;
}

Result<CertificateView> VaultService::GetDeletedCertificate(std::string_view vault,
                                                            std::string_view name) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
  CV_ASSIGN_OR_RETURN(auto cert, RequireDeletedCertificate(*txn, vault, name));
  return WithCurrentVersion(*txn, std::move(cert));
}

Result<CertificateListing> VaultService::ListDeletedCertificates(std::string_view vault,
                                                                 store::Page page) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  CV_ASSIGN_OR_RETURN(auto certs, txn->ListCertificates(vault, store::Deleted::kOnly, Probe(page)));
  CertificateListing out;
  out.next_offset = TrimProbe(certs, page);
  for (auto& cert : certs) {
    CV_ASSIGN_OR_RETURN(auto view, WithCurrentVersion(*txn, std::move(cert)));
    out.items.push_back(std::move(view));
  }
  return out;
}

Result<CertificateView> VaultService::RecoverCertificate(std::string_view vault,
                                                         std::string_view name) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_ASSIGN_OR_RETURN(auto cert, RequireDeletedCertificate(*txn, vault, name));
  cert.deleted.reset();
  cert.updated = clock_.NowUnix();
  CV_RETURN_IF_ERROR(txn->PutCertificate(cert));
  CV_ASSIGN_OR_RETURN(auto view, WithCurrentVersion(*txn, cert));
  CV_RETURN_IF_ERROR(Commit(*txn));
  return view;
}

Status VaultService::PurgeCertificate(std::string_view vault, std::string_view name) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_RETURN_IF_ERROR(RequireDeletedCertificate(*txn, vault, name));
  CV_RETURN_IF_ERROR(txn->DeleteCertificate(vault, name));
  return Commit(*txn);
}

Result<std::string> VaultService::BackupCertificate(std::string_view vault, std::string_view name) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  CV_ASSIGN_OR_RETURN(auto cert, txn->GetCertificate(vault, name));
  if (!cert || cert->deleted) return Fail(CertificateNotFound(name));
  json versions = json::array();
  for (int64_t offset = 0;; offset += 100) {
    CV_ASSIGN_OR_RETURN(auto page, txn->ListCertificateVersions(vault, name, {offset, 100}));
    for (const auto& v : page) {
      json chain = json::array();
      for (const auto& der : v.chain) chain.push_back(crypto::Base64Encode(der));
      std::string key;
      if (!v.wrapped_key.empty()) {
        CV_ASSIGN_OR_RETURN(key, kek_.Open(v.wrapped_key, CertKeyAad(vault, name, v.version)));
      }
      versions.push_back({{"version", v.version},
                          {"cer", crypto::Base64Encode(v.cer)},
                          {"chain", chain},
                          {"key", crypto::Base64Encode(key)},
                          {"content_type", v.content_type},
                          {"exportable", v.exportable},
                          {"attributes", model::AttributesToJson(v.attributes)},
                          {"tags", model::TagsToJson(v.tags)}});
    }
    if (page.size() < 100) break;
  }
  json body = {{"name", cert->name},
               {"created", cert->created},
               {"current_version", cert->current_version},
               {"policy", model::PolicyToJson(cert->policy)},
               {"versions", versions}};
  return SealBackup(kek_, std::move(body), "certificate");
}

Result<CertificateView> VaultService::RestoreCertificate(std::string_view vault,
                                                         std::string_view blob) {
  CV_ASSIGN_OR_RETURN(json body, OpenBackup(kek_, blob, "certificate"));
  model::Certificate cert;
  cert.name = body.value("name", "");
  cert.created = body.value("created", int64_t{0});
  cert.current_version = body.value("current_version", "");
  CV_RETURN_IF_ERROR(model::MergePolicyFromJson(body["policy"], cert.policy));
  if (body["policy"].contains("attributes")) {
    cert.policy.attributes = BackupAttributes(body["policy"]["attributes"]);
  }
  std::vector<model::CertificateVersion> versions;
  for (const auto& item : body["versions"]) {
    model::CertificateVersion v;
    v.name = cert.name;
    v.version = item.value("version", "");
    CV_ASSIGN_OR_RETURN(v.cer, crypto::Base64Decode(item.value("cer", "")));
    for (const auto& der : item["chain"]) {
      CV_ASSIGN_OR_RETURN(std::string c, crypto::Base64Decode(der.get<std::string>()));
      v.chain.push_back(std::move(c));
    }
    CV_ASSIGN_OR_RETURN(std::string key, crypto::Base64Decode(item.value("key", "")));
    if (!key.empty()) {
      CV_ASSIGN_OR_RETURN(v.wrapped_key, kek_.Seal(key, CertKeyAad(vault, cert.name, v.version)));
    }
    v.content_type = item.value("content_type", "");
    v.exportable = item.value("exportable", true);
    v.attributes = BackupAttributes(item["attributes"]);
    CV_ASSIGN_OR_RETURN(v.tags, model::TagsFromJson(item["tags"]));
    versions.push_back(std::move(v));
  }

  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  CV_ASSIGN_OR_RETURN(auto existing, txn->GetCertificate(vault, cert.name));
  if (existing) {
    return Fail(Error::Conflict("Certificate " + cert.name +
                                " already exists in this vault (or is deleted); purge it first"));
  }
  CV_ASSIGN_OR_RETURN(auto secret, txn->GetSecret(vault, cert.name));
  if (secret) return Fail(Error::Conflict("a secret named " + cert.name + " exists"));
  CV_ASSIGN_OR_RETURN(auto v, txn->GetVault(vault));
  cert.vault = v->name;
  cert.updated = clock_.NowUnix();
  for (auto& version : versions) {
    version.vault = cert.vault;
    CV_RETURN_IF_ERROR(txn->PutCertificateVersion(version));
  }
  CV_RETURN_IF_ERROR(Reschedule(*txn, cert));
  CV_RETURN_IF_ERROR(txn->PutCertificate(cert));
  CV_ASSIGN_OR_RETURN(auto view, WithCurrentVersion(*txn, cert));
  CV_RETURN_IF_ERROR(Commit(*txn));
  return view;
}

// --- Contacts ---

Result<std::vector<model::Contact>> VaultService::GetContacts(std::string_view vault) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  CV_ASSIGN_OR_RETURN(auto contacts, txn->GetContacts(vault));
  if (contacts.empty()) {
    return Fail(Error::NotFound("ContactsNotFound", "No certificate contacts are set."));
  }
  return contacts;
}

Result<std::vector<model::Contact>> VaultService::SetContacts(
    std::string_view vault, const std::vector<model::Contact>& contacts) {
  if (contacts.empty()) return Fail(Error::BadParameter("contacts must not be empty"));
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  CV_RETURN_IF_ERROR(txn->PutContacts(vault, contacts));
  CV_RETURN_IF_ERROR(Commit(*txn));
  return contacts;
}

Result<std::vector<model::Contact>> VaultService::DeleteContacts(std::string_view vault) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  CV_ASSIGN_OR_RETURN(auto contacts, txn->GetContacts(vault));
  if (contacts.empty()) {
    return Fail(Error::NotFound("ContactsNotFound", "No certificate contacts are set."));
  }
  CV_RETURN_IF_ERROR(txn->PutContacts(vault, {}));
  CV_RETURN_IF_ERROR(Commit(*txn));
  return contacts;
}

// --- Vaults ---

Result<model::Vault> VaultService::GetVault(std::string_view name) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
  CV_ASSIGN_OR_RETURN(auto v, txn->GetVault(name));
  if (!v) return Fail(VaultNotFound(name));
  return *v;
}

Result<std::vector<model::Vault>> VaultService::ListVaults() {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
  return txn->ListVaults();
}

Result<model::Vault> VaultService::CreateVault(std::string_view name) {
  CV_RETURN_IF_ERROR(ValidateVaultName(name));
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_ASSIGN_OR_RETURN(auto existing, txn->GetVault(name));
  if (existing) return Fail(Error::Conflict("vault " + std::string(name) + " already exists"));
  model::Vault v{AsciiLower(name), clock_.NowUnix()};
  CV_RETURN_IF_ERROR(txn->PutVault(v));
  CV_RETURN_IF_ERROR(Commit(*txn));
  return v;
}

Status VaultService::DeleteVault(std::string_view name) {
  if (AsciiLower(name) == "default") {
    return Fail(Error::Conflict("the default vault cannot be deleted"));
  }
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_RETURN_IF_ERROR(RequireVault(*txn, name));
  CV_RETURN_IF_ERROR(txn->DeleteVault(name));
  return Commit(*txn);
}

}  // namespace certvault::vault
