#include "auth/token_service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "auth/jwt.h"
#include "auth/secret_hash.h"
#include "crypto/encoding.h"
#include "crypto/key.h"

namespace certvault::auth {
namespace {

using nlohmann::json;

constexpr int64_t kStart = 1800000000;
constexpr int64_t kLifetime = 3600;
constexpr int64_t kSkew = 30;
constexpr int64_t kDay = 24 * 3600;

TokenOptions Options(int64_t lifetime = kLifetime) {
  TokenOptions o;
  o.issuer = "https://localhost";
  o.audience = "https://localhost";
  o.lifetime_seconds = lifetime;
  return o;
}

std::string Part(const json& j) { return crypto::Base64UrlEncode(j.dump()); }

json DecodePart(const std::string& token, int index) {
  size_t begin = 0;
  for (int i = 0; i < index; ++i) begin = token.find('.', begin) + 1;
  const size_t end = token.find('.', begin);
  return json::parse(*crypto::Base64UrlDecode(token.substr(begin, end - begin)));
}

crypto::PrivateKey NewEcKey() {
  return *crypto::PrivateKey::Generate({crypto::KeyKind::kEc, 0, "P-256"});
}

class TokenServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model::Principal p;
    p.client_id = "client";
    p.secret_hash = HashClientSecret("s3cret");
    PutPrincipal(p);
    service_ = OpenService();
  }

  std::unique_ptr<TokenService> OpenService(TokenOptions options = Options()) {
    auto service = TokenService::Open(*store_, *kek_, clock_, std::move(options));
    EXPECT_TRUE(service) << service.error().message();
    return std::move(*service);
  }

  void PutPrincipal(const model::Principal& p) {
    auto txn = *store_->BeginWrite();
    ASSERT_TRUE(txn->PutPrincipal(p));
    ASSERT_TRUE(txn->Commit());
  }

  model::Principal GetPrincipal() {
    auto txn = *store_->BeginRead();
    return **txn->GetPrincipal("client");
  }

  std::string Issue(TokenService& service, std::string_view scope = "") {
    auto issued = service.IssueForClient("client", "s3cret", scope);
    EXPECT_TRUE(issued) << issued.error().message();
    return issued ? issued->access_token : std::string();
  }
  std::string Issue() { return Issue(*service_); }

  std::string CurrentKid(const TokenService& service) const {
    return service.SigningKeys().back().kid;
  }

  // Claims that pass every check but the signature's.
  JwtClaims GoodClaims() const {
    JwtClaims c;
    c.iss = "https://localhost";
    c.sub = "client";
    c.aud = "https://localhost";
    c.iat = c.nbf = clock_.NowUnix();
    c.exp = clock_.NowUnix() + 600;
    return c;
  }

  json GoodPayload() const {
    const JwtClaims c = GoodClaims();
    return {{"iss", c.iss}, {"sub", c.sub}, {"aud", c.aud},
            {"iat", c.iat}, {"nbf", c.nbf}, {"exp", c.exp}};
  }

  // Signs `payload` as ES256 with a key the service does not have, under the service's kid.
  std::string SignForeign(const json& payload) const {
    const std::string input =
        Part({{"alg", "ES256"}, {"kid", CurrentKid(*service_)}}) + "." + Part(payload);
    return input + "." + crypto::Base64UrlEncode(*NewEcKey().SignJose("ES256", input));
  }

  // Re-encodes a token's payload with `edit` applied, keeping the original signature.
  static std::string EditPayload(const std::string& token, const std::function<void(json&)>& edit) {
    const size_t d1 = token.find('.'), d2 = token.rfind('.');
    json payload = DecodePart(token, 1);
    edit(payload);
    return token.substr(0, d1 + 1) + Part(payload) + token.substr(d2);
  }

