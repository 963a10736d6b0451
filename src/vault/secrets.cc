// Secret operations of VaultService. A certificate's secret shares the certificate's name and
// versions and is rendered from the certificate's key and chain (it is "managed").

#include <algorithm>
#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "model/codec.h"
#include "vault/backup.h"
#include "vault/internal.h"
#include "vault/vault_service.h"

namespace certvault::vault {

using namespace internal;  // NOLINT(google-build-using-namespace): this module's own helpers
using nlohmann::json;

namespace {

constexpr size_t kMaxSecretBytes = 25 * 1024;  // Key Vault's limit

SecretView ViewOf(const model::Secret& s, const model::SecretVersion& v) {
  SecretView view;
  view.name = s.name;
  view.version = v.version;
  view.content_type = v.content_type;
  view.attributes = v.attributes;
  view.tags = v.tags;
  view.deleted = s.deleted;
  return view;
}

SecretView ViewOf(const model::Certificate& c, const model::CertificateVersion& v) {
  SecretView view;
  view.name = c.name;
  view.version = v.version;
  view.content_type = v.content_type;
  view.attributes = v.attributes;
  view.tags = v.tags;
  view.managed = true;
  view.deleted = c.deleted;
  return view;
}

Error ManagedSecretConflict(std::string_view name) {
  return Error::Conflict("secret " + std::string(name) +
                         " is managed by the certificate of the same name; use the certificate "
                         "operations instead");
}

Status CheckReadable(const model::Attributes& a, int64_t now) {
  if (!a.enabled) {
    return Fail(Error(ErrorKind::kForbidden, "Forbidden",
                      "Operation get is not allowed on a disabled secret.")
                    .WithInnerCode("SecretDisabled"));
  }
  if (a.nbf && *a.nbf > now) {
    return Fail(Error(ErrorKind::kForbidden, "Forbidden",
                      "Operation get is not allowed on a secret that is not yet valid (nbf)."));
  }
  return Ok();
}

Result<model::Secret> RequireLiveSecret(store::Transaction& txn, std::string_view vault,
                                        std::string_view name) {
  CV_ASSIGN_OR_RETURN(auto s, txn.GetSecret(vault, name));
  if (!s || s->deleted) return Fail(SecretNotFound(name));
  return *s;
}

}  // namespace

Result<SecretView> VaultService::SetSecret(std::string_view vault, std::string_view name,
                                           std::string_view value, std::string_view content_type,
                                           const AttributesPatch& attributes,
                                           const std::optional<model::Tags>& tags) {
  if (value.size() > kMaxSecretBytes) {
    return Fail(Error::BadParameter("secret values are limited to 25 KiB"));
  }
  const std::string version = crypto::NewId();
  CV_ASSIGN_OR_RETURN(std::string sealed, kek_.Seal(value, SecretValueAad(vault, name, version)));
  const int64_t now = clock_.NowUnix();

  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  CV_ASSIGN_OR_RETURN(auto cert, txn->GetCertificate(vault, name));
  if (cert) return Fail(ManagedSecretConflict(name));
  CV_ASSIGN_OR_RETURN(auto existing, txn->GetSecret(vault, name));
  model::Secret secret;
  if (existing) {
    if (existing->deleted) {
      return Fail(Error::Conflict("Secret " + std::string(name) +
                                  " is currently in a deleted but recoverable state, and its "
                                  "name cannot be reused; in this state, the secret can only be "
                                  "recovered or purged."));
    }
    secret = *existing;
  } else {
    CV_ASSIGN_OR_RETURN(auto v, txn->GetVault(vault));
    secret.vault = v->name;
    secret.name = std::string(name);
    secret.created = now;
  }
  model::SecretVersion v;
  v.vault = secret.vault;
  v.name = secret.name;
  v.version = version;
  v.wrapped_value = std::move(sealed);
  v.content_type = std::string(content_type);
  ApplyAttributes(attributes, v.attributes);
  v.attributes.created = now;
  v.attributes.updated = now;
  if (tags) v.tags = *tags;
  secret.current_version = version;
  secret.updated = now;
  CV_RETURN_IF_ERROR(txn->PutSecret(secret));
  CV_RETURN_IF_ERROR(txn->PutSecretVersion(v));
  CV_RETURN_IF_ERROR(Commit(*txn));
  SecretView view = ViewOf(secret, v);
  view.value = std::string(value);
  return view;
}

Status VaultService::Commit(store::Transaction& txn) {
  CV_RETURN_IF_ERROR(txn.Commit());
  generation_.fetch_add(1);
  return Ok();
}

void VaultService::WriteAsync(store::Store::WriteBody body, store::Store::WriteDone done) {
  store_.WriteAsync(std::move(body), [this, done = std::move(done)](Status written) {
    if (written) generation_.fetch_add(1);
    done(std::move(written));
  });
}

Result<SecretView> VaultService::GetSecret(std::string_view vault, std::string_view name,
                                           std::string_view version) {
  std::string key = AsciiLower(vault) + "/" + AsciiLower(name) + "/" + std::string(version);
  // Taken before reading, so a write committed meanwhile makes the entry stale, never wrong.
  const uint64_t generation = generation_.load();
  std::shared_ptr<const CachedSecret> cached;
  {
    std::lock_guard lock(cache_mu_);
    auto it = secret_cache_.find(key);
    if (it != secret_cache_.end()) cached = it->second;
  }
  if (cached && cached->generation == generation) {
    // Readability depends on the time, so it is checked on every read.
    CV_RETURN_IF_ERROR(CheckReadable(cached->view.attributes, clock_.NowUnix()));
    return cached->view;
  }
  CV_ASSIGN_OR_RETURN(SecretView view, ReadSecret(vault, name, version));
  auto entry = std::make_shared<const CachedSecret>(CachedSecret{generation, view});
  std::lock_guard lock(cache_mu_);
  if (secret_cache_.size() >= kMaxCachedSecrets) secret_cache_.clear();
  secret_cache_[std::move(key)] = std::move(entry);
  return view;
}

Result<SecretView> VaultService::ReadSecret(std::string_view vault, std::string_view name,
                                            std::string_view version) {
  const int64_t now = clock_.NowUnix();
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  CV_ASSIGN_OR_RETURN(auto secret, txn->GetSecret(vault, name));
  if (secret) {
    if (secret->deleted) return Fail(SecretNotFound(name));
    const std::string wanted = version.empty() ? secret->current_version : std::string(version);
    CV_ASSIGN_OR_RETURN(auto v, txn->GetSecretVersion(vault, name, wanted));
    if (!v) return Fail(SecretNotFound(std::string(name) + "/" + wanted));
    CV_RETURN_IF_ERROR(CheckReadable(v->attributes, now));
    SecretView view = ViewOf(*secret, *v);
    CV_ASSIGN_OR_RETURN(view.value,
                        kek_.Open(v->wrapped_value, SecretValueAad(vault, name, v->version)));
    return view;
  }
  CV_ASSIGN_OR_RETURN(auto cert, txn->GetCertificate(vault, name));
  if (!cert || cert->deleted) return Fail(SecretNotFound(name));
  const std::string wanted = version.empty() ? cert->current_version : std::string(version);
  if (wanted.empty()) return Fail(SecretNotFound(name));
  CV_ASSIGN_OR_RETURN(auto v, txn->GetCertificateVersion(vault, name, wanted));
  if (!v) return Fail(SecretNotFound(std::string(name) + "/" + wanted));
  CV_RETURN_IF_ERROR(CheckReadable(v->attributes, now));
  SecretView view = ViewOf(*cert, *v);
  CV_ASSIGN_OR_RETURN(view.value, RenderCertificateSecret(*v));
  return view;
}

Result<SecretListing> VaultService::ListSecrets(std::string_view vault, store::Page page) {
  // Plain secrets and certificates are two name-ordered lists; merge the first offset+limit+1
  // names of both and cut the page out of the merge.
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  const store::Page head{0, page.offset + page.limit + 1};
  CV_ASSIGN_OR_RETURN(auto secrets, txn->ListSecrets(vault, store::Deleted::kExclude, head));
  CV_ASSIGN_OR_RETURN(auto certs, txn->ListCertificates(vault, store::Deleted::kExclude, head));
  std::vector<std::pair<std::string, SecretView>> merged;
  for (const auto& s : secrets) {
    CV_ASSIGN_OR_RETURN(auto v, txn->GetSecretVersion(vault, s.name, s.current_version));
    if (v) merged.emplace_back(AsciiLower(s.name), ViewOf(s, *v));
  }
  for (const auto& c : certs) {
    if (c.current_version.empty()) continue;
    CV_ASSIGN_OR_RETURN(auto v, txn->GetCertificateVersion(vault, c.name, c.current_version));
    if (v) merged.emplace_back(AsciiLower(c.name), ViewOf(c, *v));
  }
  std::sort(merged.begin(), merged.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  SecretListing out;
  for (int64_t i = page.offset; i < static_cast<int64_t>(merged.size()); ++i) {
    if (static_cast<int64_t>(out.items.size()) == page.limit) {
      out.next_offset = i;
      break;
    }
    out.items.push_back(std::move(merged[i].second));
  }
  return out;
}

Result<SecretListing> VaultService::ListSecretVersions(std::string_view vault,
                                                       std::string_view name, store::Page page) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  SecretListing out;
  CV_ASSIGN_OR_RETURN(auto secret, txn->GetSecret(vault, name));
  if (secret) {
    if (secret->deleted) return Fail(SecretNotFound(name));
    CV_ASSIGN_OR_RETURN(auto versions, txn->ListSecretVersions(vault, name, Probe(page)));
    out.next_offset = TrimProbe(versions, page);
    for (const auto& v : versions) out.items.push_back(ViewOf(*secret, v));
    return out;
  }
  CV_ASSIGN_OR_RETURN(auto cert, txn->GetCertificate(vault, name));
  if (!cert || cert->deleted) return Fail(SecretNotFound(name));
  CV_ASSIGN_OR_RETURN(auto versions, txn->ListCertificateVersions(vault, name, Probe(page)));
  out.next_offset = TrimProbe(versions, page);
  for (const auto& v : versions) out.items.push_back(ViewOf(*cert, v));
  return out;
}

Result<SecretView> VaultService::UpdateSecret(std::string_view vault, std::string_view name,
                                              std::string_view version,
                                              const AttributesPatch& attributes,
                                              const std::optional<model::Tags>& tags,
                                              const std::optional<std::string>& content_type) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  CV_ASSIGN_OR_RETURN(auto cert, txn->GetCertificate(vault, name));
  if (cert && !cert->deleted) return Fail(ManagedSecretConflict(name));
  CV_ASSIGN_OR_RETURN(auto secret, RequireLiveSecret(*txn, vault, name));
  const std::string wanted = version.empty() ? secret.current_version : std::string(version);
  CV_ASSIGN_OR_RETURN(auto v, txn->GetSecretVersion(vault, name, wanted));
  if (!v) return Fail(SecretNotFound(std::string(name) + "/" + wanted));
  ApplyAttributes(attributes, v->attributes);
  v->attributes.updated = clock_.NowUnix();
  if (tags) v->tags = *tags;
  if (content_type) v->content_type = *content_type;
  CV_RETURN_IF_ERROR(txn->PutSecretVersion(*v));
  CV_RETURN_IF_ERROR(Commit(*txn));
  return ViewOf(secret, *v);
}

