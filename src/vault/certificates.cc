// Certificate operations of VaultService: create, import, read, update, pending and merge.

#include <algorithm>
#include <future>

#include "crypto/encoding.h"
#include "crypto/x509.h"
#include "model/codec.h"
#include "vault/internal.h"
#include "vault/issuance.h"
#include "vault/vault_service.h"

namespace certvault::vault {

using namespace internal;  // NOLINT(google-build-using-namespace): this module's own helpers

namespace {

Error DeletedNameConflict(std::string_view name) {
  return Error::Conflict("Certificate " + std::string(name) +
                         " is currently in a deleted but recoverable state, and its name cannot "
                         "be reused; in this state, the certificate can only be recovered or "
                         "purged.");
}

Result<model::Certificate> RequireLiveCertificate(store::Transaction& txn, std::string_view vault,
                                                  std::string_view name) {
  CV_RETURN_IF_ERROR(RequireVault(txn, vault));
  CV_ASSIGN_OR_RETURN(auto cert, txn.GetCertificate(vault, name));
  if (!cert || cert->deleted) return Fail(CertificateNotFound(name));
  return *cert;
}

// Fails if the name is held by a plain secret (a certificate's secret shares its name).
Status RequireNameFreeOfSecret(store::Transaction& txn, std::string_view vault,
                               std::string_view name) {
  CV_ASSIGN_OR_RETURN(auto secret, txn.GetSecret(vault, name));
  if (secret) {
    return Fail(Error::Conflict("a secret named " + std::string(name) +
                                " exists; a certificate cannot share its name"));
  }
  return Ok();
}

// The certificate a new version goes into, with `policy` set on it: the live certificate of that
// name, or a new record. Fails if a deleted certificate or a secret holds the name.
Result<model::Certificate> CertificateForNewVersion(store::Transaction& txn, std::string_view vault,
                                                    std::string_view name,
                                                    model::CertificatePolicy policy, int64_t now) {
  CV_ASSIGN_OR_RETURN(auto v, txn.GetVault(vault));
  if (!v) return Fail(VaultNotFound(vault));
  CV_ASSIGN_OR_RETURN(auto existing, txn.GetCertificate(vault, name));
  model::Certificate cert;
  if (existing) {
    if (existing->deleted) return Fail(DeletedNameConflict(name));
    cert = std::move(*existing);
  } else {
    CV_RETURN_IF_ERROR(RequireNameFreeOfSecret(txn, vault, name));
    cert.vault = v->name;
    cert.name = std::string(name);
    cert.created = now;
  }
  if (policy.attributes.created == 0) policy.attributes.created = now;
  policy.attributes.updated = now;
  cert.policy = std::move(policy);
  cert.updated = now;
  return cert;
}

// Key Vault's usages when the policy names none: a TLS server and client certificate.
void ApplyUsageDefaults(model::CertificatePolicy& policy) {
  if (policy.x509.key_usage.empty()) {
    policy.x509.key_usage = {"digitalSignature", "keyEncipherment"};
    if (policy.key.kty.rfind("EC", 0) == 0) policy.x509.key_usage = {"digitalSignature"};
  }
  if (policy.x509.ekus.empty()) policy.x509.ekus = {"1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"};
}

// A new version of `cert` holding `ders` (leaf first) and the sealed key.
model::CertificateVersion NewVersion(const model::Certificate& cert, std::string version,
                                     const std::vector<std::string>& ders, std::string wrapped_key,
                                     const crypto::Certificate& leaf,
                                     const AttributesPatch& attributes,
                                     const std::optional<model::Tags>& tags, int64_t now) {
  model::CertificateVersion v;
  v.vault = cert.vault;
  v.name = cert.name;
  v.version = std::move(version);
  v.cer = ders.front();
  v.chain.assign(ders.begin() + 1, ders.end());
  v.wrapped_key = std::move(wrapped_key);
  v.content_type = cert.policy.content_type;
  v.exportable = cert.policy.key.exportable;
  v.attributes.enabled = cert.policy.attributes.enabled;
  ApplyAttributes(attributes, v.attributes);
  v.attributes.nbf = leaf.NotBefore();
  v.attributes.exp = leaf.NotAfter();
  v.attributes.created = now;
  v.attributes.updated = now;
  if (tags) v.tags = *tags;
  return v;
}

}  // namespace

Result<VaultService::Prepared> VaultService::PrepareIssuance(
    std::string_view vault, std::string_view name, const model::CertificatePolicy& policy,
    const std::optional<model::CertificateVersion>& current, std::string_view validity_override) {
  CV_ASSIGN_OR_RETURN(crypto::KeySpec key_spec, KeySpecFor(policy.key));
  CV_ASSIGN_OR_RETURN(crypto::CertificateSpec cert_spec, CertificateSpecFor(policy.x509));
  CV_ASSIGN_OR_RETURN(int64_t validity, model::PolicyValiditySeconds(policy.x509));
  if (!validity_override.empty()) {
    CV_ASSIGN_OR_RETURN(validity, model::ParseIsoDuration(validity_override));
  }
  std::optional<crypto::PrivateKey> key;
  if (policy.key.reuse_key && current && !current->wrapped_key.empty()) {
    CV_ASSIGN_OR_RETURN(std::string der,
                        kek_.Open(current->wrapped_key, CertKeyAad(vault, name, current->version)));
    CV_ASSIGN_OR_RETURN(auto reused, crypto::PrivateKey::FromDer(der));
    if (crypto::SameKeyKind(reused.Spec(), key_spec)) key = std::move(reused);
  }
  if (!key) {
    CV_ASSIGN_OR_RETURN(auto generated, crypto::PrivateKey::Generate(key_spec));
    key = std::move(generated);
  }
  CV_ASSIGN_OR_RETURN(std::string csr, crypto::BuildCsrDer(*key, cert_spec));
  return Prepared{std::move(*key), std::move(cert_spec), std::move(csr), validity};
}

Result<model::PendingOperation> VaultService::CreateCertificate(
    std::string_view vault, std::string_view name, const PolicyFn& policy_fn,
    const AttributesPatch& attributes, const std::optional<model::Tags>& tags) {
  std::promise<Result<model::PendingOperation>> result;
  CreateCertificateAsync(
      vault, name, policy_fn, attributes, tags,
      [&result](Result<model::PendingOperation> op) { result.set_value(std::move(op)); });
  return result.get_future().get();
}

// What a create commits, made before the write and owned by it (the write runs after the call
// that queued it has returned).
struct VaultService::NewCertificate {
  std::string vault;
  std::string name;
  model::CertificatePolicy policy;
  AttributesPatch attributes;
  std::optional<model::Tags> tags;
  int64_t now = 0;
  model::PendingOperation op;
  std::optional<crypto::Certificate> issued;  // Self: the certificate, issued at once
  std::string issued_der;
  std::string version_id;
  std::string wrapped_key;        // Self: the version's sealed key
  std::optional<model::Job> job;  // a configured issuer: the job that obtains the certificate
};

Status VaultService::PrepareCreate(const PolicyFn& policy_fn, NewCertificate& c) {
  // The policy and the key are decided outside the write; the write re-checks what this read saw.
  const std::string_view vault = c.vault, name = c.name;
  c.policy.lifetime_actions = {model::DefaultLifetimeAction()};
  std::optional<model::CertificateVersion> current;  // its key may be reused
  {
    CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
    CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
    CV_ASSIGN_OR_RETURN(auto existing, txn->GetCertificate(vault, name));
    if (existing) {
      if (existing->deleted) return Fail(DeletedNameConflict(name));
      c.policy = existing->policy;
      if (!existing->current_version.empty()) {
        CV_ASSIGN_OR_RETURN(current,
                            txn->GetCertificateVersion(vault, name, existing->current_version));
      }
    } else {
      CV_RETURN_IF_ERROR(RequireNameFreeOfSecret(*txn, vault, name));
    }
    if (policy_fn) CV_RETURN_IF_ERROR(policy_fn(c.policy));
    if (!IsSelfIssuer(c.policy.issuer.name) && !IsUnknownIssuer(c.policy.issuer.name)) {
      CV_RETURN_IF_ERROR(RequireUsableIssuer(*txn, vault, c.policy.issuer.name));
    }
  }
  ApplyUsageDefaults(c.policy);
  CV_RETURN_IF_ERROR(model::ValidatePolicy(c.policy));
  CV_ASSIGN_OR_RETURN(Prepared prepared, PrepareIssuance(vault, name, c.policy, current, ""));
  c.now = clock_.NowUnix();

  model::PendingOperation& op = c.op;
  op.request_id = crypto::NewId();
  op.csr = std::move(prepared.csr);
  op.issuer = c.policy.issuer;
  op.created = c.now;
  op.updated = c.now;
  ApplyAttributes(c.attributes, op.attributes);
  if (c.tags) op.tags = *c.tags;
  c.version_id = crypto::NewId();
  if (IsSelfIssuer(c.policy.issuer.name)) {
    crypto::IssueRequest request{prepared.spec, prepared.key.Public(), c.now,
                                 c.now + prepared.validity};
    CV_ASSIGN_OR_RETURN(c.issued, crypto::IssueCertificate(request, std::nullopt, prepared.key));
    c.issued_der = c.issued->ToDer();
    CV_ASSIGN_OR_RETURN(
        c.wrapped_key, kek_.Seal(prepared.key.ToPkcs8Der(), CertKeyAad(vault, name, c.version_id)));
    op.status = "completed";
    op.target_version = c.version_id;
    return Ok();
  }
  CV_ASSIGN_OR_RETURN(op.wrapped_key, kek_.Seal(prepared.key.ToPkcs8Der(),
                                                PendingKeyAad(vault, name, op.request_id)));
  op.status = "inProgress";
  if (IsUnknownIssuer(c.policy.issuer.name)) {
    op.status_details =
        "Pending certificate created. Please perform merge to complete the request.";
  } else {
    op.status_details =
        "Pending certificate created. Certificate request is in progress. This may take some "
        "time based on the issuer provider. Please check again later.";
    c.job = NewJob(vault, name, "create", c.policy.issuer.name, c.now);
    c.job->request_id = op.request_id;
    op.job_id = c.job->id;
  }
  return Ok();
}

// The write of a create: re-checks what PrepareCreate read, atomically with the writes. Short, for
// it runs on the store's writer thread alongside concurrent creates.
Status VaultService::CommitCreate(store::Transaction& txn, NewCertificate& c) {
  CV_ASSIGN_OR_RETURN(auto cert, CertificateForNewVersion(txn, c.vault, c.name, c.policy, c.now));
  CV_ASSIGN_OR_RETURN(auto pending, txn.GetPendingOperation(c.vault, c.name));
  if (pending && pending->status == "inProgress") {
    return Fail(Error::Conflict("Pending operation for certificate " + c.name +
                                " already exists; merge, cancel or delete it first"));
  }
  c.op.vault = cert.vault;
  c.op.name = cert.name;
  if (c.issued) {
    model::CertificateVersion v =
        NewVersion(cert, c.version_id, {c.issued_der}, std::move(c.wrapped_key), *c.issued,
                   c.attributes, c.tags, c.now);
    cert.current_version = c.version_id;
    CV_RETURN_IF_ERROR(RecordNewVersion(txn, cert, v, c.now));
    CV_RETURN_IF_ERROR(txn.PutCertificateVersion(v));
  }
  if (c.job) {
    c.job->vault = cert.vault;
    c.job->name = cert.name;
    CV_RETURN_IF_ERROR(RequireUsableIssuer(txn, c.vault, c.policy.issuer.name));
    CV_ASSIGN_OR_RETURN(bool inserted, txn.InsertJob(*c.job));
    (void)inserted;  // a fresh id and no key: always inserted
  }
  CV_RETURN_IF_ERROR(txn.PutCertificate(cert));
  return txn.PutPendingOperation(c.op);
}

void VaultService::CreateCertificateAsync(std::string_view vault, std::string_view name,
                                          const PolicyFn& policy_fn,
                                          const AttributesPatch& attributes,
                                          const std::optional<model::Tags>& tags, CreateDone done) {
  auto c = std::make_shared<NewCertificate>();
  c->vault = std::string(vault);
  c->name = std::string(name);
  c->attributes = attributes;
  c->tags = tags;
  if (auto prepared = PrepareCreate(policy_fn, *c); !prepared) return done(Fail(prepared.error()));
  WriteAsync([this, c](store::Transaction& txn) { return CommitCreate(txn, *c); },
             [this, c, done = std::move(done)](Status written) {
               if (!written) return done(Fail(written.error()));
               if (c->job) NotifyJobs();
               done(std::move(c->op));
             });
}

Result<CertificateView> VaultService::ImportCertificate(
    std::string_view vault, std::string_view name, std::string_view value,
    std::string_view password, const PolicyFn& policy_fn, const AttributesPatch& attributes,
    const std::optional<model::Tags>& tags) {
  std::optional<crypto::PrivateKey> key;
  std::vector<crypto::Certificate> certs;
  std::string content_type;
  if (value.find("-----BEGIN") != std::string_view::npos) {
    CV_ASSIGN_OR_RETURN(auto bundle, crypto::ParsePemBundle(value));
    if (!bundle.key) {
      return Fail(Error::BadParameter("the PEM has no private key; import needs the key"));
    }
    if (bundle.certificates.empty()) {
      return Fail(Error::BadParameter("the PEM has no certificate"));
    }
    CV_ASSIGN_OR_RETURN(certs, crypto::OrderChain(*bundle.key, std::move(bundle.certificates)));
    key = std::move(bundle.key);
    content_type = "application/x-pem-file";
  } else {
    auto der = crypto::Base64Decode(value);
    if (!der || der->empty()) {
      return Fail(Error::BadParameter(
          "the value is neither PEM text nor base64-encoded PKCS#12 (PFX) data"));
    }
    CV_ASSIGN_OR_RETURN(auto p12, crypto::ParsePkcs12(*der, password));
    key = std::move(p12.key);
    certs = std::move(p12.certificates);
    content_type = "application/x-pkcs12";
  }
  model::CertificatePolicy policy = PolicyFromCertificate(certs.front(), *key, content_type);
  if (policy_fn) CV_RETURN_IF_ERROR(policy_fn(policy));
  CV_RETURN_IF_ERROR(model::ValidatePolicy(policy));

  std::vector<std::string> ders;
  for (const auto& c : certs) ders.push_back(c.ToDer());
  const std::string version = crypto::NewId();
  CV_ASSIGN_OR_RETURN(std::string wrapped,
                      kek_.Seal(key->ToPkcs8Der(), CertKeyAad(vault, name, version)));
  const int64_t now = clock_.NowUnix();

  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_ASSIGN_OR_RETURN(auto cert, CertificateForNewVersion(*txn, vault, name, policy, now));
  cert.current_version = version;
  model::CertificateVersion v =
      NewVersion(cert, version, ders, std::move(wrapped), certs.front(), attributes, tags, now);
  CV_RETURN_IF_ERROR(RecordNewVersion(*txn, cert, v, now));
  CV_RETURN_IF_ERROR(txn->PutCertificate(cert));
  CV_RETURN_IF_ERROR(txn->PutCertificateVersion(v));
  CV_RETURN_IF_ERROR(Commit(*txn));
  return CertificateView{std::move(cert), std::move(v)};
}

Result<CertificateView> VaultService::GetCertificate(std::string_view vault, std::string_view name,
                                                     std::string_view version) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
  CV_ASSIGN_OR_RETURN(auto cert, RequireLiveCertificate(*txn, vault, name));
  const std::string wanted = version.empty() ? cert.current_version : std::string(version);
  if (wanted.empty()) return CertificateView{std::move(cert), {}};  // pending its first version
  CV_ASSIGN_OR_RETURN(auto v, txn->GetCertificateVersion(vault, name, wanted));
  if (!v) return Fail(CertificateNotFound(std::string(name) + "/" + wanted));
  return CertificateView{std::move(cert), std::move(*v)};
}

