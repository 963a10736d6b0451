#include "issuer/acme/order_state.h"

#include <nlohmann/json.hpp>

namespace certvault::issuer::acme {
namespace {

using nlohmann::json;

constexpr int kVersion = 1;

}  // namespace

std::string EncodeOrderState(const OrderState& s) {
  json records = json::array();
  for (const DnsRecord& r : s.dns_records) {
    records.push_back(
        {{"domain", r.domain}, {"value", r.value}, {"added", r.added}, {"removed", r.removed}});
  }
  json j = {{"v", kVersion},
            {"step", s.step},
            {"directory_url", s.directory_url},
            {"account_url", s.account_url},
            {"csr_sha256", s.csr_sha256},
            {"order_url", s.order_url},
            {"authorizations", s.authorizations},
            {"finalize_url", s.finalize_url},
            {"certificate_url", s.certificate_url},
            {"http_tokens", s.http_tokens},
            {"dns_records", records}};
  return j.dump();
}

Result<OrderState> DecodeOrderState(std::string_view text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || j.value("v", 0) != kVersion) {
    return Fail(Error::BadParameter("not a saved ACME order state"));
  }
  OrderState s;
  try {
    s.step = j.value("step", "");
    s.directory_url = j.value("directory_url", "");
    s.account_url = j.value("account_url", "");
    s.csr_sha256 = j.value("csr_sha256", "");
    s.order_url = j.value("order_url", "");
    s.authorizations = j.value("authorizations", std::vector<std::string>{});
    s.finalize_url = j.value("finalize_url", "");
    s.certificate_url = j.value("certificate_url", "");
    s.http_tokens = j.value("http_tokens", std::vector<std::string>{});
    for (const json& r : j.value("dns_records", json::array())) {
      s.dns_records.push_back({r.at("domain").get<std::string>(), r.at("value").get<std::string>(),
                               r.value("added", int64_t{0}), r.value("removed", false)});
    }
  } catch (const json::exception&) {
    return Fail(Error::BadParameter("malformed saved ACME order state"));
  }
  return s;
}

}  // namespace certvault::issuer::acme
