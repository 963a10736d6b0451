#pragma once
// `certvault sp ...`: service principals, the identities that get tokens (management API:
// create, list, show, disable, enable, delete, rotate-secret).
//
// A principal's client secret is printed exactly once, by create and rotate-secret; every other
// command leaves it out even if a server sent it.

#include <string>

#include "cli/command_context.h"
#include "common/result.h"

namespace CLI {
class App;
}

namespace certvault::cli {

class CommandRunner;

struct PrincipalCreateArgs {
  std::string display_name;
  std::string secret_expires;  // WHEN (when.h), counted forward; "" = never
};
Status PrincipalCreate(CommandContext& ctx, const PrincipalCreateArgs& args);
Status PrincipalList(CommandContext& ctx);
Status PrincipalShow(CommandContext& ctx, const std::string& id);
// PATCH {"enabled": enabled}.
Status PrincipalSetEnabled(CommandContext& ctx, const std::string& id, bool enabled);
Status PrincipalDelete(CommandContext& ctx, const std::string& id);
// `secret_expires` as for create.
Status PrincipalRotateSecret(CommandContext& ctx, const std::string& id,
                             const std::string& secret_expires);

void AddPrincipalCommands(CLI::App& app, CommandRunner& runner);

}  // namespace certvault::cli