Result<CertificateListing> VaultService::ListCertificates(std::string_view vault, store::Page page,
                                                          bool include_pending) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
  CV_RETURN_IF_ERROR(RequireVault(*txn, vault));
  CV_ASSIGN_OR_RETURN(auto certs,
                      txn->ListCertificates(vault, store::Deleted::kExclude, Probe(page)));
  CertificateListing out;
  out.next_offset = TrimProbe(certs, page);
  for (auto& cert : certs) {
    CertificateView view{std::move(cert), {}};
    if (!view.cert.current_version.empty()) {
      CV_ASSIGN_OR_RETURN(
          auto v, txn->GetCertificateVersion(vault, view.cert.name, view.cert.current_version));
      if (v) view.version = std::move(*v);
    }
    if (view.version.version.empty() && !include_pending) continue;
    out.items.push_back(std::move(view));
  }
  return out;
}

Result<VersionListing> VaultService::ListCertificateVersions(std::string_view vault,
                                                             std::string_view name,
                                                             store::Page page) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
  CV_ASSIGN_OR_RETURN(auto cert, RequireLiveCertificate(*txn, vault, name));
  CV_ASSIGN_OR_RETURN(auto versions, txn->ListCertificateVersions(vault, name, Probe(page)));
  VersionListing out;
  out.next_offset = TrimProbe(versions, page);
  out.cert = std::move(cert);
  out.items = std::move(versions);
  return out;
}

