#include "issuer/acme/settings.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "model/codec.h"

namespace certvault::issuer::acme {
namespace {

using nlohmann::json;

Error Bad(std::string_view field, std::string_view what) {
  return Error::BadParameter("settings." + std::string(field) + ": " + std::string(what));
}

Result<std::string> StringField(const json& j, const char* name) {
  const json& v = j.at(name);
  if (!v.is_string()) return Fail(Bad(name, "must be a string"));
  return v.get<std::string>();
}

Result<int64_t> DurationField(const json& j, const char* name, int64_t min, int64_t max) {
  CV_ASSIGN_OR_RETURN(const std::string text, StringField(j, name));
  auto seconds = model::ParseIsoDuration(text);
  if (!seconds) return Fail(Bad(name, "must be an ISO 8601 duration such as \"PT30S\""));
  if (*seconds < min || *seconds > max) {
    return Fail(Bad(name, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                              " seconds"));
  }
  return *seconds;
}

}  // namespace

std::string_view ChallengeName(ChallengeType type) {
  return type == ChallengeType::kDns01 ? "dns-01" : "http-01";
}

Status CheckHookInsideCommandsDir(const std::string& hook, const std::string& commands_dir) {
  if (commands_dir.empty()) return Ok();
  std::string base = commands_dir;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  const Error refused = Bad("dns_hook",
                            "must be an executable inside the server's issuer "
                            "commands directory " +
                                base + " (--issuer-commands-dir)");
  if (hook.rfind(base + "/", 0) != 0 || hook.find("/../") != std::string::npos ||
      hook.find("/./") != std::string::npos) {
    return Fail(refused);
  }
  char real_hook[PATH_MAX];
  char real_base[PATH_MAX];
  if (realpath(hook.c_str(), real_hook) == nullptr ||
      realpath(base.c_str(), real_base) == nullptr ||
      std::string(real_hook).rfind(std::string(real_base) + "/", 0) != 0) {
    return Fail(refused);
  }
  return Ok();
}

Result<AcmeSettings> ParseAcmeSettings(std::string_view text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Fail(Error::BadParameter("settings: must be a JSON object"));
  static const char* const kKnown[] = {
      "directory_url", "ca_bundle", "contact",          "terms_of_service_agreed",
      "challenge",     "dns_hook",  "dns_hook_timeout", "dns_propagation_wait",
      "poll_interval", "max_wait"};
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (const char* k : kKnown) known = known || key == k;
    if (!known) return Fail(Bad(key, "unknown member of an acme issuer's settings"));
  }

  AcmeSettings s;
  if (!j.contains("directory_url")) return Fail(Bad("directory_url", "is required"));
  CV_ASSIGN_OR_RETURN(s.directory_url, StringField(j, "directory_url"));
  if (s.directory_url.rfind("https://", 0) != 0 || s.directory_url.size() <= 8) {
    return Fail(Bad("directory_url", "must be an https:// URL"));
  }
  if (j.contains("ca_bundle")) {
    CV_ASSIGN_OR_RETURN(s.ca_bundle, StringField(j, "ca_bundle"));
    if (!s.ca_bundle.empty() && access(s.ca_bundle.c_str(), R_OK) != 0) {
      return Fail(Bad("ca_bundle", "cannot read " + s.ca_bundle));
    }
  }
  if (j.contains("contact")) {
    const json& contact = j["contact"];
    if (!contact.is_array()) return Fail(Bad("contact", "must be an array of strings"));
    if (contact.size() > 10) return Fail(Bad("contact", "has more than 10 entries"));
    for (const json& c : contact) {
      if (!c.is_string() || c.get<std::string>().empty()) {
        return Fail(Bad("contact", "must be an array of non-empty strings"));
      }
      std::string uri = c.get<std::string>();
      if (uri.find(':') == std::string::npos) {
        if (uri.find('@') == std::string::npos) {
          return Fail(Bad("contact", "\"" + uri + "\" is neither a URI nor an e-mail address"));
        }
        uri = "mailto:" + uri;
      }
      s.contact.push_back(std::move(uri));
    }
  }
  if (j.contains("terms_of_service_agreed")) {
    if (!j["terms_of_service_agreed"].is_boolean()) {
      return Fail(Bad("terms_of_service_agreed", "must be true or false"));
    }
    s.terms_of_service_agreed = j["terms_of_service_agreed"].get<bool>();
  }
  if (j.contains("challenge")) {
    CV_ASSIGN_OR_RETURN(const std::string challenge, StringField(j, "challenge"));
    if (challenge == "http-01") {
      s.challenge = ChallengeType::kHttp01;
    } else if (challenge == "dns-01") {
      s.challenge = ChallengeType::kDns01;
    } else {
      return Fail(Bad("challenge", "must be \"http-01\" or \"dns-01\""));
    }
  }
  if (j.contains("dns_hook")) {
    CV_ASSIGN_OR_RETURN(s.dns_hook, StringField(j, "dns_hook"));
  }
  if (s.challenge == ChallengeType::kDns01) {
    if (s.dns_hook.empty()) return Fail(Bad("dns_hook", "is required for dns-01"));
    if (s.dns_hook.front() != '/') return Fail(Bad("dns_hook", "must be an absolute path"));
    if (access(s.dns_hook.c_str(), X_OK) != 0) {
      return Fail(Bad("dns_hook", s.dns_hook + " is not an executable file"));
    }
  }
  if (j.contains("dns_hook_timeout")) {
    CV_ASSIGN_OR_RETURN(s.dns_hook_timeout, DurationField(j, "dns_hook_timeout", 1, 3600));
  }
  if (j.contains("dns_propagation_wait")) {
    CV_ASSIGN_OR_RETURN(s.dns_propagation_wait, DurationField(j, "dns_propagation_wait", 0, 3600));
  }
  if (j.contains("poll_interval")) {
    CV_ASSIGN_OR_RETURN(s.poll_interval, DurationField(j, "poll_interval", 1, 3600));
  }
  if (j.contains("max_wait")) {
    CV_ASSIGN_OR_RETURN(s.max_wait, DurationField(j, "max_wait", 0, 600));
  }
  return s;
}

}  // namespace certvault::issuer::acme