  // Expects Verify to fail with Unauthorized, saying `why` and not echoing the token.
  void ExpectRefused(TokenService& service, const std::string& token, const std::string& why) {
    auto r = service.Verify(token);
    ASSERT_FALSE(r) << "accepted; expected: " << why;
    EXPECT_EQ(r.error().kind(), ErrorKind::kUnauthorized) << r.error().message();
    EXPECT_NE(r.error().message().find(why), std::string::npos) << r.error().message();
    const std::string signature = token.substr(token.rfind('.') + 1);
    if (token.size() > 8) {
      EXPECT_EQ(r.error().message().find(token), std::string::npos);
    }
    if (signature.size() > 8) {
      EXPECT_EQ(r.error().message().find(signature), std::string::npos);
    }
  }
  void ExpectRefused(const std::string& token, const std::string& why) {
    ExpectRefused(*service_, token, why);
  }

  std::optional<std::string> Setting(const std::string& key) {
    auto txn = *store_->BeginRead();
    return *txn->GetSetting(key);
  }

  FakeClock clock_{kStart};
  std::unique_ptr<store::Store> store_ = store::NewMemoryStore();
  std::unique_ptr<keys::KeyProtector> kek_ = keys::NewKekFromBytes(std::string(32, 'k'));
  std::unique_ptr<TokenService> service_;
};

// --- Issuing ---

TEST_F(TokenServiceTest, IssuesAndVerifies) {
  auto issued = service_->IssueForClient("client", "s3cret", "");
  ASSERT_TRUE(issued);
  EXPECT_EQ(issued->expires_in, kLifetime);
  const json header = DecodePart(issued->access_token, 0);
  EXPECT_EQ(header["alg"], "ES256");
  EXPECT_EQ(header["kid"], CurrentKid(*service_));
  auto caller = service_->Verify(issued->access_token);
  ASSERT_TRUE(caller) << caller.error().message();
  EXPECT_EQ(caller->client_id, "client");
  EXPECT_EQ(caller->expires, kStart + kLifetime);
  // The second time comes from the cache, with the same answer.
  auto again = service_->Verify(issued->access_token);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->client_id, "client");
  EXPECT_EQ(again->expires, kStart + kLifetime);
}

TEST_F(TokenServiceTest, WrongSecretOrUnknownClientIsRefusedAlike) {
  for (auto [id, secret] : {std::pair{"client", "wrong"}, std::pair{"nobody", "s3cret"},
                            std::pair{"client", ""}, std::pair{"", "s3cret"}}) {
    auto r = service_->IssueForClient(id, secret, "");
    ASSERT_FALSE(r) << id << " / " << secret;
    EXPECT_EQ(r.error().kind(), ErrorKind::kUnauthorized);
    EXPECT_EQ(r.error().code(), "invalid_client");
    EXPECT_EQ(r.error().message(), "the client id or secret is not valid");
  }
}

