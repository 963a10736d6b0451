#include "store/sqlite/encoding.h"

#include <nlohmann/json.hpp>

#include "model/codec.h"

namespace certvault::store::sqlite {

using nlohmann::json;

namespace {

// nlohmann::json reports invalid UTF-8 and type mismatches by throwing; these keep exceptions
// inside this file.
template <typename F>
Result<std::string> Dump(const char* what, F build) {
  try {
    return build().dump();
  } catch (const json::exception&) {
    return Fail(Error::BadParameter(std::string("store: ") + what + " must be valid UTF-8"));
  }
}

template <typename T, typename F>
Result<T> Parse(std::string_view text, const char* what, F read) {
  try {
    return read(json::parse(text));
  } catch (const json::exception&) {
    return Fail(Error::Internal(std::string("store: corrupt ") + what + " column"));
  }
}

json AttributesJson(const model::Attributes& a) {
  json j = {{"enabled", a.enabled}, {"created", a.created}, {"updated", a.updated}};
  if (a.nbf) j["nbf"] = *a.nbf;
  if (a.exp) j["exp"] = *a.exp;
  return j;
}

model::Attributes AttributesFrom(const json& j) {
  model::Attributes a;
  a.enabled = j.at("enabled").get<bool>();
  a.created = j.at("created").get<int64_t>();
  a.updated = j.at("updated").get<int64_t>();
  if (j.contains("nbf")) a.nbf = j.at("nbf").get<int64_t>();
  if (j.contains("exp")) a.exp = j.at("exp").get<int64_t>();
  return a;
}

}  // namespace

std::string EncodeAttributes(const model::Attributes& a) { return AttributesJson(a).dump(); }

Result<model::Attributes> DecodeAttributes(std::string_view text) {
  return Parse<model::Attributes>(text, "attributes", AttributesFrom);
}

Result<std::string> EncodeTags(const model::Tags& tags) {
  return Dump("tags", [&] {
    json j = json::object();
    for (const auto& [k, v] : tags) j[k] = v;
    return j;
  });
}

Result<model::Tags> DecodeTags(std::string_view text) {
  return Parse<model::Tags>(text, "tags", [](const json& j) { return j.get<model::Tags>(); });
}

Result<std::string> EncodeIssuer(const model::IssuerParameters& issuer) {
  return Dump("issuer", [&] {
    json j = {{"name", issuer.name}, {"cty", issuer.cty}};
    if (issuer.cert_transparency) j["cert_transparency"] = *issuer.cert_transparency;
    return j;
  });
}

Result<model::IssuerParameters> DecodeIssuer(std::string_view text) {
  return Parse<model::IssuerParameters>(text, "issuer", [](const json& j) {
    model::IssuerParameters issuer;
    issuer.name = j.at("name").get<std::string>();
    issuer.cty = j.at("cty").get<std::string>();
    if (j.contains("cert_transparency")) {
      issuer.cert_transparency = j.at("cert_transparency").get<bool>();
    }
    return issuer;
  });
}

Result<std::string> EncodeContacts(const std::vector<model::Contact>& contacts) {
  return Dump("contacts", [&] {
    json j = json::array();
    for (const auto& c : contacts) {
      j.push_back({{"email", c.email}, {"name", c.name}, {"phone", c.phone}});
    }
    return j;
  });
}

Result<std::vector<model::Contact>> DecodeContacts(std::string_view text) {
  return Parse<std::vector<model::Contact>>(text, "contacts", [](const json& j) {
    std::vector<model::Contact> contacts;
    for (const auto& item : j.get<std::vector<json>>()) {
      contacts.push_back({item.at("email").get<std::string>(), item.at("name").get<std::string>(),
                          item.at("phone").get<std::string>()});
    }
    return contacts;
  });
}

Result<std::string> EncodeAdmins(const std::vector<model::IssuerAdmin>& admins) {
  return Dump("admins", [&] {
    json j = json::array();
    for (const auto& a : admins) {
      j.push_back({{"first_name", a.first_name},
                   {"last_name", a.last_name},
                   {"email", a.email},
                   {"phone", a.phone}});
    }
    return j;
  });
}

Result<std::vector<model::IssuerAdmin>> DecodeAdmins(std::string_view text) {
  return Parse<std::vector<model::IssuerAdmin>>(text, "admins", [](const json& j) {
    std::vector<model::IssuerAdmin> admins;
    for (const auto& item : j.get<std::vector<json>>()) {
      admins.push_back({item.at("first_name").get<std::string>(),
                        item.at("last_name").get<std::string>(),
                        item.at("email").get<std::string>(), item.at("phone").get<std::string>()});
    }
    return admins;
  });
}

Result<std::string> EncodeAttempts(const std::vector<model::JobAttempt>& attempts) {
  return Dump("attempts", [&] {
    json j = json::array();
    for (const auto& a : attempts) {
      j.push_back({{"started", a.started},
                   {"finished", a.finished},
                   {"outcome", a.outcome},
                   {"error", a.error}});
    }
    return j;
  });
}

Result<std::vector<model::JobAttempt>> DecodeAttempts(std::string_view text) {
  return Parse<std::vector<model::JobAttempt>>(text, "attempts", [](const json& j) {
    std::vector<model::JobAttempt> attempts;
    for (const auto& item : j.get<std::vector<json>>()) {
      attempts.push_back({item.at("started").get<int64_t>(), item.at("finished").get<int64_t>(),
                          item.at("outcome").get<std::string>(),
                          item.at("error").get<std::string>()});
    }
    return attempts;
  });
}

Result<std::string> EncodePolicy(const model::CertificatePolicy& policy) {
  return Dump("policy", [&] {
    json j = model::PolicyToJson(policy);
    // The API form shows key_size only for RSA and crv only for EC; keep both. And keep the
    // policy's creation and update times, which the API form's reader does not take.
    j["key_props"]["key_size"] = policy.key.key_size;
    j["key_props"]["crv"] = policy.key.curve;
    j["attributes"] = AttributesJson(policy.attributes);
    return j;
  });
}

Result<model::CertificatePolicy> DecodePolicy(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Fail(Error::Internal("store: corrupt policy column"));
  }
  model::CertificatePolicy policy;
  try {
    policy.attributes = AttributesFrom(j.at("attributes"));
    // Stored as given; the API reader's range check on validity_months is a domain rule.
    json& x509 = j.at("x509_props");
    policy.x509.validity_months = x509.at("validity_months").get<int>();
    x509.erase("validity_months");
  } catch (const json::exception&) {
    return Fail(Error::Internal("store: corrupt policy column"));
  }
  j.erase("attributes");  // read above, in full
  if (!model::MergePolicyFromJson(j, policy)) {
    return Fail(Error::Internal("store: corrupt policy column"));
  }
  return policy;
}

std::string EncodeChain(const std::vector<std::string>& chain) {
  std::string out;
  for (const auto& der : chain) {
    const auto n = static_cast<uint32_t>(der.size());
    out.push_back(static_cast<char>(n >> 24));
    out.push_back(static_cast<char>(n >> 16));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n));
    out += der;
  }
  return out;
}

Result<std::vector<std::string>> DecodeChain(std::string_view blob) {
  std::vector<std::string> chain;
  while (!blob.empty()) {
    if (blob.size() < 4) return Fail(Error::Internal("store: corrupt chain column"));
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(blob[i]);
    blob.remove_prefix(4);
    if (blob.size() < n) return Fail(Error::Internal("store: corrupt chain column"));
    chain.emplace_back(blob.substr(0, n));
    blob.remove_prefix(n);
  }
  return chain;
}

}  // namespace certvault::store::sqlite
