#include "lifecycle/engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>

#include "crypto/encoding.h"
#include "crypto/x509.h"
#include "issuer/worker/worker.h"

namespace certvault::lifecycle {
namespace {

vault::IssuerPatch ProviderOnly(std::string provider) {
  vault::IssuerPatch patch;
  patch.provider = std::move(provider);
  return patch;
}

constexpr int64_t kDay = 86400;

// What the fake CA does on each Enroll call, in order; the last one repeats.
struct Script {
  std::mutex mu;
  std::deque<std::function<Result<issuer::Enrollment>(const issuer::EnrollRequest&)>> steps;
  std::atomic<int> calls{0};
  std::vector<std::string> states_seen;
};

// A CA that signs any CSR with its own key, following the script.
class FakeIssuer : public issuer::Issuer {
 public:
  explicit FakeIssuer(Script& script) : script_(script) {}
  Result<issuer::Enrollment> Enroll(const issuer::EnrollRequest& request) override {
    ++script_.calls;
    std::function<Result<issuer::Enrollment>(const issuer::EnrollRequest&)> step;
    {
      std::lock_guard<std::mutex> lock(script_.mu);
      script_.states_seen.push_back(request.state);
      step = script_.steps.front();
      if (script_.steps.size() > 1) script_.steps.pop_front();
    }
    return step(request);
  }

 private:
  Script& script_;
};

class FakeProvider : public issuer::Provider {
 public:
  explicit FakeProvider(Script& script) : script_(script) {}
  Status Validate(const model::Issuer&) const override { return Ok(); }
  Result<std::shared_ptr<issuer::Issuer>> Build(const model::Issuer&,
                                                const std::string&) const override {
    return std::make_shared<FakeIssuer>(script_);
  }

 private:
  Script& script_;
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto txn = *store_->BeginWrite();
    ASSERT_TRUE(txn->PutVault({"default", clock_.NowUnix()}));
    ASSERT_TRUE(txn->Commit());
    registry_.Register("fake", std::make_unique<FakeProvider>(script_));
    ASSERT_TRUE(vault_.SetIssuer("default", "ca", ProviderOnly("fake"), true));
    ca_key_ = *crypto::PrivateKey::Generate({crypto::KeyKind::kEc, 0, "P-256"});
    crypto::CertificateSpec ca_spec;
    ca_spec.subject = "CN=Fake CA";
    ca_spec.is_ca = true;
    ca_spec.key_usage = {"keyCertSign", "cRLSign"};
    ca_ = *crypto::IssueCertificate(
        {ca_spec, ca_key_->Public(), clock_.NowUnix() - 60, clock_.NowUnix() + 3650 * kDay},
        std::nullopt, *ca_key_);
    Sign();  // the default step
  }

  // Steps of the fake CA.
  void Sign() {
    script_.steps.push_back([this](const issuer::EnrollRequest& r) -> Result<issuer::Enrollment> {
      auto csr = crypto::ParseCsr(r.csr_der);
      if (!csr) return Fail(csr.error());
      CV_ASSIGN_OR_RETURN(
          auto leaf, crypto::IssueCertificate(
                         {csr->spec, csr->public_key, r.not_before, r.not_after}, ca_, *ca_key_));
      return issuer::Enrollment{{leaf.ToDer(), ca_->ToDer()}, 0, false};
    });
  }
  void Then(std::function<Result<issuer::Enrollment>(const issuer::EnrollRequest&)> step) {
    script_.steps.push_front(std::move(step));
  }

  static vault::PolicyFn Policy(std::string issuer, std::vector<model::LifetimeAction> actions,
                                std::string validity = "P10D") {
    return [=](model::CertificatePolicy& p) {
      p.key.kty = "EC";
      p.key.curve = "P-256";
      p.x509.subject = "CN=app";
      p.x509.validity_duration = validity;
      p.issuer.name = issuer;
      p.lifetime_actions = actions;
      return Ok();
    };
  }
  static model::LifetimeAction Renew(int pct) {
    model::LifetimeAction a;
    a.lifetime_percentage = pct;
    a.action_type = "AutoRenew";
    return a;
  }
  static model::LifetimeAction Email(int days) {
    model::LifetimeAction a;
    a.days_before_expiry = days;
    a.action_type = "EmailContacts";
    return a;
  }

