#include "server/server_command.h"

#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <condition_variable>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "api/api.h"
#include "api/https_server.h"
#include "auth/token_service.h"
#include "common/log.h"
#include "common/names.h"
#include "server/bootstrap.h"
#include "vault/vault_service.h"

namespace certvault::server {

namespace {

struct ServerOptions {
  std::string data_dir = "data";
  std::string listen = "127.0.0.1:8443";
  std::string dns_suffix = "localhost";
  std::string log_level = "info";
  size_t max_body_bytes = 1024 * 1024;
  int io_threads = 0;
  int worker_threads = 0;
};

Result<std::pair<std::string, uint16_t>> ParseListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return Fail(Error::BadParameter("--listen must be HOST:PORT, e.g. 127.0.0.1:8443"));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = -1;
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (const std::exception&) {
  }
  if (port < 0 || port > 65535) return Fail(Error::BadParameter("--listen has an invalid port"));
  return std::make_pair(host, static_cast<uint16_t>(port));
}

// Fills options not given as flags or environment variables from a TOML file. (CLI11's own
// config support applies only to the top-level app, not to a subcommand's options.)
Status ApplyConfigFile(CLI::App& cmd, const std::string& path) {
  std::vector<CLI::ConfigItem> items;
  try {
    items = CLI::ConfigTOML().from_file(path);
  } catch (const std::exception& e) {
    return Fail(Error::BadParameter("cannot read config file " + path + ": " + e.what()));
  }
  for (const auto& item : items) {
    if (!item.parents.empty()) {
      return Fail(Error::BadParameter("sections are not supported in " + path +
                                      "; write the options at the top level"));
    }
    const std::string name = item.name;
    CLI::Option* opt = nullptr;
    try {
      opt = cmd.get_option("--" + name);
    } catch (const CLI::OptionNotFound&) {
      return Fail(Error::BadParameter("unknown option '" + name + "' in " + path));
    }
    if (name == "config") return Fail(Error::BadParameter("'config' cannot be set in " + path));
    if (opt->count() > 0) continue;  // a flag or environment variable wins
    try {
      for (const auto& value : item.inputs) opt->add_result(value);
      opt->run_callback();
    } catch (const CLI::Error& e) {
      return Fail(
          Error::BadParameter("invalid value for '" + name + "' in " + path + ": " + e.what()));
    }
  }
  return Ok();
}

int Run(const ServerOptions& options) {
  if (options.log_level == "debug") log::SetLevel(log::Level::kDebug);
  if (options.log_level == "warn") log::SetLevel(log::Level::kWarn);
  if (options.log_level == "error") log::SetLevel(log::Level::kError);
  auto fail = [](const Error& e) {
    std::cerr << "certvault server: " << e.message() << "\n";
    return 1;
  };
  auto listen = ParseListen(options.listen);
  if (!listen) return fail(listen.error());

  // Block the stop signals in every thread; the main thread waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  SystemClock clock;
  BootstrapOptions boot{options.data_dir, options.dns_suffix, listen->second};
  auto state = OpenDataDir(boot, clock);
  if (!state) return fail(state.error());

  // The audience is the challenge resource the SDK asks a token for.
  auth::TokenOptions token_options;
  token_options.audience = "https://" + options.dns_suffix;
  vault::VaultService vault(*state->store, *state->kek, clock);

  api::HttpsOptions https;
  https.host = listen->first;
  https.port = listen->second;
  https.cert_chain_pem = state->tls_chain_pem;
  https.key_pem = state->tls_key_pem;
  https.io_threads = options.io_threads;
  https.worker_threads = options.worker_threads;

  // The issuer does not include the port, so tokens stay valid when port 0 picks another one.
  token_options.issuer = "https://" + options.dns_suffix;
  auto tokens = auth::TokenService::Open(*state->store, *state->kek, clock, token_options);
  if (!tokens) return fail(tokens.error());
  std::unique_ptr<api::HttpsServer> server;
  std::mutex tls_mu;  // guards the TLS fields of *state
  auto refresh_tls = [&] {
    std::lock_guard lock(tls_mu);
    auto ok = RefreshTlsCertificate(*state, options.dns_suffix, clock);
    if (ok) ok = server->ReloadCertificate(state->tls_chain_pem, state->tls_key_pem);
    if (!ok) log::Error("cannot re-issue the TLS certificate: " + ok.error().message());
  };
  // Clients refuse a wildcard over a single label (*.localhost), so under such a suffix a host
  // the certificate does not name gets its own certificate at handshake time.
  if (options.dns_suffix.find('.') == std::string::npos) {
    https.sni_certificate = [&](const std::string& host) -> std::optional<api::TlsCertificate> {
      const std::string suffix = "." + options.dns_suffix;
      if (host.size() <= suffix.size() ||
          host.compare(host.size() - suffix.size(), suffix.size(), suffix) != 0) {
        return std::nullopt;
      }
      const std::string label = host.substr(0, host.size() - suffix.size());
      if (!ValidateVaultName(label)) return std::nullopt;
      std::lock_guard lock(tls_mu);
      const auto& names = state->tls_names;
      if (std::find(names.begin(), names.end(), host) != names.end()) return std::nullopt;
      auto issued = IssueHostCertificate(*state, host, clock);
      if (!issued) return std::nullopt;
      return api::TlsCertificate{issued->first, issued->second};
    };
  }
  api::ApiOptions api_options;
  api_options.dns_suffix = options.dns_suffix;
  api_options.max_body_bytes = options.max_body_bytes;
  api_options.vaults_changed = refresh_tls;
  api::Api api(vault, **tokens, api_options);
  auto started = api::HttpsServer::Start(api, https);
  if (!started) return fail(started.error());
  server = std::move(*started);

  boot.port = server->port();
  if (auto ok = WriteAdminFile(*state, boot, clock); !ok) {
    server->Stop();
    return fail(ok.error());
  }
  const std::string url = "https://" + options.dns_suffix + ":" + std::to_string(server->port());
  std::cout << "certvault server ready: url=" << url << " ca=" << state->ca_path
            << " admin=" << state->admin_path << std::endl;

  // Re-issue the TLS certificate before it expires, without a restart.
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::thread tls_renewer([&] {
    std::unique_lock lock(stop_mu);
    while (!stop_cv.wait_for(lock, std::chrono::hours(1), [&] { return stopping; })) {
      refresh_tls();
    }
  });

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  {
    std::lock_guard lock(stop_mu);
    stopping = true;
  }
  stop_cv.notify_all();
  tls_renewer.join();
  log::Info(std::string("received ") + (signal_number == SIGTERM ? "SIGTERM" : "SIGINT") +
            ", shutting down");
  server->Stop();
  return 0;
}

}  // namespace

void AddServerCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ServerOptions>();
  CLI::App* cmd = app.add_subcommand(
      "server",
      "Run the certvault server: the Key Vault-compatible HTTPS API and token service.\n"
      "On first start in an empty --data-dir it creates the key-encryption key, a root CA, the\n"
      "server's TLS certificate, the administrator's credentials (admin.json), the CA bundle\n"
      "clients must trust (ca.pem) and the vault 'default'. Later starts reuse them.\n\n"
      "Example: certvault server --data-dir /var/lib/certvault --listen 127.0.0.1:8443");
  cmd->add_option("--data-dir", options->data_dir, "Directory holding all server state")
      ->envname("CERTVAULT_DATA_DIR")
      ->capture_default_str();
  cmd->add_option("--listen", options->listen, "Address and port to listen on (port 0: any free)")
      ->envname("CERTVAULT_LISTEN")
      ->capture_default_str();
  cmd->add_option("--dns-suffix", options->dns_suffix,
                  "DNS suffix: vault V is reached at https://V.SUFFIX:PORT")
      ->envname("CERTVAULT_DNS_SUFFIX")
      ->capture_default_str();
  cmd->add_option("--log-level", options->log_level, "debug, info, warn or error")
      ->envname("CERTVAULT_LOG_LEVEL")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->capture_default_str();
  cmd->add_option("--max-body-bytes", options->max_body_bytes, "Largest request body accepted")
      ->envname("CERTVAULT_MAX_BODY_BYTES")
      ->check(CLI::Range(size_t{1024}, size_t{64} * 1024 * 1024))
      ->capture_default_str();
  cmd->add_option("--io-threads", options->io_threads, "I/O threads (0: one per core)")
      ->envname("CERTVAULT_IO_THREADS");
  cmd->add_option("--worker-threads", options->worker_threads,
                  "Threads for key generation and writes (0: eight per core)")
      ->envname("CERTVAULT_WORKER_THREADS");
  auto config = std::make_shared<std::string>();
  cmd->add_option(
         "--config", *config,
         "TOML file of options named as the long flags (data-dir = \"/var/lib/certvault\");\n"
         "flags and environment variables take precedence")
      ->envname("CERTVAULT_SERVER_CONFIG")
      ->check(CLI::ExistingFile);
  cmd->callback([cmd, options, config, &exit_code] {
    if (!config->empty()) {
      if (auto ok = ApplyConfigFile(*cmd, *config); !ok) {
        std::cerr << "certvault server: " << ok.error().message() << "\n";
        exit_code = 2;
        return;
      }
    }
    exit_code = Run(*options);
  });
}

}  // namespace certvault::server
