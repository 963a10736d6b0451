#include "cli/lifecycle_views.h"

#include <nlohmann/json.hpp>

#include "cli/output.h"
#include "cli/views.h"

namespace certvault::cli {
namespace {

using nlohmann::json;

constexpr size_t kLastErrorColumn = 60;

const json& Member(const json& j, std::string_view key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

// "First Last <email> phone" for one admin_details item.
std::string AdminText(const json& admin) {
  std::string name = TextField(admin, "first_name");
  if (std::string last = TextField(admin, "last_name"); !last.empty()) {
    name += (name.empty() ? "" : " ") + last;
  }
  std::string out = name;
  if (std::string email = TextField(admin, "email"); !email.empty()) {
    out += (out.empty() ? "<" : " <") + email + ">";
  }
  if (std::string phone = TextField(admin, "phone"); !phone.empty()) {
    out += (out.empty() ? "" : " ") + phone;
  }
  return out;
}

std::string JobId(const json& job) {
  std::string id = TextField(job, "job_id");
  if (!id.empty()) return id;
  std::string full = TextField(job, "id");
  size_t slash = full.rfind('/');
  return slash == std::string::npos ? full : full.substr(slash + 1);
}

size_t AttemptCount(const json& job) {
  const json& attempts = Member(job, "attempts");
  return attempts.is_array() ? attempts.size() : 0;
}

}  // namespace

std::string Shorten(std::string_view text, size_t max) {
  std::string line;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t') {
      if (!line.empty() && line.back() != ' ') line += ' ';
    } else {
      line += c;
    }
  }
  if (line.size() <= max) return line;
  size_t cut = max > 3 ? max - 3 : 0;
  // Back off UTF-8 continuation bytes so that a character is not split.
  while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xc0) == 0x80) --cut;
  return line.substr(0, cut) + "...";
}

std::string IssuerView(const json& issuer) {
  const json& attrs = Member(issuer, "attributes");
  const json& org = Member(issuer, "org_details");
  std::string id = TextField(issuer, "id");
  size_t slash = id.rfind('/');
  Fields fields{{"name", slash == std::string::npos ? id : id.substr(slash + 1)},
                {"provider", TextField(issuer, "provider")},
                {"enabled", TextField(attrs, "enabled")},
                {"account id", TextField(Member(issuer, "credentials"), "account_id")},
                {"organization", TextField(org, "id")}};
  const json& admins = Member(org, "admin_details");
  if (admins.is_array()) {
    for (const auto& admin : admins) fields.emplace_back("admin", AdminText(admin));
  }
  fields.emplace_back("created", TimeField(attrs, "created"));
  fields.emplace_back("updated", TimeField(attrs, "updated"));
  fields.emplace_back("id", id);
  std::string out = RenderFields(fields);
  const json& settings = Member(issuer, "settings");
  if (settings.is_object() && !settings.empty()) {
    out += "settings\n";
    std::string rendered = RenderJson(settings);
    size_t start = 0;
    while (start < rendered.size()) {
      size_t end = rendered.find('\n', start);
      if (end == std::string::npos) end = rendered.size();
      out += "  " + rendered.substr(start, end - start) + "\n";
      start = end + 1;
    }
  }
  return out;
}

std::string IssuerListView(const std::vector<json>& issuers) {
  bool any_attributes = false;
  for (const auto& issuer : issuers) any_attributes |= Member(issuer, "attributes").is_object();
  Row headers = {"name", "provider"};
  if (any_attributes) headers.push_back("enabled");
  std::vector<Row> rows;
  for (const auto& issuer : issuers) {
    std::string id = TextField(issuer, "id");
    size_t slash = id.rfind('/');
    Row row = {slash == std::string::npos ? id : id.substr(slash + 1),
               TextField(issuer, "provider")};
    if (any_attributes) row.push_back(TextField(Member(issuer, "attributes"), "enabled"));
    rows.push_back(std::move(row));
  }
  return RenderTable(headers, rows);
}

std::string JobView(const json& job) {
  Fields fields{{"job", JobId(job)},
                {"certificate", TextField(job, "certificate")},
                {"issuer", TextField(job, "issuer")},
                {"trigger", TextField(job, "trigger")},
                {"status", TextField(job, "status")},
                {"source version", TextField(job, "source_version")},
                {"validity", TextField(job, "validity")},
                {"request id", TextField(job, "request_id")},
                {"last error", TextField(job, "last_error")},
                {"lease owner", TextField(job, "lease_owner")},
                {"lease expires", TimeField(job, "lease_expires")},
                {"next attempt", TimeField(job, "next_attempt")},
                {"deadline", TimeField(job, "deadline")},
                {"created", TimeField(job, "created")},
                {"updated", TimeField(job, "updated")},
                {"id", TextField(job, "id")}};
  std::string out = RenderFields(fields);
  const json& attempts = Member(job, "attempts");
  if (attempts.is_array() && !attempts.empty()) {
    std::vector<Row> rows;
    int n = 0;
    for (const auto& attempt : attempts) {
      rows.push_back({std::to_string(++n), TimeField(attempt, "started"),
                      TimeField(attempt, "finished"), TextField(attempt, "outcome"),
                      Shorten(TextField(attempt, "error"), 200)});
    }
    out += "\n" + RenderTable({"#", "started", "finished", "outcome", "error"}, rows);
  }
  return out;
}

std::string JobListView(const std::vector<json>& jobs) {
  std::vector<Row> rows;
  for (const auto& job : jobs) {
    rows.push_back(
        {JobId(job), TextField(job, "certificate"), TextField(job, "issuer"),
         TextField(job, "trigger"), TextField(job, "status"), std::to_string(AttemptCount(job)),
         Shorten(TextField(job, "last_error"), kLastErrorColumn), TimeField(job, "updated")});
  }
  return RenderTable(
      {"id", "certificate", "issuer", "trigger", "status", "attempts", "last error", "updated"},
      rows);
}

std::string JobProgressLine(const json& job) {
  std::string out = TextField(job, "status");
  const json& attempts = Member(job, "attempts");
  std::string details;
  if (attempts.is_array() && !attempts.empty()) {
    const json& last = attempts.back();
    details = "attempt " + std::to_string(attempts.size());
    if (std::string outcome = TextField(last, "outcome"); !outcome.empty()) {
      details += ": " + outcome;
    }
    if (std::string error = TextField(last, "error"); !error.empty()) {
      details += ": " + Shorten(error, 120);
    }
  }
  if (std::string next = TimeField(job, "next_attempt"); !next.empty() && out == "queued") {
    details += (details.empty() ? "" : "; ") + std::string("next attempt ") + next;
  }
  if (!details.empty()) out += " (" + details + ")";
  return out;
}

std::string RevocationView(const json& revocation) {
  std::string id = TextField(revocation, "id");
  return RenderFields({{"name", NameFromId(id)},
                       {"version", VersionFromId(id)},
                       {"revoked", TextField(revocation, "revoked")},
                       {"reason", TextField(revocation, "reason")},
                       {"id", id}});
}

}  // namespace certvault::cli
