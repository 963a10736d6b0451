#include "common/text.h"
#include "issuer/issuer.h"

namespace certvault::issuer {

void Registry::Register(std::string name, std::unique_ptr<Provider> provider) {
  providers_[AsciiLower(name)] = std::move(provider);
}

const Provider* Registry::Find(std::string_view name) const {
  auto it = providers_.find(AsciiLower(name));
  return it == providers_.end() ? nullptr : it->second.get();
}

std::vector<std::string> Registry::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, provider] : providers_) names.push_back(name);
  return names;
}

}  // namespace certvault::issuer
