#pragma once
// One `internal` issuer: signs CSRs its templates accept, and revokes what its CA issued.
// Thread-safe.

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "issuer/internal_ca/ca.h"
#include "issuer/internal_ca/settings.h"
#include "issuer/issuer.h"

namespace certvault::issuer::internal_ca {

class CaIssuer final : public Issuer, public Revoker {
 public:
  // `imported`: the CA that signs; nullopt: the server's issuing CA (made on first use).
  CaIssuer(const ProviderContext& ctx, std::string name, Settings settings,
           std::optional<SigningCa> imported);

  Result<Enrollment> Enroll(const EnrollRequest& request) override;
  Status Revoke(const model::CertificateVersion& version, std::string_view reason) override;

 private:
  // The CA that signs, recorded in the store (made, for the default one) before first use.
  Result<SigningCa> SigningCaForIssuing();
  // The CA that would have issued a certificate; nullopt if the default one does not exist.
  Result<std::optional<SigningCa>> ExistingCa();

  const ProviderContext ctx_;
  const std::string base_url_;  // ctx_.public_base_url without trailing slashes
  const std::string name_;
  const Settings settings_;
  const std::optional<SigningCa> imported_;
  std::atomic<bool> imported_recorded_{false};
  std::mutex mu_;
  std::optional<SigningCa> default_ca_;  // guarded by mu_; set once loaded or made
};

}  // namespace certvault::issuer::internal_ca
