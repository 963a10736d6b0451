#include "crypto/encoding.h"
#include "issuer/acme/acme.h"
#include "issuer/acme/acme_issuer.h"
#include "issuer/acme/http01.h"
#include "issuer/acme/settings.h"

namespace certvault::issuer::acme {
namespace {

class AcmeProvider : public Provider {
 public:
  AcmeProvider(const ProviderContext& ctx, Http01Responder* http01) : ctx_(ctx), http01_(http01) {}

  Status Validate(const model::Issuer& issuer) const override {
    return ParseChecked(issuer).map([](const AcmeSettings&) {});
  }

  Result<std::shared_ptr<Issuer>> Build(const model::Issuer& issuer,
                                        const std::string& password) const override {
    CV_ASSIGN_OR_RETURN(AcmeSettings settings, ParseChecked(issuer));
    if (ctx_.clock == nullptr || ctx_.store == nullptr || ctx_.kek == nullptr) {
      return Fail(Error::Internal("the acme provider needs a clock, a store and a KEK"));
    }
    AcmeIssuer::Config config;
    config.vault = issuer.vault;
    config.name = issuer.name;
    if (!issuer.account_id.empty()) {
      // External Account Binding: CAs hand out the HMAC key base64url-encoded.
      auto key = crypto::Base64UrlDecode(password);
      if (password.empty() || !key || key->empty()) {
        return Fail(Error::BadParameter(
            "credentials.pwd: an acme issuer with an account_id (EAB key id) needs the EAB HMAC "
            "key, base64url-encoded, as its password"));
      }
      config.eab_kid = issuer.account_id;
      config.eab_hmac_key = std::move(*key);
    }
    std::string ca_bundle = settings.ca_bundle.empty() ? ctx_.ca_bundle_path : settings.ca_bundle;
    config.settings = std::move(settings);
    return std::shared_ptr<Issuer>(std::make_shared<AcmeIssuer>(
        ctx_, http01_, std::move(config), NewCurlTransport(std::move(ca_bundle))));
  }

 private:
  Result<AcmeSettings> ParseChecked(const model::Issuer& issuer) const {
    CV_ASSIGN_OR_RETURN(AcmeSettings settings, ParseAcmeSettings(issuer.settings));
    if (settings.challenge == ChallengeType::kHttp01 && http01_ == nullptr) {
      return Fail(
          Error::BadParameter("settings.challenge: http-01 needs the server's ACME HTTP listener "
                              "(certvault server --acme-http-listen); start it or use dns-01"));
    }
    if (settings.challenge == ChallengeType::kDns01) {
      CV_RETURN_IF_ERROR(CheckHookInsideCommandsDir(settings.dns_hook, ctx_.commands_dir));
    }
    return settings;
  }

  const ProviderContext ctx_;
  Http01Responder* const http01_;
};

}  // namespace

std::unique_ptr<Provider> NewAcmeProvider(const ProviderContext& ctx, Http01Responder* http01) {
  return std::make_unique<AcmeProvider>(ctx, http01);
}

}  // namespace certvault::issuer::acme
