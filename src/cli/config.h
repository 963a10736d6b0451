#pragma once
// Client settings and where they come from.
//
// Every setting is resolved independently with the precedence flag > environment > config file.
// The config file (JSON, --config / CERTVAULT_CONFIG, default ~/.config/certvault/config.json if
// present) holds the same keys as the flags: server, vault, credentials, ca_file, client_id,
// client_secret. A credentials file (the server's admin.json: client_id, client_secret,
// token_url) fills in the client id and secret when they are not set otherwise, and supplies the
// token URL; the server URL is derived from the token URL when no --server is given.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace certvault::cli {

// What the command line said; an empty string means "not given".
struct ConfigFlags {
  std::string config;
  std::string server;
  std::string vault;
  std::string credentials;
  std::string client_id;
  std::string client_secret;
  std::string ca_file;
};

struct ClientConfig {
  std::string server;     // origin, e.g. https://localhost:8443 (no trailing slash)
  std::string vault;      // never empty; "default" unless set
  std::string token_url;  // empty only if no server is known either
  std::string client_id;
  std::string client_secret;  // never printed
  std::string ca_file;
};

// Looks up an environment variable; nullopt if unset.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
EnvLookup ProcessEnv();

// Resolves the settings. Fails with code "UsageError" for a missing or malformed config or
// credentials file, or a malformed server or token URL. Relative paths inside a config file are
// taken relative to that file's directory.
Result<ClientConfig> ResolveConfig(const ConfigFlags& flags, const EnvLookup& env);

// Fails with "UsageError" unless a server and client credentials are known.
Status RequireConnectionSettings(const ClientConfig& config);

// A local mistake by the user (exit status 2, shown without an error code).
inline Error UsageError(std::string message) {
  return Error(ErrorKind::kBadRequest, "UsageError", std::move(message));
}
// A local failure that is not the user's syntax (exit status 1, shown without an error code).
inline Error ClientError(std::string message) {
  return Error(ErrorKind::kBadRequest, "ClientError", std::move(message));
}

}  // namespace certvault::cli
