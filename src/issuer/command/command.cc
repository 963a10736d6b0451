#include "issuer/command/command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/subprocess.h"
#include "common/text.h"
#include "crypto/encoding.h"
#include "crypto/x509.h"
#include "model/codec.h"

namespace certvault::issuer::command {
namespace {

using nlohmann::json;

constexpr int64_t kDefaultTimeoutSeconds = 120;
constexpr int64_t kMaxTimeoutSeconds = 86400;
// EX_DATAERR from sysexits.h: the CA looked at the request and refused it.
constexpr int kExitRefused = 65;
// How much of the end of stderr goes into an error message.
constexpr size_t kStderrTail = 2048;

// Error codes of failed attempts, as the pending operation shows them.
constexpr const char* kCodeRefused = "CertificateRequestRefused";
constexpr const char* kCodeFailed = "IssuerCommandFailed";
constexpr const char* kCodeTimedOut = "IssuerCommandTimedOut";
constexpr const char* kCodeNotExecutable = "IssuerCommandNotExecutable";
constexpr const char* kCodeBadOutput = "IssuerCommandBadOutput";

struct Settings {
  std::string command;
  std::vector<std::string> args;
  int64_t timeout_seconds = kDefaultTimeoutSeconds;
  std::string timeout_text = "PT2M";
  std::map<std::string, std::string> env;
};

Error BadField(std::string_view field, std::string_view what) {
  return Error::BadParameter("'settings." + std::string(field) + "' " + std::string(what));
}

bool HasNul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

bool IsEnvName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

Result<Settings> ParseSettings(const std::string& text) {
  // An issuer stored without settings has none.
  json j = text.find_first_not_of(" \t\r\n") == std::string::npos
               ? json::object()
               : json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Fail(Error::BadParameter("'settings' must be a JSON object"));
  }
  Settings s;
  for (const auto& [key, value] : j.items()) {
    if (key == "command") {
      if (!value.is_string()) return Fail(BadField(key, "must be a string"));
      s.command = value.get<std::string>();
    } else if (key == "args") {
      if (!value.is_array()) return Fail(BadField(key, "must be an array of strings"));
      for (const auto& arg : value) {
        if (!arg.is_string() || HasNul(arg.get_ref<const std::string&>())) {
          return Fail(BadField(key, "must be an array of strings"));
        }
        s.args.push_back(arg.get<std::string>());
      }
    } else if (key == "timeout") {
      if (!value.is_string()) return Fail(BadField(key, "must be an ISO 8601 duration string"));
      s.timeout_text = value.get<std::string>();
      auto seconds = model::ParseIsoDuration(s.timeout_text);
      if (!seconds) return Fail(seconds.error().WithContext("'settings.timeout'"));
      if (*seconds < 1 || *seconds > kMaxTimeoutSeconds) {
        return Fail(BadField(key, "must be between PT1S and P1D"));
      }
      s.timeout_seconds = *seconds;
    } else if (key == "env") {
      if (!value.is_object()) return Fail(BadField(key, "must be an object of strings"));
      for (const auto& [name, v] : value.items()) {
        if (!IsEnvName(name)) {
          return Fail(BadField("env", "has a name that is not [A-Za-z_][A-Za-z0-9_]*"));
        }
        if (name.rfind("CERTVAULT_", 0) == 0) {
          return Fail(BadField("env." + name, "uses the reserved prefix CERTVAULT_"));
        }
        if (!v.is_string() || HasNul(v.get_ref<const std::string&>())) {
          return Fail(BadField("env." + name, "must be a string"));
        }
        s.env[name] = v.get<std::string>();
      }
    } else {
      return Fail(Error::BadParameter("'settings." + key +
                                      "' is not a setting of the command provider (command, "
                                      "args, timeout, env)"));
    }
  }
  if (s.command.empty()) return Fail(BadField("command", "is required"));
  if (s.command[0] != '/' || HasNul(s.command)) {
    return Fail(BadField("command", "must be an absolute path"));
  }
  return s;
}

// ": <the end of stderr>", or "" if it printed nothing.
std::string StderrSuffix(std::string_view err) {
  std::string text = OneLineTail(err, kStderrTail);
  if (text.empty()) return " (nothing on stderr)";
  return ": " + text;
}

Status CheckExecutable(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    std::string reason = err == ENOENT ? "does not exist" : "cannot be accessed";
    Error e(ErrorKind::kBadRequest, kCodeNotExecutable,
            "issuer command " + path + " " + reason + " (" + std::strerror(err) + ")");
    if (err == ENOENT || err == ENOTDIR || err == EACCES || err == ELOOP || err == ENAMETOOLONG) {
      return Fail(e);
    }
    return Fail(Error(ErrorKind::kUnavailable, kCodeFailed, e.message()));
  }
  if (!S_ISREG(st.st_mode)) {
    return Fail(Error(ErrorKind::kBadRequest, kCodeNotExecutable,
                      "issuer command " + path + " is not a regular file"));
  }
  if (::access(path.c_str(), X_OK) != 0) {
    return Fail(Error(ErrorKind::kBadRequest, kCodeNotExecutable,
                      "issuer command " + path + " is not executable by the server"));
  }
  return Ok();
}

