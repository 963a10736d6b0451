#include "auth/token_service.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <utility>

#include "auth/jwt.h"
#include "auth/secret_hash.h"
#include "common/log.h"
#include "crypto/encoding.h"
#include "crypto/key.h"

namespace certvault::auth {

namespace {

using nlohmann::json;

// The key set, oldest key first:
//   {"version": n, "keys": [{"kid": ..., "created": ..., "sealed": base64, "legacy": true?}]}
// `version` grows with every write, so that a replica never swaps in an older snapshot.
constexpr char kKeySetSetting[] = "token_signing_keys";
// Before rotation there was one key, sealed under this setting. Open migrates it into the set
// (marked "legacy", keeping its kid) and the setting is emptied once that key retires.
constexpr char kLegacyKeySetting[] = "token_signing_key";
constexpr char kLegacyKeyAad[] = "setting/token_signing_key";
constexpr size_t kMaxCachedTokens = 100000;
constexpr int64_t kUnknownKidReloadSeconds = 5;
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr size_t kMaxScopeSize = 1024;

Error Corrupt(const std::string& why) {
  return Error::Internal("the token signing key set is corrupt: " + why);
}

// Binds a sealed key to its kid and creation time, so that entries cannot be swapped or
// re-dated.
std::string KeyAad(std::string_view kid, int64_t created) {
  return std::string(kKeySetSetting) + "/" + std::string(kid) + "/" + std::to_string(created);
}

std::string KidFor(const crypto::PublicKey& key) {
  return crypto::Base64UrlEncode(crypto::Sha256(key.ToDer()).substr(0, 12));
}

// A key-set entry as stored, still sealed.
struct StoredKey {
  std::string kid;
  int64_t created = 0;
  std::string sealed;  // PKCS#8 sealed by the KEK with KeyAad(kid, created)
  bool legacy = false;
};

struct StoredKeySet {
  int64_t version = 0;
  std::vector<StoredKey> keys;  // oldest first; the last one is current
};

// When key `i` stops verifying: once every token it can have signed has expired.
int64_t RetireAfter(const std::vector<StoredKey>& keys, size_t i, const TokenOptions& options) {
  if (i + 1 >= keys.size()) return kNever;
  return keys[i + 1].created + options.lifetime_seconds + options.clock_skew_seconds;
}

Result<StoredKeySet> ParseStoredKeySet(std::string_view raw) {
  const json j = json::parse(raw, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("version") || !j["version"].is_number_integer() ||
      !j.contains("keys") || !j["keys"].is_array()) {
    return Fail(Corrupt("not a key set"));
  }
  StoredKeySet set;
  set.version = j["version"].get<int64_t>();
  for (const json& k : j["keys"]) {
    if (!k.is_object() || !k.contains("kid") || !k["kid"].is_string() || !k.contains("created") ||
        !k["created"].is_number_integer() || !k.contains("sealed") || !k["sealed"].is_string()) {
      return Fail(Corrupt("malformed key entry"));
    }
    auto sealed = crypto::Base64Decode(k["sealed"].get<std::string>());
    if (!sealed) return Fail(Corrupt("sealed key is not base64"));
    set.keys.push_back(StoredKey{k["kid"].get<std::string>(), k["created"].get<int64_t>(),
                                 std::move(*sealed), k.contains("legacy") && k["legacy"] == true});
  }
  if (set.keys.empty()) return Fail(Corrupt("no keys"));
  return set;
}

std::string SerializeStoredKeySet(const StoredKeySet& set) {
  json keys = json::array();
  for (const StoredKey& k : set.keys) {
    json entry = {
        {"kid", k.kid}, {"created", k.created}, {"sealed", crypto::Base64Encode(k.sealed)}};
    if (k.legacy) entry["legacy"] = true;
    keys.push_back(std::move(entry));
  }
  return json{{"version", set.version}, {"keys", std::move(keys)}}.dump();
}

Result<StoredKey> SealKey(const keys::KeyProtector& kek, const crypto::PrivateKey& key,
                          int64_t created) {
  StoredKey stored;
  stored.kid = KidFor(key.Public());
  stored.created = created;
  CV_ASSIGN_OR_RETURN(stored.sealed, kek.Seal(key.ToPkcs8Der(), KeyAad(stored.kid, created)));
  return stored;
}

Result<StoredKey> NewStoredKey(const keys::KeyProtector& kek, int64_t created) {
  CV_ASSIGN_OR_RETURN(auto key, crypto::PrivateKey::Generate({crypto::KeyKind::kEc, 0, "P-256"}));
  return SealKey(kek, key, created);
}

// An unsealed signing key.
struct LoadedKey {
  std::string kid;
  int64_t created;
  int64_t retire_after;  // kNever for the current key
  crypto::PrivateKey private_key;
  crypto::PublicKey public_key;
  json jwk;
};

// An immutable snapshot of the key set; replaced as a whole when the stored set changes.
struct KeySet {
  std::string raw;  // the setting as stored, to notice changes without unsealing
  int64_t version = 0;
  std::vector<LoadedKey> keys;  // oldest first, never empty; the last one is current