Result<SecretView> VaultService::DeleteSecret(std::string_view vault, std::string_view name) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  CV_ASSIGN_OR_RETURN(auto cert, txn->GetCertificate(vault, name));
  if (cert && !cert->deleted) return Fail(ManagedSecretConflict(name));
  CV_ASSIGN_OR_RETURN(auto secret, RequireLiveSecret(*txn, vault, name));
  const int64_t now = clock_.NowUnix();
  secret.deleted = model::Deletion{now, now + int64_t{kRecoverableDays} * 86400};
  secret.updated = now;
  CV_ASSIGN_OR_RETURN(auto v, txn->GetSecretVersion(vault, name, secret.current_version));
  CV_RETURN_IF_ERROR(txn->PutSecret(secret));
  CV_RETURN_IF_ERROR(Commit(*txn));
  return v ? ViewOf(secret, *v)
           : SecretView{secret.name, "", "", "", {}, {}, false, secret.deleted};
}

Result<SecretView> VaultService::GetDeletedSecret(std::string_view vault, std::string_view name) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  CV_ASSIGN_OR_RETURN(auto secret, txn->GetSecret(vault, name));
  if (!secret || !secret->deleted) return Fail(DeletedSecretNotFound(name));
  CV_ASSIGN_OR_RETURN(auto v, txn->GetSecretVersion(vault, name, secret->current_version));
  if (!v) return Fail(DeletedSecretNotFound(name));
  return ViewOf(*secret, *v);
}

