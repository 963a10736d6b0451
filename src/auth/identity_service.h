#pragma once
// IdentityService: service principals and their role assignments, as the management API and
// `certvault sp` / `certvault role` see them. Each operation is one store transaction; after a
// change the Authorizer reloads at once, so a disabled or deleted principal's tokens stop working
// on this server immediately (and on other replicas within the Authorizer's snapshot age).
//
// The server is never left without an enabled principal holding Administrator at "/": changes
// that would do that fail with Conflict. Thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/rbac.h"
#include "common/clock.h"
#include "common/result.h"
#include "model/types.h"
#include "store/store.h"

namespace certvault::auth {

// A principal with the clear-text secret, returned only when the secret is made.
struct PrincipalWithSecret {
  model::Principal principal;
  std::string client_secret;
};

struct PrincipalChange {
  std::optional<bool> enabled;
  std::optional<std::string> display_name;
};

class IdentityService {
 public:
  IdentityService(store::Store& store, Authorizer& authorizer, const Clock& clock);

  // `secret_expires`: Unix seconds in the future, or 0 for a secret that does not expire.
  Result<PrincipalWithSecret> CreatePrincipal(std::string_view display_name,
                                              int64_t secret_expires);
  Result<std::vector<model::Principal>> ListPrincipals();
  Result<model::Principal> GetPrincipal(std::string_view client_id);
  // `caller` may not disable itself.
  Result<model::Principal> UpdatePrincipal(std::string_view caller, std::string_view client_id,
                                           const PrincipalChange& change);
  // Removes the principal and its role assignments. `caller` may not delete itself.
  Result<model::Principal> DeletePrincipal(std::string_view caller, std::string_view client_id);
  // A new secret; the old one stops working at once.
  Result<PrincipalWithSecret> RotateSecret(std::string_view client_id, int64_t secret_expires);

  // Assigns `role` at `scope` (normalised). Returns the assignment and whether it is new: the
  // same principal, role and scope twice give the existing one.
  Result<std::pair<model::RoleAssignment, bool>> AssignRole(std::string_view principal_id,
                                                            std::string_view role,
                                                            std::string_view scope);
  // Filters are exact (scope after normalisation); empty matches all.
  Result<std::vector<model::RoleAssignment>> ListRoleAssignments(std::string_view principal_id,
                                                                 std::string_view scope);
  Result<model::RoleAssignment> RemoveRoleAssignment(std::string_view id);

  // Call after a change made elsewhere that removed role assignments (deleting a vault removes
  // those scoped to it), so that they stop granting at once.
  Status ReloadAssignments() { return authorizer_.Invalidate(); }

 private:
  Status ValidateExpiry(int64_t secret_expires) const;
  Status Committed(Status status);

  store::Store& store_;
  Authorizer& authorizer_;
  const Clock& clock_;
};

}  // namespace certvault::auth
