#include "issuer/worker/worker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace certvault::issuer::worker {
namespace {

using ::testing::HasSubstr;

model::Issuer WithSettings(std::string settings) {
  model::Issuer issuer;
  issuer.vault = "prod";
  issuer.name = "dmz-ca";
  issuer.provider = "worker";
  issuer.settings = std::move(settings);
  return issuer;
}

TEST(WorkerProviderTest, LeaseDefaultsToFiveMinutes) {
  EXPECT_EQ(LeaseSeconds(WithSettings("{}")).value(), 300);
  EXPECT_EQ(LeaseSeconds(WithSettings("")).value(), 300);
  EXPECT_EQ(LeaseSeconds(WithSettings(R"({"lease":"PT90S"})")).value(), 90);
  EXPECT_EQ(LeaseSeconds(WithSettings(R"({"lease":"PT1H"})")).value(), 3600);
}

TEST(WorkerProviderTest, RejectsBadSettingsNamingTheField) {
  auto provider = NewWorkerProvider();
  for (const char* settings : {R"({"lease":"5 minutes"})", R"({"lease":300})",
                               R"({"lease":"PT1S"})", R"({"lease":"P2D"})"}) {
    auto status = provider->Validate(WithSettings(settings));
    ASSERT_FALSE(status) << settings;
    EXPECT_EQ(status.error().code(), "BadParameter");
    EXPECT_THAT(status.error().message(), HasSubstr("'settings.lease'")) << settings;
    EXPECT_FALSE(provider->Build(WithSettings(settings), ""));
  }
  auto status = provider->Validate(WithSettings(R"({"leese":"PT5M"})"));
  ASSERT_FALSE(status);
  EXPECT_THAT(status.error().message(), HasSubstr("'settings.leese'"));
  EXPECT_FALSE(provider->Validate(WithSettings("[]")));
  EXPECT_FALSE(provider->Validate(WithSettings("{lease")));
  EXPECT_TRUE(provider->Validate(WithSettings(R"({"lease":"PT10M"})")));
}

TEST(WorkerProviderTest, EnrollWaitsForAWorker) {
  auto provider = NewWorkerProvider();
  auto issuer = provider->Build(WithSettings("{}"), "");
  ASSERT_TRUE(issuer) << issuer.error().message();
  EnrollRequest request;
  request.vault = "prod";
  request.certificate = "app";
  request.csr_der = "not parsed by this provider";
  auto enrollment = (*issuer)->Enroll(request);
  ASSERT_TRUE(enrollment) << enrollment.error().message();
  EXPECT_TRUE(enrollment->external);
  EXPECT_TRUE(enrollment->chain.empty());
  EXPECT_EQ(enrollment->check_after, 0);
}

}  // namespace
}  // namespace certvault::issuer::worker
