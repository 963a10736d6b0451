#pragma once
// Writing certificate events into the outbox, inside the transaction that makes the change.

#include <cstdint>
#include <string>

#include "common/result.h"
#include "model/types.h"
#include "store/store.h"

namespace certvault::vault {

// Appends an event of `type` about `version` (its vault, name, version, nbf and exp) to the
// outbox. `key` de-duplicates: an event with the same non-empty key is recorded once.
// `detail_json` is a JSON object.
Status AppendCertificateEvent(store::Transaction& txn, const char* type,
                              const model::CertificateVersion& version, std::string key,
                              std::string detail_json, int64_t now);

}  // namespace certvault::vault
