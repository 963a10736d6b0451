#pragma once
// Key Vault wire shapes of certvault's domain objects. `base` is "https://host[:port]".

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "model/types.h"
#include "vault/vault_service.h"

namespace certvault::api {

nlohmann::json RenderCertificateBundle(std::string_view base, const vault::CertificateView& v,
                                       bool with_policy);
nlohmann::json RenderDeletedCertificate(std::string_view base, const vault::CertificateView& v);
// List item: id without version when `versioned` is false.
nlohmann::json RenderCertificateItem(std::string_view base, const model::Certificate& cert,
                                     const model::CertificateVersion& v, bool versioned);
nlohmann::json RenderPolicy(std::string_view base, const model::Certificate& cert);
nlohmann::json RenderOperation(std::string_view base, const model::PendingOperation& op);
nlohmann::json RenderContacts(std::string_view base, const std::vector<model::Contact>& c);

nlohmann::json RenderSecretBundle(std::string_view base, const vault::SecretView& s,
                                  bool with_value);
nlohmann::json RenderSecretItem(std::string_view base, const vault::SecretView& s, bool versioned);

// {"error":{"code","message"}} with, for Key Vault's sub-codes, an "innererror".
std::string RenderError(const Error& error);

}  // namespace certvault::api
