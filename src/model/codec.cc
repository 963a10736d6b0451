#include "model/codec.h"

#include <cctype>
#include <nlohmann/json.hpp>
#include <string>

namespace certvault::model {

using nlohmann::json;

namespace {

Status Expect(const json& j, json::value_t type, const char* field) {
  const bool ok = j.type() == type ||
                  (type == json::value_t::number_integer && j.is_number_integer()) ||
                  (type == json::value_t::number_unsigned && j.is_number_integer());
  if (!ok) {
    return Fail(Error::BadParameter(std::string("'") + field + "' has the wrong type"));
  }
  return Ok();
}

Result<std::string> GetString(const json& j, const char* field) {
  CV_RETURN_IF_ERROR(Expect(j, json::value_t::string, field));
  return j.get<std::string>();
}

Result<bool> GetBool(const json& j, const char* field) {
  CV_RETURN_IF_ERROR(Expect(j, json::value_t::boolean, field));
  return j.get<bool>();
}

Result<int64_t> GetInt(const json& j, const char* field) {
  if (!j.is_number_integer()) {
    return Fail(Error::BadParameter(std::string("'") + field + "' must be an integer"));
  }
  return j.get<int64_t>();
}

Result<std::vector<std::string>> GetStrings(const json& j, const char* field) {
  if (!j.is_array()) {
    return Fail(Error::BadParameter(std::string("'") + field + "' must be an array of strings"));
  }
  std::vector<std::string> out;
  for (const auto& item : j) {
    CV_ASSIGN_OR_RETURN(auto s, GetString(item, field));
    out.push_back(std::move(s));
  }
  return out;
}

// Finds `key` in object `j`; null values count as absent (the SDK sends nulls for unset fields).
const json* Find(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

Status RequireObject(const json& j, const char* what) {
  if (!j.is_object()) {
    return Fail(Error::BadParameter(std::string("'") + what + "' must be a JSON object"));
  }
  return Ok();
}

json StringsOrEmpty(const std::vector<std::string>& v) { return v; }

}  // namespace

json AttributesToJson(const Attributes& a) {
  json j = {{"enabled", a.enabled}, {"created", a.created}, {"updated", a.updated}};
  if (a.nbf) j["nbf"] = *a.nbf;
  if (a.exp) j["exp"] = *a.exp;
  return j;
}

Status MergeAttributesFromJson(const json& j, Attributes& a) {
  CV_RETURN_IF_ERROR(RequireObject(j, "attributes"));
  if (const json* v = Find(j, "enabled")) {
    CV_ASSIGN_OR_RETURN(a.enabled, GetBool(*v, "attributes.enabled"));
  }
  if (const json* v = Find(j, "nbf")) {
    CV_ASSIGN_OR_RETURN(a.nbf, GetInt(*v, "attributes.nbf"));
  }
  if (const json* v = Find(j, "exp")) {
    CV_ASSIGN_OR_RETURN(a.exp, GetInt(*v, "attributes.exp"));
  }
  return Ok();
}

json TagsToJson(const Tags& tags) {
  json j = json::object();
  for (const auto& [k, v] : tags) j[k] = v;
  return j;
}

Result<Tags> TagsFromJson(const json& j) {
  CV_RETURN_IF_ERROR(RequireObject(j, "tags"));
  if (j.size() > 15) return Fail(Error::BadParameter("at most 15 tags are allowed"));
  Tags tags;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) return Fail(Error::BadParameter("tag values must be strings"));
    if (k.empty() || k.size() > 512 || v.get_ref<const std::string&>().size() > 512) {
      return Fail(Error::BadParameter("tag names and values must be 1-512 characters"));
    }
    tags[k] = v.get<std::string>();
  }
  return tags;
}