  std::vector<model::Event> Events() {
    auto txn = *store_->BeginRead();
    return *txn->ListEvents(0, 1000);
  }
  std::vector<std::string> EventTypes() {
    std::vector<std::string> types;
    for (const auto& e : Events()) types.push_back(e.type);
    return types;
  }
  std::vector<model::Job> Jobs() { return vault_.ListJobs("default", "", "", {0, 100})->items; }
  size_t Versions(const std::string& name) {
    return vault_.ListCertificateVersions("default", name, {0, 100})->items.size();
  }

  FakeClock clock_{1800000000};
  std::unique_ptr<store::Store> store_ = store::NewMemoryStore();
  std::unique_ptr<keys::KeyProtector> kek_ = keys::NewKekFromBytes(std::string(32, 'k'));
  vault::VaultService vault_{*store_, *kek_, clock_};
  issuer::Registry registry_;
  Script script_;
  EngineOptions options_{.lease_seconds = 60, .retry = {10, 100}};
  Engine engine_{vault_, *store_, registry_, clock_, options_};
  std::optional<crypto::PrivateKey> ca_key_;
  std::optional<crypto::Certificate> ca_;
};

TEST_F(EngineTest, AutoRenewAtPercentageQueuesOneRenewalAndRecordsNearExpiry) {
  ASSERT_TRUE(vault_.CreateCertificate("default", "app", Policy("Self", {Renew(80)}), {}, {}));
  ASSERT_TRUE(engine_.RunUntilIdle());
  EXPECT_EQ(Versions("app"), 1u);  // not due yet
  EXPECT_TRUE(Jobs().empty());

  clock_.Advance(8 * kDay);
  ASSERT_TRUE(engine_.RunUntilIdle());
  EXPECT_EQ(Versions("app"), 2u);
  ASSERT_EQ(Jobs().size(), 1u);
  EXPECT_EQ(Jobs()[0].status, "succeeded");
  EXPECT_EQ(Jobs()[0].trigger, "AutoRenew (lifetime_percentage=80)");
  // Running again changes nothing: the renewed version is not due, the old one is settled.
  ASSERT_TRUE(engine_.RunUntilIdle());
  EXPECT_EQ(Versions("app"), 2u);
  EXPECT_EQ(Jobs().size(), 1u);
  EXPECT_EQ(EventTypes(), (std::vector<std::string>{model::kCertificateNewVersionCreated,
                                                    model::kCertificateNearExpiry,
                                                    model::kCertificateNewVersionCreated}));
}

TEST_F(EngineTest, DaysBeforeExpiryEmailRecordsEventsWithoutRenewingThenExpired) {
  ASSERT_TRUE(vault_.CreateCertificate("default", "mail", Policy("Self", {Email(2)}), {}, {}));
  clock_.Advance(8 * kDay + 1);
  ASSERT_TRUE(engine_.RunUntilIdle());
  EXPECT_TRUE(Jobs().empty());
  auto events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].type, model::kCertificateNearExpiry);
  EXPECT_NE(events[1].detail.find("EmailContacts"), std::string::npos);
  clock_.Advance(2 * kDay);
  ASSERT_TRUE(engine_.RunUntilIdle());
  EXPECT_EQ(Events().back().type, model::kCertificateExpired);
  clock_.Advance(30 * kDay);
  ASSERT_TRUE(engine_.RunUntilIdle());
  EXPECT_EQ(Events().size(), 3u);  // nothing twice
}

