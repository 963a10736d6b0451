#include "common/names.h"

#include <string>

namespace certvault {

namespace {
bool IsAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
}  // namespace

Status ValidateObjectName(std::string_view name, std::string_view what) {
  bool ok = !name.empty() && name.size() <= 127;
  for (char c : name) ok = ok && (IsAlnum(c) || c == '-');
  if (!ok) {
    return Fail(Error::BadParameter(std::string(what) + " name must match ^[0-9a-zA-Z-]{1,127}$"));
  }
  return Ok();
}

Status ValidateVaultName(std::string_view name) {
  bool ok = name.size() >= 3 && name.size() <= 24 && IsAlnum(name.front()) &&
            !(name.front() >= '0' && name.front() <= '9') && name.back() != '-' &&
            name.find("--") == std::string_view::npos;
  for (char c : name) ok = ok && (IsAlnum(c) || c == '-');
  if (!ok) {
    return Fail(Error::BadParameter(
        "vault name must be 3-24 letters, digits or dashes, start with a letter, not end with a "
        "dash and not contain '--'"));
  }
  return Ok();
}

bool IsVersionId(std::string_view s) {
  if (s.size() != 32) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace certvault
