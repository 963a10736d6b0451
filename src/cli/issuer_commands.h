#pragma once
// `certvault issuer ...`: a vault's certificate issuers, through Key Vault's issuers API
// (create, list, show, update, delete on /certificates/issuers). A policy names an issuer; the
// issuer's provider (internal, acme, command, worker) says how its certificates get signed.

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command_context.h"
#include "common/result.h"

namespace CLI {
class App;
}

namespace certvault::cli {

class CommandRunner;

struct IssuerArgs {
  std::string name;
  std::string provider;       // required by create
  std::string settings;       // a JSON object, inline
  std::string settings_file;  // or read from a file
  std::string account_id;
  std::string password_file;    // the credential password, read from a file...
  bool password_stdin = false;  // ...or from standard input; never from the command line
  std::string organization_id;
  std::vector<std::string> admins;  // "First Last <email> [phone]"
  std::string enabled;              // "", "true" or "false"
};

// One --admin value as an admin_details item: "First Last <email>" with an optional phone after
// the address. Everything before the last word of the name is the first name. Fails with
// UsageError unless there is an address in <> holding an '@'.
Result<nlohmann::json> ParseAdmin(std::string_view text);

// The body of PUT (create) or PATCH (update) /certificates/issuers/{name}: only what the
// arguments set. `settings` is the settings JSON text ("" = none) and `password` the credential
// password (nullopt = leave it). Fails with UsageError for settings that are not a JSON object, a
// malformed --admin, or (create) a missing provider.
Result<nlohmann::json> BuildIssuerBody(const IssuerArgs& args, const std::string& settings,
                                       const std::optional<std::string>& password, bool create);

Status IssuerCreate(CommandContext& ctx, const IssuerArgs& args);
Status IssuerUpdate(CommandContext& ctx, const IssuerArgs& args);
Status IssuerShow(CommandContext& ctx, const std::string& name);
Status IssuerList(CommandContext& ctx);
Status IssuerDelete(CommandContext& ctx, const std::string& name);

void AddIssuerCommands(CLI::App& app, CommandRunner& runner);

}  // namespace certvault::cli
