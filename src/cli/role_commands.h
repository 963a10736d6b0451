#pragma once
// `certvault role ...`: role assignments, which grant a principal a role at a scope (management
// API: assign, list, remove). Roles and scopes are described in docs/permissions.md.

#include <string>
#include <string_view>

#include "cli/command_context.h"
#include "common/result.h"

namespace CLI {
class App;
}

namespace certvault::cli {

class CommandRunner;

// The documented name of a role ("Secrets User") for any spelling of it that differs only in
// case, in spaces, dashes or underscores, or in the plural of its first word ("secrets-user",
// "SecretsUser", "secret_user"). Fails with UsageError listing the roles.
Result<std::string> NormalizeRoleName(std::string_view role);

struct RoleAssignArgs {
  std::string principal;
  std::string role;
  std::string scope;
};
Status RoleAssign(CommandContext& ctx, const RoleAssignArgs& args);
// Both filters are optional ("" = any).
Status RoleList(CommandContext& ctx, const std::string& principal, const std::string& scope);
Status RoleRemove(CommandContext& ctx, const std::string& id);

void AddRoleCommands(CLI::App& app, CommandRunner& runner);

}  // namespace certvault::cli