TEST_F(EngineTest, ConfiguredIssuerCreateRunsAJobAndMergesTheChain) {
  auto op = vault_.CreateCertificate("default", "svc", Policy("ca", {Renew(80)}), {}, {});
  ASSERT_TRUE(op) << op.error().message();
  EXPECT_EQ(op->status, "inProgress");
  ASSERT_EQ(Jobs().size(), 1u);
  EXPECT_EQ(Jobs()[0].trigger, "create");
  ASSERT_TRUE(engine_.RunUntilIdle());
  auto pending = vault_.GetPending("default", "svc");
  ASSERT_TRUE(pending);
  EXPECT_EQ(pending->status, "completed");
  auto view = vault_.GetCertificate("default", "svc", "");
  ASSERT_TRUE(view);
  EXPECT_EQ(view->version.chain.size(), 1u);  // the fake CA's certificate
  EXPECT_EQ(Jobs()[0].status, "succeeded");
}

TEST_F(EngineTest, RetryableFailuresBackOffThenSucceed) {
  std::atomic<int> failures{0};
  for (int i = 0; i < 3; ++i) {
    Then([&](const issuer::EnrollRequest&) -> Result<issuer::Enrollment> {
      ++failures;
      return Fail(Error::Unavailable("CA down"));
    });
  }
  ASSERT_TRUE(vault_.CreateCertificate("default", "svc", Policy("ca", {Renew(80)}), {}, {}));
  ASSERT_TRUE(engine_.RunUntilIdle());
  EXPECT_EQ(failures, 1);
  model::Job job = Jobs()[0];
  EXPECT_EQ(job.status, "queued");
  EXPECT_GE(job.not_before, clock_.NowUnix() + 5);  // 10 s with jitter: at least half
  EXPECT_EQ(job.last_error, "CA down");
  auto pending = vault_.GetPending("default", "svc");
  EXPECT_EQ(pending->status, "inProgress");
  EXPECT_NE(pending->status_details.find("CA down"), std::string::npos);

  const std::string key_request = pending->request_id;
  for (int i = 0; i < 10 && Jobs()[0].status != "succeeded"; ++i) {
    clock_.Advance(100);
    ASSERT_TRUE(engine_.RunUntilIdle());
  }
  job = Jobs()[0];
  EXPECT_EQ(job.status, "succeeded");
  EXPECT_EQ(failures, 3);
  ASSERT_EQ(job.attempts.size(), 4u);
  EXPECT_EQ(job.attempts[0].outcome, "retry");
  EXPECT_EQ(job.attempts[3].outcome, "succeeded");
  EXPECT_EQ(job.request_id, key_request);  // the same pending key throughout
  EXPECT_EQ(Versions("svc"), 1u);
}

TEST_F(EngineTest, TerminalFailureFailsTheOperationWithTheReasonAndAnEvent) {
  Then([](const issuer::EnrollRequest&) -> Result<issuer::Enrollment> {
    return Fail(Error::BadParameter("template web: DNS name evil.test is not allowed"));
  });
  ASSERT_TRUE(vault_.CreateCertificate("default", "svc", Policy("ca", {Renew(80)}), {}, {}));
  ASSERT_TRUE(engine_.RunUntilIdle());
  auto pending = vault_.GetPending("default", "svc");
  EXPECT_EQ(pending->status, "failed");
  EXPECT_EQ(pending->error_message, "template web: DNS name evil.test is not allowed");
  EXPECT_EQ(Jobs()[0].status, "failed");
  EXPECT_EQ(EventTypes().back(), model::kCertificateRenewalFailed);
  // A retry starts afresh with a new pending operation.
  auto retried = vault_.RetryJob("default", Jobs()[0].id);
  ASSERT_TRUE(retried) << retried.error().message();
  ASSERT_TRUE(engine_.RunUntilIdle());
  EXPECT_EQ(vault_.GetPending("default", "svc")->status, "completed");
  EXPECT_EQ(Versions("svc"), 1u);
}

TEST_F(EngineTest, RetryableFailuresStopAtTheDeadline) {
  ASSERT_TRUE(vault_.CreateCertificate("default", "app", Policy("ca", {Renew(50)}), {}, {}));
  ASSERT_TRUE(engine_.RunUntilIdle());
  Then([](const issuer::EnrollRequest&) -> Result<issuer::Enrollment> {
    return Fail(Error::Unavailable("CA down"));
  });
  script_.steps.pop_back();  // fail forever
  clock_.Advance(5 * kDay);
  for (int i = 0; i < 200 && Jobs().front().status != "failed"; ++i) {
    clock_.Advance(3600);
    ASSERT_TRUE(engine_.RunUntilIdle());
  }
  EXPECT_EQ(Jobs().front().status, "failed");
  EXPECT_GE(clock_.NowUnix(), *vault_.GetCertificate("default", "app", "")->version.attributes.exp);
}

