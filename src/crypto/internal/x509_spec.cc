#include "crypto/internal/x509_spec.h"

#include <arpa/inet.h>
#include <openssl/asn1.h>
#include <openssl/objects.h>

#include <array>
#include <cctype>

#include "common/text.h"

namespace certvault::crypto::internal {

namespace {

// --- Subject DN ---

struct Attribute {
  std::string key;
  std::string value;
};

bool IsSeparator(char c) { return c == ',' || c == ';'; }
bool IsBlank(char c) { return c == ' ' || c == '\t'; }

Error SubjectError(const std::string& what) {
  return Error::BadParameter("invalid subject: " + what);
}

Result<std::vector<Attribute>> SplitSubject(std::string_view s) {
  std::vector<Attribute> attrs;
  size_t i = 0;
  auto skip_blanks = [&] {
    while (i < s.size() && IsBlank(s[i])) ++i;
  };
  skip_blanks();
  if (i == s.size()) return attrs;
  while (true) {
    Attribute attr;
    skip_blanks();
    const size_t key_start = i;
    while (i < s.size() && s[i] != '=' && !IsSeparator(s[i])) ++i;
    if (i == s.size() || s[i] != '=') return Fail(SubjectError("expected KEY=value"));
    std::string_view key = s.substr(key_start, i - key_start);
    while (!key.empty() && IsBlank(key.back())) key.remove_suffix(1);
    if (key.empty()) return Fail(SubjectError("missing attribute name before '='"));
    attr.key = std::string(key);
    ++i;  // '='
    skip_blanks();
    if (i < s.size() && s[i] == '"') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        const char c = s[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\') {
          if (i == s.size()) break;
          attr.value.push_back(s[i++]);
        } else {
          attr.value.push_back(c);
        }
      }
      if (!closed) return Fail(SubjectError("unterminated quoted value for " + attr.key));
      skip_blanks();
      if (i < s.size() && !IsSeparator(s[i])) {
        return Fail(SubjectError("unexpected text after the quoted value of " + attr.key));
      }
    } else {
      size_t keep = 0;  // escaped characters (including blanks) are never trimmed
      while (i < s.size() && !IsSeparator(s[i])) {
        char c = s[i++];
        if (c == '\\') {
          if (i == s.size()) return Fail(SubjectError("dangling '\\' in " + attr.key));
          c = s[i++];
          attr.value.push_back(c);
          keep = attr.value.size();
        } else {
          attr.value.push_back(c);
        }
      }
      while (attr.value.size() > keep && IsBlank(attr.value.back())) attr.value.pop_back();
    }
    if (attr.value.empty()) return Fail(SubjectError("empty value for " + attr.key));
    for (char c : attr.value) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        return Fail(SubjectError("control character in the value of " + attr.key));
      }
    }
    attrs.push_back(std::move(attr));
    if (i == s.size()) break;
    ++i;  // separator
  }
  return attrs;
}

struct NameKey {
  const char* key;
  int nid;
};
constexpr NameKey kNameKeys[] = {
    {"CN", NID_commonName},
    {"O", NID_organizationName},
    {"OU", NID_organizationalUnitName},
    {"L", NID_localityName},
    {"ST", NID_stateOrProvinceName},
    {"S", NID_stateOrProvinceName},
    {"C", NID_countryName},
    {"E", NID_pkcs9_emailAddress},
    {"EMAIL", NID_pkcs9_emailAddress},
    {"emailAddress", NID_pkcs9_emailAddress},
    {"DC", NID_domainComponent},
    {"SN", NID_surname},
    {"GN", NID_givenName},
    {"G", NID_givenName},
    {"serialNumber", NID_serialNumber},
    {"STREET", NID_streetAddress},
    {"T", NID_title},
    {"title", NID_title},
};

