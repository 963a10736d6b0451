#pragma once
// `certvault server`: options and the process's main loop.

namespace CLI {
class App;
}

namespace certvault::server {

// Registers the `server` subcommand on `app`; its callback runs the server until SIGTERM/SIGINT
// and stores the process exit code in `exit_code`.
void AddServerCommand(CLI::App& app, int& exit_code);

}  // namespace certvault::server
