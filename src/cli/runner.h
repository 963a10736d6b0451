#pragma once
// CommandRunner: the glue between CLI11 and the command functions.
//
// It owns the options every client command accepts (server, vault, credentials, CA file, config
// file, output format), adds them to each command, and when a command is chosen resolves the
// settings, builds the HTTPS client and runs the command, recording its exit status. It lives
// as long as the CLI::App it registered on (the callbacks share ownership of it).

#include <functional>
#include <memory>
#include <string>

#include "cli/command_context.h"
#include "cli/config.h"
#include "common/result.h"

namespace CLI {
class App;
}

namespace certvault::cli {

using CommandFn = std::function<Status(CommandContext&)>;

// Adds subcommand `name` to `parent`. The first line of `help` is the summary shown in the
// parent's list; the rest (details and examples) is shown at the end of the command's --help.
CLI::App* AddCommand(CLI::App& parent, const std::string& name, const std::string& help);

class CommandRunner : public std::enable_shared_from_this<CommandRunner> {
 public:
  explicit CommandRunner(int& exit_code) : exit_code_(exit_code) {}

  // Adds the shared options (--server, --vault, ... --output) to `cmd` and makes `cmd` run `fn`
  // when it is chosen. `needs_vault`: whether --vault applies (management commands say no).
  // `http_timeout_seconds` bounds each request (long polls need more than the default).
  void Bind(CLI::App& cmd, CommandFn fn, bool needs_vault = true, long http_timeout_seconds = 60);

 private:
  int Run(const CommandFn& fn, long http_timeout_seconds);

  int& exit_code_;
  ConfigFlags flags_;
  std::string output_;
};

}  // namespace certvault::cli
