#pragma once
// Backup blobs of certificates and secrets (internal to this module).
//
// A backup is the object's records as JSON, keys and values in the clear inside, sealed as a
// whole by the KEK. It restores only on a server holding the same KEK, as Key Vault backups
// restore only within the same security domain.

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "common/result.h"
#include "keys/kek.h"
#include "model/types.h"

namespace certvault::vault::internal {

// Adds the format and `kind` ("certificate" or "secret") to `body`, seals it, base64url.
Result<std::string> SealBackup(const keys::KeyProtector& kek, nlohmann::json body,
                               std::string_view kind);
// Opens a blob made by SealBackup for `kind`; BadParameter for anything else.
Result<nlohmann::json> OpenBackup(const keys::KeyProtector& kek, std::string_view blob,
                                  std::string_view kind);
// Attributes as written by model::AttributesToJson, all fields (not only the settable ones).
model::Attributes BackupAttributes(const nlohmann::json& j);

}  // namespace certvault::vault::internal
