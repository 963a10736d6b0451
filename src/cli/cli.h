#pragma once
// The command-line client: `certvault cert|issuer|jobs|secret|vault|sp|role|audit|token ...`, and
// the remote enrollment worker, `certvault worker`.
//
// Commands talk to a certvault server (or Azure Key Vault-compatible endpoint) over HTTPS with
// OAuth2 client credentials. See docs/cli.md.

namespace CLI {
class App;
}

namespace certvault::cli {

// Registers the client subcommands (cert, issuer, jobs, secret, vault, sp, role, audit, token,
// worker) on `app`. Each subcommand's callback runs the command and records its exit code: 0 on
// success, 1 when the command failed (server error, connection failure), 2 for usage errors
// found after parsing, and a command's own status where it documents one (worker --once: 3).
// `exit_code` must outlive `app`'s parse.
void AddClientCommands(CLI::App& app, int& exit_code);

}  // namespace certvault::cli
