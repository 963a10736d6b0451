#include "cli/token_commands.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/api_client.h"
#include "cli/identity_views.h"
#include "cli/runner.h"

namespace certvault::cli {

using nlohmann::json;

Status TokenRotateKey(CommandContext& ctx) {
  CV_ASSIGN_OR_RETURN(json rotation, ctx.api.Management("POST", "/management/tokenkeys/rotate"));
  Print(ctx, rotation, TokenKeysView(rotation));
  return Ok();
}

void AddTokenCommands(CLI::App& app, CommandRunner& runner) {
  auto& token =
      *app.add_subcommand("token", "Manage the server's token signing keys (administrators)");
  token.require_subcommand(1);
  auto& cmd = *AddCommand(token, "rotate-key",
                          "Make a new token signing key current and list the keys.\n"
                          "Tokens signed by the previous key stay valid until they expire.\n\n"
                          "Example:\n  certvault token rotate-key");
  runner.Bind(
      cmd, [](CommandContext& ctx) { return TokenRotateKey(ctx); }, false);
}

}  // namespace certvault::cli