json PolicyToJson(const CertificatePolicy& p) {
  json key = {{"exportable", p.key.exportable}, {"kty", p.key.kty}, {"reuse_key", p.key.reuse_key}};
  if (p.key.kty.rfind("RSA", 0) == 0) {
    key["key_size"] = p.key.key_size;
  } else {
    key["crv"] = p.key.curve;
  }
  json sans = json::object();
  if (!p.x509.sans.dns_names.empty()) sans["dns_names"] = StringsOrEmpty(p.x509.sans.dns_names);
  if (!p.x509.sans.emails.empty()) sans["emails"] = StringsOrEmpty(p.x509.sans.emails);
  if (!p.x509.sans.upns.empty()) sans["upns"] = StringsOrEmpty(p.x509.sans.upns);
  if (!p.x509.sans.uris.empty()) sans["uris"] = StringsOrEmpty(p.x509.sans.uris);
  if (!p.x509.sans.ip_addresses.empty()) {
    sans["ipAddresses"] = StringsOrEmpty(p.x509.sans.ip_addresses);
  }
  json x509 = {{"subject", p.x509.subject},
               {"ekus", StringsOrEmpty(p.x509.ekus)},
               {"key_usage", StringsOrEmpty(p.x509.key_usage)},
               {"validity_months", p.x509.validity_months}};
  if (!sans.empty()) x509["sans"] = sans;
  if (!p.x509.validity_duration.empty()) x509["validity_duration"] = p.x509.validity_duration;
  json actions = json::array();
  for (const auto& a : p.lifetime_actions) {
    json trigger = json::object();
    if (a.lifetime_percentage) trigger["lifetime_percentage"] = *a.lifetime_percentage;
    if (a.days_before_expiry) trigger["days_before_expiry"] = *a.days_before_expiry;
    actions.push_back({{"trigger", trigger}, {"action", {{"action_type", a.action_type}}}});
  }
  json issuer = {{"name", p.issuer.name}};
  if (!p.issuer.cty.empty()) issuer["cty"] = p.issuer.cty;
  if (p.issuer.cert_transparency) issuer["cert_transparency"] = *p.issuer.cert_transparency;
  return {{"key_props", key},   {"secret_props", {{"contentType", p.content_type}}},
          {"x509_props", x509}, {"lifetime_actions", actions},
          {"issuer", issuer},   {"attributes", AttributesToJson(p.attributes)}};
}

namespace {

Status MergeKeyProps(const json& j, KeyProps& k) {
  CV_RETURN_IF_ERROR(RequireObject(j, "key_props"));
  if (const json* v = Find(j, "kty")) {
    CV_ASSIGN_OR_RETURN(k.kty, GetString(*v, "key_props.kty"));
  }
  if (const json* v = Find(j, "key_size")) {
    CV_ASSIGN_OR_RETURN(int64_t size, GetInt(*v, "key_props.key_size"));
    k.key_size = static_cast<int>(size);
  }
  if (const json* v = Find(j, "crv")) {
    CV_ASSIGN_OR_RETURN(k.curve, GetString(*v, "key_props.crv"));
  }
  if (const json* v = Find(j, "exportable")) {
    CV_ASSIGN_OR_RETURN(k.exportable, GetBool(*v, "key_props.exportable"));
  }
  if (const json* v = Find(j, "reuse_key")) {
    CV_ASSIGN_OR_RETURN(k.reuse_key, GetBool(*v, "key_props.reuse_key"));
  }
  return Ok();
}

Status MergeSans(const json& j, SubjectAltNames& s) {
  CV_RETURN_IF_ERROR(RequireObject(j, "x509_props.sans"));
  struct Field {
    const char* name;
    std::vector<std::string>* out;
  };
  for (const Field& f :
       {Field{"dns_names", &s.dns_names}, Field{"emails", &s.emails}, Field{"upns", &s.upns},
        Field{"uris", &s.uris}, Field{"ipAddresses", &s.ip_addresses},
        Field{"ip_addresses", &s.ip_addresses}}) {
    if (const json* v = Find(j, f.name)) {
      CV_ASSIGN_OR_RETURN(*f.out, GetStrings(*v, f.name));
    }
  }
  return Ok();
}

Status MergeX509Props(const json& j, X509Props& x) {
  CV_RETURN_IF_ERROR(RequireObject(j, "x509_props"));
  if (const json* v = Find(j, "subject")) {
    CV_ASSIGN_OR_RETURN(x.subject, GetString(*v, "x509_props.subject"));
  }
  if (const json* v = Find(j, "sans")) CV_RETURN_IF_ERROR(MergeSans(*v, x.sans));
  if (const json* v = Find(j, "ekus")) {
    CV_ASSIGN_OR_RETURN(x.ekus, GetStrings(*v, "x509_props.ekus"));
  }
  if (const json* v = Find(j, "key_usage")) {
    CV_ASSIGN_OR_RETURN(x.key_usage, GetStrings(*v, "x509_props.key_usage"));
  }
  if (const json* v = Find(j, "validity_months")) {
    CV_ASSIGN_OR_RETURN(int64_t months, GetInt(*v, "x509_props.validity_months"));
    if (months < 1 || months > 1200) {
      return Fail(Error::BadParameter("'x509_props.validity_months' must be 1-1200"));
    }
    x.validity_months = static_cast<int>(months);
  }
  if (const json* v = Find(j, "validity_duration")) {
    CV_ASSIGN_OR_RETURN(x.validity_duration, GetString(*v, "x509_props.validity_duration"));
  }
  return Ok();
}

Status MergeLifetimeActions(const json& j, std::vector<LifetimeAction>& out) {
  if (!j.is_array()) return Fail(Error::BadParameter("'lifetime_actions' must be an array"));
  std::vector<LifetimeAction> actions;
  for (const auto& item : j) {
    CV_RETURN_IF_ERROR(RequireObject(item, "lifetime_actions[]"));
    LifetimeAction a;
    a.action_type.clear();
    if (const json* t = Find(item, "trigger")) {
      CV_RETURN_IF_ERROR(RequireObject(*t, "lifetime_actions[].trigger"));
      if (const json* v = Find(*t, "lifetime_percentage")) {
        CV_ASSIGN_OR_RETURN(int64_t pct, GetInt(*v, "trigger.lifetime_percentage"));
        a.lifetime_percentage = static_cast<int>(pct);
      }
      if (const json* v = Find(*t, "days_before_expiry")) {
        CV_ASSIGN_OR_RETURN(int64_t days, GetInt(*v, "trigger.days_before_expiry"));
        a.days_before_expiry = static_cast<int>(days);
      }
    }
    if (const json* act = Find(item, "action")) {
      CV_RETURN_IF_ERROR(RequireObject(*act, "lifetime_actions[].action"));
      if (const json* v = Find(*act, "action_type")) {
        CV_ASSIGN_OR_RETURN(a.action_type, GetString(*v, "action.action_type"));
      }
    }
    actions.push_back(std::move(a));
  }
  out = std::move(actions);
  return Ok();
}

}  // namespace