// Fails unless `path` lies inside `dir` (when `dir` is set): lexically (no ".." components), and,
// when `resolve`, after following symbolic links too.
Status CheckInsideCommandsDir(const std::string& path, const std::string& dir, bool resolve) {
  if (dir.empty()) return Ok();
  const std::string refused =
      "settings.command must be an executable inside the server's issuer "
      "commands directory " +
      dir + " (--issuer-commands-dir)";
  std::string base = dir;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  if (path.rfind(base + "/", 0) != 0 || path.find("/../") != std::string::npos ||
      path.find("/./") != std::string::npos) {
    return Fail(Error::BadParameter(refused));
  }
  if (!resolve) return Ok();
  char real_path[PATH_MAX];
  char real_dir[PATH_MAX];
  if (::realpath(path.c_str(), real_path) == nullptr ||
      ::realpath(base.c_str(), real_dir) == nullptr) {
    return Ok();  // CheckExecutable says what is missing
  }
  if (std::string(real_path).rfind(std::string(real_dir) + "/", 0) != 0) {
    return Fail(Error(ErrorKind::kBadRequest, kCodeNotExecutable, refused));
  }
  return Ok();
}

class CommandIssuer final : public Issuer {
 public:
  CommandIssuer(std::string name, Settings settings, const Clock* clock, std::string commands_dir)
      : name_(std::move(name)),
        settings_(std::move(settings)),
        clock_(clock),
        commands_dir_(std::move(commands_dir)) {}

