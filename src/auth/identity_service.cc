#include "auth/identity_service.h"

#include <algorithm>

#include "auth/secret_hash.h"
#include "common/log.h"
#include "crypto/encoding.h"

namespace certvault::auth {

namespace {

constexpr size_t kMaxDisplayName = 256;

Error PrincipalNotFound(std::string_view id) {
  return Error::NotFound("PrincipalNotFound",
                         "no service principal with client id " + std::string(id.substr(0, 64)));
}

Result<model::Principal> MustGetPrincipal(store::Transaction& txn, std::string_view id) {
  CV_ASSIGN_OR_RETURN(auto principal, txn.GetPrincipal(id));
  if (!principal) return Fail(PrincipalNotFound(id));
  return *principal;
}

// Whether an enabled principal still holds Administrator at "/" in `txn`'s state.
Result<bool> HasServerAdministrator(store::Transaction& txn) {
  CV_ASSIGN_OR_RETURN(auto assignments, txn.ListRoleAssignments());
  for (const auto& a : assignments) {
    if (a.role != kRoleAdministrator || a.scope != "/") continue;
    CV_ASSIGN_OR_RETURN(auto principal, txn.GetPrincipal(a.principal_id));
    if (principal && principal->enabled) return true;
  }
  return false;
}

Status KeepAnAdministrator(store::Transaction& txn) {
  CV_ASSIGN_OR_RETURN(bool has, HasServerAdministrator(txn));
  if (has) return Ok();
  return Fail(
      Error::Conflict("this would leave the server without an enabled Administrator at scope /"));
}

Status ValidateDisplayName(std::string_view name) {
  if (name.empty() || name.size() > kMaxDisplayName) {
    return Fail(Error::BadParameter("displayName must be 1 to 256 characters"));
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return Fail(Error::BadParameter("displayName must not contain control characters"));
    }
  }
  return Ok();
}

}  // namespace

IdentityService::IdentityService(store::Store& store, Authorizer& authorizer, const Clock& clock)
    : store_(store), authorizer_(authorizer), clock_(clock) {}

Status IdentityService::ValidateExpiry(int64_t secret_expires) const {
  if (secret_expires != 0 && secret_expires <= clock_.NowUnix()) {
    return Fail(Error::BadParameter("secretExpires must be in the future"));
  }
  if (secret_expires < 0) return Fail(Error::BadParameter("secretExpires must not be negative"));
  return Ok();
}

// After a committed change the snapshot must reflect it before the caller hears of success.
Status IdentityService::Committed(Status status) {
  if (!status) return status;
  if (auto reloaded = authorizer_.Invalidate(); !reloaded) {
    log::Error("cannot reload role assignments: " + reloaded.error().message());
  }
  return Ok();
}

Result<PrincipalWithSecret> IdentityService::CreatePrincipal(std::string_view display_name,
                                                             int64_t secret_expires) {
  CV_RETURN_IF_ERROR(ValidateDisplayName(display_name));
  CV_RETURN_IF_ERROR(ValidateExpiry(secret_expires));
  PrincipalWithSecret out;
  out.client_secret = NewClientSecret();
  model::Principal& p = out.principal;
  p.client_id = crypto::NewId();
  p.display_name = std::string(display_name);
  p.secret_hash = HashClientSecret(out.client_secret);
  p.secret_expires = secret_expires;
  p.enabled = true;
  p.created = p.updated = clock_.NowUnix();
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_RETURN_IF_ERROR(txn->PutPrincipal(p));
  CV_RETURN_IF_ERROR(Committed(txn->Commit()));
  return out;
}

Result<std::vector<model::Principal>> IdentityService::ListPrincipals() {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
  return txn->ListPrincipals();
}

Result<model::Principal> IdentityService::GetPrincipal(std::string_view client_id) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
  return MustGetPrincipal(*txn, client_id);
}

Result<model::Principal> IdentityService::UpdatePrincipal(std::string_view caller,
                                                          std::string_view client_id,
                                                          const PrincipalChange& change) {
  if (change.display_name) CV_RETURN_IF_ERROR(ValidateDisplayName(*change.display_name));
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_ASSIGN_OR_RETURN(auto p, MustGetPrincipal(*txn, client_id));
  if (change.enabled && !*change.enabled && p.client_id == caller) {
    return Fail(Error::Conflict("a principal cannot disable itself"));
  }
  if (change.enabled) p.enabled = *change.enabled;
  if (change.display_name) p.display_name = *change.display_name;
  p.updated = clock_.NowUnix();
  CV_RETURN_IF_ERROR(txn->PutPrincipal(p));
  if (!p.enabled) CV_RETURN_IF_ERROR(KeepAnAdministrator(*txn));
  CV_RETURN_IF_ERROR(Committed(txn->Commit()));
  return p;
}

