#pragma once
// `certvault worker`: wires the remote enrollment worker (worker.h) to the command line, the
// process's signals (SIGTERM and SIGINT stop it cleanly) and the machine (host name, PATH).

namespace CLI {
class App;
}

namespace certvault::cli {

class CommandRunner;

void AddWorkerCommand(CLI::App& app, CommandRunner& runner);

}  // namespace certvault::cli
