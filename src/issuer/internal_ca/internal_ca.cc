#include "issuer/internal_ca/internal_ca.h"

#include "crypto/key.h"
#include "issuer/internal_ca/ca.h"
#include "issuer/internal_ca/ca_issuer.h"
#include "issuer/internal_ca/settings.h"

namespace certvault::issuer::internal_ca {
namespace {

// The imported CA of `settings` with its key from the credentials password.
Result<SigningCa> ImportedCa(const Settings& settings, const std::string& password) {
  if (password.empty()) {
    return Fail(Error::BadParameter(
        "credentials.pwd: an imported CA (settings.ca_certificate) needs its PEM private key as "
        "the issuer's credentials password"));
  }
  auto key = crypto::PrivateKey::FromPem(password);
  if (!key) return Fail(key.error().WithContext("credentials.pwd"));
  const crypto::Certificate& cert = settings.ca_chain.front();
  if (!cert.MatchesKey(*key)) {
    return Fail(Error::BadParameter(
        "credentials.pwd: the private key does not match settings.ca_certificate"));
  }
  return SigningCa{
      ImportedCaId(cert), cert, *std::move(key),
      std::vector<crypto::Certificate>(settings.ca_chain.begin() + 1, settings.ca_chain.end())};
}

class InternalCaProvider final : public Provider {
 public:
  explicit InternalCaProvider(const ProviderContext& ctx) : ctx_(ctx) {}

  Status Validate(const model::Issuer& issuer) const override {
    CV_RETURN_IF_ERROR(ParseSettings(issuer.settings));
    return Ok();
  }

  Result<std::shared_ptr<Issuer>> Build(const model::Issuer& issuer,
                                        const std::string& password) const override {
    if (ctx_.clock == nullptr || ctx_.store == nullptr || ctx_.kek == nullptr) {
      return Fail(Error::Internal("the internal CA provider needs a clock, a store and a KEK"));
    }
    CV_ASSIGN_OR_RETURN(Settings settings, ParseSettings(issuer.settings));
    std::optional<SigningCa> imported;
    // Without an imported CA the password is not used.
    if (!settings.ca_chain.empty()) {
      CV_ASSIGN_OR_RETURN(imported, ImportedCa(settings, password));
    }
    return std::shared_ptr<Issuer>(
        std::make_shared<CaIssuer>(ctx_, issuer.name, std::move(settings), std::move(imported)));
  }

 private:
  const ProviderContext ctx_;
};

}  // namespace

std::unique_ptr<Provider> NewInternalCaProvider(const ProviderContext& ctx) {
  return std::make_unique<InternalCaProvider>(ctx);
}

}  // namespace certvault::issuer::internal_ca
