#include "auth/token_service.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "auth/jwt.h"
#include "auth/secret_hash.h"
#include "crypto/encoding.h"

namespace certvault::auth {
namespace {

class TokenServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto txn = *store_->BeginWrite();
    model::Principal p;
    p.client_id = "client";
    p.secret_hash = HashClientSecret("s3cret");
    ASSERT_TRUE(txn->PutPrincipal(p));
    ASSERT_TRUE(txn->Commit());
    service_ = std::move(*TokenService::Open(*store_, *kek_, clock_,
                                             {"https://localhost", "https://localhost", 3600}));
  }

  std::string Issue() { return service_->IssueForClient("client", "s3cret")->access_token; }

  // Re-encodes a token's payload with `edit` applied, keeping the original signature.
  static std::string EditPayload(const std::string& token,
                                 const std::function<void(nlohmann::json&)>& edit) {
    const size_t d1 = token.find('.'), d2 = token.rfind('.');
    auto payload =
        nlohmann::json::parse(*crypto::Base64UrlDecode(token.substr(d1 + 1, d2 - d1 - 1)));
    edit(payload);
    return token.substr(0, d1 + 1) + crypto::Base64UrlEncode(payload.dump()) + token.substr(d2);
  }

  FakeClock clock_{1800000000};
  std::unique_ptr<store::Store> store_ = store::NewMemoryStore();
  std::unique_ptr<keys::KeyProtector> kek_ = keys::NewKekFromBytes(std::string(32, 'k'));
  std::unique_ptr<TokenService> service_;
};

TEST_F(TokenServiceTest, IssuesAndVerifies) {
  auto caller = service_->Verify(Issue());
  ASSERT_TRUE(caller);
  EXPECT_EQ(caller->client_id, "client");
}

TEST_F(TokenServiceTest, WrongSecretOrUnknownClientIsRefused) {
  EXPECT_FALSE(service_->IssueForClient("client", "wrong"));
  EXPECT_FALSE(service_->IssueForClient("nobody", "s3cret"));
  EXPECT_FALSE(service_->IssueForClient("client", ""));
}

TEST_F(TokenServiceTest, ExpiredTokenIsRefused) {
  const std::string token = Issue();
  clock_.Advance(3600 + 31);
  auto r = service_->Verify(token);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kUnauthorized);
}

TEST_F(TokenServiceTest, TamperedPayloadIsRefused) {
  const std::string token =
      EditPayload(Issue(), [](nlohmann::json& p) { p["sub"] = "someone-else"; });
  EXPECT_FALSE(service_->Verify(token));
}

TEST_F(TokenServiceTest, WrongAudienceIsRefusedEvenIfSigned) {
  JwtClaims claims;
  claims.iss = "https://localhost";
  claims.sub = "client";
  claims.aud = "https://elsewhere";
  claims.exp = clock_.NowUnix() + 60;
  auto key = *crypto::PrivateKey::Generate({crypto::KeyKind::kEc, 0, "P-256"});
  EXPECT_FALSE(service_->Verify(*SignJwt(claims, "other-kid", key)));
}

TEST_F(TokenServiceTest, AlgNoneAndGarbageAreRefused) {
  const std::string token = Issue();
  const std::string none_header = crypto::Base64UrlEncode(R"({"alg":"none","typ":"JWT"})");
  const std::string body = token.substr(token.find('.'), token.rfind('.') - token.find('.'));
  EXPECT_FALSE(service_->Verify(none_header + body + "."));
  EXPECT_FALSE(service_->Verify(none_header + body + ".AAAA"));
  EXPECT_FALSE(service_->Verify("not-a-token"));
  EXPECT_FALSE(service_->Verify("a.b.c"));
  EXPECT_FALSE(service_->Verify(""));
}

TEST_F(TokenServiceTest, DisabledPrincipalCannotGetTokens) {
  auto txn = *store_->BeginWrite();
  auto p = **txn->GetPrincipal("client");
  p.enabled = false;
  ASSERT_TRUE(txn->PutPrincipal(p));
  ASSERT_TRUE(txn->Commit());
  EXPECT_FALSE(service_->IssueForClient("client", "s3cret"));
}

TEST(SecretHash, VerifiesOnlyTheRightSecret) {
  const std::string hash = HashClientSecret("abc");
  EXPECT_TRUE(VerifyClientSecret("abc", hash));
  EXPECT_FALSE(VerifyClientSecret("abd", hash));
  EXPECT_FALSE(VerifyClientSecret("abc", "pbkdf2-sha256$1$x$y"));
  EXPECT_FALSE(VerifyClientSecret("abc", "garbage"));
  EXPECT_EQ(hash.find("abc"), std::string::npos);
}

TEST(Jwt, ParseRejectsMalformed) {
  for (const char* bad : {"", "a", "a.b", "a.b.c.d", "e30.e30.", "e30.e30.AAAA"}) {
    EXPECT_FALSE(ParseJwt(bad)) << bad;
  }
}

}  // namespace
}  // namespace certvault::auth