Result<SecretListing> VaultService::ListDeletedSecrets(std::string_view vault, store::Page page) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  CV_ASSIGN_OR_RETURN(auto secrets, txn->ListSecrets(vault, store::Deleted::kOnly, Probe(page)));
  SecretListing out;
  out.next_offset = TrimProbe(secrets, page);
  for (const auto& s : secrets) {
    CV_ASSIGN_OR_RETURN(auto v, txn->GetSecretVersion(vault, s.name, s.current_version));
    if (v) out.items.push_back(ViewOf(s, *v));
  }
  return out;
}

Result<SecretView> VaultService::RecoverSecret(std::string_view vault, std::string_view name) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  CV_ASSIGN_OR_RETURN(auto secret, txn->GetSecret(vault, name));
  if (!secret || !secret->deleted) return Fail(DeletedSecretNotFound(name));
  secret->deleted.reset();
  secret->updated = clock_.NowUnix();
  CV_RETURN_IF_ERROR(txn->PutSecret(*secret));
  CV_ASSIGN_OR_RETURN(auto v, txn->GetSecretVersion(vault, name, secret->current_version));
  CV_RETURN_IF_ERROR(Commit(*txn));
  if (!v) return Fail(Error::Internal("recovered secret has no current version"));
  return ViewOf(*secret, *v);
}