  const LoadedKey& current() const { return keys.back(); }
  const LoadedKey* Find(std::string_view kid) const {
    for (const LoadedKey& k : keys) {
      if (k.kid == kid) return &k;
    }
    return nullptr;
  }
};

Result<std::shared_ptr<const KeySet>> OpenKeySet(const StoredKeySet& stored, std::string raw,
                                                 const keys::KeyProtector& kek,
                                                 const TokenOptions& options) {
  auto set = std::make_shared<KeySet>();
  set->raw = std::move(raw);
  set->version = stored.version;
  for (size_t i = 0; i < stored.keys.size(); ++i) {
    const StoredKey& s = stored.keys[i];
    CV_ASSIGN_OR_RETURN(std::string der, kek.Open(s.sealed, KeyAad(s.kid, s.created)));
    auto key = crypto::PrivateKey::FromDer(der);
    if (!key) return Fail(Corrupt("a sealed key does not parse"));
    const crypto::KeySpec spec = key->Spec();
    if (spec.kind != crypto::KeyKind::kEc || spec.curve != "P-256") {
      return Fail(Corrupt("a key is not EC P-256"));
    }
    crypto::PublicKey public_key = key->Public();
    if (KidFor(public_key) != s.kid) return Fail(Corrupt("a kid does not match its key"));
    json jwk = {{"kid", s.kid}, {"use", "sig"}, {"alg", "ES256"}};
    CV_ASSIGN_OR_RETURN(crypto::EcPoint point, crypto::EcPublicPoint(public_key));
    jwk["kty"] = "EC";
    jwk["crv"] = point.crv;
    jwk["x"] = crypto::Base64UrlEncode(point.x);
    jwk["y"] = crypto::Base64UrlEncode(point.y);
    set->keys.push_back(LoadedKey{s.kid, s.created, RetireAfter(stored.keys, i, options),
                                  std::move(*key), std::move(public_key), std::move(jwk)});
  }
  if (set->keys.empty()) return Fail(Corrupt("no keys"));
  return std::shared_ptr<const KeySet>(std::move(set));
}

Result<std::shared_ptr<const KeySet>> ParseAndOpenKeySet(std::string raw,
                                                         const keys::KeyProtector& kek,
                                                         const TokenOptions& options) {
  CV_ASSIGN_OR_RETURN(StoredKeySet stored, ParseStoredKeySet(raw));
  return OpenKeySet(stored, std::move(raw), kek, options);
}

// The hash of a random secret: checked against when the client does not exist, so that the
// response time does not tell which client ids exist.
const std::string& DummySecretHash() {
  static const std::string hash = HashClientSecret(NewClientSecret());
  return hash;
}

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class TokenServiceImpl final : public TokenService {
 public:
  TokenServiceImpl(store::Store& store, const keys::KeyProtector& kek, const Clock& clock,
                   TokenOptions options, std::shared_ptr<const KeySet> keys)
      : store_(store),
        kek_(kek),
        clock_(clock),
        options_(std::move(options)),
        keys_(std::move(keys)) {}

  Result<IssuedToken> IssueForClient(std::string_view client_id, std::string_view client_secret,
                                     std::string_view scope) override {
    auto invalid = [] {
      return Fail(Error(ErrorKind::kUnauthorized, "invalid_client",
                        "the client id or secret is not valid"));
    };
    if (client_id.empty() || client_secret.empty() || client_id.size() > 256 ||
        client_secret.size() > 1024) {
      return invalid();
    }
    CV_ASSIGN_OR_RETURN(std::string audience, AudienceForScope(scope));
    const int64_t now = clock_.NowUnix();
    CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
    CV_ASSIGN_OR_RETURN(auto principal, txn->GetPrincipal(client_id));
    const bool secret_ok = VerifyClientSecret(
        client_secret, principal ? std::string_view(principal->secret_hash) : DummySecretHash());
    if (!principal || !secret_ok || !principal->enabled ||
        (principal->secret_expires != 0 && principal->secret_expires <= now)) {
      return invalid();
    }
    // Sign with the key the store says is current: another replica may have rotated.
    CV_RETURN_IF_ERROR(Refresh(*txn));
    txn.reset();
    const std::shared_ptr<const KeySet> keys = Keys();
    const LoadedKey& key = keys->current();
    JwtClaims claims;
    claims.iss = options_.issuer;
    claims.sub = principal->client_id;
    claims.aud = std::move(audience);
    claims.tid = "certvault";
    claims.jti = crypto::NewId();
    claims.iat = now;
    claims.nbf = now;
    claims.exp = now + options_.lifetime_seconds;
    CV_ASSIGN_OR_RETURN(std::string token, SignJwt(claims, key.kid, key.private_key));
    return IssuedToken{std::move(token), options_.lifetime_seconds};
  }

  Result<Caller> Verify(std::string_view token) override {
    const int64_t now = clock_.NowUnix();
    if (token.size() > kMaxJwtSize) return Fail(Error::Unauthorized("malformed token: too long"));
    {
      std::lock_guard lock(cache_mu_);
      auto it = cache_.find(token);
      if (it != cache_.end()) {
        if (it->second.valid_until > now) return it->second.caller;
        cache_.erase(it);  // and verify again, to say why it is no longer valid
      }
    }
    CV_ASSIGN_OR_RETURN(ParsedJwt jwt, ParseJwt(token));
    if (jwt.alg != "ES256") return Fail(Error::Unauthorized("token algorithm not accepted"));
    if (jwt.kid.empty()) return Fail(Error::Unauthorized("the token names no signing key"));
    CV_ASSIGN_OR_RETURN(auto keys, KeysKnowing(jwt.kid, now));
    const LoadedKey* key = keys->Find(jwt.kid);
    if (key == nullptr) return Fail(Error::Unauthorized("token signed by an unknown key"));
    if (key->retire_after <= now) {
      return Fail(Error::Unauthorized("token signed by a retired key"));
    }
    CV_RETURN_IF_ERROR(key->public_key.VerifyJose(jwt.alg, jwt.signing_input, jwt.signature));
    if (jwt.claims.iss != options_.issuer) return Fail(Error::Unauthorized("wrong token issuer"));
    if (jwt.claims.aud != options_.audience) {
      return Fail(Error::Unauthorized("wrong token audience"));
    }
    if (jwt.claims.sub.empty()) return Fail(Error::Unauthorized("the token names no subject"));
    const int64_t valid_until =
        std::min(SaturatingAdd(jwt.claims.exp, options_.clock_skew_seconds), key->retire_after);
    if (valid_until <= now) return Fail(Error::Unauthorized("the token has expired"));
    if (jwt.claims.nbf > now + options_.clock_skew_seconds) {
      return Fail(Error::Unauthorized("the token is not yet valid"));
    }
    Caller caller{jwt.claims.sub, jwt.claims.exp};
    std::lock_guard lock(cache_mu_);
    if (cache_.size() >= kMaxCachedTokens) cache_.clear();
    cache_.emplace(std::string(token), CachedToken{caller, valid_until});
    return caller;
  }

  Result<std::string> RotateSigningKey() override { return Update(/*always_rotate=*/true); }

  Status MaybeRotate() override {
    const int64_t now = clock_.NowUnix();
    {
      CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
      CV_RETURN_IF_ERROR(Refresh(*txn));
    }
    const std::shared_ptr<const KeySet> keys = Keys();
    const bool rotation_due = keys->current().created + options_.key_rotation_seconds <= now;
    const bool retirement_due = keys->keys.front().retire_after <= now;
    if (!rotation_due && !retirement_due) return Ok();
    CV_RETURN_IF_ERROR(Update(/*always_rotate=*/false));
    return Ok();
  }

  std::vector<SigningKeyInfo> SigningKeys() const override {
    const int64_t now = clock_.NowUnix();
    const std::shared_ptr<const KeySet> keys = Keys();
    std::vector<SigningKeyInfo> out;
    for (const LoadedKey& k : keys->keys) {
      if (k.retire_after <= now) continue;
      const bool current = &k == &keys->current();
      out.push_back(SigningKeyInfo{k.kid, k.created, current, current ? 0 : k.retire_after});
    }
    return out;
  }

  std::string JwksJson() const override {
    const int64_t now = clock_.NowUnix();
    const std::shared_ptr<const KeySet> keys = Keys();
    json jwks = json::array();
    for (const LoadedKey& k : keys->keys) {
      if (k.retire_after > now) jwks.push_back(k.jwk);
    }
    return json{{"keys", std::move(jwks)}}.dump();
  }

  const TokenOptions& options() const override { return options_; }

 private:
  struct CachedToken {
    Caller caller;
    int64_t valid_until;  // exclusive
  };

  static int64_t SaturatingAdd(int64_t a, int64_t b) {
    return a > kNever - b ? kNever : a + b;  // b >= 0 (options are validated)
  }

  // The token audience a `scope` form field asks for.
  Result<std::string> AudienceForScope(std::string_view scope) const {
    const size_t begin = scope.find_first_not_of(' ');
    if (begin == std::string_view::npos) return options_.audience;  // no scope given
    auto invalid_scope = [] {
      return Fail(Error(ErrorKind::kBadRequest, "invalid_scope", "the scope names no resource"));
    };
    if (scope.size() > kMaxScopeSize) return invalid_scope();
    std::string_view entry = scope.substr(begin);
    entry = entry.substr(0, entry.find(' '));
    constexpr std::string_view kDefaultSuffix = "/.default";
    if (entry.ends_with(kDefaultSuffix)) entry.remove_suffix(kDefaultSuffix.size());
    const bool has_control = std::any_of(entry.begin(), entry.end(), [](char c) {
      return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    });
    if (entry.empty() || has_control) return invalid_scope();
    return std::string(entry);
  }

  std::shared_ptr<const KeySet> Keys() const {
    std::lock_guard lock(keys_mu_);
    return keys_;
  }

  // Replaces the key set unless a newer one is already in use.
  void Adopt(std::shared_ptr<const KeySet> keys) {
    std::lock_guard lock(keys_mu_);
    if (keys->version > keys_->version) keys_ = std::move(keys);
  }

  // Adopts the set stored as of `txn`, if it differs from the one in use.
  Status Refresh(store::Transaction& txn) {
    CV_ASSIGN_OR_RETURN(auto raw, txn.GetSetting(kKeySetSetting));
    if (!raw) return Fail(Corrupt("the setting is missing"));
    if (*raw == Keys()->raw) return Ok();
    CV_ASSIGN_OR_RETURN(auto keys, ParseAndOpenKeySet(std::move(*raw), kek_, options_));
    Adopt(std::move(keys));
    return Ok();
  }

  // The key set in use, reloaded from the store first if it does not know `kid` and the last
  // such reload is at least kUnknownKidReloadSeconds old (tokens with made-up kids must not
  // turn into store reads).
  Result<std::shared_ptr<const KeySet>> KeysKnowing(std::string_view kid, int64_t now) {
    std::shared_ptr<const KeySet> keys = Keys();
    if (keys->Find(kid) != nullptr) return keys;
    std::lock_guard lock(reload_mu_);
    keys = Keys();  // another thread may just have reloaded
    if (keys->Find(kid) != nullptr || now < next_unknown_kid_reload_) return keys;
    next_unknown_kid_reload_ = now + kUnknownKidReloadSeconds;
    CV_ASSIGN_OR_RETURN(auto txn, store_.BeginRead());
    CV_RETURN_IF_ERROR(Refresh(*txn));
    return Keys();
  }

  // In one write transaction on the stored set (not the cached one, so that a concurrent
  // rotation by another replica is kept): adds a new current key when `always_rotate` or when
  // the current one is due, and drops retired keys. Returns the current kid.
  Result<std::string> Update(bool always_rotate) {
    const int64_t now = clock_.NowUnix();
    CV_ASSIGN_OR_RETURN(auto txn, store_.BeginWrite());
    CV_ASSIGN_OR_RETURN(auto raw, txn->GetSetting(kKeySetSetting));
    StoredKeySet set;
    if (raw) {
      CV_ASSIGN_OR_RETURN(set, ParseStoredKeySet(*raw));
    }
    bool changed = false;
    bool rotated = false;
    if (always_rotate || set.keys.empty() ||
        set.keys.back().created + options_.key_rotation_seconds <= now) {
      // Creation times stay ordered even if this replica's clock is behind the last writer's.
      const int64_t created = set.keys.empty() ? now : std::max(now, set.keys.back().created);
      CV_ASSIGN_OR_RETURN(StoredKey key, NewStoredKey(kek_, created));
      set.keys.push_back(std::move(key));
      changed = rotated = true;
    }
    bool legacy_dropped = false;
    while (set.keys.size() > 1 && RetireAfter(set.keys, 0, options_) <= now) {
      legacy_dropped = legacy_dropped || set.keys.front().legacy;
      set.keys.erase(set.keys.begin());
      changed = true;
    }
    std::string new_raw = raw.value_or("");
    if (changed) {
      ++set.version;
      new_raw = SerializeStoredKeySet(set);
      CV_RETURN_IF_ERROR(txn->PutSetting(kKeySetSetting, new_raw));
      if (legacy_dropped) CV_RETURN_IF_ERROR(txn->PutSetting(kLegacyKeySetting, ""));
      CV_RETURN_IF_ERROR(txn->Commit());
    }
    txn.reset();
    CV_ASSIGN_OR_RETURN(auto keys, OpenKeySet(set, std::move(new_raw), kek_, options_));
    std::string kid = keys->current().kid;
    if (rotated) log::Info("rotated the token signing key; the new kid is " + kid);
    Adopt(std::move(keys));
    return kid;
  }

  store::Store& store_;
  const keys::KeyProtector& kek_;
  const Clock& clock_;
  const TokenOptions options_;

  mutable std::mutex keys_mu_;
  std::shared_ptr<const KeySet> keys_;  // guarded by keys_mu_; never null

  std::mutex reload_mu_;  // serialises reloads for unknown kids
  int64_t next_unknown_kid_reload_ = std::numeric_limits<int64_t>::min();  // guarded by reload_mu_

  std::mutex cache_mu_;
  std::unordered_map<std::string, CachedToken, StringHash, std::equal_to<>>
      cache_;  // guarded by cache_mu_
};

Status ValidateOptions(const TokenOptions& o) {
  if (o.issuer.empty() || o.audience.empty()) {
    return Fail(Error::BadParameter("token issuer and audience are required"));
  }
  constexpr int64_t kYear = 366 * 24 * 3600;
  if (o.lifetime_seconds <= 0 || o.lifetime_seconds > kYear) {
    return Fail(Error::BadParameter("token lifetime must be between 1 second and a year"));
  }
  if (o.clock_skew_seconds < 0 || o.clock_skew_seconds > 24 * 3600) {
    return Fail(Error::BadParameter("token clock skew must be between 0 and a day"));
  }
  if (o.key_rotation_seconds <= 0 || o.key_rotation_seconds > 10 * kYear) {
    return Fail(
        Error::BadParameter("token key rotation period must be between 1 second and 10 years"));
  }
  return Ok();
}

// Reads the key set, creating it on first start or migrating the single key of older versions.
Result<std::shared_ptr<const KeySet>> LoadOrCreateKeySet(store::Store& store,
                                                         const keys::KeyProtector& kek,
                                                         const Clock& clock,
                                                         const TokenOptions& options) {
  {
    CV_ASSIGN_OR_RETURN(auto txn, store.BeginRead());
    CV_ASSIGN_OR_RETURN(auto raw, txn->GetSetting(kKeySetSetting));
    if (raw) return ParseAndOpenKeySet(std::move(*raw), kek, options);
  }
  CV_ASSIGN_OR_RETURN(auto txn, store.BeginWrite());
  CV_ASSIGN_OR_RETURN(auto raw, txn->GetSetting(kKeySetSetting));
  if (raw) return ParseAndOpenKeySet(std::move(*raw), kek, options);  // another replica won
  const int64_t now = clock.NowUnix();
  CV_ASSIGN_OR_RETURN(auto legacy, txn->GetSetting(kLegacyKeySetting));
  StoredKeySet set;
  set.version = 1;
  if (legacy && !legacy->empty()) {
    // Keeps the key (and so its kid): tokens it signed stay valid across the upgrade.
    CV_ASSIGN_OR_RETURN(std::string der, kek.Open(*legacy, kLegacyKeyAad));
    CV_ASSIGN_OR_RETURN(auto key, crypto::PrivateKey::FromDer(der));
    CV_ASSIGN_OR_RETURN(StoredKey stored, SealKey(kek, key, now));
    stored.legacy = true;
    set.keys.push_back(std::move(stored));
    log::Info("migrated the token signing key into a rotating key set");
  } else {
    CV_ASSIGN_OR_RETURN(StoredKey stored, NewStoredKey(kek, now));
    set.keys.push_back(std::move(stored));
  }
  std::string serialized = SerializeStoredKeySet(set);
  CV_RETURN_IF_ERROR(txn->PutSetting(kKeySetSetting, serialized));
  CV_RETURN_IF_ERROR(txn->Commit());
  return OpenKeySet(set, std::move(serialized), kek, options);
}

}  // namespace

Result<std::unique_ptr<TokenService>> TokenService::Open(store::Store& store,
                                                         const keys::KeyProtector& kek,
                                                         const Clock& clock, TokenOptions options) {
  CV_RETURN_IF_ERROR(ValidateOptions(options));
  CV_ASSIGN_OR_RETURN(auto keys, LoadOrCreateKeySet(store, kek, clock, options));
  return std::unique_ptr<TokenService>(
      std::make_unique<TokenServiceImpl>(store, kek, clock, std::move(options), std::move(keys)));
}

}  // namespace certvault::auth
