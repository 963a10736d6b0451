#pragma once
// The audit trail: one record per HTTP request the server answers. Records hold who, what, where
// and how it ended, never a request or response body, a header, a token or a secret value.

#include <cstdint>
#include <string>

namespace certvault::model {

struct AuditRecord {
  int64_t seq = 0;      // assigned by the audit store, increasing in insertion order
  int64_t time_ms = 0;  // Unix milliseconds when the request arrived
  std::string request_id;
  std::string principal;  // client id; empty when the caller was not authenticated
  std::string source;     // the client's IP address
  std::string vault;      // empty for management and public routes
  std::string operation;  // the route's operation name, e.g. "secrets.get"
  std::string object;     // e.g. "certificates/web/0123...", "principals/ID"; empty for lists
  std::string outcome;    // "success", "denied", "throttled" or "failed"
  int status = 0;         // the HTTP status sent
  int64_t duration_us = 0;
};

// Which records a query returns; empty strings and zero times match everything.
struct AuditFilter {
  int64_t from_ms = 0;  // time_ms >= from_ms
  int64_t to_ms = 0;    // time_ms < to_ms
  std::string principal;
  std::string object;  // exact match, or a prefix when it ends with '*'
  std::string operation;
  std::string outcome;
  int64_t after_seq = 0;  // seq > after_seq (paging)
  int64_t limit = 100;
};

// The outcome recorded for an HTTP status.
inline const char* AuditOutcome(int status) {
  if (status == 401 || status == 403) return "denied";
  if (status == 429) return "throttled";
  return status < 400 ? "success" : "failed";
}

}  // namespace certvault::model
