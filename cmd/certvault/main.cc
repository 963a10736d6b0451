// certvault: one binary for the server and the command-line client (agent and worker later).

#include <CLI/CLI.hpp>

#include "cli/cli.h"
#include "server/server_command.h"

int main(int argc, char** argv) {
  CLI::App app{
      "certvault: a self-hosted certificate lifecycle manager with a Key Vault-compatible API.\n"
      "Run 'certvault server' to start the server, or a client command (cert, secret, vault, "
      "issuer, jobs, worker, sp, role, audit, token)."};
  app.require_subcommand(1);
  int exit_code = 0;
  certvault::server::AddServerCommand(app, exit_code);
  certvault::cli::AddClientCommands(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and succeeds; every other parse failure is a usage error (exit 2).
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return exit_code;
}
