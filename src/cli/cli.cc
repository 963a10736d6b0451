#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <memory>

#include "cli/audit_commands.h"
#include "cli/cert_commands.h"
#include "cli/issuer_commands.h"
#include "cli/job_commands.h"
#include "cli/principal_commands.h"
#include "cli/role_commands.h"
#include "cli/runner.h"
#include "cli/secret_commands.h"
#include "cli/token_commands.h"
#include "cli/vault_commands.h"
#include "cli/worker_command.h"

namespace certvault::cli {

void AddClientCommands(CLI::App& app, int& exit_code) {
  // Every registered callback holds a reference, so the runner lives as long as `app`.
  auto runner = std::make_shared<CommandRunner>(exit_code);
  AddCertCommands(app, *runner);
  AddIssuerCommands(app, *runner);
  AddJobCommands(app, *runner);
  AddSecretCommands(app, *runner);
  AddVaultCommands(app, *runner);
  AddPrincipalCommands(app, *runner);
  AddRoleCommands(app, *runner);
  AddAuditCommands(app, *runner);
  AddTokenCommands(app, *runner);
  AddWorkerCommand(app, *runner);
}

}  // namespace certvault::cli