TEST_F(EngineTest, AsynchronousIssuerResumesFromSavedState) {
  Then([&](const issuer::EnrollRequest& r) -> Result<issuer::Enrollment> {
    if (!r.save_state("order-1")) return Fail(Error::Internal("save failed"));
    return issuer::Enrollment{{}, clock_.NowUnix() + 30, false};
  });
  ASSERT_TRUE(vault_.CreateCertificate("default", "svc", Policy("ca", {}), {}, {}));
  ASSERT_TRUE(engine_.RunUntilIdle());
  EXPECT_EQ(Jobs()[0].status, "queued");
  EXPECT_EQ(Jobs()[0].state, "order-1");
  clock_.Advance(31);
  ASSERT_TRUE(engine_.RunUntilIdle());
  EXPECT_EQ(Jobs()[0].status, "succeeded");
  EXPECT_EQ(script_.states_seen, (std::vector<std::string>{"", "order-1"}));
}

TEST_F(EngineTest, InterruptedAttemptIsTakenAgainAfterItsLeaseWithoutASecondVersion) {
  ASSERT_TRUE(vault_.CreateCertificate("default", "app", Policy("Self", {Renew(80)}), {}, {}));
  clock_.Advance(8 * kDay);
  // The scheduler queues the job; a worker that then dies leases it (claim only).
  Scheduler scheduler(*store_, clock_);
  ASSERT_EQ(*scheduler.RunDue(), 1);
  {
    auto txn = *store_->BeginWrite();
    auto job = (*txn->ListRunnableJobs(clock_.NowUnix(), 1)).front();
    job.status = "running";
    job.lease_owner = "dead";
    job.lease_expires = clock_.NowUnix() + 60;
    job.attempts.push_back({clock_.NowUnix(), 0, "running", ""});
    ASSERT_TRUE(txn->PutJob(job));
    ASSERT_TRUE(txn->Commit());
  }
  ASSERT_TRUE(engine_.RunUntilIdle());
  EXPECT_EQ(Versions("app"), 1u);  // still leased
  clock_.Advance(61);
  ASSERT_TRUE(engine_.RunUntilIdle());
  EXPECT_EQ(Versions("app"), 2u);
  EXPECT_EQ(Jobs()[0].status, "succeeded");
  EXPECT_EQ(Jobs()[0].attempts[0].outcome, "retry");
}

