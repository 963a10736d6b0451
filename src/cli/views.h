#pragma once
// Human (table) views of the server's objects: certificates, pending operations, secrets and
// vaults. Each takes the server's JSON as received and tolerates missing fields.

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace certvault::cli {

// The object name and version in an id like https://host/certificates/NAME/VERSION ("" if
// absent).
std::string NameFromId(std::string_view id);
std::string VersionFromId(std::string_view id);
// Key Vault's x5t (base64url SHA-1) as upper-case hex, the form tools show; "" if malformed.
std::string ThumbprintHex(std::string_view x5t);

std::string CertificateView(const nlohmann::json& bundle);
// Also renders deleted certificates (adds deletion dates and the recovery id).
std::string DeletedCertificateView(const nlohmann::json& bundle);
// `versions`: the items are versions of one certificate (shows VERSION and CREATED columns).
std::string CertificateListView(const std::vector<nlohmann::json>& items, bool versions);
// The pending operation; with `with_csr` the CSR follows as PEM.
std::string OperationView(const nlohmann::json& op, bool with_csr);

std::string SecretView(const nlohmann::json& bundle);  // metadata, never the value
std::string DeletedSecretView(const nlohmann::json& bundle);
std::string SecretListView(const std::vector<nlohmann::json>& items);

std::string VaultView(const nlohmann::json& vault);
std::string VaultListView(const std::vector<nlohmann::json>& vaults);

}  // namespace certvault::cli