Result<CertificateView> VaultService::UpdateCertificate(std::string_view vault,
                                                        std::string_view name,
                                                        std::string_view version,
                                                        const AttributesPatch& attributes,
                                                        const std::optional<model::Tags>& tags,
                                                        const PolicyFn& policy_fn) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_ASSIGN_OR_RETURN(auto cert, RequireLiveCertificate(*txn, vault, name));
  const std::string wanted = version.empty() ? cert.current_version : std::string(version);
  CV_ASSIGN_OR_RETURN(auto v, txn->GetCertificateVersion(vault, name, wanted));
  if (!v) return Fail(CertificateNotFound(std::string(name) + "/" + wanted));
  const int64_t now = clock_.NowUnix();
  ApplyAttributes(AttributesPatch{attributes.enabled, std::nullopt, std::nullopt}, v->attributes);
  v->attributes.updated = now;
  if (tags) v->tags = *tags;
  if (policy_fn) {
    model::CertificatePolicy policy = cert.policy;
    CV_RETURN_IF_ERROR(policy_fn(policy));
    CV_RETURN_IF_ERROR(model::ValidatePolicy(policy));
    policy.attributes.updated = now;
    cert.policy = policy;
    cert.updated = now;
    CV_RETURN_IF_ERROR(Reschedule(*txn, cert));
    CV_RETURN_IF_ERROR(txn->PutCertificate(cert));
  }
  CV_RETURN_IF_ERROR(txn->PutCertificateVersion(*v));
  CV_RETURN_IF_ERROR(Commit(*txn));
  return CertificateView{std::move(cert), std::move(*v)};
}