Status VaultService::PurgeSecret(std::string_view vault, std::string_view name) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  CV_ASSIGN_OR_RETURN(auto secret, txn->GetSecret(vault, name));
  if (!secret || !secret->deleted) return Fail(DeletedSecretNotFound(name));
  CV_RETURN_IF_ERROR(txn->DeleteSecret(vault, name));
  return Commit(*txn);
}

Result<std::string> VaultService::BackupSecret(std::string_view vault, std::string_view name) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  CV_ASSIGN_OR_RETURN(auto cert, txn->GetCertificate(vault, name));
  if (cert && !cert->deleted) return Fail(ManagedSecretConflict(name));
  CV_ASSIGN_OR_RETURN(auto secret, RequireLiveSecret(*txn, vault, name));
  json versions = json::array();
  for (int64_t offset = 0;; offset += 100) {
    CV_ASSIGN_OR_RETURN(auto page, txn->ListSecretVersions(vault, name, {offset, 100}));
    for (const auto& v : page) {
      CV_ASSIGN_OR_RETURN(std::string value,
                          kek_.Open(v.wrapped_value, SecretValueAad(vault, name, v.version)));
      versions.push_back({{"version", v.version},
                          {"value", crypto::Base64Encode(value)},
                          {"content_type", v.content_type},
                          {"attributes", model::AttributesToJson(v.attributes)},
                          {"tags", model::TagsToJson(v.tags)}});
    }
    if (page.size() < 100) break;
  }
  json body = {{"name", secret.name},
               {"created", secret.created},
               {"current_version", secret.current_version},
               {"versions", versions}};
  return SealBackup(kek_, std::move(body), "secret");
}

Result<SecretView> VaultService::RestoreSecret(std::string_view vault, std::string_view blob) {
  CV_ASSIGN_OR_RETURN(json body, OpenBackup(kek_, blob, "secret"));
  model::Secret secret;
  secret.name = body.value("name", "");
  secret.created = body.value("created", int64_t{0});
  secret.current_version = body.value("current_version", "");
  std::vector<model::SecretVersion> versions;
  for (const auto& item : body["versions"]) {
    model::SecretVersion v;
    v.name = secret.name;
    v.version = item.value("version", "");
    CV_ASSIGN_OR_RETURN(std::string value, crypto::Base64Decode(item.value("value", "")));
    CV_ASSIGN_OR_RETURN(v.wrapped_value,
                        kek_.Seal(value, SecretValueAad(vault, secret.name, v.version)));
    v.content_type = item.value("content_type", "");
    v.attributes = BackupAttributes(item["attributes"]);
    CV_ASSIGN_OR_RETURN(v.tags, model::TagsFromJson(item["tags"]));
    versions.push_back(std::move(v));
  }
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  CV_ASSIGN_OR_RETURN(auto existing, txn->GetSecret(vault, secret.name));
  CV_ASSIGN_OR_RETURN(auto cert, txn->GetCertificate(vault, secret.name));
  if (existing || cert) {
    return Fail(Error::Conflict("Secret " + secret.name +
                                " already exists in this vault (or is deleted); purge it first"));
  }
  CV_ASSIGN_OR_RETURN(auto v, txn->GetVault(vault));
  secret.vault = v->name;
  secret.updated = clock_.NowUnix();
  CV_RETURN_IF_ERROR(txn->PutSecret(secret));
  SecretView view;
  for (auto& version : versions) {
    version.vault = secret.vault;
    CV_RETURN_IF_ERROR(txn->PutSecretVersion(version));
    if (version.version == secret.current_version) view = ViewOf(secret, version);
  }
  CV_RETURN_IF_ERROR(Commit(*txn));
  return view;
}

}  // namespace certvault::vault
