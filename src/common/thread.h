#pragma once
// Names for the server's threads, so that `top -H`, `ps -L` and perf tell them apart.

#include <string_view>

namespace certvault {

// Names the calling thread (Linux keeps the first 15 bytes). Best effort: failures are ignored.
void NameThisThread(std::string_view name);

}  // namespace certvault
