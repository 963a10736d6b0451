#pragma once
// Publishing what relying parties fetch from the built-in CA: its CRL and its certificate.
//
// The CRL of a CA is kept in its setting internal_ca/{id}/crl with its number. It is re-signed
// (with the next number) when a revocation marked it stale or after kCrlRefresh, inside a write
// transaction that checks again, so CRL numbers only grow, also across replicas sharing the
// store, and a read of a fresh CRL costs one setting lookup.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "store/store.h"

namespace certvault::issuer::internal_ca {

inline constexpr int64_t kCrlLifetime = 86400;  // nextUpdate - thisUpdate
inline constexpr int64_t kCrlRefresh = 3600;    // re-sign after this long even if unchanged

// {base}/pki/{id}/crl and {base}/pki/{id}/ca; `base` without a trailing slash.
std::string CrlUrl(std::string_view base, std::string_view ca_id);
std::string CaCertificateUrl(std::string_view base, std::string_view ca_id);

// Makes the next CrlFor of `ca_id` sign a new CRL. REQUIRES: a write transaction.
Status MarkCrlStale(store::Transaction& txn, std::string_view ca_id);

}  // namespace certvault::issuer::internal_ca