TEST_F(TokenServiceTest, DisabledPrincipalCannotGetTokens) {
  model::Principal p = GetPrincipal();
  p.enabled = false;
  PutPrincipal(p);
  auto r = service_->IssueForClient("client", "s3cret", "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), "invalid_client");
  EXPECT_EQ(r.error().message(), "the client id or secret is not valid");
}

TEST_F(TokenServiceTest, ExpiredSecretCannotGetTokens) {
  model::Principal p = GetPrincipal();
  p.secret_expires = kStart + 10;
  PutPrincipal(p);
  EXPECT_TRUE(service_->IssueForClient("client", "s3cret", ""));
  clock_.Advance(10);
  auto r = service_->IssueForClient("client", "s3cret", "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), "invalid_client");
  EXPECT_EQ(r.error().message(), "the client id or secret is not valid");
  EXPECT_EQ(r.error().message().find("s3cret"), std::string::npos);
  p.secret_expires = 0;  // never
  PutPrincipal(p);
  EXPECT_TRUE(service_->IssueForClient("client", "s3cret", ""));
}

// Principal state is the Authorizer's business: Verify looks at the token alone.
TEST_F(TokenServiceTest, VerifyDoesNotReadPrincipals) {
  const std::string token = Issue();
  model::Principal p = GetPrincipal();
  p.enabled = false;
  PutPrincipal(p);
  auto caller = service_->Verify(token);
  ASSERT_TRUE(caller) << caller.error().message();
  EXPECT_EQ(caller->client_id, "client");
}

TEST_F(TokenServiceTest, AudienceComesFromTheScope) {
  EXPECT_EQ(DecodePart(Issue(*service_, ""), 1)["aud"], "https://localhost");
  EXPECT_EQ(DecodePart(Issue(*service_, "   "), 1)["aud"], "https://localhost");
  const std::string local = Issue(*service_, "https://localhost/.default");
  EXPECT_EQ(DecodePart(local, 1)["aud"], "https://localhost");
  EXPECT_TRUE(service_->Verify(local));
  EXPECT_EQ(DecodePart(Issue(*service_, "https://localhost/.default offline_access"), 1)["aud"],
            "https://localhost");
  EXPECT_EQ(DecodePart(Issue(*service_, "https://localhost"), 1)["aud"], "https://localhost");

  const std::string other = Issue(*service_, "https://vault.azure.net/.default");
  EXPECT_EQ(DecodePart(other, 1)["aud"], "https://vault.azure.net");
  ExpectRefused(other, "wrong token audience");
}

TEST_F(TokenServiceTest, ScopeWithoutResourceIsRefused) {
  for (const std::string& scope : {std::string("/.default"), std::string(" /.default x"),
                                   std::string(2000, 'a'), std::string("https://a\nb/.default")}) {
    auto r = service_->IssueForClient("client", "s3cret", scope);
    ASSERT_FALSE(r) << scope;
    EXPECT_EQ(r.error().kind(), ErrorKind::kBadRequest);
    EXPECT_EQ(r.error().code(), "invalid_scope");
  }
}

TEST_F(TokenServiceTest, InvalidOptionsAreRefused) {
  for (auto edit : std::vector<std::function<void(TokenOptions&)>>{
           [](TokenOptions& o) { o.lifetime_seconds = 0; },
           [](TokenOptions& o) { o.clock_skew_seconds = -1; },
           [](TokenOptions& o) { o.key_rotation_seconds = 0; },
           [](TokenOptions& o) { o.audience.clear(); },
           [](TokenOptions& o) { o.issuer.clear(); }}) {
    TokenOptions o = Options();
    edit(o);
    auto r = TokenService::Open(*store_, *kek_, clock_, o);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), ErrorKind::kBadRequest);
  }
}

// --- Strict verification ---

TEST_F(TokenServiceTest, SignatureByAnotherKeyWithTheSameKidIsRefused) {
  ExpectRefused(SignForeign(GoodPayload()), "invalid token signature");
}

TEST_F(TokenServiceTest, AlgNoneIsRefused) {
  const std::string token = Issue();
  const std::string header =
      Part({{"alg", "none"}, {"typ", "JWT"}, {"kid", CurrentKid(*service_)}});
  const std::string body = token.substr(token.find('.'), token.rfind('.') - token.find('.'));
  ExpectRefused(header + body + ".", "malformed token");  // empty signature part
  ExpectRefused(header + body, "malformed token");        // no signature part
  ExpectRefused(header + body + "." + token.substr(token.rfind('.') + 1),
                "token algorithm not accepted");
  ExpectRefused(header + body + ".AAAA", "token algorithm not accepted");
}

TEST_F(TokenServiceTest, AlgHs256IsRefused) {
  // The classic confusion: an HMAC keyed with the published public key.
  const std::string input =
      Part({{"alg", "HS256"}, {"kid", CurrentKid(*service_)}}) + "." + Part(GoodPayload());
  const std::string token =
      input + "." + crypto::Base64UrlEncode(crypto::HmacSha256(service_->JwksJson(), input));
  ExpectRefused(token, "token algorithm not accepted");
}

TEST_F(TokenServiceTest, AlgRs256IsRefused) {
  auto rsa = *crypto::PrivateKey::Generate({crypto::KeyKind::kRsa, 2048, ""});
  const std::string token = *SignJwt(GoodClaims(), CurrentKid(*service_), rsa);
  ASSERT_EQ(DecodePart(token, 0)["alg"], "RS256");
  ExpectRefused(token, "token algorithm not accepted");
}

TEST_F(TokenServiceTest, WrongIssuerIsRefused) {
  // A replica configured with another issuer signs with the same keys.
  TokenOptions o = Options();
  o.issuer = "https://elsewhere";
  auto other = OpenService(o);
  ExpectRefused(Issue(*other), "wrong token issuer");
}