Result<model::Certificate> VaultService::GetPolicy(std::string_view vault, std::string_view name) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
  return RequireLiveCertificate(*txn, vault, name);
}

Result<model::Certificate> VaultService::UpdatePolicy(std::string_view vault, std::string_view name,
                                                      const PolicyFn& policy_fn) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_ASSIGN_OR_RETURN(auto cert, RequireLiveCertificate(*txn, vault, name));
  model::CertificatePolicy policy = cert.policy;
  if (policy_fn) CV_RETURN_IF_ERROR(policy_fn(policy));
  CV_RETURN_IF_ERROR(model::ValidatePolicy(policy));
  policy.attributes.updated = clock_.NowUnix();
  cert.policy = policy;
  cert.updated = policy.attributes.updated;
  CV_RETURN_IF_ERROR(Reschedule(*txn, cert));
  CV_RETURN_IF_ERROR(txn->PutCertificate(cert));
  CV_RETURN_IF_ERROR(Commit(*txn));
  return cert;
}

// --- Pending operations ---

namespace {
Error PendingNotFound(std::string_view name) {
  return Error::NotFound("PendingCertificateNotFound",
                         "Pending certificate not found: " + std::string(name));
}

// The pending operation of a live certificate.
Result<model::PendingOperation> RequirePending(store::Transaction& txn, std::string_view vault,
                                               std::string_view name) {
  CV_RETURN_IF_ERROR(RequireLiveCertificate(txn, vault, name));
  CV_ASSIGN_OR_RETURN(auto op, txn.GetPendingOperation(vault, name));
  if (!op) return Fail(PendingNotFound(name));
  return *op;
}
}  // namespace

