#include "auth/token_service.h"

#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "auth/jwt.h"
#include "auth/secret_hash.h"
#include "crypto/encoding.h"
#include "crypto/key.h"

namespace certvault::auth {

namespace {

constexpr char kSigningKeySetting[] = "token_signing_key";
constexpr char kSigningKeyAad[] = "setting/token_signing_key";
constexpr size_t kMaxCachedTokens = 100000;
// Tolerated clock difference for nbf and exp.
constexpr int64_t kLeewaySeconds = 30;

class TokenServiceImpl final : public TokenService {
 public:
  TokenServiceImpl(store::Store& store, const Clock& clock, TokenOptions options,
                   crypto::PrivateKey key)
      : store_(store),
        clock_(clock),
        options_(std::move(options)),
        key_(std::move(key)),
        public_key_(key_.Public()),
        kid_(crypto::Base64UrlEncode(crypto::Sha256(public_key_.ToDer()).substr(0, 12))) {}

  Result<IssuedToken> IssueForClient(std::string_view client_id,
                                     std::string_view client_secret) override {
    auto invalid = [] {
      return Fail(Error(ErrorKind::kUnauthorized, "invalid_client",
                        "the client id or secret is not valid"));
    };
    if (client_id.empty() || client_secret.empty() || client_id.size() > 256) return invalid();
    CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
    CV_ASSIGN_OR_RETURN(auto principal, txn->GetPrincipal(client_id));
    if (!principal || !principal->enabled ||
        !VerifyClientSecret(client_secret, principal->secret_hash)) {
      return invalid();
    }
    const int64_t now = clock_.NowUnix();
    JwtClaims claims;
    claims.iss = options_.issuer;
    claims.sub = principal->client_id;
    claims.aud = options_.audience;
    claims.tid = "certvault";
    claims.jti = crypto::NewId();
    claims.iat = now;
    claims.nbf = now;
    claims.exp = now + options_.lifetime_seconds;
    CV_ASSIGN_OR_RETURN(std::string token, SignJwt(claims, kid_, key_));
    return IssuedToken{std::move(token), options_.lifetime_seconds};
  }

  Result<Caller> Verify(std::string_view token) override {
    const int64_t now = clock_.NowUnix();
    {
      std::lock_guard lock(mu_);
      auto it = cache_.find(std::string(token));
      if (it != cache_.end()) {
        if (it->second.exp + kLeewaySeconds > now) return it->second.caller;
        cache_.erase(it);
        return Fail(Error::Unauthorized("the token has expired"));
      }
    }
    CV_ASSIGN_OR_RETURN(ParsedJwt jwt, ParseJwt(token));
    if (jwt.alg != "ES256") return Fail(Error::Unauthorized("token algorithm not accepted"));
    if (jwt.kid != kid_) return Fail(Error::Unauthorized("token signed by an unknown key"));
    CV_RETURN_IF_ERROR(public_key_.VerifyJose(jwt.alg, jwt.signing_input, jwt.signature));
    if (jwt.claims.iss != options_.issuer) return Fail(Error::Unauthorized("wrong token issuer"));
    if (jwt.claims.aud != options_.audience) {
      return Fail(Error::Unauthorized("wrong token audience"));
    }
    if (jwt.claims.exp + kLeewaySeconds <= now) {
      return Fail(Error::Unauthorized("the token has expired"));
    }
    if (jwt.claims.nbf > now + kLeewaySeconds) {
      return Fail(Error::Unauthorized("the token is not yet valid"));
    }
    CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
    CV_ASSIGN_OR_RETURN(auto principal, txn->GetPrincipal(jwt.claims.sub));
    if (!principal || !principal->enabled) {
      return Fail(Error::Unauthorized("the token's principal is disabled or deleted"));
    }
    Caller caller{principal->client_id, principal->administrator};
    std::lock_guard lock(mu_);
    if (cache_.size() >= kMaxCachedTokens) cache_.clear();
    cache_.emplace(std::string(token), CachedToken{caller, jwt.claims.exp});
    return caller;
  }

  std::string JwksJson() const override {
    nlohmann::json jwk = {{"kid", kid_}, {"use", "sig"}, {"alg", "ES256"}};
    if (auto point = crypto::EcPublicPoint(public_key_)) {
      jwk["kty"] = "EC";
      jwk["crv"] = point->crv;
      jwk["x"] = crypto::Base64UrlEncode(point->x);
      jwk["y"] = crypto::Base64UrlEncode(point->y);
    }
    return nlohmann::json{{"keys", nlohmann::json::array({jwk})}}.dump();
  }

  const TokenOptions& options() const override { return options_; }

 private:
  struct CachedToken {
    Caller caller;
    int64_t exp;
  };

  store::Store& store_;
  const Clock& clock_;
  const TokenOptions options_;
  const crypto::PrivateKey key_;
  const crypto::PublicKey public_key_;
  const std::string kid_;
  std::mutex mu_;
  std::unordered_map<std::string, CachedToken> cache_;  // guarded by mu_
};

Result<crypto::PrivateKey> LoadOrCreateSigningKey(store::Store& store,
                                                  const keys::KeyProtector& kek) {
  {
    CV_ASSIGN_OR_RETURN(auto txn, store.BeginRead());
    CV_ASSIGN_OR_RETURN(auto sealed, txn->GetSetting(kSigningKeySetting));
    if (sealed) {
      CV_ASSIGN_OR_RETURN(std::string der, kek.Open(*sealed, kSigningKeyAad));
      return crypto::PrivateKey::FromDer(der);
    }
  }
  CV_ASSIGN_OR_RETURN(auto key, crypto::PrivateKey::Generate({crypto::KeyKind::kEc, 0, "P-256"}));
  CV_ASSIGN_OR_RETURN(std::string sealed, kek.Seal(key.ToPkcs8Der(), kSigningKeyAad));
  CV_ASSIGN_OR_RETURN(auto txn, store.BeginWrite());
  CV_ASSIGN_OR_RETURN(auto existing, txn->GetSetting(kSigningKeySetting));
  if (existing) {  // another replica won the race
    CV_ASSIGN_OR_RETURN(std::string der, kek.Open(*existing, kSigningKeyAad));
    return crypto::PrivateKey::FromDer(der);
  }
  CV_RETURN_IF_ERROR(txn->PutSetting(kSigningKeySetting, sealed));
  CV_RETURN_IF_ERROR(txn->Commit());
  return key;
}

}  // namespace

Result<std::unique_ptr<TokenService>> TokenService::Open(store::Store& store,
                                                         const keys::KeyProtector& kek,
                                                         const Clock& clock, TokenOptions options) {
  CV_ASSIGN_OR_RETURN(auto key, LoadOrCreateSigningKey(store, kek));
  return std::unique_ptr<TokenService>(
      std::make_unique<TokenServiceImpl>(store, clock, std::move(options), std::move(key)));
}

}  // namespace certvault::auth