TEST_F(TokenServiceTest, ExpiredTokenIsRefused) {
  const std::string cached = Issue();
  ASSERT_TRUE(service_->Verify(cached));
  const std::string uncached = Issue();
  clock_.Advance(kLifetime + kSkew - 1);  // within the tolerated skew
  EXPECT_TRUE(service_->Verify(cached));
  clock_.Advance(1);
  ExpectRefused(cached, "the token has expired");
  ExpectRefused(uncached, "the token has expired");
}

TEST_F(TokenServiceTest, NotYetValidTokenIsRefused) {
  FakeClock ahead(kStart + 120);
  auto other = *TokenService::Open(*store_, *kek_, ahead, Options());
  ExpectRefused(Issue(*other), "the token is not yet valid");
  ahead.Set(kStart + kSkew);  // within the tolerated skew
  EXPECT_TRUE(service_->Verify(Issue(*other)));
}

TEST_F(TokenServiceTest, TamperedPayloadIsRefused) {
  const std::string token = Issue();
  ExpectRefused(EditPayload(token, [](json& p) { p["sub"] = "someone-else"; }),
                "invalid token signature");
  ExpectRefused(EditPayload(token, [](json& p) { p["exp"] = p["exp"].get<int64_t>() + 1; }),
                "invalid token signature");
  EXPECT_TRUE(service_->Verify(token));
}

TEST_F(TokenServiceTest, MalformedTokensAreRefused) {
  const std::string token = Issue();
  const std::string header = token.substr(0, token.find('.'));
  const std::string sig = token.substr(token.rfind('.') + 1);
  json no_exp = GoodPayload();
  no_exp.erase("exp");
  json no_sub = GoodPayload();
  no_sub.erase("sub");
  json big = GoodPayload();
  big["pad"] = std::string(kMaxJwtSize, 'x');
  const std::vector<std::string> bad = {
      "",
      "abc",
      header + "." + Part(GoodPayload()),
      token + ".AAAA",
      "!!!." + Part(GoodPayload()) + "." + sig,
      header + ".e30=." + sig,  // padding is not base64url
      header + "." + Part(GoodPayload()).insert(4, "+") + "." + sig,
      crypto::Base64UrlEncode("[1]") + "." + Part(GoodPayload()) + "." + sig,
      header + "." + crypto::Base64UrlEncode("\"str\"") + "." + sig,
      header + "." + crypto::Base64UrlEncode("{not json") + "." + sig,
      SignForeign(no_exp),
      SignForeign(no_sub),
      SignForeign(big),
  };
  for (const std::string& t : bad) {
    SCOPED_TRACE(t.substr(0, 80));
    ExpectRefused(t, "malformed token");
  }
}

TEST_F(TokenServiceTest, UnknownKidIsRefused) {
  const std::string input =
      Part({{"alg", "ES256"}, {"kid", "no-such-kid"}}) + "." + Part(GoodPayload());
  const std::string token =
      input + "." + crypto::Base64UrlEncode(*NewEcKey().SignJose("ES256", input));
  ExpectRefused(token, "token signed by an unknown key");
  const std::string no_kid_input = Part({{"alg", "ES256"}}) + "." + Part(GoodPayload());
  ExpectRefused(
      no_kid_input + "." + crypto::Base64UrlEncode(*NewEcKey().SignJose("ES256", no_kid_input)),
      "the token names no signing key");
}

TEST_F(TokenServiceTest, RetiredKeyIsRefused) {
  // A replica issuing long-lived tokens makes a token that outlives its key.
  auto long_lived = OpenService(Options(4 * kLifetime));
  const std::string token = Issue(*long_lived);
  ASSERT_TRUE(service_->RotateSigningKey());
  EXPECT_TRUE(service_->Verify(token));
  clock_.Advance(kLifetime + kSkew);
  ExpectRefused(token, "token signed by a retired key");  // retired, though still in the set
  ASSERT_TRUE(service_->MaybeRotate());
  ASSERT_EQ(service_->SigningKeys().size(), 1u);
  ExpectRefused(token, "token signed by an unknown key");  // and now dropped
}

// --- Rotation ---

