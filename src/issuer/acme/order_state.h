#pragma once
// What an ACME enrollment saves between attempts (EnrollRequest::state), so that a restart
// resumes the same order instead of placing another: a small JSON document.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace certvault::issuer::acme {

// A TXT record published through the dns-01 hook, kept so that it is removed afterwards.
struct DnsRecord {
  std::string domain;
  std::string value;
  int64_t added = 0;  // Unix seconds the hook confirmed it; 0: `add` has not succeeded yet
  bool removed = false;
};

struct OrderState {
  std::string step;  // the last step taken: order, authorize, finalize, download
  std::string directory_url;
  std::string account_url;
  std::string csr_sha256;  // hex; the order belongs to this CSR
  std::string order_url;
  std::vector<std::string> authorizations;
  std::string finalize_url;
  std::string certificate_url;
  std::vector<std::string> http_tokens;  // published to the http-01 responder
  std::vector<DnsRecord> dns_records;
};

std::string EncodeOrderState(const OrderState& state);
// Fails with BadParameter when `text` is not a state this code wrote.
Result<OrderState> DecodeOrderState(std::string_view text);

}  // namespace certvault::issuer::acme
