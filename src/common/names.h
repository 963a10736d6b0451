#pragma once
// Validation of object names and identifiers that arrive from callers.

#include <string_view>

#include "common/result.h"

namespace certvault {

// Key Vault object names: ^[0-9a-zA-Z-]{1,127}$. `what` names the object in the error message.
Status ValidateObjectName(std::string_view name, std::string_view what);

// Vault names: 3-24 characters, letters, digits and dashes, starting with a letter, no "--",
// not ending in a dash (as Key Vault's).
Status ValidateVaultName(std::string_view name);

// Version ids: exactly 32 lowercase hex characters.
bool IsVersionId(std::string_view s);

}  // namespace certvault