TEST_F(TokenServiceTest, TokenSignedBeforeRotationVerifiesUntilItsKeyRetires) {
  const std::string old_kid = CurrentKid(*service_);
  const std::string before = Issue();
  auto new_kid = service_->RotateSigningKey();
  ASSERT_TRUE(new_kid) << new_kid.error().message();
  EXPECT_NE(*new_kid, old_kid);
  EXPECT_EQ(CurrentKid(*service_), *new_kid);
  const std::string after = Issue();
  EXPECT_EQ(DecodePart(after, 0)["kid"], *new_kid);
  EXPECT_EQ(DecodePart(before, 0)["kid"], old_kid);

  clock_.Advance(kLifetime + kSkew - 1);
  auto fresh = OpenService();  // no cache: checks the old key itself
  EXPECT_TRUE(fresh->Verify(before));
  EXPECT_TRUE(service_->Verify(before));
  EXPECT_TRUE(service_->Verify(after));
  clock_.Advance(1);
  ExpectRefused(*fresh, before, "token signed by a retired key");
  ExpectRefused(before, "token signed by a retired key");  // also once cached
  EXPECT_TRUE(service_->Verify(Issue()));                  // the new key goes on
}

TEST_F(TokenServiceTest, JwksListsBothKeysThenOne) {
  auto kids = [](const TokenService& s) {
    std::vector<std::string> out;
    const json jwks = json::parse(s.JwksJson());
    for (const json& k : jwks["keys"]) {
      EXPECT_EQ(k["kty"], "EC");
      EXPECT_EQ(k["crv"], "P-256");
      EXPECT_EQ(k["alg"], "ES256");
      EXPECT_FALSE(k.contains("d"));  // no private part
      out.push_back(k["kid"].get<std::string>());
    }
    return out;
  };
  const std::string old_kid = CurrentKid(*service_);
  EXPECT_EQ(kids(*service_), std::vector<std::string>{old_kid});
  const std::string new_kid = *service_->RotateSigningKey();
  EXPECT_EQ(kids(*service_), (std::vector<std::string>{old_kid, new_kid}));

  auto keys = service_->SigningKeys();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].kid, old_kid);
  EXPECT_FALSE(keys[0].current);
  EXPECT_EQ(keys[0].created, kStart);
  EXPECT_EQ(keys[0].retire_after, kStart + kLifetime + kSkew);
  EXPECT_EQ(keys[1].kid, new_kid);
  EXPECT_TRUE(keys[1].current);
  EXPECT_EQ(keys[1].retire_after, 0);

  clock_.Advance(kLifetime + kSkew);
  EXPECT_EQ(kids(*service_), std::vector<std::string>{new_kid});  // retired: no longer published
  ASSERT_TRUE(service_->MaybeRotate());                           // and dropped from the store
  EXPECT_EQ(kids(*OpenService()), std::vector<std::string>{new_kid});
  EXPECT_EQ(json::parse(*Setting("token_signing_keys"))["keys"].size(), 1u);
}

TEST_F(TokenServiceTest, MaybeRotateHonoursThePeriod) {
  TokenOptions o = Options();
  o.key_rotation_seconds = 7 * kDay;
  auto service = OpenService(o);
  const std::string first = CurrentKid(*service);
  ASSERT_TRUE(service->MaybeRotate());
  clock_.Advance(7 * kDay - 1);
  ASSERT_TRUE(service->MaybeRotate());
  EXPECT_EQ(service->SigningKeys().size(), 1u);
  EXPECT_EQ(CurrentKid(*service), first);

  clock_.Advance(1);
  ASSERT_TRUE(service->MaybeRotate());
  ASSERT_EQ(service->SigningKeys().size(), 2u);
  const std::string second = CurrentKid(*service);
  EXPECT_NE(second, first);
  EXPECT_EQ(service->SigningKeys().back().created, clock_.NowUnix());
  ASSERT_TRUE(service->MaybeRotate());  // not due again
  EXPECT_EQ(CurrentKid(*service), second);
  EXPECT_EQ(service->SigningKeys().size(), 2u);

  clock_.Advance(kLifetime + kSkew);  // the first key retires
  ASSERT_TRUE(service->MaybeRotate());
  ASSERT_EQ(service->SigningKeys().size(), 1u);
  EXPECT_EQ(CurrentKid(*service), second);
}

