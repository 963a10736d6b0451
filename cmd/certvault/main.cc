// certvault: one binary for the server and the command-line client (agent and worker later).

#include <CLI/CLI.hpp>

#if __has_include("cli/cli.h")
#include "cli/cli.h"
#define CERTVAULT_HAS_CLI 1
#endif
#include "server/server_command.h"

int main(int argc, char** argv) {
  CLI::App app{
      "certvault: a self-hosted certificate lifecycle manager with a Key Vault-compatible API.\n"
      "Run 'certvault server' to start the server, or a client command (cert, secret, vault)."};
  app.require_subcommand(1);
  int exit_code = 0;
  certvault::server::AddServerCommand(app, exit_code);
#ifdef CERTVAULT_HAS_CLI
  certvault::cli::AddClientCommands(app, exit_code);
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
