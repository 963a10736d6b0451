#include "auth/rbac.h"

#include <gtest/gtest.h>

namespace certvault::auth {
namespace {

TEST(NormalizeScopeTest, AcceptsTheFourForms) {
  EXPECT_EQ(*NormalizeScope("/"), "/");
  EXPECT_EQ(*NormalizeScope("/vaults/Prod"), "/vaults/prod");
  EXPECT_EQ(*NormalizeScope("/vaults/prod/"), "/vaults/prod");
  EXPECT_EQ(*NormalizeScope("/vaults/prod/certificates/Web-1"), "/vaults/prod/certificates/Web-1");
  EXPECT_EQ(*NormalizeScope("/vaults/prod/secrets/db"), "/vaults/prod/secrets/db");
}

TEST(NormalizeScopeTest, RefusesEverythingElse) {
  for (const char* bad :
       {"", "vaults/prod", "//", "/vaults", "/vaults/", "/vaults/p", "/vaults/prod/keys/k",
        "/vaults/prod/certificates", "/vaults/prod/certificates/a/b",
        "/vaults/prod/secrets/bad_name", "/vaults/-x", "/other/prod"}) {
    auto scope = NormalizeScope(bad);
    ASSERT_FALSE(scope) << bad;
    EXPECT_EQ(scope.error().code(), "BadParameter");
  }
}

TEST(OperationRulesTest, AdministratorAllowsEverythingAndEveryRuleSomeone) {
  for (const auto& rule : OperationRules()) {
    EXPECT_NE(rule.roles & 1u, 0u) << rule.operation;
    EXPECT_LT(rule.roles, 1u << RoleNames().size()) << rule.operation;
  }
  EXPECT_EQ(FindOperationRule("token.issue"), nullptr);
  EXPECT_EQ(FindOperationRule("nonsense"), nullptr);
}

class AuthorizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto txn = *store_->BeginWrite();
    for (const char* id : {"admin", "officer", "keyreader", "reader", "off", "nobody"}) {
      ASSERT_TRUE(txn->PutPrincipal({id, id, "h", 0, std::string(id) != "off", 1, 1}));
    }
    ASSERT_TRUE(txn->PutRoleAssignment({"1", "admin", "Administrator", "/", 1}));
    ASSERT_TRUE(
        txn->PutRoleAssignment({"2", "officer", "Certificates Officer", "/vaults/prod", 1}));
    ASSERT_TRUE(txn->PutRoleAssignment(
        {"3", "keyreader", "Secrets User", "/vaults/prod/certificates/Web", 1}));
    ASSERT_TRUE(txn->PutRoleAssignment({"4", "reader", "Reader", "/", 1}));
    ASSERT_TRUE(txn->PutRoleAssignment({"5", "off", "Administrator", "/", 1}));
    ASSERT_TRUE(txn->Commit());
  }

  bool Allowed(const char* who, const char* op, const char* vault, const char* name) {
    return static_cast<bool>(authorizer_.Authorize(who, {op, vault, name}));
  }

  std::unique_ptr<store::Store> store_ = store::NewMemoryStore();
  Authorizer authorizer_{*store_, std::chrono::hours(1)};
};

TEST_F(AuthorizerTest, ServerScopeCoversEverything) {
  EXPECT_TRUE(Allowed("admin", "secrets.get", "any", "x"));
  EXPECT_TRUE(Allowed("admin", "principals.create", "", ""));
  EXPECT_TRUE(Allowed("reader", "certificates.get", "prod", "web"));
  EXPECT_TRUE(Allowed("reader", "vaults.list", "", ""));
  EXPECT_FALSE(Allowed("reader", "secrets.get", "prod", "web"));
  EXPECT_FALSE(Allowed("reader", "vaults.create", "", ""));
}

TEST_F(AuthorizerTest, VaultScopeStaysInItsVaultAndOffManagement) {
  EXPECT_TRUE(Allowed("officer", "certificates.create", "prod", "web"));
  EXPECT_TRUE(Allowed("officer", "certificates.create", "PROD", "web"));
  EXPECT_TRUE(Allowed("officer", "certificates.list", "prod", ""));
  EXPECT_FALSE(Allowed("officer", "certificates.create", "dev", "web"));
  EXPECT_FALSE(Allowed("officer", "secrets.get", "prod", "web"));
  EXPECT_FALSE(Allowed("officer", "vaults.list", "", ""));
}

TEST_F(AuthorizerTest, CertificateScopeCoversItsSecretOnly) {
  // No certificate "web" yet: a secret of that name would be a plain secret, not its key.
  EXPECT_FALSE(Allowed("keyreader", "secrets.get", "prod", "web"));
  {
    auto txn = *store_->BeginWrite();
    model::Certificate cert;
    cert.vault = "prod";
    cert.name = "Web";
    ASSERT_TRUE(txn->PutCertificate(cert));
    ASSERT_TRUE(txn->Commit());
  }
  EXPECT_TRUE(Allowed("keyreader", "secrets.get", "prod", "web"));
  EXPECT_TRUE(Allowed("keyreader", "secrets.get", "prod", "WEB"));
  EXPECT_FALSE(Allowed("keyreader", "secrets.get", "prod", "other"));
  EXPECT_FALSE(Allowed("keyreader", "secrets.get", "dev", "web"));
  EXPECT_FALSE(Allowed("keyreader", "secrets.list", "prod", ""));
  EXPECT_FALSE(Allowed("keyreader", "certificates.get", "prod", "web"));
}

TEST_F(AuthorizerTest, DeniedAnswersSayWhy) {
  auto denied = authorizer_.Authorize("nobody", {"certificates.get", "prod", "web"});
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().http_status(), 403);
  EXPECT_EQ(denied.error().inner_code(), "ForbiddenByRbac");
  auto off = authorizer_.Authorize("off", {"certificates.get", "prod", "web"});
  ASSERT_FALSE(off);
  EXPECT_EQ(off.error().http_status(), 401);
  auto gone = authorizer_.Authorize("ghost", {"certificates.get", "prod", "web"});
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().http_status(), 401);
}

TEST_F(AuthorizerTest, InvalidateSeesChangesAtOnce) {
  EXPECT_TRUE(Allowed("admin", "secrets.get", "prod", "web"));
  {
    auto txn = *store_->BeginWrite();
    ASSERT_TRUE(txn->PutPrincipal({"admin", "admin", "h", 0, false, 1, 2}));
    ASSERT_TRUE(txn->Commit());
  }
  EXPECT_TRUE(Allowed("admin", "secrets.get", "prod", "web"));  // snapshot not yet reloaded
  ASSERT_TRUE(authorizer_.Invalidate());
  EXPECT_FALSE(Allowed("admin", "secrets.get", "prod", "web"));
}

TEST(AuthorizerAgeTest, ReloadsWhenOld) {
  auto store = store::NewMemoryStore();
  Authorizer authorizer(*store, std::chrono::milliseconds(0));
  EXPECT_FALSE(authorizer.Authorize("p", {"vaults.list", "", ""}));
  auto txn = *store->BeginWrite();
  ASSERT_TRUE(txn->PutPrincipal({"p", "p", "h", 0, true, 1, 1}));
  ASSERT_TRUE(txn->PutRoleAssignment({"1", "p", "Reader", "/", 1}));
  ASSERT_TRUE(txn->Commit());
  EXPECT_TRUE(authorizer.Authorize("p", {"vaults.list", "", ""}));
}

}  // namespace
}  // namespace certvault::auth
