#pragma once
// Human (table) views of the management API's identity objects: service principals, role
// assignments, audit records and token signing keys. Each takes the server's JSON as received
// and tolerates missing fields. Only PrincipalWithSecretView shows a principal's clientSecret.

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace certvault::cli {

std::string PrincipalView(const nlohmann::json& principal);
// The principal and its clientSecret: only for the answers of create and rotate-secret, the one
// moment the secret can be shown.
std::string PrincipalWithSecretView(const nlohmann::json& principal);
std::string PrincipalListView(const std::vector<nlohmann::json>& principals);

std::string RoleAssignmentView(const nlohmann::json& assignment);
std::string RoleAssignmentListView(const std::vector<nlohmann::json>& assignments);

// Rows of TIME, PRINCIPAL, OPERATION, OBJECT, OUTCOME, STATUS, DURATION.
std::string AuditListView(const std::vector<nlohmann::json>& records);

// The current key id, then the table of keys.
std::string TokenKeysView(const nlohmann::json& rotation);

}  // namespace certvault::cli
