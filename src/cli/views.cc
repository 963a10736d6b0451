#include "cli/views.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "cli/output.h"
#include "cli/pem.h"
#include "crypto/encoding.h"
#include "crypto/x509.h"

namespace certvault::cli {
namespace {

using nlohmann::json;

// Path segments of an id after its origin.
std::vector<std::string> IdSegments(std::string_view id) {
  size_t scheme = id.find("://");
  std::string_view rest = scheme == std::string_view::npos ? id : id.substr(scheme + 3);
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return {};
  rest = rest.substr(slash + 1);
  rest = rest.substr(0, rest.find_first_of("?#"));
  std::vector<std::string> segments;
  while (!rest.empty()) {
    size_t next = rest.find('/');
    segments.emplace_back(rest.substr(0, next));
    if (next == std::string_view::npos) break;
    rest = rest.substr(next + 1);
  }
  return segments;
}

const json& Attributes(const json& j) {
  static const json kEmpty = json::object();
  if (!j.is_object()) return kEmpty;
  auto it = j.find("attributes");
  return it != j.end() && it->is_object() ? *it : kEmpty;
}

std::string TagsText(const json& j) {
  if (!j.is_object()) return "";
  auto it = j.find("tags");
  if (it == j.end() || !it->is_object()) return "";
  std::string out;
  for (const auto& [k, v] : it->items()) {
    if (!out.empty()) out += ",";
    out += k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

// Details read from the certificate itself; the policy may have changed since it was issued.
void AddCerFields(const json& bundle, Fields& fields) {
  std::string cer = TextField(bundle, "cer");
  if (cer.empty()) return;
  auto der = crypto::Base64Decode(cer);
  if (!der) return;
  auto cert = crypto::Certificate::FromDer(*der);
  if (!cert) return;
  auto sans = cert->Sans();
  std::vector<std::string> names = sans.dns_names;
  names.insert(names.end(), sans.ip_addresses.begin(), sans.ip_addresses.end());
  names.insert(names.end(), sans.emails.begin(), sans.emails.end());
  fields.emplace_back("subject", cert->Subject());
  fields.emplace_back("sans", Join(names, ", "));
  fields.emplace_back("issuer", cert->Issuer());
  fields.emplace_back("serial", cert->SerialHex());
  fields.emplace_back("not before", FormatTime(cert->NotBefore()));
  fields.emplace_back("expires", FormatTime(cert->NotAfter()));
}

Fields CertificateFields(const json& bundle) {
  const json& attrs = Attributes(bundle);
  std::string id = TextField(bundle, "id");
  Fields fields{{"name", NameFromId(id)},
                {"version", VersionFromId(id)},
                {"enabled", TextField(attrs, "enabled")}};
  size_t before = fields.size();
  AddCerFields(bundle, fields);
  if (fields.size() == before) {  // no parsable cer: fall back on the attributes
    fields.emplace_back("expires", TimeField(attrs, "exp"));
  }
  fields.emplace_back("thumbprint", ThumbprintHex(TextField(bundle, "x5t")));
  if (bundle.contains("policy") && bundle["policy"].is_object()) {
    const json& policy = bundle["policy"];
    if (policy.contains("issuer"))
      fields.emplace_back("policy issuer", TextField(policy["issuer"], "name"));
    if (policy.contains("secret_props")) {
      fields.emplace_back("content type", TextField(policy["secret_props"], "contentType"));
    }
    if (policy.contains("key_props")) {
      const json& kp = policy["key_props"];
      std::string key = TextField(kp, "kty");
      if (std::string crv = TextField(kp, "crv"); !crv.empty())
        key += " " + crv;
      else if (std::string size = TextField(kp, "key_size"); !size.empty())
        key += " " + size;
      fields.emplace_back("key", key);
      fields.emplace_back("exportable", TextField(kp, "exportable"));
    }
  }
  fields.emplace_back("created", TimeField(attrs, "created"));
  fields.emplace_back("updated", TimeField(attrs, "updated"));
  fields.emplace_back("tags", TagsText(bundle));
  fields.emplace_back("id", id);
  return fields;
}

void AddDeletionFields(const json& bundle, Fields& fields) {
  fields.emplace_back("deleted", TimeField(bundle, "deletedDate"));
  fields.emplace_back("purge after", TimeField(bundle, "scheduledPurgeDate"));
  fields.emplace_back("recovery id", TextField(bundle, "recoveryId"));
}

}  // namespace

std::string NameFromId(std::string_view id) {
  auto segments = IdSegments(id);
  return segments.size() >= 2 ? segments[1] : "";
}

std::string VersionFromId(std::string_view id) {
  auto segments = IdSegments(id);
  return segments.size() >= 3 ? segments[2] : "";
}

std::string ThumbprintHex(std::string_view x5t) {
  if (x5t.empty()) return "";
  auto raw = crypto::Base64UrlDecode(x5t);
  if (!raw) return "";
  std::string hex = crypto::HexEncode(*raw);
  std::transform(hex.begin(), hex.end(), hex.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return hex;
}

std::string CertificateView(const json& bundle) { return RenderFields(CertificateFields(bundle)); }

std::string DeletedCertificateView(const json& bundle) {
  Fields fields = CertificateFields(bundle);
  AddDeletionFields(bundle, fields);
  return RenderFields(fields);
}

std::string CertificateListView(const std::vector<json>& items, bool versions) {
  std::vector<Row> rows;
  for (const auto& item : items) {
    const json& attrs = Attributes(item);
    std::string id = TextField(item, "id");
    Row row{NameFromId(id)};
    if (versions) {
      row.push_back(VersionFromId(id));
      row.push_back(TimeField(attrs, "created"));
    }
    row.push_back(TextField(attrs, "enabled"));
    row.push_back(TimeField(attrs, "exp", /*date_only=*/true));
    row.push_back(ThumbprintHex(TextField(item, "x5t")));
    rows.push_back(std::move(row));
  }
  Row headers{"name"};
  if (versions) {
    headers.push_back("version");
    headers.push_back("created");
  }
  headers.insert(headers.end(), {"enabled", "expires", "thumbprint"});
  return RenderTable(headers, rows);
}

std::string OperationView(const json& op, bool with_csr) {
  std::string error;
  if (op.is_object() && op.contains("error") && op["error"].is_object()) {
    error = TextField(op["error"], "code");
    std::string message = TextField(op["error"], "message");
    if (!message.empty()) error += (error.empty() ? "" : ": ") + message;
  }
  std::string issuer;
  if (op.is_object() && op.contains("issuer")) issuer = TextField(op["issuer"], "name");
  Fields fields{
      {"name", NameFromId(TextField(op, "id"))},
      {"status", TextField(op, "status")},
      {"details", TextField(op, "status_details")},
      {"issuer", issuer},
      {"request id", TextField(op, "request_id")},
      {"cancel requested", TextField(op, "cancellation_requested") == "true" ? "true" : ""},
      {"target", TextField(op, "target")},
      {"error", error}};
  std::string out = RenderFields(fields);
  if (with_csr) {
    if (auto pem = Base64DerToPem("CERTIFICATE REQUEST", TextField(op, "csr"));
        pem && !TextField(op, "csr").empty()) {
      out += *pem;
    }
  }
  return out;
}

std::string SecretView(const json& bundle) {
  const json& attrs = Attributes(bundle);
  std::string id = TextField(bundle, "id");
  return RenderFields({{"name", NameFromId(id)},
                       {"version", VersionFromId(id)},
                       {"enabled", TextField(attrs, "enabled")},
                       {"content type", TextField(bundle, "contentType")},
                       {"managed", TextField(bundle, "managed") == "true" ? "true" : ""},
                       {"expires", TimeField(attrs, "exp")},
                       {"created", TimeField(attrs, "created")},
                       {"updated", TimeField(attrs, "updated")},
                       {"tags", TagsText(bundle)},
                       {"id", id}});
}

std::string DeletedSecretView(const json& bundle) {
  Fields fields{{"name", NameFromId(TextField(bundle, "id"))}};
  AddDeletionFields(bundle, fields);
  return RenderFields(fields);
}

std::string SecretListView(const std::vector<json>& items) {
  std::vector<Row> rows;
  for (const auto& item : items) {
    const json& attrs = Attributes(item);
    rows.push_back({NameFromId(TextField(item, "id")), TextField(attrs, "enabled"),
                    TextField(item, "contentType"), TimeField(attrs, "updated"),
                    TextField(item, "managed") == "true" ? "yes" : ""});
  }
  return RenderTable({"name", "enabled", "content type", "updated", "managed"}, rows);
}

std::string VaultView(const json& vault) {
  return RenderFields({{"name", TextField(vault, "name")},
                       {"created", TimeField(vault, "created")},
                       {"url", TextField(vault, "url")}});
}

std::string VaultListView(const std::vector<json>& vaults) {
  std::vector<Row> rows;
  for (const auto& v : vaults) {
    rows.push_back({TextField(v, "name"), TimeField(v, "created"), TextField(v, "url")});
  }
  return RenderTable({"name", "created", "url"}, rows);
}

}  // namespace certvault::cli