Result<model::PendingOperation> VaultService::GetPending(std::string_view vault,
                                                         std::string_view name) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
  return RequirePending(*txn, vault, name);
}

Result<model::PendingOperation> VaultService::CancelPending(std::string_view vault,
                                                            std::string_view name) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_ASSIGN_OR_RETURN(auto op, RequirePending(*txn, vault, name));
  if (op.status == "inProgress") {
    op.cancellation_requested = true;
    op.status = "cancelled";
    op.status_details = "The operation was cancelled by the user.";
    op.wrapped_key.clear();  // the pending key will never be used
    op.updated = clock_.NowUnix();
    CV_RETURN_IF_ERROR(EndJob(*txn, op.job_id, "cancelled", "cancelled by the user", op.updated));
    CV_RETURN_IF_ERROR(txn->PutPendingOperation(op));
    CV_RETURN_IF_ERROR(Commit(*txn));
  }
  return op;
}

Result<model::PendingOperation> VaultService::DeletePending(std::string_view vault,
                                                            std::string_view name) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_ASSIGN_OR_RETURN(auto op, RequirePending(*txn, vault, name));
  // A certificate that never got a version stays, as in Key Vault, until it is deleted.
  if (op.status == "inProgress") {
    CV_RETURN_IF_ERROR(EndJob(*txn, op.job_id, "cancelled", "the pending operation was deleted",
                              clock_.NowUnix()));
  }
  CV_RETURN_IF_ERROR(txn->DeletePendingOperation(vault, name));
  CV_RETURN_IF_ERROR(Commit(*txn));
  return op;
}