TEST_F(TokenServiceTest, DefaultRotationPeriodIsThirtyDays) {
  EXPECT_EQ(TokenOptions().key_rotation_seconds, 30 * kDay);
  EXPECT_EQ(TokenOptions().clock_skew_seconds, 30);
  const std::string first = CurrentKid(*service_);
  clock_.Advance(30 * kDay - 1);
  ASSERT_TRUE(service_->MaybeRotate());
  EXPECT_EQ(CurrentKid(*service_), first);
  clock_.Advance(1);
  ASSERT_TRUE(service_->MaybeRotate());
  EXPECT_NE(CurrentKid(*service_), first);
}

TEST_F(TokenServiceTest, ReplicaVerifiesTheNewKidAfterReload) {
  auto replica = OpenService();
  const std::string old_kid = CurrentKid(*replica);
  const std::string new_kid = *service_->RotateSigningKey();
  EXPECT_EQ(CurrentKid(*replica), old_kid);  // not seen yet
  const std::string token = Issue();
  EXPECT_EQ(DecodePart(token, 0)["kid"], new_kid);
  auto caller = replica->Verify(token);  // unknown kid: reloads the set
  ASSERT_TRUE(caller) << caller.error().message();
  EXPECT_EQ(CurrentKid(*replica), new_kid);
  EXPECT_EQ(replica->SigningKeys().size(), 2u);
}

TEST_F(TokenServiceTest, UnknownKidReloadsAtMostEveryFiveSeconds) {
  auto replica = OpenService();
  const std::string input =
      Part({{"alg", "ES256"}, {"kid", "made-up"}}) + "." + Part(GoodPayload());
  const std::string made_up =
      input + "." + crypto::Base64UrlEncode(*NewEcKey().SignJose("ES256", input));
  ExpectRefused(*replica, made_up, "unknown key");  // reloads now

  ASSERT_TRUE(service_->RotateSigningKey());
  const std::string token = Issue();
  clock_.Advance(4);
  ExpectRefused(*replica, token, "unknown key");  // the last reload is too recent
  clock_.Advance(1);
  EXPECT_TRUE(replica->Verify(token));
}

TEST_F(TokenServiceTest, IssuingUsesTheStoredCurrentKey) {
  auto replica = OpenService();
  const std::string new_kid = *service_->RotateSigningKey();
  EXPECT_EQ(DecodePart(Issue(*replica), 0)["kid"], new_kid);
}

TEST_F(TokenServiceTest, ConcurrentRotationsAreKept) {
  auto replica = OpenService();
  const std::string a = *service_->RotateSigningKey();
  const std::string b = *replica->RotateSigningKey();  // builds on the stored set, not its own
  ASSERT_EQ(replica->SigningKeys().size(), 3u);
  EXPECT_EQ(replica->SigningKeys()[1].kid, a);
  EXPECT_EQ(CurrentKid(*replica), b);
  ASSERT_TRUE(service_->MaybeRotate());  // reloads
  ASSERT_EQ(service_->SigningKeys().size(), 3u);
  EXPECT_EQ(CurrentKid(*service_), b);
}

TEST_F(TokenServiceTest, DueRotationHappensOnceAcrossReplicas) {
  auto replica = OpenService();
  clock_.Advance(30 * kDay);
  ASSERT_TRUE(service_->MaybeRotate());
  ASSERT_TRUE(replica->MaybeRotate());
  EXPECT_EQ(replica->SigningKeys().size(), 2u);
  EXPECT_EQ(CurrentKid(*replica), CurrentKid(*service_));
}

