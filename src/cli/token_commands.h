#pragma once
// `certvault token ...`: the server's token signing keys (management API: rotate-key).

#include "cli/command_context.h"
#include "common/result.h"

namespace CLI {
class App;
}

namespace certvault::cli {

class CommandRunner;

// POST /management/tokenkeys/rotate; prints the new key id and every key.
Status TokenRotateKey(CommandContext& ctx);

void AddTokenCommands(CLI::App& app, CommandRunner& runner);

}  // namespace certvault::cli