Result<Asn1ObjectPtr> AttributeObject(std::string_view key) {
  for (const auto& k : kNameKeys) {
    if (EqualsIgnoreCase(key, k.key)) return Asn1ObjectPtr(OBJ_nid2obj(k.nid));
  }
  std::string text(key);
  if (text.size() > 4 && EqualsIgnoreCase(text.substr(0, 4), "OID.")) text.erase(0, 4);
  if (!text.empty() && std::isdigit(static_cast<unsigned char>(text[0]))) {
    const bool numeric = text.find_first_not_of("0123456789.") == std::string::npos;
    ASN1_OBJECT* obj = numeric ? OBJ_txt2obj(text.c_str(), 1) : nullptr;
    if (obj == nullptr) {
      ClearErrors();
      return Fail(SubjectError("malformed attribute OID \"" + text + "\""));
    }
    return Asn1ObjectPtr(obj);
  }
  // Any other OpenSSL short name ("postalCode", "street", ...), so that rendered names of
  // imported certificates parse back.
  const int nid = OBJ_sn2nid(text.c_str());
  if (nid != NID_undef) return Asn1ObjectPtr(OBJ_nid2obj(nid));
  ClearErrors();
  return Fail(SubjectError("unknown attribute \"" + text + "\""));
}

bool NeedsQuotes(std::string_view value) {
  if (value.empty() || IsBlank(value.front()) || IsBlank(value.back())) return true;
  return value.find_first_of(",;\"\\") != std::string_view::npos;
}

// --- SANs ---

Error SanError(const std::string& kind, const std::string& value, const std::string& why) {
  return Error::BadParameter("invalid " + kind + " subject alternative name \"" + value +
                             "\": " + why);
}