TEST_F(EngineTest, RemoteWorkerLeasesCompletesAndALostLeaseGoesToAnother) {
  registry_.Register("remote", std::make_unique<FakeProvider>(script_));
  Then([](const issuer::EnrollRequest&) -> Result<issuer::Enrollment> {
    return issuer::Enrollment{{}, 0, true};
  });
  ASSERT_TRUE(vault_.SetIssuer("default", "w", ProviderOnly("remote"), true));
  ASSERT_TRUE(vault_.CreateCertificate("default", "svc", Policy("w", {}), {}, {}));
  ASSERT_TRUE(engine_.RunUntilIdle());
  EXPECT_EQ(Jobs()[0].status, "waiting");

  auto first = engine_.LeaseForWorker("default", "w", "one");
  ASSERT_TRUE(first && *first);
  EXPECT_FALSE(engine_.LeaseForWorker("default", "w", "two")->has_value());  // leased
  clock_.Advance(issuer::worker::kDefaultLeaseSeconds + 1);                  // "one" died
  auto second = engine_.LeaseForWorker("default", "w", "two");
  ASSERT_TRUE(second && *second);
  EXPECT_EQ((*second)->job.id, (*first)->job.id);
  // "one" comes back too late: refused.
  EXPECT_FALSE(engine_.CompleteFromWorker("default", (*first)->job.id, "one", {}));

  auto csr = *crypto::ParseCsr((*second)->csr_der);
  auto leaf = *crypto::IssueCertificate(
      {csr.spec, csr.public_key, clock_.NowUnix(), clock_.NowUnix() + kDay}, ca_, *ca_key_);
  // A chain for another key is refused and the job stays for another try.
  auto other_key = *crypto::PrivateKey::Generate({crypto::KeyKind::kEc, 0, "P-256"});
  auto wrong = *crypto::IssueCertificate(
      {csr.spec, other_key.Public(), clock_.NowUnix(), clock_.NowUnix() + kDay}, ca_, *ca_key_);
  EXPECT_FALSE(engine_.CompleteFromWorker("default", (*second)->job.id, "two", {wrong.ToDer()}));
  EXPECT_EQ(Jobs()[0].status, "waiting");
  EXPECT_FALSE(engine_.LeaseForWorker("default", "w", "two")->has_value());  // backing off
  clock_.Advance(options_.retry.max_seconds + 1);
  auto third = engine_.LeaseForWorker("default", "w", "two");
  ASSERT_TRUE(third && *third);
  auto done =
      engine_.CompleteFromWorker("default", (*third)->job.id, "two", {ca_->ToDer(), leaf.ToDer()});
  ASSERT_TRUE(done) << done.error().message();
  EXPECT_EQ(done->status, "succeeded");
  EXPECT_EQ(vault_.GetPending("default", "svc")->status, "completed");
  EXPECT_EQ(Versions("svc"), 1u);
}

TEST_F(EngineTest, ThreadsRunQueuedJobs) {
  engine_.Start();
  ASSERT_TRUE(vault_.CreateCertificate("default", "svc", Policy("ca", {}), {}, {}));
  engine_.Wake();
  for (int i = 0; i < 500 && vault_.GetPending("default", "svc")->status != "completed"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(vault_.GetPending("default", "svc")->status, "completed");
  engine_.Stop();
}

}  // namespace
}  // namespace certvault::lifecycle

