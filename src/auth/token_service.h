#pragma once
// TokenService: issues access tokens for the OAuth2 client-credentials grant and verifies bearer
// tokens on every request.
//
// Tokens are ES256 JWTs. The signing keys form a set kept in the store (each key sealed by the
// KEK) and named by `kid`: the newest key is current and signs; older keys still verify until
// every token they signed has expired (their successor's creation + token lifetime + clock
// skew), then they are dropped. Every retained key is published as a JWKS. Several replicas may
// share one store: a rotation by one is seen by the others when they issue a token, when they
// run MaybeRotate, and when a token names a kid they do not know yet.
//
// Verify checks the token alone (signature, kid, alg, issuer, audience, times) and does not read
// principals: whether the caller is still enabled, and what it may do, is the Authorizer's
// business. Verified tokens are cached until they expire, so the hot path costs one hash lookup.
//
// Thread-safe.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "keys/kek.h"
#include "store/store.h"

namespace certvault::auth {

struct TokenOptions {
  std::string issuer;    // e.g. https://localhost:8443
  std::string audience;  // the challenge resource, e.g. https://localhost; the only one accepted
  int64_t lifetime_seconds = 3600;
  // Tolerated clock difference for exp and nbf (and between replicas).
  int64_t clock_skew_seconds = 30;
  // MaybeRotate makes a new signing key when the current one is this old.
  int64_t key_rotation_seconds = 30 * 24 * 3600;
};

// Who made a request, as far as the token says.
struct Caller {
  std::string client_id;
  int64_t expires = 0;  // the token's exp, Unix seconds
};

struct IssuedToken {
  std::string access_token;
  int64_t expires_in = 0;
};

// One retained token-signing key, for the management API.
struct SigningKeyInfo {
  std::string kid;
  int64_t created = 0;  // Unix seconds
  bool current = false;
  int64_t retire_after = 0;  // Unix seconds; 0 for the current key
};

class TokenService {
 public:
  // Loads the signing-key set from `store`, creating it on first use (and migrating the single
  // key of older versions into it). Fails with BadParameter for invalid options.
  // REQUIRES: `store`, `kek` and `clock` outlive the service.
  static Result<std::unique_ptr<TokenService>> Open(store::Store& store,
                                                    const keys::KeyProtector& kek,
                                                    const Clock& clock, TokenOptions options);
  virtual ~TokenService() = default;

  // Checks that the client exists, is enabled, and that its secret is right and has not expired;
  // fails with Unauthorized ("invalid_client") without saying which part was wrong. `scope` is
  // the OAuth2 scope form field: when non-empty the token's audience is its first entry without
  // a trailing "/.default" (as Entra ID does), else options().audience. Fails with BadRequest
  // ("invalid_scope") when that leaves no audience.
  virtual Result<IssuedToken> IssueForClient(std::string_view client_id,
                                             std::string_view client_secret,
                                             std::string_view scope) = 0;

  // Verifies signature, kid, alg, issuer, audience, expiry and not-before; fails with
  // Unauthorized. Reads the store only when the kid is unknown (at most once per 5 seconds), in
  // case another replica has rotated the key.
  virtual Result<Caller> Verify(std::string_view token) = 0;

  // Makes a new current signing key and stores the set; the previous key keeps verifying until
  // it retires. Builds on the stored set, so a concurrent rotation by another replica is kept,
  // not overwritten. Returns the new kid.
  virtual Result<std::string> RotateSigningKey() = 0;

  // For the server's maintenance loop (every minute or so): reloads the set from the store,
  // rotates when the current key is older than options().key_rotation_seconds and drops retired
  // keys.
  virtual Status MaybeRotate() = 0;

  // The retained keys, oldest first; the last one is current.
  virtual std::vector<SigningKeyInfo> SigningKeys() const = 0;

  // The JSON Web Key Set of every retained signing key.
  virtual std::string JwksJson() const = 0;

  virtual const TokenOptions& options() const = 0;
};

}  // namespace certvault::auth
