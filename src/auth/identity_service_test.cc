#include "auth/identity_service.h"

#include <gtest/gtest.h>

#include "auth/secret_hash.h"

namespace certvault::auth {
namespace {

PrincipalChange Enabled(bool enabled) {
  PrincipalChange change;
  change.enabled = enabled;
  return change;
}

class IdentityServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto txn = *store_->BeginWrite();
    ASSERT_TRUE(txn->PutPrincipal({"root", "root", "h", 0, true, 1, 1}));
    ASSERT_TRUE(txn->PutRoleAssignment({"r", "root", kRoleAdministrator, "/", 1}));
    ASSERT_TRUE(txn->Commit());
  }

  FakeClock clock_{1800000000};
  std::unique_ptr<store::Store> store_ = store::NewMemoryStore();
  Authorizer authorizer_{*store_, std::chrono::hours(1)};
  IdentityService service_{*store_, authorizer_, clock_};
};

TEST_F(IdentityServiceTest, CreatedPrincipalsHoldOnlyAHashAndNoRole) {
  auto made = service_.CreatePrincipal("ci", 0);
  ASSERT_TRUE(made) << made.error().message();
  EXPECT_EQ(made->principal.client_id.size(), 32u);
  EXPECT_TRUE(VerifyClientSecret(made->client_secret, made->principal.secret_hash));
  auto stored = service_.GetPrincipal(made->principal.client_id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->secret_hash.find(made->client_secret), std::string::npos);
  EXPECT_FALSE(authorizer_.Authorize(made->principal.client_id, {"certificates.list", "v", ""}));
}

TEST_F(IdentityServiceTest, ValidatesInput) {
  EXPECT_EQ(service_.CreatePrincipal("", 0).error().code(), "BadParameter");
  EXPECT_EQ(service_.CreatePrincipal("x", clock_.NowUnix()).error().code(), "BadParameter");
  EXPECT_EQ(service_.AssignRole("root", "Superuser", "/").error().code(), "BadParameter");
  EXPECT_EQ(service_.AssignRole("root", "Reader", "/keys").error().code(), "BadParameter");
  EXPECT_EQ(service_.AssignRole("ghost", "Reader", "/").error().code(), "PrincipalNotFound");
  EXPECT_EQ(service_.RemoveRoleAssignment("nope").error().code(), "RoleAssignmentNotFound");
}

TEST_F(IdentityServiceTest, AssignmentsTakeEffectAtOnceAndRepeatIdempotently) {
  auto p = *service_.CreatePrincipal("app", 0);
  const std::string id = p.principal.client_id;
  auto first = service_.AssignRole(id, "Secrets User", "/vaults/Prod/certificates/web");
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->second);
  EXPECT_EQ(first->first.scope, "/vaults/prod/certificates/web");
  auto again = service_.AssignRole(id, "Secrets User", "/vaults/prod/certificates/web/");
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->second);
  EXPECT_EQ(again->first.id, first->first.id);
  EXPECT_EQ(service_.ListRoleAssignments(id, "").value().size(), 1u);
  EXPECT_EQ(service_.ListRoleAssignments("", "/vaults/prod/certificates/web").value().size(), 1u);
  EXPECT_TRUE(authorizer_.Authorize(id, {"secrets.list", "prod", ""}).error().http_status() == 403);
  ASSERT_TRUE(service_.RemoveRoleAssignment(first->first.id));
  EXPECT_TRUE(service_.ListRoleAssignments(id, "").value().empty());
}

TEST_F(IdentityServiceTest, DisablingStopsTheTokenAtOnce) {
  auto p = *service_.CreatePrincipal("app", 0);
  const std::string id = p.principal.client_id;
  ASSERT_TRUE(service_.AssignRole(id, "Reader", "/"));
  EXPECT_TRUE(authorizer_.Authorize(id, {"vaults.list", "", ""}));
  ASSERT_TRUE(service_.UpdatePrincipal("root", id, Enabled(false)));
  EXPECT_EQ(authorizer_.Authorize(id, {"vaults.list", "", ""}).error().http_status(), 401);
  ASSERT_TRUE(service_.UpdatePrincipal("root", id, Enabled(true)));
  EXPECT_TRUE(authorizer_.Authorize(id, {"vaults.list", "", ""}));
  ASSERT_TRUE(service_.DeletePrincipal("root", id));
  EXPECT_EQ(authorizer_.Authorize(id, {"vaults.list", "", ""}).error().http_status(), 401);
  EXPECT_EQ(service_.GetPrincipal(id).error().code(), "PrincipalNotFound");
}

TEST_F(IdentityServiceTest, NeverLeavesTheServerWithoutAnAdministrator) {
  EXPECT_EQ(service_.UpdatePrincipal("root", "root", Enabled(false)).error().code(), "Conflict");
  EXPECT_EQ(service_.DeletePrincipal("root", "root").error().code(), "Conflict");
  EXPECT_EQ(service_.RemoveRoleAssignment("r").error().code(), "Conflict");
  auto other = *service_.CreatePrincipal("second admin", 0);
  EXPECT_EQ(service_.DeletePrincipal(other.principal.client_id, "root").error().code(), "Conflict");
  ASSERT_TRUE(service_.AssignRole(other.principal.client_id, kRoleAdministrator, "/"));
  EXPECT_TRUE(service_.RemoveRoleAssignment("r"));
  EXPECT_EQ(service_.ListPrincipals().value().size(), 2u);
}

TEST_F(IdentityServiceTest, RotatingTheSecretReplacesIt) {
  auto p = *service_.CreatePrincipal("app", 0);
  auto rotated = service_.RotateSecret(p.principal.client_id, clock_.NowUnix() + 3600);
  ASSERT_TRUE(rotated);
  EXPECT_NE(rotated->client_secret, p.client_secret);
  const auto stored = *service_.GetPrincipal(p.principal.client_id);
  EXPECT_FALSE(VerifyClientSecret(p.client_secret, stored.secret_hash));
  EXPECT_TRUE(VerifyClientSecret(rotated->client_secret, stored.secret_hash));
  EXPECT_EQ(stored.secret_expires, clock_.NowUnix() + 3600);
}

}  // namespace
}  // namespace certvault::auth