namespace certvault::lifecycle {
namespace {

TEST_F(EngineTest, AnAttemptThatOutlivesItsLeaseCannotActAfterAnotherTookOver) {
  // The first attempt stalls past its lease; meanwhile another runner takes the job over and
  // finishes it. The stale attempt's result is then refused: one version, one success.
  Then([&](const issuer::EnrollRequest& r) -> Result<issuer::Enrollment> {
    clock_.Advance(options_.lease_seconds + 1);
    if (!engine_.RunUntilIdle()) return Fail(Error::Internal("inner run failed"));
    auto csr = crypto::ParseCsr(r.csr_der);
    CV_ASSIGN_OR_RETURN(
        auto leaf, crypto::IssueCertificate({csr->spec, csr->public_key, r.not_before, r.not_after},
                                            ca_, *ca_key_));
    return issuer::Enrollment{{leaf.ToDer(), ca_->ToDer()}, 0, false};
  });
  ASSERT_TRUE(vault_.CreateCertificate("default", "svc", Policy("ca", {}), {}, {}));
  ASSERT_TRUE(engine_.RunUntilIdle());
  EXPECT_EQ(Versions("svc"), 1u);
  model::Job job = Jobs()[0];
  EXPECT_EQ(job.status, "succeeded");
  ASSERT_EQ(job.attempts.size(), 2u);
  EXPECT_EQ(job.attempts[0].outcome, "retry");  // interrupted: its lease expired
  EXPECT_EQ(job.attempts[1].outcome, "succeeded");
  EXPECT_EQ(script_.calls, 2);
}

TEST_F(EngineTest, SelfRenewalClosesItsAttempt) {
  ASSERT_TRUE(vault_.CreateCertificate("default", "app", Policy("Self", {}), {}, {}));
  ASSERT_TRUE(vault_.RenewCertificate("default", "app", ""));
  ASSERT_TRUE(engine_.RunUntilIdle());
  model::Job job = Jobs()[0];
  EXPECT_EQ(job.status, "succeeded");
  ASSERT_EQ(job.attempts.size(), 1u);
  EXPECT_EQ(job.attempts[0].outcome, "succeeded");
  EXPECT_NE(job.attempts[0].finished, 0);
  EXPECT_TRUE(job.lease_owner.empty());
  EXPECT_EQ(Versions("app"), 2u);
}

TEST_F(EngineTest, OneRenewalAtATimeAndASupersededRenewalIsCancelled) {
  ASSERT_TRUE(vault_.CreateCertificate("default", "app", Policy("Self", {Renew(80)}), {}, {}));
  clock_.Advance(8 * kDay);
  Scheduler scheduler(*store_, clock_);
  ASSERT_EQ(*scheduler.RunDue(), 1);  // an AutoRenew job, queued
  auto manual = vault_.RenewCertificate("default", "app", "");
  ASSERT_FALSE(manual);  // refused while that job is open
  EXPECT_EQ(manual.error().kind(), ErrorKind::kConflict);
  // A renewal queued for a version that is no longer current has nothing to do.
  {
    auto txn = *store_->BeginWrite();
    auto job = (*txn->ListRunnableJobs(clock_.NowUnix(), 1)).front();
    job.source_version = "00000000000000000000000000000000";
    ASSERT_TRUE(txn->PutJob(job));
    ASSERT_TRUE(txn->Commit());
  }
  ASSERT_TRUE(engine_.RunUntilIdle());
  EXPECT_EQ(Jobs()[0].status, "cancelled");
  EXPECT_NE(Jobs()[0].last_error.find("renewed meanwhile"), std::string::npos);
  EXPECT_EQ(Versions("app"), 1u);
}

TEST_F(EngineTest, AVersionDueWhenIssuedIsNotRenewedAgain) {
  // The CA issues 1 day where the policy renews 2 days before expiry: renewing would loop.
  Then([&](const issuer::EnrollRequest& r) -> Result<issuer::Enrollment> {
    auto csr = crypto::ParseCsr(r.csr_der);
    CV_ASSIGN_OR_RETURN(auto leaf, crypto::IssueCertificate({csr->spec, csr->public_key,
                                                             r.not_before, r.not_before + kDay},
                                                            ca_, *ca_key_));
    return issuer::Enrollment{{leaf.ToDer(), ca_->ToDer()}, 0, false};
  });
  script_.steps.pop_back();  // every issue is short
  model::LifetimeAction early;
  early.days_before_expiry = 2;
  early.action_type = "AutoRenew";
  ASSERT_TRUE(vault_.CreateCertificate("default", "short", Policy("ca", {early}), {}, {}));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(engine_.RunUntilIdle());
    clock_.Advance(60);
  }
  EXPECT_EQ(Versions("short"), 1u);
  EXPECT_EQ(Jobs().size(), 1u);  // the create only
  auto events = Events();
  ASSERT_EQ(events.back().type, model::kCertificateNearExpiry);
  EXPECT_NE(events.back().detail.find("skipped"), std::string::npos);
}

TEST_F(EngineTest, ReuseKeyKeepsTheKeyAcrossRenewals) {
  vault::PolicyFn policy = [](model::CertificatePolicy& p) {
    p.key.kty = "EC";
    p.key.curve = "P-256";
    p.key.reuse_key = true;
    p.x509.subject = "CN=app";
    p.issuer.name = "ca";
    return Ok();
  };
  ASSERT_TRUE(vault_.CreateCertificate("default", "app", policy, {}, {}));
  ASSERT_TRUE(engine_.RunUntilIdle());
  auto first = *vault_.GetCertificate("default", "app", "");
  ASSERT_TRUE(vault_.RenewCertificate("default", "app", ""));
  ASSERT_TRUE(engine_.RunUntilIdle());
  auto second = *vault_.GetCertificate("default", "app", "");
  ASSERT_NE(first.version.version, second.version.version);
  EXPECT_EQ(crypto::Certificate::FromDer(first.version.cer)->PublicKeyOf().ToDer(),
            crypto::Certificate::FromDer(second.version.cer)->PublicKeyOf().ToDer());
}

}  // namespace
}  // namespace certvault::lifecycle
