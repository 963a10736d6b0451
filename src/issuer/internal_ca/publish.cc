#include "issuer/internal_ca/publish.h"

#include <nlohmann/json.hpp>
#include <optional>

#include "crypto/encoding.h"
#include "crypto/x509.h"
#include "issuer/internal_ca/ca.h"
#include "issuer/internal_ca/internal_ca.h"

namespace certvault::issuer::internal_ca {
namespace {

using nlohmann::json;

// The setting internal_ca/{id}/crl: {"number", "this_update", "stale", "der" (base64)}.
struct CrlRecord {
  int64_t number = 0;
  int64_t this_update = 0;
  bool stale = false;
  std::string der;
};

Result<std::optional<CrlRecord>> ReadRecord(store::Transaction& txn, std::string_view ca_id) {
  CV_ASSIGN_OR_RETURN(auto text, txn.GetSetting(CaSettingName(ca_id, "crl")));
  if (!text) return std::optional<CrlRecord>();
  const json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  const Error malformed =
      Error::Internal("the stored CRL of CA " + std::string(ca_id) + " is malformed");
  if (!j.is_object() || !j.contains("der") || !j["der"].is_string() || !j.contains("number") ||
      !j["number"].is_number_integer() || !j.contains("this_update") ||
      !j["this_update"].is_number_integer()) {
    return Fail(malformed);
  }
  auto der = crypto::Base64Decode(j["der"].get<std::string>());
  if (!der) return Fail(malformed);
  CrlRecord record;
  record.number = j["number"].get<int64_t>();
  record.this_update = j["this_update"].get<int64_t>();
  record.stale = j.value("stale", false);
  record.der = *der;
  return std::optional<CrlRecord>(std::move(record));
}

Status WriteRecord(store::Transaction& txn, std::string_view ca_id, const CrlRecord& record) {
  const json j = {{"number", record.number},
                  {"this_update", record.this_update},
                  {"stale", record.stale},
                  {"der", crypto::Base64Encode(record.der)}};
  return txn.PutSetting(CaSettingName(ca_id, "crl"), j.dump());
}

bool Fresh(const std::optional<CrlRecord>& record, int64_t now) {
  return record && !record->stale && now >= record->this_update &&
         now < record->this_update + kCrlRefresh;
}

Error UnknownCa(std::string_view ca_id) {
  return Error::NotFound("CertificateAuthorityNotFound",
                         "no certificate authority has the id " + std::string(ca_id.substr(0, 64)));
}

Result<std::string> SignCrl(const ProviderContext& ctx, std::string_view ca_id, int64_t now) {
  CV_ASSIGN_OR_RETURN(auto txn, ctx.store->BeginWrite());
  CV_ASSIGN_OR_RETURN(auto record, ReadRecord(*txn, ca_id));
  if (Fresh(record, now)) return record->der;  // signed meanwhile by another thread or replica
  CV_ASSIGN_OR_RETURN(auto ca, LoadCa(*txn, *ctx.kek, ca_id));
  if (!ca) return Fail(UnknownCa(ca_id));
  CV_ASSIGN_OR_RETURN(auto revocations, txn->ListRevocations(ca_id));
  std::vector<crypto::RevokedEntry> entries;
  entries.reserve(revocations.size());
  for (const auto& r : revocations) entries.push_back({r.serial, r.revoked, r.reason});
  CrlRecord next;
  next.number = record ? record->number + 1 : 1;
  next.this_update = now;
  CV_ASSIGN_OR_RETURN(
      next.der, crypto::BuildCrl(ca->cert, ca->key, entries, now, now + kCrlLifetime, next.number));
  CV_RETURN_IF_ERROR(WriteRecord(*txn, ca_id, next));
  CV_RETURN_IF_ERROR(txn->Commit());
  return next.der;
}

}  // namespace

std::string CrlUrl(std::string_view base, std::string_view ca_id) {
  return std::string(base) + "/pki/" + std::string(ca_id) + "/crl";
}

std::string CaCertificateUrl(std::string_view base, std::string_view ca_id) {
  return std::string(base) + "/pki/" + std::string(ca_id) + "/ca";
}

Status MarkCrlStale(store::Transaction& txn, std::string_view ca_id) {
  CV_ASSIGN_OR_RETURN(auto record, ReadRecord(txn, ca_id));
  if (!record || record->stale) return Ok();
  record->stale = true;
  return WriteRecord(txn, ca_id, *record);
}

Result<std::string> CrlFor(const ProviderContext& ctx, std::string_view ca_id) {
  if (!IsWellFormedCaId(ca_id)) return Fail(UnknownCa(ca_id));
  const int64_t now = ctx.clock->NowUnix();
  {
    CV_ASSIGN_OR_RETURN(auto txn, ctx.store->BeginRead());
    CV_ASSIGN_OR_RETURN(auto record, ReadRecord(*txn, ca_id));
    if (Fresh(record, now)) return record->der;
  }
  if (ca_id == kDefaultCaId) {
    CV_RETURN_IF_ERROR(LoadOrCreateDefaultCa(*ctx.store, *ctx.kek, *ctx.clock));
  }
  return SignCrl(ctx, ca_id, now);
}

Result<std::string> CaCertificateFor(const ProviderContext& ctx, std::string_view ca_id) {
  if (!IsWellFormedCaId(ca_id)) return Fail(UnknownCa(ca_id));
  if (ca_id == kDefaultCaId) {
    CV_ASSIGN_OR_RETURN(auto ca, LoadOrCreateDefaultCa(*ctx.store, *ctx.kek, *ctx.clock));
    return ca.cert.ToDer();
  }
  CV_ASSIGN_OR_RETURN(auto txn, ctx.store->BeginRead());
  CV_ASSIGN_OR_RETURN(auto cert, LoadCaCertificate(*txn, ca_id));
  if (!cert) return Fail(UnknownCa(ca_id));
  return cert->ToDer();
}

}  // namespace certvault::issuer::internal_ca