bool IsPrintableAsciiWithoutSpace(std::string_view s) {
  for (char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

// Takes ownership of `value` (the GENERAL_NAME's payload) whatever happens.
Status PushName(GENERAL_NAMES* names, int type, void* value) {
  OsslPtr<GENERAL_NAME, GENERAL_NAME_free> gen(GENERAL_NAME_new());
  if (!gen) {
    // The payload types all free through ASN1_STRING_free except otherName, which PushOtherName
    // wraps itself.
    ASN1_STRING_free(static_cast<ASN1_STRING*>(value));
    return Fail(InternalError("out of memory"));
  }
  GENERAL_NAME_set0_value(gen.get(), type, value);
  if (sk_GENERAL_NAME_push(names, gen.get()) <= 0) return Fail(InternalError("out of memory"));
  gen.release();
  return Ok();
}

Status PushIa5(GENERAL_NAMES* names, int type, const std::string& text) {
  ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
  if (ia5 == nullptr || ASN1_STRING_set(ia5, text.data(), static_cast<int>(text.size())) != 1) {
    ASN1_IA5STRING_free(ia5);
    return Fail(InternalError("out of memory"));
  }
  return PushName(names, type, ia5);
}

Status PushIp(GENERAL_NAMES* names, const std::string& text) {
  unsigned char addr[16];
  int len = 0;
  if (inet_pton(AF_INET, text.c_str(), addr) == 1) {
    len = 4;
  } else if (inet_pton(AF_INET6, text.c_str(), addr) == 1) {
    len = 16;
  } else {
    return Fail(SanError("IP", text, "not an IPv4 or IPv6 address"));
  }
  ASN1_OCTET_STRING* octets = ASN1_OCTET_STRING_new();
  if (octets == nullptr || ASN1_OCTET_STRING_set(octets, addr, len) != 1) {
    ASN1_OCTET_STRING_free(octets);
    return Fail(InternalError("out of memory"));
  }
  return PushName(names, GEN_IPADD, octets);
}

Status PushUpn(GENERAL_NAMES* names, const std::string& upn) {
  if (upn.empty() || upn.find('@') == std::string::npos) {
    return Fail(SanError("UPN", upn, "expected user@domain"));
  }
  ASN1_STRING* utf8 = nullptr;
  // Copying through ASN1_mbstring_copy validates the UTF-8.
  if (ASN1_mbstring_copy(&utf8, reinterpret_cast<const unsigned char*>(upn.data()),
                         static_cast<int>(upn.size()), MBSTRING_UTF8, B_ASN1_UTF8STRING) < 0) {
    ClearErrors();
    return Fail(SanError("UPN", upn, "not valid UTF-8"));
  }
  OsslPtr<ASN1_TYPE, ASN1_TYPE_free> value(ASN1_TYPE_new());
  if (!value) {
    ASN1_STRING_free(utf8);
    return Fail(InternalError("out of memory"));
  }
  ASN1_TYPE_set(value.get(), V_ASN1_UTF8STRING, utf8);
  Asn1ObjectPtr oid(OBJ_nid2obj(NID_ms_upn));
  OsslPtr<GENERAL_NAME, GENERAL_NAME_free> gen(GENERAL_NAME_new());
  if (!gen || GENERAL_NAME_set0_othername(gen.get(), oid.get(), value.get()) != 1) {
    return Fail(InternalError("out of memory"));
  }
  oid.release();
  value.release();
  if (sk_GENERAL_NAME_push(names, gen.get()) <= 0) return Fail(InternalError("out of memory"));
  gen.release();
  return Ok();
}

Result<GeneralNamesPtr> BuildSans(const SubjectAltNames& sans) {
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  if (!names) return Fail(InternalError("out of memory"));
  for (const auto& dns : sans.dns_names) {
    if (!crypto::IsValidDnsName(dns)) {
      return Fail(SanError("DNS", dns,
                           "expected letters, digits and hyphens in dot-separated labels, "
                           "optionally starting with \"*.\""));
    }
    CV_RETURN_IF_ERROR(PushIa5(names.get(), GEN_DNS, dns));
  }
  for (const auto& email : sans.emails) {
    const size_t at = email.find('@');
    if (!IsPrintableAsciiWithoutSpace(email) || at == 0 || at == std::string::npos ||
        at + 1 == email.size() || email.find('@', at + 1) != std::string::npos) {
      return Fail(SanError("email", email, "expected user@domain in ASCII"));
    }
    CV_RETURN_IF_ERROR(PushIa5(names.get(), GEN_EMAIL, email));
  }
  for (const auto& upn : sans.upns) CV_RETURN_IF_ERROR(PushUpn(names.get(), upn));
  for (const auto& uri : sans.uris) {
    const size_t colon = uri.find(':');
    if (!IsPrintableAsciiWithoutSpace(uri) || colon == 0 || colon == std::string::npos) {
      return Fail(SanError("URI", uri, "expected an absolute URI such as https://host/path"));
    }
    CV_RETURN_IF_ERROR(PushIa5(names.get(), GEN_URI, uri));
  }
  for (const auto& ip : sans.ip_addresses) CV_RETURN_IF_ERROR(PushIp(names.get(), ip));
  return names;
}

// --- Key usage ---

constexpr std::array<const char*, 9> kKeyUsageNames = {
    "digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement",
    "keyCertSign",      "cRLSign",        "encipherOnly",    "decipherOnly",
};

std::string AsnString(const ASN1_STRING* s) {
  if (s == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

std::string IpText(const ASN1_OCTET_STRING* octets) {
  char buf[INET6_ADDRSTRLEN] = {};
  const int len = ASN1_STRING_length(octets);
  const unsigned char* data = ASN1_STRING_get0_data(octets);
  if (len == 4 && inet_ntop(AF_INET, data, buf, sizeof(buf)) != nullptr) return buf;
  if (len == 16 && inet_ntop(AF_INET6, data, buf, sizeof(buf)) != nullptr) return buf;
  return {};
}

Result<X509ExtensionPtr> MakeExtension(int nid, bool critical, void* value) {
  X509ExtensionPtr ext(X509V3_EXT_i2d(nid, critical ? 1 : 0, value));
  if (!ext) return Fail(InternalError("cannot encode a certificate extension"));
  return ext;
}

}  // namespace

Result<X509NamePtr> ParseSubject(std::string_view subject) {
  CV_ASSIGN_OR_RETURN(const auto attrs, SplitSubject(subject));
  X509NamePtr name(X509_NAME_new());
  if (!name) return Fail(InternalError("out of memory"));
  for (const auto& attr : attrs) {
    CV_ASSIGN_OR_RETURN(auto obj, AttributeObject(attr.key));
    if (X509_NAME_add_entry_by_OBJ(name.get(), obj.get(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(attr.value.data()),
                                   static_cast<int>(attr.value.size()), -1, 0) != 1) {
      // Typical causes: C not two letters, CN longer than 64 characters, invalid UTF-8.
      return Fail(BadInputError("invalid subject: bad value for " + attr.key));
    }
  }
  return name;
}

std::string RenderName(const X509_NAME* name) {
  std::string out;
  if (name == nullptr) return out;
  const int count = X509_NAME_entry_count(name);
  for (int i = 0; i < count; ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
    const ASN1_OBJECT* obj = X509_NAME_ENTRY_get_object(entry);
    const int nid = OBJ_obj2nid(obj);
    std::string key;
    if (nid == NID_pkcs9_emailAddress) {
      key = "E";
    } else if (nid != NID_undef && OBJ_nid2sn(nid) != nullptr) {
      key = OBJ_nid2sn(nid);
    } else {
      key = OidText(obj);
    }
    std::string value;
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
    if (len >= 0) {
      value.assign(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
      OPENSSL_free(utf8);
    } else {
      ClearErrors();
      value = AsnString(X509_NAME_ENTRY_get_data(entry));
    }
    if (!out.empty()) out += ", ";
    out += key;
    out += '=';
    if (!NeedsQuotes(value)) {
      out += value;
      continue;
    }
    out += '"';
    for (char c : value) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out;
}

Result<std::vector<X509ExtensionPtr>> BuildExtensions(const CertificateSpec& spec,
                                                      bool with_basic_constraints) {
  std::vector<X509ExtensionPtr> exts;
  CV_ASSIGN_OR_RETURN(auto subject, ParseSubject(spec.subject));
  const bool empty_subject = X509_NAME_entry_count(subject.get()) == 0;
  if (empty_subject && spec.sans.empty()) {
    return Fail(
        Error::BadParameter("a subject or at least one subject alternative name is required"));
  }
  if (!spec.sans.empty()) {
    CV_ASSIGN_OR_RETURN(auto names, BuildSans(spec.sans));
    // RFC 5280 4.2.1.6: the SAN extension is critical when the subject is empty.
    CV_ASSIGN_OR_RETURN(auto ext, MakeExtension(NID_subject_alt_name, empty_subject, names.get()));
    exts.push_back(std::move(ext));
  }
  if (!spec.key_usage.empty()) {
    OsslPtr<ASN1_BIT_STRING, ASN1_BIT_STRING_free> bits(ASN1_BIT_STRING_new());
    if (!bits) return Fail(InternalError("out of memory"));
    for (const auto& usage : spec.key_usage) {
      int bit = -1;
      for (size_t i = 0; i < kKeyUsageNames.size(); ++i) {
        if (usage == kKeyUsageNames[i]) bit = static_cast<int>(i);
      }
      if (bit < 0) return Fail(Error::BadParameter("unknown key usage \"" + usage + "\""));
      if (ASN1_BIT_STRING_set_bit(bits.get(), bit, 1) != 1) {
        return Fail(InternalError("out of memory"));
      }
    }
    CV_ASSIGN_OR_RETURN(auto ext, MakeExtension(NID_key_usage, true, bits.get()));
    exts.push_back(std::move(ext));
  }
  if (!spec.ekus.empty()) {
    OsslPtr<EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free> ekus(sk_ASN1_OBJECT_new_null());
    if (!ekus) return Fail(InternalError("out of memory"));
    for (const auto& eku : spec.ekus) {
      const bool numeric =
          !eku.empty() && eku.find_first_not_of("0123456789.") == std::string::npos;
      Asn1ObjectPtr obj(numeric ? OBJ_txt2obj(eku.c_str(), 1) : nullptr);
      if (!obj) {
        ClearErrors();
        return Fail(Error::BadParameter("invalid extended key usage \"" + eku +
                                        "\": expected a dotted OID such as 1.3.6.1.5.5.7.3.1"));
      }
      if (sk_ASN1_OBJECT_push(ekus.get(), obj.get()) <= 0) {
        return Fail(InternalError("out of memory"));
      }
      obj.release();
    }
    CV_ASSIGN_OR_RETURN(auto ext, MakeExtension(NID_ext_key_usage, false, ekus.get()));
    exts.push_back(std::move(ext));
  }
  if (spec.path_len.has_value()) {
    if (!spec.is_ca) {
      return Fail(Error::BadParameter("a path length constraint needs a CA certificate"));
    }
    if (*spec.path_len < 0) {
      return Fail(Error::BadParameter("the path length constraint must not be negative"));
    }
  }
  if (with_basic_constraints || spec.is_ca) {
    OsslPtr<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free> bc(BASIC_CONSTRAINTS_new());
    if (!bc) return Fail(InternalError("out of memory"));
    bc->ca = spec.is_ca ? 0xff : 0;
    if (spec.path_len.has_value()) {
      bc->pathlen = ASN1_INTEGER_new();
      if (bc->pathlen == nullptr || ASN1_INTEGER_set(bc->pathlen, *spec.path_len) != 1) {
        return Fail(InternalError("out of memory"));
      }
    }
    CV_ASSIGN_OR_RETURN(auto ext, MakeExtension(NID_basic_constraints, true, bc.get()));
    exts.push_back(std::move(ext));
  }
  return exts;
}

std::vector<std::string> ReadKeyUsage(const STACK_OF(X509_EXTENSION) * exts) {
  std::vector<std::string> usage;
  OsslPtr<ASN1_BIT_STRING, ASN1_BIT_STRING_free> bits(
      static_cast<ASN1_BIT_STRING*>(X509V3_get_d2i(exts, NID_key_usage, nullptr, nullptr)));
  ClearErrors();
  if (!bits) return usage;
  for (size_t i = 0; i < kKeyUsageNames.size(); ++i) {
    if (ASN1_BIT_STRING_get_bit(bits.get(), static_cast<int>(i)) == 1) {
      usage.emplace_back(kKeyUsageNames[i]);
    }
  }
  return usage;
}

void ReadExtensions(const STACK_OF(X509_EXTENSION) * exts, CertificateSpec& spec) {
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509V3_get_d2i(exts, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gen = sk_GENERAL_NAME_value(names.get(), i);
    switch (gen->type) {
      case GEN_DNS:
        spec.sans.dns_names.push_back(AsnString(gen->d.dNSName));
        break;
      case GEN_EMAIL:
        spec.sans.emails.push_back(AsnString(gen->d.rfc822Name));
        break;
      case GEN_URI:
        spec.sans.uris.push_back(AsnString(gen->d.uniformResourceIdentifier));
        break;
      case GEN_IPADD: {
        std::string ip = IpText(gen->d.iPAddress);
        if (!ip.empty()) spec.sans.ip_addresses.push_back(std::move(ip));
        break;
      }
      case GEN_OTHERNAME: {
        const OTHERNAME* other = gen->d.otherName;
        if (OBJ_obj2nid(other->type_id) == NID_ms_upn && other->value != nullptr &&
            other->value->type == V_ASN1_UTF8STRING) {
          spec.sans.upns.push_back(AsnString(other->value->value.utf8string));
        }
        break;
      }
      default:
        break;
    }
  }
  spec.key_usage = ReadKeyUsage(exts);
  OsslPtr<EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free> ekus(
      static_cast<EXTENDED_KEY_USAGE*>(X509V3_get_d2i(exts, NID_ext_key_usage, nullptr, nullptr)));
  for (int i = 0; ekus && i < sk_ASN1_OBJECT_num(ekus.get()); ++i) {
    std::string oid = OidText(sk_ASN1_OBJECT_value(ekus.get(), i));
    if (!oid.empty()) spec.ekus.push_back(std::move(oid));
  }
  OsslPtr<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free> bc(static_cast<BASIC_CONSTRAINTS*>(
      X509V3_get_d2i(exts, NID_basic_constraints, nullptr, nullptr)));
  if (bc) {
    spec.is_ca = bc->ca != 0;
    if (spec.is_ca && bc->pathlen != nullptr) {
      const long len = ASN1_INTEGER_get(bc->pathlen);
      if (len >= 0 && len <= 1000) spec.path_len = static_cast<int>(len);
    }
  }
  ClearErrors();
}

std::string OidText(const ASN1_OBJECT* obj) {
  const int len = OBJ_obj2txt(nullptr, 0, obj, 1);
  if (len <= 0) {
    ClearErrors();
    return {};
  }
  std::string text(static_cast<size_t>(len) + 1, '\0');
  OBJ_obj2txt(text.data(), len + 1, obj, 1);
  text.resize(static_cast<size_t>(len));
  return text;
}

}  // namespace certvault::crypto::internal

namespace certvault::crypto {

namespace {
bool IsLdhLabel(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
    return false;
  }
  for (char c : label) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return true;
}

}  // namespace

bool IsValidDnsName(std::string_view name) {
  if (name.starts_with("*.")) name.remove_prefix(2);
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  while (true) {
    const size_t dot = name.find('.', start);
    if (!IsLdhLabel(name.substr(start, dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

}  // namespace certvault::crypto