Result<model::Principal> IdentityService::DeletePrincipal(std::string_view caller,
                                                          std::string_view client_id) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_ASSIGN_OR_RETURN(auto p, MustGetPrincipal(*txn, client_id));
  if (p.client_id == caller) return Fail(Error::Conflict("a principal cannot delete itself"));
  CV_RETURN_IF_ERROR(txn->DeletePrincipal(p.client_id));
  CV_RETURN_IF_ERROR(KeepAnAdministrator(*txn));
  CV_RETURN_IF_ERROR(Committed(txn->Commit()));
  return p;
}

Result<PrincipalWithSecret> IdentityService::RotateSecret(std::string_view client_id,
                                                          int64_t secret_expires) {
  CV_RETURN_IF_ERROR(ValidateExpiry(secret_expires));
  PrincipalWithSecret out;
  out.client_secret = NewClientSecret();
  const std::string hash = HashClientSecret(out.client_secret);  // slow: outside the transaction
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_ASSIGN_OR_RETURN(out.principal, MustGetPrincipal(*txn, client_id));
  out.principal.secret_hash = hash;
  out.principal.secret_expires = secret_expires;
  out.principal.updated = clock_.NowUnix();
  CV_RETURN_IF_ERROR(txn->PutPrincipal(out.principal));
  CV_RETURN_IF_ERROR(Committed(txn->Commit()));
  return out;
}

Result<std::pair<model::RoleAssignment, bool>> IdentityService::AssignRole(
    std::string_view principal_id, std::string_view role, std::string_view scope) {
  const auto roles = RoleNames();
  if (std::find(roles.begin(), roles.end(), role) == roles.end()) {
    std::string known;
    for (auto r : roles) known += (known.empty() ? "" : ", ") + std::string(r);
    return Fail(Error::BadParameter("unknown role '" + std::string(role.substr(0, 64)) +
                                    "'; the roles are " + known));
  }
  CV_ASSIGN_OR_RETURN(std::string normalized, NormalizeScope(scope));
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_ASSIGN_OR_RETURN(auto principal, MustGetPrincipal(*txn, principal_id));
  CV_ASSIGN_OR_RETURN(auto assignments, txn->ListRoleAssignments());
  for (const auto& a : assignments) {
    if (a.principal_id == principal.client_id && a.role == role && a.scope == normalized) {
      return std::make_pair(a, false);
    }
  }
  model::RoleAssignment a{crypto::NewId(), principal.client_id, std::string(role), normalized,
                          clock_.NowUnix()};
  CV_RETURN_IF_ERROR(txn->PutRoleAssignment(a));
  CV_RETURN_IF_ERROR(Committed(txn->Commit()));
  return std::make_pair(a, true);
}

Result<std::vector<model::RoleAssignment>> IdentityService::ListRoleAssignments(
    std::string_view principal_id, std::string_view scope) {
  std::string normalized;
  if (!scope.empty()) {
    CV_ASSIGN_OR_RETURN(normalized, NormalizeScope(scope));
  }
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
  CV_ASSIGN_OR_RETURN(auto all, txn->ListRoleAssignments());
  std::vector<model::RoleAssignment> out;
  for (auto& a : all) {
    if (!principal_id.empty() && a.principal_id != principal_id) continue;
    if (!normalized.empty() && a.scope != normalized) continue;
    out.push_back(std::move(a));
  }
  return out;
}

Result<model::RoleAssignment> IdentityService::RemoveRoleAssignment(std::string_view id) {
  CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
  CV_ASSIGN_OR_RETURN(auto all, txn->ListRoleAssignments());
  auto it = std::find_if(all.begin(), all.end(), [&](const auto& a) { return a.id == id; });
  if (it == all.end()) {
    return Fail(Error::NotFound("RoleAssignmentNotFound",
                                "no role assignment with id " + std::string(id.substr(0, 64))));
  }
  CV_RETURN_IF_ERROR(txn->DeleteRoleAssignment(it->id));
  CV_RETURN_IF_ERROR(KeepAnAdministrator(*txn));
  CV_RETURN_IF_ERROR(Committed(txn->Commit()));
  return *it;
}

}  // namespace certvault::auth
