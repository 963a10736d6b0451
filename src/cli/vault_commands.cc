#include "cli/vault_commands.h"

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/api_client.h"
#include "cli/runner.h"
#include "cli/views.h"

namespace certvault::cli {

using nlohmann::json;

Status VaultCreate(CommandContext& ctx, const std::string& name) {
  CV_ASSIGN_OR_RETURN(json vault,
                      ctx.api.Management("PUT", "/management/vaults/" + PathSegment(name)));
  Print(ctx, vault, VaultView(vault));
  return Ok();
}

Status VaultList(CommandContext& ctx) {
  CV_ASSIGN_OR_RETURN(auto vaults, ctx.api.ManagementList("/management/vaults"));
  Print(ctx, json(vaults), VaultListView(vaults));
  return Ok();
}

Status VaultDelete(CommandContext& ctx, const std::string& name) {
  CV_ASSIGN_OR_RETURN(json vault,
                      ctx.api.Management("DELETE", "/management/vaults/" + PathSegment(name)));
  if (!vault.is_null()) {
    Print(ctx, vault, VaultView(vault));
  } else if (ctx.format == OutputFormat::kTable) {
    ctx.out << "deleted vault " << name << "\n";
  }
  return Ok();
}

void AddVaultCommands(CLI::App& app, CommandRunner& runner) {
  auto& vault = *app.add_subcommand("vault", "Manage the vaults of a server (administrators)");
  vault.require_subcommand(1);
  {
    auto name = std::make_shared<std::string>();
    auto& cmd =
        *AddCommand(vault, "create",
                    "Create a vault. Its data-plane address is https://NAME.HOST:PORT.\n\n"
                    "Example:\n  certvault vault create team-a --server https://localhost:8443");
    cmd.add_option("name", *name, "Vault name")->required();
    runner.Bind(
        cmd, [name](CommandContext& ctx) { return VaultCreate(ctx, *name); }, false);
  }
  {
    auto& cmd = *AddCommand(vault, "list", "List the vaults.\n\nExample:\n  certvault vault list");
    runner.Bind(
        cmd, [](CommandContext& ctx) { return VaultList(ctx); }, false);
  }
  {
    auto name = std::make_shared<std::string>();
    auto& cmd = *AddCommand(vault, "delete",
                            "Delete a vault.\n\nExample:\n  certvault vault delete team-a");
    cmd.add_option("name", *name, "Vault name")->required();
    runner.Bind(
        cmd, [name](CommandContext& ctx) { return VaultDelete(ctx, *name); }, false);
  }
}

}  // namespace certvault::cli
