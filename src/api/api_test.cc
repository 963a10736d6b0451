// The Api's promises that need no network: every answer is audited before it is handed back,
// a request whose record cannot be written fails, and while the audit store fails nothing is
// done at all.

#include "api/api.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "auth/secret_hash.h"
#include "keys/kek.h"

namespace certvault::api {
namespace {

// An audit store that can be told to fail.
class SwitchableAuditStore final : public store::AuditStore {
 public:
  Status Append(std::vector<model::AuditRecord>& records) override {
    if (failing) return Fail(Error::Unavailable("disk full"));
    return inner_->Append(records);
  }
  Result<std::vector<model::AuditRecord>> Query(const model::AuditFilter& filter) override {
    return inner_->Query(filter);
  }
  Result<int64_t> DeleteBefore(int64_t time_ms) override { return inner_->DeleteBefore(time_ms); }

  std::atomic<bool> failing{false};

 private:
  std::unique_ptr<store::AuditStore> inner_ = store::NewMemoryAuditStore();
};

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto txn = *store_->BeginWrite();
    ASSERT_TRUE(txn->PutVault({"default", clock_.NowUnix()}));
    ASSERT_TRUE(
        txn->PutPrincipal({"admin", "admin", auth::HashClientSecret("s3cret"), 0, true, 1, 1}));
    ASSERT_TRUE(txn->PutRoleAssignment({"1", "admin", "Administrator", "/", 1}));
    ASSERT_TRUE(txn->Commit());
    ASSERT_TRUE(authorizer_.Invalidate());
    auth::TokenOptions options;
    options.issuer = options.audience = "https://localhost";
    tokens_ = std::move(*auth::TokenService::Open(*store_, *kek_, clock_, options));
    api_ = std::make_unique<Api>(Services{vault_, *tokens_, identities_, audit_store_, "localhost",
                                          nullptr, engine_, *store_, nullptr, nullptr},
                                 authorizer_, writer_, ApiOptions{});
    token_ = tokens_->IssueForClient("admin", "s3cret", "")->access_token;
  }

  HttpResponse Call(std::string method, std::string path, std::string body = "") {
    HttpRequest request;
    request.method = std::move(method);
    request.path = std::move(path);
    request.body = std::move(body);
    request.remote_address = "127.0.0.1";
    request.headers = {{"host", "localhost"}, {"authorization", "Bearer " + token_}};
    std::promise<HttpResponse> answered;
    api_->Handle(request, [&](HttpResponse r) { answered.set_value(std::move(r)); });
    return answered.get_future().get();
  }

  std::vector<model::AuditRecord> Records() {
    model::AuditFilter all;
    all.limit = 1000;
    return *audit_store_.Query(all);
  }

  FakeClock clock_{1800000000};
  std::unique_ptr<store::Store> store_ = store::NewMemoryStore();
  std::unique_ptr<keys::KeyProtector> kek_ = keys::NewKekFromBytes(std::string(32, 'k'));
  vault::VaultService vault_{*store_, *kek_, clock_};
  issuer::Registry issuers_;
  lifecycle::Engine engine_{vault_, *store_, issuers_, clock_, {}};
  auth::Authorizer authorizer_{*store_};
  auth::IdentityService identities_{*store_, authorizer_, clock_};
  SwitchableAuditStore audit_store_;
  auth::AuditWriter writer_{audit_store_};
  std::unique_ptr<auth::TokenService> tokens_;
  std::unique_ptr<Api> api_;
  std::string token_;
};

TEST_F(ApiTest, EveryAnswerHasOneRecordWithItsRequestId) {
  auto set = Call("PUT", "/secrets/db", R"({"value":"hunter2"})");
  ASSERT_EQ(set.status, 200) << set.body;
  auto missing = Call("GET", "/secrets/nothing");
  EXPECT_EQ(missing.status, 404);
  const auto records = Records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].operation, "secrets.set");
  EXPECT_EQ(records[0].object, "secrets/db");
  EXPECT_EQ(records[0].vault, "default");
  EXPECT_EQ(records[0].principal, "admin");
  EXPECT_EQ(records[0].outcome, "success");
  EXPECT_EQ(records[1].outcome, "failed");
  EXPECT_EQ(records[1].status, 404);
  for (const auto& [name, value] : set.headers) {
    if (name == "x-ms-request-id") {
      EXPECT_EQ(value, records[0].request_id);
    }
  }
}

TEST_F(ApiTest, AnUnwritableRecordFailsTheRequestThenNothingIsDone) {
  audit_store_.failing = true;
  auto first = Call("PUT", "/secrets/db", R"({"value":"hunter2"})");
  EXPECT_EQ(first.status, 503);
  EXPECT_NE(first.body.find("AuditUnavailable"), std::string::npos);
  EXPECT_EQ(first.body.find("hunter2"), std::string::npos);
  // The writer now knows the store fails: the next request is refused before it acts.
  auto second = Call("PUT", "/secrets/other", R"({"value":"x"})");
  EXPECT_EQ(second.status, 503);
  EXPECT_FALSE(vault_.GetSecret("default", "other", ""));
  // Once records can be written again, requests work again.
  audit_store_.failing = false;
  auto refused = Call("GET", "/secrets/db");  // its record succeeds: the writer is healthy again
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(Call("GET", "/secrets/db").status, 200);
}

}  // namespace
}  // namespace certvault::api
