#pragma once
// The settings of an `acme` issuer (model::Issuer::settings, a JSON object):
//
//   {
//     "directory_url": "https://acme.example/directory",   required, https
//     "ca_bundle": "/etc/certvault/acme-ca.pem",           optional: PEM trust anchors for the
//                                                           ACME server; default: the server's
//                                                           CA bundle setting, else system trust
//     "contact": ["mailto:ops@example.com"],               optional; a bare address gets mailto:
//     "terms_of_service_agreed": true,                     optional, default true
//     "challenge": "http-01",                              "http-01" (default) or "dns-01"
//     "dns_hook": "/var/lib/certvault/commands/dns-hook",  required for dns-01: run as
//                                                           HOOK add|remove <domain> <txt-value>
//                                                           (env ACME_ACTION, ACME_DOMAIN,
//                                                           ACME_TXT_NAME, ACME_TXT_VALUE); must
//                                                           lie in --issuer-commands-dir
//     "dns_hook_timeout": "PT1M",                          ISO 8601 durations from here on
//     "dns_propagation_wait": "PT0S",                      wait after `add` before validation
//     "poll_interval": "PT2S",                             between polls of the order
//     "max_wait": "PT15S"                                  how long one attempt blocks polling
//   }                                                       before asking to be called again
//
// Unknown members are refused, so a misspelt one does not silently fall back to a default.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace certvault::issuer::acme {

enum class ChallengeType { kHttp01, kDns01 };

struct AcmeSettings {
  std::string directory_url;
  std::string ca_bundle;
  std::vector<std::string> contact;
  bool terms_of_service_agreed = true;
  ChallengeType challenge = ChallengeType::kHttp01;
  std::string dns_hook;
  int64_t dns_hook_timeout = 60;  // seconds
  int64_t dns_propagation_wait = 0;
  int64_t poll_interval = 2;
  int64_t max_wait = 15;
};

// Parses and checks `json`; fails with BadParameter naming the member ("settings.challenge: ...").
// Checks that ca_bundle is readable and dns_hook executable on this machine.
Result<AcmeSettings> ParseAcmeSettings(std::string_view json);

std::string_view ChallengeName(ChallengeType type);

// Whoever may configure issuers through the API must not be able to run any program on the
// server: when `commands_dir` (ProviderContext::commands_dir, --issuer-commands-dir) is set, the
// dns-01 hook must lie inside it, also after resolving symbolic links. Fails with BadParameter.
Status CheckHookInsideCommandsDir(const std::string& hook, const std::string& commands_dir);

}  // namespace certvault::issuer::acme