TEST_F(TokenServiceTest, SingleKeyOfOlderVersionsIsMigrated) {
  auto store = store::NewMemoryStore();
  {
    auto txn = *store->BeginWrite();
    ASSERT_TRUE(txn->PutPrincipal(GetPrincipal()));
    ASSERT_TRUE(txn->Commit());
  }
  const crypto::PrivateKey legacy = NewEcKey();
  const std::string legacy_kid =
      crypto::Base64UrlEncode(crypto::Sha256(legacy.Public().ToDer()).substr(0, 12));
  {
    auto txn = *store->BeginWrite();
    ASSERT_TRUE(txn->PutSetting("token_signing_key",
                                *kek_->Seal(legacy.ToPkcs8Der(), "setting/token_signing_key")));
    ASSERT_TRUE(txn->Commit());
  }
  JwtClaims claims = GoodClaims();
  const std::string old_token = *SignJwt(claims, legacy_kid, legacy);  // issued before upgrade

  auto service = *TokenService::Open(*store, *kek_, clock_, Options());
  EXPECT_EQ(service->SigningKeys().size(), 1u);
  EXPECT_EQ(CurrentKid(*service), legacy_kid);
  EXPECT_TRUE(service->Verify(old_token));

  ASSERT_TRUE(service->RotateSigningKey());
  clock_.Advance(kLifetime + kSkew);
  ASSERT_TRUE(service->MaybeRotate());
  EXPECT_EQ(service->SigningKeys().size(), 1u);
  auto txn = *store->BeginRead();
  EXPECT_EQ(**txn->GetSetting("token_signing_key"), "");  // retired key material is gone
  txn.reset();
  auto reopened = TokenService::Open(*store, *kek_, clock_, Options());
  ASSERT_TRUE(reopened);
  EXPECT_EQ(CurrentKid(**reopened), CurrentKid(*service));
}

TEST_F(TokenServiceTest, KeySetIsSealed) {
  const json set = json::parse(*Setting("token_signing_keys"));
  ASSERT_EQ(set["keys"].size(), 1u);
  const json& entry = set["keys"][0];
  EXPECT_EQ(entry["kid"], CurrentKid(*service_));
  const std::string sealed = *crypto::Base64Decode(entry["sealed"].get<std::string>());
  EXPECT_FALSE(crypto::PrivateKey::FromDer(sealed));
  EXPECT_TRUE(kek_->Open(sealed, "token_signing_keys/" + entry["kid"].get<std::string>() + "/" +
                                     std::to_string(kStart)));
  EXPECT_FALSE(kek_->Open(sealed, "token_signing_keys/other-kid/" + std::to_string(kStart)));
  auto wrong_kek = keys::NewKekFromBytes(std::string(32, 'x'));
  EXPECT_FALSE(TokenService::Open(*store_, *wrong_kek, clock_, Options()));
}

TEST_F(TokenServiceTest, VerifiesWhileRotating) {
  const std::string token = Issue();
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      while (!stop) {
        if (!service_->Verify(token)) ++failures;
        if (!service_->Verify(Issue())) ++failures;
        (void)service_->JwksJson();
      }
    });
  }
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(service_->RotateSigningKey());
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
}

// --- JWT parsing ---

TEST(Jwt, ParseRejectsMalformed) {
  for (const char* bad : {"", "a", "a.b", "a.b.c.d", "e30.e30.", "e30.e30.AAAA", "e30.e30.AA AA"}) {
    EXPECT_FALSE(ParseJwt(bad)) << bad;
  }
}

TEST(Jwt, ParseRejectsCriticalHeaders) {
  const std::string payload = crypto::Base64UrlEncode(R"({"iss":"i","sub":"s","aud":"a","exp":1})");
  const std::string plain = crypto::Base64UrlEncode(R"({"alg":"ES256","kid":"k"})");
  EXPECT_TRUE(ParseJwt(plain + "." + payload + ".AAAA"));
  const std::string crit =
      crypto::Base64UrlEncode(R"({"alg":"ES256","kid":"k","crit":["exp"],"exp":1})");
  EXPECT_FALSE(ParseJwt(crit + "." + payload + ".AAAA"));
}

TEST(SecretHash, VerifiesOnlyTheRightSecret) {
  const std::string hash = HashClientSecret("abc");
  EXPECT_TRUE(VerifyClientSecret("abc", hash));
  EXPECT_FALSE(VerifyClientSecret("abd", hash));
  EXPECT_FALSE(VerifyClientSecret("abc", "pbkdf2-sha256$1$x$y"));
  EXPECT_FALSE(VerifyClientSecret("abc", "garbage"));
  EXPECT_EQ(hash.find("abc"), std::string::npos);
}

}  // namespace
}  // namespace certvault::auth
