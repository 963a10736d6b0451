#include "cli/identity_views.h"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/output.h"

namespace certvault::cli {
namespace {

using nlohmann::json;

// A time field that may be Unix seconds or already text (RFC 3339).
std::string AnyTimeField(const json& j, std::string_view key) {
  std::string time = TimeField(j, key);
  return time.empty() ? TextField(j, key) : time;
}

std::string DurationText(const json& record) {
  auto it = record.find("durationMs");
  if (it == record.end() || !it->is_number()) return "";
  double ms = it->get<double>();
  char buf[32];
  // Sub-millisecond requests are common (a cached read); keep one decimal below 10 ms.
  if (ms < 10) {
    std::snprintf(buf, sizeof buf, "%.1fms", ms);
  } else {
    std::snprintf(buf, sizeof buf, "%.0fms", std::round(ms));
  }
  return buf;
}

Fields PrincipalFields(const json& principal) {
  return {{"client id", TextField(principal, "clientId")},
          {"display name", TextField(principal, "displayName")},
          {"enabled", TextField(principal, "enabled")},
          {"secret expires", TimeField(principal, "secretExpires")},
          {"created", TimeField(principal, "created")},
          {"updated", TimeField(principal, "updated")}};
}

}  // namespace

std::string PrincipalView(const json& principal) {
  return RenderFields(PrincipalFields(principal));
}

std::string PrincipalWithSecretView(const json& principal) {
  Fields fields = PrincipalFields(principal);
  fields.emplace_back("client secret", TextField(principal, "clientSecret"));
  return RenderFields(fields);
}

std::string PrincipalListView(const std::vector<json>& principals) {
  std::vector<Row> rows;
  for (const auto& p : principals) {
    rows.push_back({TextField(p, "clientId"), TextField(p, "displayName"), TextField(p, "enabled"),
                    TimeField(p, "secretExpires"), TimeField(p, "created")});
  }
  return RenderTable({"client id", "display name", "enabled", "secret expires", "created"}, rows);
}

std::string RoleAssignmentView(const json& assignment) {
  return RenderFields({{"id", TextField(assignment, "id")},
                       {"principal", TextField(assignment, "principalId")},
                       {"role", TextField(assignment, "role")},
                       {"scope", TextField(assignment, "scope")},
                       {"created", TimeField(assignment, "created")}});
}

std::string RoleAssignmentListView(const std::vector<json>& assignments) {
  std::vector<Row> rows;
  for (const auto& a : assignments) {
    rows.push_back({TextField(a, "id"), TextField(a, "principalId"), TextField(a, "role"),
                    TextField(a, "scope"), TimeField(a, "created")});
  }
  return RenderTable({"id", "principal", "role", "scope", "created"}, rows);
}

std::string AuditListView(const std::vector<json>& records) {
  std::vector<Row> rows;
  for (const auto& r : records) {
    rows.push_back({AnyTimeField(r, "time"), TextField(r, "principal"), TextField(r, "operation"),
                    TextField(r, "object"), TextField(r, "outcome"), TextField(r, "status"),
                    DurationText(r)});
  }
  return RenderTable({"time", "principal", "operation", "object", "outcome", "status", "duration"},
                     rows);
}

std::string TokenKeysView(const json& rotation) {
  std::string out = RenderFields({{"current key", TextField(rotation, "kid")}});
  std::vector<Row> rows;
  const json keys = rotation.is_object() ? rotation.value("keys", json::array()) : json::array();
  if (keys.is_array()) {
    for (const auto& k : keys) {
      rows.push_back({TextField(k, "kid"), AnyTimeField(k, "created"),
                      TextField(k, "current") == "true" ? "yes" : ""});
    }
  }
  return out + "\n" + RenderTable({"kid", "created", "current"}, rows);
}

}  // namespace certvault::cli
