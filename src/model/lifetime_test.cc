#include "model/lifetime.h"

#include <gtest/gtest.h>

namespace certvault::model {
namespace {

CertificatePolicy WithActions(std::vector<LifetimeAction> actions) {
  CertificatePolicy p;
  p.lifetime_actions = std::move(actions);
  return p;
}

LifetimeAction Percent(int pct, const char* type) {
  LifetimeAction a;
  a.lifetime_percentage = pct;
  a.action_type = type;
  return a;
}

LifetimeAction Days(int days, const char* type) {
  LifetimeAction a;
  a.days_before_expiry = days;
  a.action_type = type;
  return a;
}

TEST(LifetimeTest, PercentageAndDaysGiveDueTimesEarliestFirst) {
  const auto p = WithActions({Days(10, "EmailContacts"), Percent(80, "AutoRenew")});
  const int64_t nbf = 1000, exp = 1000 + 100 * 86400;
  const auto due = DueActions(p, nbf, exp);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].action.action_type, "AutoRenew");
  EXPECT_EQ(due[0].due, nbf + 80 * 86400);
  EXPECT_EQ(due[1].action.action_type, "EmailContacts");
  EXPECT_EQ(due[1].due, exp - 10 * 86400);
}

TEST(LifetimeTest, NextCheckWalksActionsThenExpiryThenNothing) {
  const auto p = WithActions({Percent(50, "AutoRenew"), Days(1, "EmailContacts")});
  const int64_t nbf = 0, exp = 10 * 86400;
  EXPECT_EQ(NextLifetimeCheck(p, nbf, exp, -1), 5 * 86400);         // from the start
  EXPECT_EQ(NextLifetimeCheck(p, nbf, exp, 5 * 86400), 9 * 86400);  // after the renewal action
  EXPECT_EQ(NextLifetimeCheck(p, nbf, exp, 9 * 86400), exp);        // then the expiry
  EXPECT_EQ(NextLifetimeCheck(p, nbf, exp, exp), 0);                // nothing left
}

TEST(LifetimeTest, ActionsAlreadyPastAreDueAtOnceForANewSchedule) {
  const auto p = WithActions({Percent(10, "AutoRenew")});
  // A version imported late in its life: the first check is the (past) due time.
  EXPECT_EQ(NextLifetimeCheck(p, 100, 1100, -1), 200);
}

TEST(LifetimeTest, NoActionsStillChecksTheExpiry) {
  EXPECT_EQ(NextLifetimeCheck(WithActions({}), 0, 500, -1), 500);
}

}  // namespace
}  // namespace certvault::model
