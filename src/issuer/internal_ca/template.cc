#include "issuer/internal_ca/template.h"

#include <algorithm>
#include <vector>

#include "common/text.h"
#include "common/time_text.h"

namespace certvault::issuer::internal_ca {
namespace {

constexpr int64_t kClockSkew = 300;      // default backdating of not_before
constexpr int64_t kMaxBackdate = 86400;  // how far a requested not_before may lie in the past

std::string Join(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& item : list) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

bool Contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// At most 253 characters of untrusted text, for messages.
std::string Quote(std::string_view text) { return std::string(text.substr(0, 253)); }

Error Refused(const Template& tmpl, const std::string& what) {
  return Refusal("template " + tmpl.name + ": " + what);
}

// The CN values of a subject rendered by crypto ("CN=a, O=b"). A quoted value that contains
// ", CN=" can yield an extra value; that only ever makes the check stricter.
std::vector<std::string> CommonNames(std::string_view subject) {
  std::vector<std::string> names;
  size_t start = 0;
  while (start <= subject.size()) {
    size_t end = subject.find(", ", start);
    if (end == std::string_view::npos) end = subject.size();
    const std::string_view part = subject.substr(start, end - start);
    if (part.size() > 3 && EqualsIgnoreCase(part.substr(0, 3), "CN=")) {
      names.emplace_back(part.substr(3));
    }
    start = end + 2;
  }
  return names;
}

// A CN that relying parties might take for a host name: dotted letters, digits and hyphens.
bool LooksLikeHostName(std::string_view cn) {
  if (cn.find('.') == std::string_view::npos) return false;
  return std::all_of(cn.begin(), cn.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '*';
  });
}

Status CheckDnsName(const Template& tmpl, std::string_view name, std::string_view what) {
  const std::string lower = AsciiLower(name);
  if (lower.find('*') != std::string::npos && !tmpl.allow_wildcards) {
    return Fail(Refused(tmpl, std::string(what) + " " + Quote(name) +
                                  " is a wildcard name, which the template does not allow"));
  }
  if (tmpl.dns_names.empty()) return Ok();
  for (const auto& pattern : tmpl.dns_names) {
    if (DnsNameMatches(pattern, lower)) return Ok();
  }
  return Fail(Refused(tmpl, std::string(what) + " " + Quote(name) +
                                " is not allowed (allowed: " + Join(tmpl.dns_names) + ")"));
}

Status CheckSanKinds(const Template& tmpl, const crypto::SubjectAltNames& sans) {
  const struct {
    const char* kind;
    const std::vector<std::string>& values;
  } present[] = {{"dns", sans.dns_names},
                 {"ip", sans.ip_addresses},
                 {"email", sans.emails},
                 {"uri", sans.uris},
                 {"upn", sans.upns}};
  for (const auto& [kind, values] : present) {
    if (!values.empty() && !Contains(tmpl.san_kinds, kind)) {
      return Fail(Refused(tmpl, std::string(kind) + " subject alternative names (" +
                                    Quote(values.front()) + ") are not allowed (allowed kinds: " +
                                    (tmpl.san_kinds.empty() ? "none" : Join(tmpl.san_kinds)) +
                                    ")"));
    }
  }
  return Ok();
}

}  // namespace

Error Refusal(std::string message) {
  return Error(ErrorKind::kBadRequest, kRefusedCode, std::move(message));
}

std::string KeyTypeName(const crypto::PublicKey& key) {
  const crypto::KeySpec spec = key.Spec();
  if (spec.kind == crypto::KeyKind::kRsa) return "RSA-" + std::to_string(spec.rsa_bits);
  std::string curve = spec.curve;
  if (curve.starts_with("P-")) curve.erase(1, 1);
  return "EC-" + curve;
}

bool DnsNameMatches(std::string_view pattern, std::string_view name) {
  if (pattern.starts_with("*.")) {
    const std::string_view suffix = pattern.substr(1);  // ".example.test"
    if (name.size() <= suffix.size() || !name.ends_with(suffix)) return false;
    const std::string_view label = name.substr(0, name.size() - suffix.size());
    return label.find('.') == std::string_view::npos;
  }
  return name == pattern;
}

Result<crypto::CertificateSpec> ApplyTemplate(const Template& tmpl, const crypto::CsrInfo& csr) {
  const std::string key_type = KeyTypeName(csr.public_key);
  if (!Contains(tmpl.key_types, key_type)) {
    return Fail(Refused(
        tmpl, "key type " + key_type + " is not allowed (allowed: " + Join(tmpl.key_types) + ")"));
  }
  if (csr.spec.is_ca) {
    return Fail(Refused(tmpl,
                        "the request asks for a CA certificate; this CA issues "
                        "end-entity certificates only"));
  }
  CV_RETURN_IF_ERROR(CheckSanKinds(tmpl, csr.spec.sans));
  for (const auto& name : csr.spec.sans.dns_names) {
    CV_RETURN_IF_ERROR(CheckDnsName(tmpl, name, "DNS name"));
  }
  for (const auto& cn : CommonNames(csr.spec.subject)) {
    if (LooksLikeHostName(cn)) CV_RETURN_IF_ERROR(CheckDnsName(tmpl, cn, "subject CN"));
  }
  if (tmpl.subject_required && csr.spec.subject.empty()) {
    return Fail(Refused(tmpl, "the request has an empty subject, and the template requires one"));
  }

  crypto::CertificateSpec spec;
  spec.subject = csr.spec.subject;
  spec.sans = csr.spec.sans;
  spec.is_ca = false;
  if (tmpl.key_usage) {
    spec.key_usage = *tmpl.key_usage;
  } else {
    for (const auto& usage : csr.spec.key_usage) {
      if (usage == "keyCertSign" || usage == "cRLSign") {
        return Fail(Refused(tmpl, "key usage " + usage +
                                      " is not allowed: this CA issues end-entity certificates "
                                      "only"));
      }
    }
    spec.key_usage = csr.spec.key_usage;
  }
  spec.ekus = tmpl.ekus ? *tmpl.ekus : csr.spec.ekus;
  return spec;
}

Result<Validity> ValidityFor(const Template& tmpl, int64_t requested_not_before,
                             int64_t requested_not_after, int64_t now,
                             const crypto::Certificate& ca) {
  if (requested_not_before != 0 && requested_not_after != 0 &&
      requested_not_after <= requested_not_before) {
    return Fail(Error::BadParameter("the requested validity period ends before it starts"));
  }
  Validity v;
  v.not_before = requested_not_before != 0 ? requested_not_before : now - kClockSkew;
  v.not_before = std::max({v.not_before, now - kMaxBackdate, ca.NotBefore()});
  v.not_after = v.not_before + tmpl.max_validity;
  if (requested_not_after != 0) v.not_after = std::min(v.not_after, requested_not_after);
  v.not_after = std::min(v.not_after, ca.NotAfter());
  if (ca.NotAfter() <= std::max(now, v.not_before)) {
    return Fail(Refusal("the CA certificate (" + ca.Subject() + ") is valid until " +
                        FormatRfc3339Millis(ca.NotAfter() * 1000) +
                        ", which leaves no validity for the requested period"));
  }
  if (v.not_after <= v.not_before || v.not_after <= now) {
    return Fail(Error::BadParameter("the requested validity period ends before it starts"));
  }
  return v;
}

}  // namespace certvault::issuer::internal_ca
