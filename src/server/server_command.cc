#include "server/server_command.h"

#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "api/api.h"
#include "api/https_server.h"
#include "auth/audit_writer.h"
#include "auth/identity_service.h"
#include "auth/rbac.h"
#include "auth/token_service.h"
#include "common/log.h"
#include "common/names.h"
#include "issuer/acme/http01.h"
#include "issuer/builtin.h"
#include "issuer/internal_ca/internal_ca.h"
#include "lifecycle/engine.h"
#include "model/codec.h"
#include "server/bootstrap.h"
#include "store/audit_store.h"
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
  double rate_limit = 1000;
  double rate_burst = 2000;
  std::string audit_retention = "P90D";
  std::string token_lifetime = "PT1H";
  std::string token_clock_skew = "PT30S";
  std::string token_key_rotation = "P30D";
  std::string tls_cert_validity = "P90D";
  int job_threads = 4;
  std::string job_lease = "PT2M";
  std::string retry_initial = "PT30S";
  std::string retry_max = "PT1H";
  std::string acme_http_listen;
  std::string issuer_commands_dir;  // empty: DATA_DIR/commands
  bool test_clock = false;
};

// An ISO 8601 duration option in seconds; BadParameter naming the option. `allow_zero` for
// options where nothing (PT0S) makes sense.
Result<int64_t> DurationOption(const std::string& text, const char* option, bool allow_zero) {
  auto seconds = model::ParseIsoDuration(text);
  if (!seconds || *seconds < 0 || (!allow_zero && *seconds == 0)) {
    return Fail(Error::BadParameter(std::string(option) + " must be an ISO 8601 duration such as " +
                                    "P90D or PT1H, not '" + text.substr(0, 64) + "'"));
  }
  return *seconds;
}

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

  auto durations = [&]() -> Result<std::array<int64_t, 5>> {
    CV_ASSIGN_OR_RETURN(int64_t retention,
                        DurationOption(options.audit_retention, "--audit-retention", false));
    CV_ASSIGN_OR_RETURN(int64_t lifetime,
                        DurationOption(options.token_lifetime, "--token-lifetime", false));
    CV_ASSIGN_OR_RETURN(int64_t skew,
                        DurationOption(options.token_clock_skew, "--token-clock-skew", true));
    CV_ASSIGN_OR_RETURN(int64_t rotation,
                        DurationOption(options.token_key_rotation, "--token-key-rotation", false));
    CV_ASSIGN_OR_RETURN(int64_t tls,
                        DurationOption(options.tls_cert_validity, "--tls-cert-validity", false));
    if (tls < 10) return Fail(Error::BadParameter("--tls-cert-validity must be at least PT10S"));
    return std::array<int64_t, 5>{retention, lifetime, skew, rotation, tls};
  }();
  if (!durations) return fail(durations.error());
  const auto [audit_retention, token_lifetime, token_skew, key_rotation, tls_validity] = *durations;

  auto lifecycle_durations = [&]() -> Result<std::array<int64_t, 3>> {
    CV_ASSIGN_OR_RETURN(int64_t lease, DurationOption(options.job_lease, "--job-lease", false));
    CV_ASSIGN_OR_RETURN(int64_t initial,
                        DurationOption(options.retry_initial, "--retry-initial", false));
    CV_ASSIGN_OR_RETURN(int64_t max, DurationOption(options.retry_max, "--retry-max", false));
    if (max < initial) {
      return Fail(Error::BadParameter("--retry-max must not be shorter than --retry-initial"));
    }
    return std::array<int64_t, 3>{lease, initial, max};
  }();
  if (!lifecycle_durations) return fail(lifecycle_durations.error());
  const auto [job_lease, retry_initial, retry_max] = *lifecycle_durations;

  // Wall-clock time for tokens, TLS and the audit trail; the vault and the lifecycle read
  // `clock`, which --test-clock lets an administrator move forward (POST /management/clock).
  SystemClock clock;
  OffsetClock lifecycle_clock;
  const Clock& vault_clock = options.test_clock ? static_cast<const Clock&>(lifecycle_clock)
                                                : static_cast<const Clock&>(clock);
  BootstrapOptions boot{options.data_dir, options.dns_suffix, listen->second, tls_validity};
  auto state = OpenDataDir(boot, clock);
  if (!state) return fail(state.error());
  auto audit_store =
      store::OpenSqliteAuditStore((std::filesystem::path(options.data_dir) / "audit.db").string());
  if (!audit_store) return fail(audit_store.error());
  auth::AuditWriter audit(**audit_store);

  // The audience is the challenge resource the SDK asks a token for. The issuer does not include
  // the port, so tokens stay valid when port 0 picks another one.
  auth::TokenOptions token_options;
  token_options.audience = "https://" + options.dns_suffix;
  token_options.issuer = "https://" + options.dns_suffix;
  token_options.lifetime_seconds = token_lifetime;
  token_options.clock_skew_seconds = token_skew;
  token_options.key_rotation_seconds = key_rotation;
  auto tokens = auth::TokenService::Open(*state->store, *state->kek, clock, token_options);
  if (!tokens) return fail(tokens.error());
  vault::VaultService vault(*state->store, *state->kek, vault_clock);
  auth::Authorizer authorizer(*state->store);
  if (auto loaded = authorizer.Invalidate(); !loaded) return fail(loaded.error());
  auth::IdentityService identities(*state->store, authorizer, clock);

  api::HttpsOptions https;
  https.host = listen->first;
  https.port = listen->second;
  https.cert_chain_pem = state->tls_chain_pem;
  https.key_pem = state->tls_key_pem;
  https.io_threads = options.io_threads;
  https.worker_threads = options.worker_threads;

  std::unique_ptr<api::HttpsServer> server;
  std::mutex tls_mu;  // guards the TLS fields of *state
  auto refresh_tls = [&] {
    std::lock_guard lock(tls_mu);
    const std::string before = state->tls_chain_pem;
    auto ok = RefreshTlsCertificate(*state, options.dns_suffix, clock);
    if (ok && state->tls_chain_pem != before) {
      ok = server->ReloadCertificate(state->tls_chain_pem, state->tls_key_pem);
    }
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
  api_options.rate_limit = options.rate_limit;
  api_options.rate_burst = options.rate_burst;
  // Issuers and the lifecycle engine.
  issuer::acme::Http01Responder http01;
  if (!options.acme_http_listen.empty()) {
    auto bound = http01.Start(options.acme_http_listen);
    if (!bound) return fail(bound.error().WithContext("--acme-http-listen"));
    log::Info("ACME http-01 challenges answered on port " + std::to_string(*bound));
  }
  issuer::ProviderContext provider_context;
  provider_context.clock = &vault_clock;
  provider_context.store = state->store.get();
  provider_context.kek = state->kek.get();
  provider_context.ca_bundle_path = state->ca_path;
  provider_context.data_dir = options.data_dir;
  provider_context.commands_dir =
      options.issuer_commands_dir.empty()
          ? (std::filesystem::absolute(options.data_dir) / "commands").string()
          : std::filesystem::absolute(options.issuer_commands_dir).string();
  {
    std::error_code ec;
    std::filesystem::create_directories(provider_context.commands_dir, ec);
  }
  // CRL locations must not depend on the port a test picked: fixed once the port is known.
  issuer::Registry issuers;
  lifecycle::EngineOptions engine_options;
  engine_options.threads = options.job_threads;
  engine_options.lease_seconds = job_lease;
  engine_options.retry = {retry_initial, retry_max};
  lifecycle::Engine engine(vault, *state->store, issuers, vault_clock, engine_options);
  vault.Configure(
      [&issuers](const model::Issuer& issuer) -> Status {
        const issuer::Provider* provider = issuers.Find(issuer.provider);
        if (!provider) {
          std::string names;
          for (const auto& n : issuers.Names()) names += (names.empty() ? "" : ", ") + n;
          return Fail(Error::BadParameter("unknown issuer provider '" + issuer.provider +
                                          "'; known: " + names));
        }
        return provider->Validate(issuer);
      },
      [&engine] { engine.Wake(); });

  api::Services services{vault,
                         **tokens,
                         identities,
                         **audit_store,
                         options.dns_suffix,
                         refresh_tls,
                         engine,
                         *state->store,
                         [&provider_context](std::string_view ca) {
                           return issuer::internal_ca::CrlFor(provider_context, ca);
                         },
                         [&provider_context](std::string_view ca) {
                           return issuer::internal_ca::CaCertificateFor(provider_context, ca);
                         },
                         options.test_clock ? &lifecycle_clock : nullptr};
  api::Api api(services, authorizer, audit, api_options);
  auto started = api::HttpsServer::Start(api, https);
  if (!started) return fail(started.error());
  server = std::move(*started);

  boot.port = server->port();
  if (auto ok = WriteAdminFile(*state, boot, clock); !ok) {
    server->Stop();
    return fail(ok.error());
  }
  provider_context.public_base_url =
      "https://" + options.dns_suffix + ":" + std::to_string(server->port());
  issuer::RegisterBuiltinIssuers(issuers, provider_context, &http01);
  engine.Start();
  if (auto ok = authorizer.Invalidate(); !ok) log::Error(ok.error().message());
  const std::string url = "https://" + options.dns_suffix + ":" + std::to_string(server->port());
  std::cout << "certvault server ready: url=" << url << " ca=" << state->ca_path
            << " admin=" << state->admin_path << std::endl;

  // Maintenance: re-issue the TLS certificate before it expires (loaded without a restart),
  // rotate token-signing keys, and drop audit records past their retention.
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;
  // Once a minute, or more often when a lifetime is short enough to need it.
  const auto period = std::chrono::seconds(
      std::clamp<int64_t>(std::min(tls_validity, audit_retention) / 10, 1, 60));
  std::thread maintenance([&] {
    std::unique_lock lock(stop_mu);
    while (!stop_cv.wait_for(lock, period, [&] { return stopping; })) {
      lock.unlock();
      refresh_tls();
      if (auto ok = (*tokens)->MaybeRotate(); !ok) {
        log::Error("token key rotation failed: " + ok.error().message());
      }
      const int64_t cutoff_ms = (clock.NowUnix() - audit_retention) * 1000;
      if (auto removed = (*audit_store)->DeleteBefore(cutoff_ms); !removed) {
        log::Error("audit retention failed: " + removed.error().message());
      } else if (*removed > 0) {
        log::Info("audit retention removed " + std::to_string(*removed) + " record(s)");
      }
      lock.lock();
    }
  });

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  {
    std::lock_guard lock(stop_mu);
    stopping = true;
  }
  stop_cv.notify_all();
  maintenance.join();
  log::Info(std::string("received ") + (signal_number == SIGTERM ? "SIGTERM" : "SIGINT") +
            ", shutting down");
  server->Stop();
  state->store->Drain();  // creates still committing answer through the audit writer
  engine.Stop();
  http01.Stop();
  audit.Stop();
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
  cmd->add_option("--rate-limit", options->rate_limit,
                  "Requests per second each principal may make to each vault (0: no limit);\n"
                  "over it the answer is 429 with Retry-After")
      ->envname("CERTVAULT_RATE_LIMIT")
      ->check(CLI::Range(0.0, 1e9))
      ->capture_default_str();
  cmd->add_option("--rate-burst", options->rate_burst,
                  "Requests a principal may make to a vault at once before --rate-limit applies")
      ->envname("CERTVAULT_RATE_BURST")
      ->check(CLI::Range(1.0, 1e9))
      ->capture_default_str();
  cmd->add_option("--audit-retention", options->audit_retention,
                  "How long audit records are kept (ISO 8601 duration)")
      ->envname("CERTVAULT_AUDIT_RETENTION")
      ->capture_default_str();
  cmd->add_option("--token-lifetime", options->token_lifetime,
                  "Lifetime of the access tokens the server issues (ISO 8601 duration)")
      ->envname("CERTVAULT_TOKEN_LIFETIME")
      ->capture_default_str();
  cmd->add_option("--token-clock-skew", options->token_clock_skew,
                  "Clock difference tolerated when checking token expiry (ISO 8601 duration)")
      ->envname("CERTVAULT_TOKEN_CLOCK_SKEW")
      ->capture_default_str();
  cmd->add_option("--token-key-rotation", options->token_key_rotation,
                  "Age at which the token-signing key is replaced (ISO 8601 duration)")
      ->envname("CERTVAULT_TOKEN_KEY_ROTATION")
      ->capture_default_str();
  cmd->add_option("--tls-cert-validity", options->tls_cert_validity,
                  "Lifetime of the server's own TLS certificate; it is re-issued when a third\n"
                  "remains and loaded without a restart (ISO 8601 duration)")
      ->envname("CERTVAULT_TLS_CERT_VALIDITY")
      ->capture_default_str();
  cmd->add_option("--job-threads", options->job_threads,
                  "Renewal jobs worked on at once (issuers may wait on the network)")
      ->envname("CERTVAULT_JOB_THREADS")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--job-lease", options->job_lease,
                  "How long one attempt of a job may take; a job held by a process that died\n"
                  "is taken up again after this (ISO 8601 duration)")
      ->envname("CERTVAULT_JOB_LEASE")
      ->capture_default_str();
  cmd->add_option("--retry-initial", options->retry_initial,
                  "First delay before retrying a failed issuance; it doubles each time, with\n"
                  "jitter (ISO 8601 duration)")
      ->envname("CERTVAULT_RETRY_INITIAL")
      ->capture_default_str();
  cmd->add_option("--retry-max", options->retry_max,
                  "Longest delay between retries (ISO 8601 duration)")
      ->envname("CERTVAULT_RETRY_MAX")
      ->capture_default_str();
  cmd->add_option("--acme-http-listen", options->acme_http_listen,
                  "Plain-HTTP address answering ACME http-01 challenges, e.g. :80 (off when\n"
                  "empty)")
      ->envname("CERTVAULT_ACME_HTTP_LISTEN");
  cmd->add_option("--issuer-commands-dir", options->issuer_commands_dir,
                  "Directory holding the executables `command` issuers may run (default:\n"
                  "DATA_DIR/commands); configuring an issuer through the API cannot run anything\n"
                  "outside it")
      ->envname("CERTVAULT_ISSUER_COMMANDS_DIR");
  cmd->add_flag("--test-clock", options->test_clock,
                "For tests: an administrator may move the server's lifecycle clock forward\n"
                "(POST /management/clock) to trigger lifetime actions without waiting")
      ->envname("CERTVAULT_TEST_CLOCK");
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