Result<CertificateView> VaultService::MergeCertificate(std::string_view vault,
                                                       std::string_view name,
                                                       const std::vector<std::string>& x5c,
                                                       const AttributesPatch& attributes,
                                                       const std::optional<model::Tags>& tags) {
  if (x5c.empty()) return Fail(Error::BadParameter("x5c must hold at least one certificate"));
  model::PendingOperation op;
  {
    CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
    CV_ASSIGN_OR_RETURN(auto cert, RequireLiveCertificate(*txn, vault, name));
    CV_ASSIGN_OR_RETURN(auto pending, txn->GetPendingOperation(vault, name));
    if (!pending || pending->status != "inProgress") return Fail(PendingNotFound(name));
    op = std::move(*pending);
  }
  std::vector<crypto::Certificate> certs;
  for (const auto& der : x5c) {
    auto c = crypto::Certificate::FromDer(der);
    if (!c) return Fail(c.error().WithContext("x5c"));
    certs.push_back(std::move(*c));
  }
  CV_ASSIGN_OR_RETURN(std::string key_der,
                      kek_.Open(op.wrapped_key, PendingKeyAad(vault, name, op.request_id)));
  CV_ASSIGN_OR_RETURN(auto key, crypto::PrivateKey::FromDer(key_der));
  auto ordered = crypto::OrderChain(key, std::move(certs));
  if (!ordered) {
    return Fail(Error::BadParameter(
        "Public key from x5c parameter does not match with public key of pending certificate."));
  }
  AttributesPatch merged_attributes = attributes;
  if (!merged_attributes.enabled) merged_attributes.enabled = op.attributes.enabled;
  std::vector<std::string> ders;
  for (const auto& c : *ordered) ders.push_back(c.ToDer());

  // The new version and the operation's completion are one transaction.
  const std::string version = crypto::NewId();
  CV_ASSIGN_OR_RETURN(std::string wrapped, kek_.Seal(key_der, CertKeyAad(vault, name, version)));
  const int64_t now = clock_.NowUnix();
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_ASSIGN_OR_RETURN(auto cert, RequireLiveCertificate(*txn, vault, name));
  CV_ASSIGN_OR_RETURN(auto pending, txn->GetPendingOperation(vault, name));
  if (!pending || pending->request_id != op.request_id || pending->status != "inProgress") {
    return Fail(PendingNotFound(name));
  }
  model::CertificateVersion v =
      NewVersion(cert, version, ders, std::move(wrapped), ordered->front(), merged_attributes,
                 tags ? tags : std::optional<model::Tags>(op.tags), now);
  cert.current_version = version;
  cert.updated = now;
  CV_RETURN_IF_ERROR(RecordNewVersion(*txn, cert, v, now));
  CV_RETURN_IF_ERROR(EndJob(*txn, pending->job_id, "succeeded", "merged by the user", now));
  pending->status = "completed";
  pending->status_details = "";
  pending->target_version = version;
  pending->wrapped_key.clear();
  pending->updated = now;
  CV_RETURN_IF_ERROR(txn->PutCertificateVersion(v));
  CV_RETURN_IF_ERROR(txn->PutCertificate(cert));
  CV_RETURN_IF_ERROR(txn->PutPendingOperation(*pending));
  CV_RETURN_IF_ERROR(Commit(*txn));
  return CertificateView{std::move(cert), std::move(v)};
}

Result<std::string> VaultService::RenderCertificateSecret(const model::CertificateVersion& v) {
  if (!v.exportable) {
    return Fail(Error::Forbidden("the certificate's private key is not exportable"));
  }
  CV_ASSIGN_OR_RETURN(std::string key_der,
                      kek_.Open(v.wrapped_key, CertKeyAad(v.vault, v.name, v.version)));
  CV_ASSIGN_OR_RETURN(auto key, crypto::PrivateKey::FromDer(key_der));
  std::vector<crypto::Certificate> certs;
  CV_ASSIGN_OR_RETURN(auto leaf, crypto::Certificate::FromDer(v.cer));
  certs.push_back(std::move(leaf));
  for (const auto& der : v.chain) {
    CV_ASSIGN_OR_RETURN(auto c, crypto::Certificate::FromDer(der));
    certs.push_back(std::move(c));
  }
  if (v.content_type == "application/x-pem-file") {
    std::string pem = key.ToPkcs8Pem();
    for (const auto& c : certs) pem += c.ToPem();
    return pem;
  }
  CV_ASSIGN_OR_RETURN(std::string pfx, crypto::BuildPkcs12(key, certs, ""));
  return crypto::Base64Encode(pfx);
}

}  // namespace certvault::vault
