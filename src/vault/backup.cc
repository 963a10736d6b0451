#include "vault/backup.h"

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"

namespace certvault::vault::internal {

using nlohmann::json;

namespace {
constexpr char kBackupFormat[] = "certvault-backup-1";
constexpr char kBackupAad[] = "certvault-backup-v1";
}  // namespace

Result<std::string> SealBackup(const keys::KeyProtector& kek, json body, std::string_view kind) {
  body["format"] = kBackupFormat;
  body["kind"] = std::string(kind);
  CV_ASSIGN_OR_RETURN(std::string sealed, kek.Seal(body.dump(), kBackupAad));
  return crypto::Base64UrlEncode(sealed);
}

Result<json> OpenBackup(const keys::KeyProtector& kek, std::string_view blob,
                        std::string_view kind) {
  auto bad = [] {
    return Fail(Error::BadParameter("the backup blob is malformed or was made by another server"));
  };
  auto sealed = crypto::Base64UrlDecode(blob);
  if (!sealed || sealed->empty()) return bad();
  auto plain = kek.Open(*sealed, kBackupAad);
  if (!plain) return bad();
  json body = json::parse(*plain, nullptr, false);
  if (!body.is_object() || body.value("format", "") != kBackupFormat ||
      body.value("kind", "") != kind) {
    return bad();
  }
  return body;
}

model::Attributes BackupAttributes(const json& j) {
  model::Attributes a;
  a.enabled = j.value("enabled", true);
  if (j.contains("nbf")) a.nbf = j["nbf"].get<int64_t>();
  if (j.contains("exp")) a.exp = j["exp"].get<int64_t>();
  a.created = j.value("created", int64_t{0});
  a.updated = j.value("updated", int64_t{0});
  return a;
}

}  // namespace certvault::vault::internal
