#include "cli/runner.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>
#include <thread>

namespace certvault::cli {

CLI::App* AddCommand(CLI::App& parent, const std::string& name, const std::string& help) {
  size_t newline = help.find('\n');
  CLI::App* cmd = parent.add_subcommand(name, help.substr(0, newline));
  if (newline != std::string::npos) {
    size_t start = help.find_first_not_of('\n', newline);
    if (start != std::string::npos) cmd->footer("\n" + help.substr(start));
  }
  return cmd;
}

void CommandRunner::Bind(CLI::App& cmd, CommandFn fn, bool needs_vault, long http_timeout_seconds) {
  const char* group = "Connection";
  cmd.add_option("--server", flags_.server,
                 "Server URL, e.g. https://localhost:8443 (env CERTVAULT_SERVER; default: the "
                 "origin of the credentials' token_url)")
      ->group(group);
  if (needs_vault) {
    cmd.add_option("--vault", flags_.vault, "Vault name (env CERTVAULT_VAULT; default \"default\")")
        ->group(group);
  }
  cmd.add_option("--credentials", flags_.credentials,
                 "JSON file with client_id, client_secret, token_url, like the server's "
                 "admin.json (env CERTVAULT_CREDENTIALS)")
      ->group(group);
  cmd.add_option("--client-id", flags_.client_id, "OAuth2 client id (env CERTVAULT_CLIENT_ID)")
      ->group(group);
  cmd.add_option("--client-secret", flags_.client_secret,
                 "OAuth2 client secret (env CERTVAULT_CLIENT_SECRET; prefer the env or a "
                 "credentials file: command lines are visible to other users)")
      ->group(group);
  cmd.add_option("--ca-file", flags_.ca_file,
                 "PEM file of the CA that signed the server's certificate, e.g. DIR/ca.pem "
                 "(env CERTVAULT_CA_FILE)")
      ->group(group);
  cmd.add_option("--config", flags_.config,
                 "JSON config file with the same keys (server, vault, credentials, ca_file, "
                 "client_id, client_secret); env CERTVAULT_CONFIG, default "
                 "~/.config/certvault/config.json if present. Flags beat env beats file.")
      ->group(group);
  cmd.add_option("-o,--output", output_, "Output format: table (default) or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->group(group);

  auto self = shared_from_this();
  cmd.callback([self, fn = std::move(fn), http_timeout_seconds] {
    self->exit_code_ = self->Run(fn, http_timeout_seconds);
  });
}

int CommandRunner::Run(const CommandFn& fn, long http_timeout_seconds) {
  try {
    auto config = ResolveConfig(flags_, ProcessEnv());
    if (!config) return ReportError(config.error(), std::cerr);
    if (auto s = RequireConnectionSettings(*config); !s) return ReportError(s.error(), std::cerr);
    std::string output = output_;
    if (output.empty()) {
      if (const char* env = std::getenv("CERTVAULT_OUTPUT")) output = env;
    }
    auto format = ParseOutputFormat(output);
    if (!format) return ReportError(format.error(), std::cerr);

    auto http =
        NewCurlHttpClient({.ca_file = config->ca_file, .timeout_seconds = http_timeout_seconds});
    ApiClient api(*http, *config);
    CommandContext ctx{
        .api = api,
        .format = *format,
        .out = std::cout,
        .err = std::cerr,
        .progress = ::isatty(STDERR_FILENO) == 1,
        .sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }};
    if (auto s = fn(ctx); !s) return ReportError(s.error(), std::cerr);
    std::cout.flush();
    return ctx.exit_code;
  } catch (const std::exception& e) {
    // A bug, not a user error; say so rather than abort.
    std::cerr << "error: internal error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace certvault::cli
