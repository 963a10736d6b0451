#include "cli/config.h"

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/files.h"
#include "cli/url.h"

namespace certvault::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

Result<json> ReadJsonFile(const std::string& path, std::string_view what) {
  auto text = ReadFile(path);
  if (!text) return Fail(UsageError(text.error().message()));
  json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    return Fail(UsageError(std::string(what) + " " + path + " is not a JSON object"));
  }
  for (const auto& [key, value] : j.items()) {
    if (!value.is_string() && !value.is_null()) {
      return Fail(
          UsageError(std::string(what) + " " + path + ": \"" + key + "\" must be a string"));
    }
  }
  return j;
}

std::string StringField(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A path from a file is relative to that file's directory.
std::string RelativeTo(const std::string& file, std::string path) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(file).parent_path() / path).lexically_normal().string();
}

struct Layers {
  const ConfigFlags& flags;
  const EnvLookup& env;
  const json& file;
  std::string file_path;

  std::string Get(const std::string& flag, const char* env_name, const char* key,
                  bool is_path = false) const {
    if (!flag.empty()) return flag;
    if (auto v = env(env_name); v && !v->empty()) return *v;
    std::string v = StringField(file, key);
    return is_path ? RelativeTo(file_path, v) : v;
  }
};

}  // namespace

EnvLookup ProcessEnv() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<ClientConfig> ResolveConfig(const ConfigFlags& flags, const EnvLookup& env) {
  std::string config_path = flags.config;
  bool explicit_config = true;
  if (config_path.empty()) {
    if (auto v = env("CERTVAULT_CONFIG"); v && !v->empty()) config_path = *v;
  }
  if (config_path.empty()) {
    explicit_config = false;
    if (auto home = env("HOME"); home && !home->empty()) {
      config_path = *home + "/.config/certvault/config.json";
    }
  }
  json file = json::object();
  if (!config_path.empty()) {
    std::error_code ec;
    if (explicit_config || fs::exists(config_path, ec)) {
      CV_ASSIGN_OR_RETURN(file, ReadJsonFile(config_path, "config file"));
    }
  }
  Layers layers{flags, env, file, config_path};

  ClientConfig config;
  config.server = layers.Get(flags.server, "CERTVAULT_SERVER", "server");
  config.vault = layers.Get(flags.vault, "CERTVAULT_VAULT", "vault");
  if (config.vault.empty()) config.vault = std::string(kDefaultVault);
  config.client_id = layers.Get(flags.client_id, "CERTVAULT_CLIENT_ID", "client_id");
  config.client_secret =
      layers.Get(flags.client_secret, "CERTVAULT_CLIENT_SECRET", "client_secret");
  config.ca_file = layers.Get(flags.ca_file, "CERTVAULT_CA_FILE", "ca_file", true);
  config.token_url = StringField(file, "token_url");
  std::string credentials =
      layers.Get(flags.credentials, "CERTVAULT_CREDENTIALS", "credentials", true);

  if (!credentials.empty()) {
    CV_ASSIGN_OR_RETURN(json creds, ReadJsonFile(credentials, "credentials file"));
    if (config.client_id.empty()) config.client_id = StringField(creds, "client_id");
    if (config.client_secret.empty()) config.client_secret = StringField(creds, "client_secret");
    if (std::string t = StringField(creds, "token_url"); !t.empty()) config.token_url = t;
  }

  if (config.server.empty() && !config.token_url.empty()) {
    auto token_url = ParseUrl(config.token_url);
    if (!token_url) {
      return Fail(UsageError("token_url: " + token_url.error().message()));
    }
    config.server = token_url->Origin();
  }
  if (!config.server.empty()) {
    auto server = ParseUrl(config.server);
    if (!server) return Fail(UsageError("--server: " + server.error().message()));
    if (server->path != "" && server->path != "/") {
      return Fail(UsageError("--server must be an origin like https://host:8443, not '" +
                             config.server + "'"));
    }
    config.server = server->Origin();
    if (config.token_url.empty()) config.token_url = config.server + "/oauth2/token";
  }
  return config;
}

Status RequireConnectionSettings(const ClientConfig& config) {
  if (config.server.empty()) {
    return Fail(UsageError(
        "no server: pass --server URL, set CERTVAULT_SERVER, or give --credentials with a "
        "token_url"));
  }
  if (config.client_id.empty() || config.client_secret.empty()) {
    return Fail(UsageError(
        "no client credentials: pass --credentials FILE (or --client-id and --client-secret, "
        "or CERTVAULT_CLIENT_ID and CERTVAULT_CLIENT_SECRET)"));
  }
  return Ok();
}

}  // namespace certvault::cli
