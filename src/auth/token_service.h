#pragma once
// TokenService: issues access tokens for the OAuth2 client-credentials grant and verifies bearer
// tokens on every request.
//
// Tokens are ES256 JWTs signed with a key kept (sealed by the KEK) in the store and named by a
// `kid`; the public key is published as a JWKS. Verified tokens are cached until they expire, so
// the hot path costs one hash lookup. Thread-safe.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "keys/kek.h"
#include "store/store.h"

namespace certvault::auth {

struct TokenOptions {
  std::string issuer;    // e.g. https://localhost:8443
  std::string audience;  // the challenge resource, e.g. https://localhost
  int64_t lifetime_seconds = 3600;
};

// Who made a request.
struct Caller {
  std::string client_id;
  bool administrator = false;
};

struct IssuedToken {
  std::string access_token;
  int64_t expires_in = 0;
};

class TokenService {
 public:
  // Loads the signing key from `store`, creating and storing one on first use.
  static Result<std::unique_ptr<TokenService>> Open(store::Store& store,
                                                    const keys::KeyProtector& kek,
                                                    const Clock& clock, TokenOptions options);
  virtual ~TokenService() = default;

  // Checks the client's secret and that it is enabled. Fails with Unauthorized
  // ("invalid_client") without saying which part was wrong.
  virtual Result<IssuedToken> IssueForClient(std::string_view client_id,
                                             std::string_view client_secret) = 0;

  // Verifies signature, kid, alg, issuer, audience, expiry and not-before; fails with Unauthorized.
  virtual Result<Caller> Verify(std::string_view token) = 0;

  // The JSON Web Key Set of the token-signing keys.
  virtual std::string JwksJson() const = 0;

  virtual const TokenOptions& options() const = 0;
};

}  // namespace certvault::auth
