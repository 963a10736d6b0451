#pragma once
// Human (table) views of the lifecycle objects: issuers (Key Vault's issuers API), renewal jobs
// and revocations. Each takes the server's JSON as received and tolerates missing fields; times
// (Unix seconds on the wire) show as RFC 3339. Issuer views never show a credential password
// (the server does not send it back either).

#include <cstddef>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace certvault::cli {

// Fields (name, provider, enabled, account id, organization, admins, created, updated, id), then
// the provider settings as indented JSON.
std::string IssuerView(const nlohmann::json& issuer);
// NAME, PROVIDER (and ENABLED when the server sends attributes).
std::string IssuerListView(const std::vector<nlohmann::json>& issuers);

// The job's fields, then its attempts as a table (#, STARTED, FINISHED, OUTCOME, ERROR).
std::string JobView(const nlohmann::json& job);
// ID, CERTIFICATE, ISSUER, TRIGGER, STATUS, ATTEMPTS, LAST ERROR (truncated), UPDATED.
std::string JobListView(const std::vector<nlohmann::json>& jobs);
// One line on where a job stands, for progress while waiting: "running (attempt 2)",
// "queued (attempt 1 failed: CA unreachable; next attempt 2025-01-31T12:00:00Z)".
std::string JobProgressLine(const nlohmann::json& job);

std::string RevocationView(const nlohmann::json& revocation);

// `text` on one line, cut to at most `max` bytes (ending "...") without splitting a UTF-8
// character.
std::string Shorten(std::string_view text, size_t max);

}  // namespace certvault::cli
