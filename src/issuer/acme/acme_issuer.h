#pragma once
// AcmeIssuer: one acme issuer of one vault. Enroll runs an RFC 8555 order as a resumable state
// machine: account -> newOrder (saved before use) -> authorizations (http-01 or dns-01) ->
// finalize with the vault's CSR -> download the chain. Each call continues from the saved state
// and the order's status on the server; it blocks at most settings.max_wait polling and
// otherwise asks to be called again (Enrollment::check_after).
//
// Thread-safe: Enroll may run for several certificates at once. The account key and URL are
// loaded or made once, under mu_.

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "crypto/key.h"
#include "issuer/acme/settings.h"
#include "issuer/acme/transport.h"
#include "issuer/issuer.h"

namespace certvault::issuer::acme {

class AcmeClient;
class Http01Responder;

class AcmeIssuer : public Issuer {
 public:
  struct Config {
    std::string vault;
    std::string name;  // the issuer's name
    AcmeSettings settings;
    std::string eab_kid;       // empty: no External Account Binding
    std::string eab_hmac_key;  // raw bytes
  };

  // `http01` may be null when settings.challenge is dns-01.
  AcmeIssuer(const ProviderContext& ctx, Http01Responder* http01, Config config,
             std::shared_ptr<HttpTransport> transport);

  Result<Enrollment> Enroll(const EnrollRequest& request) override;

 private:
  // The store settings key of this issuer's `what` ("account-key", "account").
  std::string SettingKey(std::string_view what) const;
  Result<crypto::PrivateKey> AccountKey();
  // The account URL for `key` at the client's directory; registers the account unless it is
  // known, or always when `fresh` (the CA forgot it).
  Result<std::string> AccountUrl(AcmeClient& client, const crypto::PrivateKey& key, bool fresh);

  const ProviderContext ctx_;
  Http01Responder* const http01_;
  const Config config_;
  const std::shared_ptr<HttpTransport> transport_;

  std::mutex mu_;
  std::optional<crypto::PrivateKey> account_key_;  // guarded by mu_
  std::string account_url_;                        // guarded by mu_
};

}  // namespace certvault::issuer::acme
