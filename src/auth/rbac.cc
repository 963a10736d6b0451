#include "auth/rbac.h"

#include <array>

#include "common/names.h"
#include "common/text.h"

namespace certvault::auth {

namespace {

constexpr std::array<std::string_view, 6> kRoles = {"Administrator",    "Certificates Officer",
                                                    "Certificate User", "Secrets Officer",
                                                    "Secrets User",     "Reader"};

constexpr unsigned kAdmin = 1u << 0;
constexpr unsigned kCertOfficer = 1u << 1;
constexpr unsigned kCertUser = 1u << 2;
constexpr unsigned kSecretsOfficer = 1u << 3;
constexpr unsigned kSecretsUser = 1u << 4;
constexpr unsigned kReader = 1u << 5;

constexpr ScopeLevel kServer = ScopeLevel::kServer;
constexpr ScopeLevel kVault = ScopeLevel::kVault;
constexpr ScopeLevel kObject = ScopeLevel::kObject;

// docs/permissions.md holds the same table; tests/integration/permissions.test.mjs checks the
// running server against the document.
constexpr unsigned kCertRead = kAdmin | kCertOfficer | kCertUser | kReader;
constexpr unsigned kCertManage = kAdmin | kCertOfficer;
constexpr unsigned kCertMetadata = kAdmin | kCertOfficer | kReader;
constexpr unsigned kSecretManage = kAdmin | kSecretsOfficer;
constexpr unsigned kSecretValue = kAdmin | kSecretsOfficer | kSecretsUser;
constexpr unsigned kSecretList = kAdmin | kSecretsOfficer | kSecretsUser | kReader;
constexpr unsigned kSecretMetadata = kAdmin | kSecretsOfficer | kReader;

constexpr OperationRule kRules[] = {
    {"certificates.list", kVault, kCertRead},
    {"certificates.create", kObject, kCertManage},
    {"certificates.import", kObject, kCertManage},
    {"certificates.get", kObject, kCertRead},
    {"certificates.update", kObject, kCertManage},
    {"certificates.listversions", kObject, kCertRead},
    {"certificates.getpolicy", kObject, kCertRead},
    {"certificates.updatepolicy", kObject, kCertManage},
    {"certificates.getpending", kObject, kCertRead},
    {"certificates.updatepending", kObject, kCertManage},
    {"certificates.deletepending", kObject, kCertManage},
    {"certificates.merge", kObject, kCertManage},
    {"certificates.delete", kObject, kCertManage},
    {"certificates.backup", kObject, kCertManage},
    {"certificates.restore", kVault, kCertManage},
    {"certificates.getcontacts", kVault, kCertMetadata},
    {"certificates.setcontacts", kVault, kCertManage},
    {"certificates.deletecontacts", kVault, kCertManage},
    {"certificates.renew", kObject, kCertManage},
    {"certificates.revoke", kObject, kCertManage},
    {"issuers.list", kVault, kCertMetadata},
    {"issuers.get", kVault, kCertMetadata},
    {"issuers.set", kVault, kCertManage},
    {"issuers.update", kVault, kCertManage},
    {"issuers.delete", kVault, kCertManage},
    {"jobs.list", kVault, kCertMetadata},
    {"jobs.get", kVault, kCertMetadata},
    {"jobs.retry", kVault, kCertManage},
    {"jobs.lease", kVault, kCertManage},
    {"jobs.complete", kVault, kCertManage},
    {"jobs.fail", kVault, kCertManage},
    {"deletedcertificates.list", kVault, kCertMetadata},
    {"deletedcertificates.get", kObject, kCertMetadata},
    {"deletedcertificates.recover", kObject, kCertManage},
    {"deletedcertificates.purge", kObject, kCertManage},
    {"secrets.list", kVault, kSecretList},
    {"secrets.set", kObject, kSecretManage},
    {"secrets.get", kObject, kSecretValue},
    {"secrets.update", kObject, kSecretManage},
    {"secrets.listversions", kObject, kSecretList},
    {"secrets.delete", kObject, kSecretManage},
    {"secrets.backup", kObject, kSecretManage},
    {"secrets.restore", kVault, kSecretManage},
    {"deletedsecrets.list", kVault, kSecretMetadata},
    {"deletedsecrets.get", kObject, kSecretMetadata},
    {"deletedsecrets.recover", kObject, kSecretManage},
    {"deletedsecrets.purge", kObject, kSecretManage},
    {"vaults.list", kServer, kAdmin | kReader},
    {"vaults.create", kServer, kAdmin},
    {"vaults.delete", kServer, kAdmin},
    {"principals.list", kServer, kAdmin},
    {"principals.create", kServer, kAdmin},
    {"principals.get", kServer, kAdmin},
    {"principals.update", kServer, kAdmin},
    {"principals.delete", kServer, kAdmin},
    {"principals.rotatesecret", kServer, kAdmin},
    {"roleassignments.list", kServer, kAdmin},
    {"roleassignments.create", kServer, kAdmin},
    {"roleassignments.delete", kServer, kAdmin},
    {"audit.list", kServer, kAdmin},
    {"tokenkeys.rotate", kServer, kAdmin},
    {"events.list", kServer, kAdmin},
    {"clock.advance", kServer, kAdmin},
};

// 'c' for operations on a certificate, 's' for those on a secret.
char ObjectKind(std::string_view operation) {
  if (operation.starts_with("certificates.") || operation.starts_with("deletedcertificates.")) {
    return 'c';
  }
  if (operation.starts_with("secrets.") || operation.starts_with("deletedsecrets.")) return 's';
  return 0;
}

int RoleIndex(std::string_view role) {
  for (size_t i = 0; i < kRoles.size(); ++i) {
    if (kRoles[i] == role) return static_cast<int>(i);
  }
  return -1;
}

std::vector<std::string_view> Split(std::string_view s) {
  std::vector<std::string_view> parts;
  while (!s.empty()) {
    const size_t slash = s.find('/');
    parts.push_back(s.substr(0, slash));
    if (slash == std::string_view::npos) break;
    s.remove_prefix(slash + 1);
  }
  return parts;
}

}  // namespace

std::span<const std::string_view> RoleNames() { return kRoles; }

std::span<const OperationRule> OperationRules() { return kRules; }

const OperationRule* FindOperationRule(std::string_view operation) {
  for (const auto& rule : kRules) {
    if (rule.operation == operation) return &rule;
  }
  return nullptr;
}

Result<std::string> NormalizeScope(std::string_view scope) {
  auto invalid = [&] {
    return Fail(
        Error::BadParameter("invalid scope '" + std::string(scope.substr(0, 200)) +
                            "': use /, /vaults/{vault}, /vaults/{vault}/certificates/{name} or "
                            "/vaults/{vault}/secrets/{name}"));
  };
  if (scope.size() > 2 && scope.back() == '/' && scope[scope.size() - 2] != '/') {
    scope.remove_suffix(1);
  }
  if (scope == "/") return std::string("/");
  if (!scope.starts_with("/")) return invalid();
  const auto parts = Split(scope.substr(1));
  if ((parts.size() != 2 && parts.size() != 4) || parts[0] != "vaults") return invalid();
  if (!ValidateVaultName(parts[1])) return invalid();
  std::string out = "/vaults/" + AsciiLower(parts[1]);
  if (parts.size() == 4) {
    if (parts[2] != "certificates" && parts[2] != "secrets") return invalid();
    if (!ValidateObjectName(parts[3], "object")) return invalid();
    out += "/" + std::string(parts[2]) + "/" + std::string(parts[3]);
  }
  return out;
}

Authorizer::Authorizer(store::Store& store, std::chrono::milliseconds max_age)
    : store_(store), max_age_(max_age) {}

Status Authorizer::Invalidate() {
  std::lock_guard reload(reload_mu_);
  return Load();
}

Status Authorizer::Load() {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
  CV_ASSIGN_OR_RETURN(auto principals, txn->ListPrincipals());
  CV_ASSIGN_OR_RETURN(auto assignments, txn->ListRoleAssignments());
  auto snapshot = std::make_shared<Snapshot>();
  for (const auto& p : principals) (*snapshot)[p.client_id].enabled = p.enabled;
  for (const auto& a : assignments) {
    auto it = snapshot->find(a.principal_id);
    const int role = RoleIndex(a.role);
    auto scope = NormalizeScope(a.scope);
    if (it == snapshot->end() || role < 0 || !scope) continue;  // stale or unknown: grants nothing
    Grant grant{1u << role, "", 0, ""};
    const auto parts = Split(std::string_view(*scope).substr(1));
    if (parts.size() >= 2) grant.vault = std::string(parts[1]);
    if (parts.size() == 4) {
      grant.kind = parts[2] == "certificates" ? 'c' : 's';
      grant.name = AsciiLower(parts[3]);
    }
    it->second.grants.push_back(std::move(grant));
  }
  std::lock_guard lock(mu_);
  snapshot_ = std::move(snapshot);
  loaded_at_ = std::chrono::steady_clock::now();
  return Ok();
}

std::shared_ptr<const Authorizer::Snapshot> Authorizer::Current() {
  std::shared_ptr<const Snapshot> snapshot;
  bool stale = false;
  {
    std::lock_guard lock(mu_);
    snapshot = snapshot_;
    stale = !snapshot || std::chrono::steady_clock::now() - loaded_at_ >= max_age_;
  }
  if (stale) {
    // Without a snapshot every caller waits for the first load; later, one caller reloads and
    // the others keep using the previous snapshot meanwhile.
    if (!snapshot) {
      (void)Invalidate();
    } else if (std::unique_lock reload(reload_mu_, std::try_to_lock); reload.owns_lock()) {
      (void)Load();
    }
    std::lock_guard lock(mu_);
    snapshot = snapshot_;
  }
  return snapshot;
}

Authorizer::Coverage Authorizer::Covers(const Grant& grant, const OperationRule& rule,
                                        const Target& target) {
  if (grant.vault.empty()) return Coverage::kYes;  // server scope
  if (rule.scope == ScopeLevel::kServer || !EqualsIgnoreCase(grant.vault, target.vault)) {
    return Coverage::kNo;
  }
  if (grant.kind == 0) return Coverage::kYes;  // vault scope
  if (rule.scope != ScopeLevel::kObject || !EqualsIgnoreCase(grant.name, target.name)) {
    return Coverage::kNo;
  }
  const char kind = ObjectKind(rule.operation);
  if (kind == grant.kind) return Coverage::kYes;
  // A certificate's scope also covers its secret (the private key), but not a plain secret that
  // happens to have the name.
  return grant.kind == 'c' && kind == 's' ? Coverage::kIfCertificate : Coverage::kNo;
}

Status Authorizer::Authorize(std::string_view client_id, const Target& target) {
  auto snapshot = Current();
  if (!snapshot) return Fail(Error::Unavailable("the role assignments cannot be read"));
  auto it = snapshot->find(std::string(client_id));
  if (it == snapshot->end() || !it->second.enabled) {
    return Fail(Error::Unauthorized("the token's principal is disabled or deleted"));
  }
  const OperationRule* rule = FindOperationRule(target.operation);
  bool if_certificate = false;
  if (rule != nullptr) {
    for (const auto& grant : it->second.grants) {
      if ((rule->roles & grant.role_bit) == 0) continue;
      const Coverage coverage = Covers(grant, *rule, target);
      if (coverage == Coverage::kYes) return Ok();
      if_certificate |= coverage == Coverage::kIfCertificate;
    }
  }
  if (if_certificate) {
    // Certificates and plain secrets never share a name, so the secret is the certificate's
    // exactly when the certificate exists.
    CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
    CV_ASSIGN_OR_RETURN(auto cert, txn->GetCertificate(target.vault, target.name));
    if (cert) return Ok();
  }
  std::string on = target.vault.empty() ? "the server" : "vault " + std::string(target.vault);
  if (!target.name.empty()) on += ", object " + std::string(target.name);
  return Fail(Error::Forbidden("the principal " + std::string(client_id) +
                               " has no role that allows " + std::string(target.operation) +
                               " on " + on)
                  .WithInnerCode("ForbiddenByRbac"));
}

}  // namespace certvault::auth
