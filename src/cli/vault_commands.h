#pragma once
// `certvault vault ...`: vaults on a server (management API: create, list, delete).

#include <string>

#include "cli/command_context.h"
#include "common/result.h"

namespace CLI {
class App;
}

namespace certvault::cli {

class CommandRunner;

Status VaultCreate(CommandContext& ctx, const std::string& name);
Status VaultList(CommandContext& ctx);
Status VaultDelete(CommandContext& ctx, const std::string& name);

void AddVaultCommands(CLI::App& app, CommandRunner& runner);

}  // namespace certvault::cli