  Result<Enrollment> Enroll(const EnrollRequest& request) override {
    const std::string& cmd = settings_.command;
    CV_RETURN_IF_ERROR(CheckInsideCommandsDir(cmd, commands_dir_, true));
    CV_RETURN_IF_ERROR(CheckExecutable(cmd));

    int64_t timeout_ms = settings_.timeout_seconds * 1000;
    std::string limit = "settings.timeout " + settings_.timeout_text;
    if (request.deadline > 0) {
      const int64_t left = request.deadline - clock_->NowUnix();
      if (left <= 0) {
        return Fail(Error(ErrorKind::kUnavailable, kCodeTimedOut,
                          "the attempt's deadline passed before issuer command " + cmd + " ran"));
      }
      if (left * 1000 < timeout_ms) {
        timeout_ms = left * 1000;
        limit = "the attempt's deadline";
      }
    }

    SubprocessSpec spec;
    spec.argv.push_back(cmd);
    spec.argv.insert(spec.argv.end(), settings_.args.begin(), settings_.args.end());
    spec.stdin_data = crypto::PemEncode("CERTIFICATE REQUEST", request.csr_der);
    spec.env = settings_.env;
    const int64_t validity = std::max<int64_t>(0, request.not_after - request.not_before);
    spec.env["CERTVAULT_VAULT"] = request.vault;
    spec.env["CERTVAULT_CERTIFICATE"] = request.certificate;
    spec.env["CERTVAULT_ISSUER"] = name_;
    spec.env["CERTVAULT_TEMPLATE"] = request.policy.issuer.cty;
    spec.env["CERTVAULT_REQUEST_ID"] = request.request_id;
    spec.env["CERTVAULT_JOB_ID"] = request.job_id;
    spec.env["CERTVAULT_NOT_BEFORE"] = std::to_string(request.not_before);
    spec.env["CERTVAULT_NOT_AFTER"] = std::to_string(request.not_after);
    spec.env["CERTVAULT_VALIDITY_DAYS"] = std::to_string((validity + 86399) / 86400);
    spec.timeout_ms = timeout_ms;

    auto run = RunSubprocess(spec);
    if (!run) return Fail(Error(ErrorKind::kUnavailable, kCodeFailed, run.error().message()));
    const std::string who = "issuer command " + cmd;

    if (run->timed_out) {
      return Fail(Error(ErrorKind::kUnavailable, kCodeTimedOut,
                        who + " did not finish within " + std::to_string(timeout_ms / 1000) +
                            " s (" + limit + ") and was killed" + StderrSuffix(run->stderr_data)));
    }
    if (run->exit_code == kExitRefused) {
      return Fail(Error(ErrorKind::kBadRequest, kCodeRefused,
                        "the CA refused the request (" + who + " exited with status 65)" +
                            StderrSuffix(run->stderr_data)));
    }
    if (run->exit_code != 0) {
      const std::string how = run->exit_code < 0
                                  ? " was killed by a signal"
                                  : " exited with status " + std::to_string(run->exit_code);
      return Fail(
          Error(ErrorKind::kUnavailable, kCodeFailed, who + how + StderrSuffix(run->stderr_data)));
    }
    if (run->stdout_data.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      return Fail(Error(ErrorKind::kBadRequest, kCodeBadOutput,
                        who + " exited with status 0 but printed no PEM certificate on stdout" +
                            StderrSuffix(run->stderr_data)));
    }
    auto certs = crypto::ParsePemCertificates(run->stdout_data);
    if (!certs) {
      return Fail(Error(ErrorKind::kBadRequest, kCodeBadOutput,
                        who + " printed a malformed certificate: " + certs.error().message()));
    }
    Enrollment enrollment;
    for (const auto& cert : *certs) enrollment.chain.push_back(cert.ToDer());
    return enrollment;
  }

 private:
  const std::string name_;
  const Settings settings_;
  const Clock* clock_;
  const std::string commands_dir_;
};

class CommandProvider final : public Provider {
 public:
  CommandProvider(const Clock* clock, std::string commands_dir)
      : clock_(clock), commands_dir_(std::move(commands_dir)) {}

  Status Validate(const model::Issuer& issuer) const override {
    CV_ASSIGN_OR_RETURN(Settings settings, ParseSettings(issuer.settings));
    return CheckInsideCommandsDir(settings.command, commands_dir_, false);
  }

  Result<std::shared_ptr<Issuer>> Build(const model::Issuer& issuer,
                                        const std::string& password) const override {
    CV_ASSIGN_OR_RETURN(Settings settings, ParseSettings(issuer.settings));
    return std::make_shared<CommandIssuer>(issuer.name, std::move(settings), clock_, commands_dir_);
  }

 private:
  const Clock* clock_;
  const std::string commands_dir_;
};

}  // namespace

std::unique_ptr<Provider> NewCommandProvider(const ProviderContext& ctx) {
  static const SystemClock system_clock;
  return std::make_unique<CommandProvider>(ctx.clock != nullptr ? ctx.clock : &system_clock,
                                           ctx.commands_dir);
}

}  // namespace certvault::issuer::command
