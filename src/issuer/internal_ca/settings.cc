#include "issuer/internal_ca/settings.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/text.h"
#include "issuer/internal_ca/template.h"
#include "model/codec.h"

namespace certvault::issuer::internal_ca {
namespace {

using nlohmann::json;

Error Bad(std::string_view field, std::string_view what) {
  return Error::BadParameter("settings." + std::string(field) + ": " + std::string(what));
}

bool Contains(const auto& list, std::string_view value) {
  return std::find(std::begin(list), std::end(list), value) != std::end(list);
}

std::string Join(const auto& list) {
  std::string out;
  for (const auto& item : list) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

Status RefuseUnknownMembers(const json& j, std::string_view where,
                            std::initializer_list<const char*> known) {
  for (const auto& [key, value] : j.items()) {
    bool found = false;
    for (const char* k : known) found = found || key == k;
    if (!found) {
      return Fail(
          Bad(std::string(where) + key, "unknown member (expected one of " + Join(known) + ")"));
    }
  }
  return Ok();
}

Result<std::vector<std::string>> StringList(const json& v, const std::string& field) {
  if (!v.is_array()) return Fail(Bad(field, "must be an array of strings"));
  if (v.size() > 256) return Fail(Bad(field, "has more than 256 entries"));
  std::vector<std::string> out;
  for (const json& item : v) {
    if (!item.is_string() || item.get<std::string>().empty()) {
      return Fail(Bad(field, "must be an array of non-empty strings"));
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<bool> Bool(const json& v, const std::string& field) {
  if (!v.is_boolean()) return Fail(Bad(field, "must be true or false"));
  return v.get<bool>();
}

// "RSA-2048", "rsa2048", "EC-P-256", "ec-p256" -> canonical.
Result<std::string> KeyType(const std::string& text, const std::string& field) {
  std::string squeezed;
  for (char c : AsciiLower(text)) {
    if (c != '-' && c != '_') squeezed += c;
  }
  for (const char* type : kKeyTypes) {
    std::string canonical = AsciiLower(type);
    std::erase(canonical, '-');
    if (squeezed == canonical) return std::string(type);
  }
  return Fail(
      Bad(field, "unknown key type \"" + text + "\" (expected one of " + Join(kKeyTypes) + ")"));
}

// Checks key usage names and EKU OIDs by encoding them the way issuing will.
Status CheckSetValues(const Template& t, const std::string& where) {
  if (t.key_usage) {
    for (const auto& usage : *t.key_usage) {
      if (usage == "keyCertSign" || usage == "cRLSign") {
        return Fail(Bad(where + "key_usage",
                        usage + " is not allowed: this CA issues end-entity certificates only"));
      }
    }
    crypto::CertificateSpec spec;
    spec.subject = "CN=check";
    spec.key_usage = *t.key_usage;
    auto ok = crypto::ValidateCertificateSpec(spec);
    if (!ok) return Fail(Bad(where + "key_usage", ok.error().message()));
  }
  if (t.ekus) {
    crypto::CertificateSpec spec;
    spec.subject = "CN=check";
    spec.ekus = *t.ekus;
    auto ok = crypto::ValidateCertificateSpec(spec);
    if (!ok) return Fail(Bad(where + "ekus", ok.error().message()));
  }
  return Ok();
}

Result<Template> ParseTemplate(const std::string& name, const json& j) {
  const std::string where = "templates." + name + ".";
  if (!j.is_object()) return Fail(Bad("templates." + name, "must be a JSON object"));
  CV_RETURN_IF_ERROR(
      RefuseUnknownMembers(j, where,
                           {"key_types", "key_usage", "ekus", "max_validity", "dns_names",
                            "allow_wildcards", "san_kinds", "subject_required"}));
  Template t;
  t.name = name;
  if (j.contains("key_types")) {
    CV_ASSIGN_OR_RETURN(auto types, StringList(j["key_types"], where + "key_types"));
    if (types.empty()) return Fail(Bad(where + "key_types", "must name at least one key type"));
    for (const auto& type : types) {
      CV_ASSIGN_OR_RETURN(std::string canonical, KeyType(type, where + "key_types"));
      if (!Contains(t.key_types, canonical)) t.key_types.push_back(std::move(canonical));
    }
  } else {
    t.key_types.assign(std::begin(kKeyTypes), std::end(kKeyTypes));
  }
  if (j.contains("key_usage")) {
    CV_ASSIGN_OR_RETURN(t.key_usage, StringList(j["key_usage"], where + "key_usage"));
  }
  if (j.contains("ekus")) {
    CV_ASSIGN_OR_RETURN(t.ekus, StringList(j["ekus"], where + "ekus"));
  }
  CV_RETURN_IF_ERROR(CheckSetValues(t, where));
  if (j.contains("max_validity")) {
    const json& v = j["max_validity"];
    const Error not_duration =
        Bad(where + "max_validity", "must be an ISO 8601 duration such as \"P90D\"");
    if (!v.is_string()) return Fail(not_duration);
    auto seconds = model::ParseIsoDuration(v.get<std::string>());
    if (!seconds) return Fail(not_duration);
    if (*seconds < 60) return Fail(Bad(where + "max_validity", "must be at least PT1M"));
    t.max_validity = *seconds;
  }
  if (j.contains("dns_names")) {
    CV_ASSIGN_OR_RETURN(auto patterns, StringList(j["dns_names"], where + "dns_names"));
    if (patterns.empty()) {
      return Fail(Bad(where + "dns_names",
                      "must name at least one pattern (leave it out to allow any name)"));
    }
    for (const auto& pattern : patterns) {
      std::string lower = AsciiLower(pattern);
      if (!crypto::IsValidDnsName(lower)) {
        return Fail(Bad(where + "dns_names",
                        "\"" + pattern + "\" is neither a DNS name nor \"*.\" followed by one"));
      }
      t.dns_names.push_back(std::move(lower));
    }
  }
  if (j.contains("allow_wildcards")) {
    CV_ASSIGN_OR_RETURN(t.allow_wildcards, Bool(j["allow_wildcards"], where + "allow_wildcards"));
  }
  if (j.contains("san_kinds")) {
    CV_ASSIGN_OR_RETURN(auto kinds, StringList(j["san_kinds"], where + "san_kinds"));
    for (const auto& kind : kinds) {
      const std::string lower = AsciiLower(kind);
      if (!Contains(kSanKinds, lower)) {
        return Fail(Bad(where + "san_kinds",
                        "unknown kind \"" + kind + "\" (expected one of " + Join(kSanKinds) + ")"));
      }
      if (!Contains(t.san_kinds, lower)) t.san_kinds.push_back(lower);
    }
  } else {
    t.san_kinds.assign(std::begin(kSanKinds), std::end(kSanKinds));
  }
  if (j.contains("subject_required")) {
    CV_ASSIGN_OR_RETURN(t.subject_required,
                        Bool(j["subject_required"], where + "subject_required"));
  }
  return t;
}

Result<std::vector<crypto::Certificate>> ParseCaChain(const json& v) {
  if (!v.is_string()) return Fail(Bad("ca_certificate", "must be a PEM string"));
  auto certs = crypto::ParsePemCertificates(v.get<std::string>());
  if (!certs) return Fail(Bad("ca_certificate", certs.error().message()));
  const crypto::Certificate& ca = certs->front();
  if (!ca.IsCa()) {
    return Fail(Bad("ca_certificate",
                    "the first certificate (" + ca.Subject() + ") is not a CA certificate"));
  }
  const auto usage = ca.KeyUsage();
  for (const char* needed : {"keyCertSign", "cRLSign"}) {
    if (!usage.empty() && !Contains(usage, needed)) {
      return Fail(
          Bad("ca_certificate", "the CA certificate's key usage lacks " + std::string(needed)));
    }
  }
  for (size_t i = 1; i < certs->size(); ++i) {
    if (!(*certs)[i - 1].IsIssuedBy((*certs)[i])) {
      return Fail(Bad("ca_certificate", "certificate " + std::to_string(i + 1) +
                                            " did not issue certificate " + std::to_string(i) +
                                            " (list the CA certificate first, then its issuers)"));
    }
  }
  return *std::move(certs);
}

const Template& PermissiveTemplate() {
  static const Template permissive = [] {
    Template t;
    t.name = "(built-in)";
    t.key_types.assign(std::begin(kKeyTypes), std::end(kKeyTypes));
    t.allow_wildcards = true;
    t.san_kinds.assign(std::begin(kSanKinds), std::end(kSanKinds));
    return t;
  }();
  return permissive;
}

}  // namespace

Result<Settings> ParseSettings(std::string_view text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Fail(Error::BadParameter("settings: must be a JSON object"));
  CV_RETURN_IF_ERROR(
      RefuseUnknownMembers(j, "", {"templates", "default_template", "ca_certificate"}));
  Settings s;
  if (j.contains("templates")) {
    const json& templates = j["templates"];
    if (!templates.is_object()) return Fail(Bad("templates", "must be a JSON object"));
    for (const auto& [name, value] : templates.items()) {
      if (name.empty() || name.size() > 128) {
        return Fail(Bad("templates", "template names must have 1 to 128 characters"));
      }
      CV_ASSIGN_OR_RETURN(Template t, ParseTemplate(name, value));
      if (!s.templates.emplace(AsciiLower(name), std::move(t)).second) {
        return Fail(Bad("templates", "two templates are named \"" + name +
                                         "\" (names compare case-insensitively)"));
      }
    }
  }
  if (j.contains("default_template")) {
    const json& v = j["default_template"];
    if (!v.is_string()) return Fail(Bad("default_template", "must be a string"));
    s.default_template = AsciiLower(v.get<std::string>());
    if (!s.default_template.empty() && !s.templates.contains(s.default_template)) {
      return Fail(Bad("default_template",
                      "names no template in settings.templates: \"" + v.get<std::string>() + "\""));
    }
  }
  if (j.contains("ca_certificate") && j["ca_certificate"] != "") {
    CV_ASSIGN_OR_RETURN(s.ca_chain, ParseCaChain(j["ca_certificate"]));
  }
  return s;
}

Result<Template> SelectTemplate(const Settings& settings, std::string_view cty) {
  if (cty.empty()) {
    if (settings.templates.empty()) return PermissiveTemplate();
    if (settings.default_template.empty()) {
      std::vector<std::string> names;
      for (const auto& [key, t] : settings.templates) names.push_back(t.name);
      return Fail(
          Refusal("the policy names no template (issuer.cty) and the issuer has no "
                  "default_template (templates: " +
                  Join(names) + ")"));
    }
    return settings.templates.at(settings.default_template);
  }
  auto it = settings.templates.find(AsciiLower(cty));
  if (it == settings.templates.end()) {
    std::vector<std::string> names;
    for (const auto& [key, t] : settings.templates) names.push_back(t.name);
    return Fail(Refusal("template " + std::string(cty.substr(0, 128)) + " is not defined" +
                        (names.empty() ? std::string(" (the issuer defines no templates)")
                                       : " (templates: " + Join(names) + ")")));
  }
  return it->second;
}

}  // namespace certvault::issuer::internal_ca
