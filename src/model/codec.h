#pragma once
// JSON forms of domain types, in Key Vault's wire shapes (snake_case policy fields as the REST
// API uses). The same functions serve the API and the store, so there is one JSON form of each.
// Decoding validates shapes and types and fails with BadParameter naming the field.

#include <nlohmann/json_fwd.hpp>
#include <string_view>

#include "common/result.h"
#include "model/types.h"

namespace certvault::model {

// Attributes: {"enabled","nbf","exp","created","updated"} (+ recovery fields added by the API).
nlohmann::json AttributesToJson(const Attributes& a);
// Reads only the caller-settable fields (enabled, nbf, exp) onto `a`.
Status MergeAttributesFromJson(const nlohmann::json& j, Attributes& a);

nlohmann::json TagsToJson(const Tags& tags);
Result<Tags> TagsFromJson(const nlohmann::json& j);

// Policy without its "id" (the API adds it).
nlohmann::json PolicyToJson(const CertificatePolicy& p);
// Missing fields keep the values already in `p` (so a PATCH merges and a create starts from
// Key Vault's defaults).
Status MergePolicyFromJson(const nlohmann::json& j, CertificatePolicy& p);
// Checks values: key type/size/curve, content type, lifetime actions, validity duration syntax.
Status ValidatePolicy(const CertificatePolicy& p);

nlohmann::json ContactToJson(const Contact& c);
Result<Contact> ContactFromJson(const nlohmann::json& j);

// Parses an ISO 8601 duration ("P1Y2M10DT2H30M", "PT10M", "P7D", "P2W") into seconds;
// months count as 30 days and years as 365 days.
Result<int64_t> ParseIsoDuration(std::string_view text);

// The validity the policy asks for, in seconds.
Result<int64_t> PolicyValiditySeconds(const X509Props& x509);

// Key Vault's default lifetime action (AutoRenew at 80% of the lifetime).
LifetimeAction DefaultLifetimeAction();

}  // namespace certvault::model
