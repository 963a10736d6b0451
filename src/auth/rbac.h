#pragma once
// Role-based access control: the six roles, the scopes they are assigned at, which operations
// each role allows (the table in docs/permissions.md, which a test checks against the running
// server), and the Authorizer that decides each request.
//
// Deny by default: a principal may do only what one of its role assignments allows at a scope
// that covers the request. Scopes are "/" (the server), "/vaults/{vault}",
// "/vaults/{vault}/certificates/{name}" (the certificate and its secret) and
// "/vaults/{vault}/secrets/{name}".

#include <chrono>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "store/store.h"

namespace certvault::auth {

inline constexpr char kRoleAdministrator[] = "Administrator";

// The role names, in the order of docs/permissions.md.
std::span<const std::string_view> RoleNames();

// The narrowest scope at which an operation can be granted.
enum class ScopeLevel { kServer, kVault, kObject };

// The permission table's row for `operation`, or nullptr for an operation no role allows
// (public operations such as token.issue are not in it: they need no token).
struct OperationRule {
  std::string_view operation;
  ScopeLevel scope;
  unsigned roles;  // bit i: RoleNames()[i] allows it
};
const OperationRule* FindOperationRule(std::string_view operation);
std::span<const OperationRule> OperationRules();

// "/", "/vaults/v", "/vaults/v/certificates/n" or "/vaults/v/secrets/n" with a valid vault and
// object name; returns it normalised (no trailing slash, vault in lower case). BadParameter
// otherwise.
Result<std::string> NormalizeScope(std::string_view scope);

// What a request asks to do.
struct Target {
  std::string_view operation;  // the route's operation name, e.g. "secrets.get"
  std::string_view vault;      // empty for management operations
  std::string_view name;       // the certificate or secret named in the path; empty if none
};

// Decides requests from an in-memory snapshot of principals and role assignments. The snapshot
// is reloaded by Invalidate() (after a change on this server) and otherwise at most `max_age`
// old (changes made by another replica). Thread-safe.
class Authorizer {
 public:
  explicit Authorizer(store::Store& store,
                      std::chrono::milliseconds max_age = std::chrono::seconds(2));

  // Loads the snapshot now.
  Status Invalidate();

  // Ok when `client_id` is an enabled principal holding a role that allows `target` at a scope
  // covering it. Unauthorized when the principal is disabled or gone (its tokens stop working);
  // Forbidden with inner code ForbiddenByRbac when no role allows the operation.
  Status Authorize(std::string_view client_id, const Target& target);

 private:
  struct Grant {
    unsigned role_bit;
    std::string vault;  // empty: server scope
    char kind;          // 0: vault (or server) scope, 'c': certificate, 's': secret
    std::string name;   // lower case
  };
  struct Entry {
    bool enabled = false;
    std::vector<Grant> grants;
  };
  using Snapshot = std::unordered_map<std::string, Entry>;

  enum class Coverage { kNo, kYes, kIfCertificate };

  std::shared_ptr<const Snapshot> Current();
  // Reads principals and assignments into a new snapshot. REQUIRES: reload_mu_ held.
  Status Load();
  static Coverage Covers(const Grant& grant, const OperationRule& rule, const Target& target);

  store::Store& store_;
  const std::chrono::milliseconds max_age_;
  std::mutex reload_mu_;  // one reload at a time
  std::mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_;           // guarded by mu_
  std::chrono::steady_clock::time_point loaded_at_{};  // guarded by mu_
};

}  // namespace certvault::auth