Status MergePolicyFromJson(const json& j, CertificatePolicy& p) {
  CV_RETURN_IF_ERROR(RequireObject(j, "policy"));
  if (const json* v = Find(j, "key_props")) CV_RETURN_IF_ERROR(MergeKeyProps(*v, p.key));
  // Key Vault's curve for an EC key when none is named.
  if (p.key.kty.rfind("EC", 0) == 0 && p.key.curve.empty()) p.key.curve = "P-256";
  if (const json* v = Find(j, "secret_props")) {
    CV_RETURN_IF_ERROR(RequireObject(*v, "secret_props"));
    if (const json* ct = Find(*v, "contentType")) {
      CV_ASSIGN_OR_RETURN(p.content_type, GetString(*ct, "secret_props.contentType"));
    }
  }
  if (const json* v = Find(j, "x509_props")) CV_RETURN_IF_ERROR(MergeX509Props(*v, p.x509));
  if (const json* v = Find(j, "lifetime_actions")) {
    CV_RETURN_IF_ERROR(MergeLifetimeActions(*v, p.lifetime_actions));
  }
  if (const json* v = Find(j, "issuer")) {
    CV_RETURN_IF_ERROR(RequireObject(*v, "issuer"));
    if (const json* n = Find(*v, "name")) {
      CV_ASSIGN_OR_RETURN(p.issuer.name, GetString(*n, "issuer.name"));
    }
    if (const json* c = Find(*v, "cty")) {
      CV_ASSIGN_OR_RETURN(p.issuer.cty, GetString(*c, "issuer.cty"));
    }
    if (const json* c = Find(*v, "cert_transparency")) {
      CV_ASSIGN_OR_RETURN(p.issuer.cert_transparency, GetBool(*c, "issuer.cert_transparency"));
    }
  }
  if (const json* v = Find(j, "attributes")) {
    CV_RETURN_IF_ERROR(MergeAttributesFromJson(*v, p.attributes));
  }
  return Ok();
}

