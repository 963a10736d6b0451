#pragma once
// `certvault secret ...`: plain secrets in a vault (set, show, list, delete).

#include <string>
#include <vector>

#include "cli/command_context.h"
#include "common/result.h"

namespace CLI {
class App;
}

namespace certvault::cli {

class CommandRunner;

struct SecretSetArgs {
  std::string name;
  std::string value;
  std::string file;  // read as the value when given
  std::string content_type;
  std::vector<std::string> tags;
};
Status SecretSet(CommandContext& ctx, const SecretSetArgs& args);
// Table output prints the value alone (followed by a newline), ready for scripts.
Status SecretShow(CommandContext& ctx, const std::string& name, const std::string& version);
Status SecretList(CommandContext& ctx);
Status SecretDelete(CommandContext& ctx, const std::string& name);

void AddSecretCommands(CLI::App& app, CommandRunner& runner);

}  // namespace certvault::cli