Status ValidatePolicy(const CertificatePolicy& p) {
  const std::string& kty = p.key.kty;
  if (kty == "RSA" || kty == "RSA-HSM") {
    if (p.key.key_size != 2048 && p.key.key_size != 3072 && p.key.key_size != 4096) {
      return Fail(Error::BadParameter("RSA key_size must be 2048, 3072 or 4096"));
    }
  } else if (kty == "EC" || kty == "EC-HSM") {
    if (p.key.curve != "P-256" && p.key.curve != "P-384" && p.key.curve != "P-521") {
      return Fail(Error::BadParameter("EC crv must be P-256, P-384 or P-521"));
    }
  } else {
    return Fail(Error::BadParameter("key_props.kty must be RSA or EC"));
  }
  if (p.content_type != "application/x-pkcs12" && p.content_type != "application/x-pem-file") {
    return Fail(Error::BadParameter(
        "secret_props.contentType must be application/x-pkcs12 or application/x-pem-file"));
  }
  for (const auto& a : p.lifetime_actions) {
    if (a.lifetime_percentage.has_value() == a.days_before_expiry.has_value()) {
      return Fail(Error::BadParameter(
          "each lifetime action needs exactly one of lifetime_percentage or days_before_expiry"));
    }
    if (a.lifetime_percentage && (*a.lifetime_percentage < 1 || *a.lifetime_percentage > 99)) {
      return Fail(Error::BadParameter("lifetime_percentage must be 1-99"));
    }
    if (a.days_before_expiry && *a.days_before_expiry < 1) {
      return Fail(Error::BadParameter("days_before_expiry must be at least 1"));
    }
    if (a.action_type != "AutoRenew" && a.action_type != "EmailContacts") {
      return Fail(Error::BadParameter("action_type must be AutoRenew or EmailContacts"));
    }
  }
  if (p.lifetime_actions.size() > 2) {
    return Fail(Error::BadParameter("at most two lifetime actions are allowed"));
  }
  if (!p.x509.validity_duration.empty()) {
    CV_ASSIGN_OR_RETURN(int64_t seconds, ParseIsoDuration(p.x509.validity_duration));
    if (seconds < 60) {
      return Fail(Error::BadParameter("x509_props.validity_duration must be at least PT1M"));
    }
  }
  if (p.issuer.name.empty()) return Fail(Error::BadParameter("issuer.name must not be empty"));
  return Ok();
}

json ContactToJson(const Contact& c) {
  json j = json::object();
  if (!c.email.empty()) j["email"] = c.email;
  if (!c.name.empty()) j["name"] = c.name;
  if (!c.phone.empty()) j["phone"] = c.phone;
  return j;
}

Result<Contact> ContactFromJson(const json& j) {
  CV_RETURN_IF_ERROR(RequireObject(j, "contacts[]"));
  Contact c;
  if (const json* v = Find(j, "email")) {
    CV_ASSIGN_OR_RETURN(c.email, GetString(*v, "email"));
  }
  if (const json* v = Find(j, "name")) {
    CV_ASSIGN_OR_RETURN(c.name, GetString(*v, "name"));
  }
  if (const json* v = Find(j, "phone")) {
    CV_ASSIGN_OR_RETURN(c.phone, GetString(*v, "phone"));
  }
  if (c.email.empty() && c.name.empty() && c.phone.empty()) {
    return Fail(Error::BadParameter("a contact needs an email, a name or a phone"));
  }
  return c;
}

Result<int64_t> ParseIsoDuration(std::string_view text) {
  auto bad = [&] {
    return Fail(Error::BadParameter("'" + std::string(text.substr(0, 64)) +
                                    "' is not an ISO 8601 duration such as PT10M or P7D"));
  };
  if (text.size() < 3 || text.size() > 64 || text[0] != 'P') return bad();
  int64_t total = 0;
  bool in_time = false;
  bool any = false;
  bool any_time = false;  // "P1DT" names no time component and is malformed
  int64_t number = -1;
  for (size_t i = 1; i < text.size(); ++i) {
    const char c = text[i];
    if (c == 'T') {
      if (in_time || number >= 0) return bad();
      in_time = true;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      number = (number < 0 ? 0 : number) * 10 + (c - '0');
      if (number > 1000000000) return bad();
      continue;
    }
    if (number < 0) return bad();
    int64_t unit = 0;
    if (!in_time) {
      switch (c) {
        case 'Y':
          unit = 365 * 86400;
          break;
        case 'M':
          unit = 30 * 86400;
          break;
        case 'W':
          unit = 7 * 86400;
          break;
        case 'D':
          unit = 86400;
          break;
        default:
          return bad();
      }
    } else {
      switch (c) {
        case 'H':
          unit = 3600;
          break;
        case 'M':
          unit = 60;
          break;
        case 'S':
          unit = 1;
          break;
        default:
          return bad();
      }
    }
    total += number * unit;
    any_time = any_time || in_time;
    if (total > int64_t{100} * 365 * 86400) return bad();
    number = -1;
    any = true;
  }
  if (!any || number >= 0 || (in_time && !any_time)) return bad();
  return total;
}

Result<int64_t> PolicyValiditySeconds(const X509Props& x509) {
  if (!x509.validity_duration.empty()) return ParseIsoDuration(x509.validity_duration);
  // Key Vault counts a month as the calendar month; 30.4 days is close enough for issuing and
  // keeps the computation independent of the start date.
  return static_cast<int64_t>(x509.validity_months) * 2629746;
}

LifetimeAction DefaultLifetimeAction() {
  LifetimeAction a;
  a.lifetime_percentage = 80;
  a.action_type = "AutoRenew";
  return a;
}

}  // namespace certvault::model
