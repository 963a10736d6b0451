#include "vault/vault_service.h"

#include <gtest/gtest.h>

#include "crypto/encoding.h"
#include "crypto/x509.h"

namespace certvault::vault {
namespace {

class VaultServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto txn = *store_->BeginWrite();
    ASSERT_TRUE(txn->PutVault({"default", clock_.NowUnix()}));
    ASSERT_TRUE(txn->Commit());
  }

  static PolicyFn Policy(std::string issuer, std::string kty = "EC",
                         std::string content_type = "application/x-pem-file") {
    return [=](model::CertificatePolicy& p) {
      p.key.kty = kty;
      p.key.curve = kty == "EC" ? "P-256" : "";
      p.x509.subject = "CN=test";
      p.x509.sans.dns_names = {"test.example"};
      p.issuer.name = issuer;
      p.content_type = content_type;
      return Ok();
    };
  }

  FakeClock clock_{1800000000};
  std::unique_ptr<store::Store> store_ = store::NewMemoryStore();
  std::unique_ptr<keys::KeyProtector> kek_ = keys::NewKekFromBytes(std::string(32, 'k'));
  VaultService service_{*store_, *kek_, clock_};
};

TEST_F(VaultServiceTest, SelfSignedCreateCompletesAtOnceAndSecretMatchesKey) {
  auto op = service_.CreateCertificate("default", "web", Policy("Self"), {}, std::nullopt);
  ASSERT_TRUE(op) << op.error().message();
  EXPECT_EQ(op->status, "completed");
  auto view = service_.GetCertificate("default", "web", "");
  ASSERT_TRUE(view);
  EXPECT_EQ(view->version.version, op->target_version);
  auto secret = service_.GetSecret("default", "web", "");
  ASSERT_TRUE(secret);
  EXPECT_TRUE(secret->managed);
  auto bundle = crypto::ParsePemBundle(secret->value);
  ASSERT_TRUE(bundle && bundle->key);
  EXPECT_TRUE(crypto::Certificate::FromDer(view->version.cer)->MatchesKey(*bundle->key));
  // The key is first in the PEM, as Key Vault renders it.
  EXPECT_EQ(secret->value.rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
}

TEST_F(VaultServiceTest, CreateCertificateAsyncAnswersOnceWithTheResultOfTheWrite) {
  std::vector<Result<model::PendingOperation>> answers;
  auto collect = [&](Result<model::PendingOperation> op) { answers.push_back(std::move(op)); };
  service_.CreateCertificateAsync("default", "Ext", Policy("Unknown"), {}, std::nullopt, collect);
  ASSERT_EQ(answers.size(), 1u);
  ASSERT_TRUE(answers[0]) << answers[0].error().message();
  EXPECT_EQ(answers[0]->name, "Ext");
  EXPECT_EQ(answers[0]->status, "inProgress");
  // The write re-checks what the preparation read: a second create meets the pending operation.
  service_.CreateCertificateAsync("default", "ext", Policy("Unknown"), {}, std::nullopt, collect);
  ASSERT_EQ(answers.size(), 2u);
  ASSERT_FALSE(answers[1]);
  EXPECT_EQ(answers[1].error().kind(), ErrorKind::kConflict);
  // A failure found before the write (a secret holds the name) is answered too, once.
  ASSERT_TRUE(service_.SetSecret("default", "taken", "v", "", {}, std::nullopt));
  service_.CreateCertificateAsync("default", "taken", Policy("Self"), {}, std::nullopt, collect);
  ASSERT_EQ(answers.size(), 3u);
  ASSERT_FALSE(answers[2]);
  EXPECT_EQ(answers[2].error().kind(), ErrorKind::kConflict);
  EXPECT_FALSE(service_.GetCertificate("default", "taken", ""));
}

TEST_F(VaultServiceTest, ValidityDurationTakesPrecedence) {
  PolicyFn policy = [](model::CertificatePolicy& p) {
    p.x509.subject = "CN=short";
    p.x509.validity_months = 12;
    p.x509.validity_duration = "PT10M";
    return Ok();
  };
  ASSERT_TRUE(service_.CreateCertificate("default", "short", policy, {}, std::nullopt));
  auto view = service_.GetCertificate("default", "short", "");
  EXPECT_EQ(*view->version.attributes.exp - *view->version.attributes.nbf, 600);
}

TEST_F(VaultServiceTest, UnknownIssuerMergeChecksTheKeyAndKeepsThePending) {
  auto op = service_.CreateCertificate("default", "ext", Policy("Unknown"), {}, std::nullopt);
  ASSERT_TRUE(op);
  EXPECT_EQ(op->status, "inProgress");
  auto csr = crypto::ParseCsr(op->csr);
  ASSERT_TRUE(csr);

  auto ca_key = *crypto::PrivateKey::Generate({crypto::KeyKind::kEc, 0, "P-256"});
  crypto::CertificateSpec ca_spec;
  ca_spec.subject = "CN=Test CA";
  ca_spec.is_ca = true;
  ca_spec.key_usage = {"keyCertSign"};
  auto ca =
      *crypto::IssueCertificate({ca_spec, ca_key.Public(), 0, 1900000000}, std::nullopt, ca_key);

  // A certificate for some other key is refused and the operation survives.
  auto stranger = *crypto::PrivateKey::Generate({crypto::KeyKind::kEc, 0, "P-256"});
  auto wrong = *crypto::IssueCertificate({csr->spec, stranger.Public(), 0, 1900000000}, ca, ca_key);
  auto refused = service_.MergeCertificate("default", "ext", {wrong.ToDer()}, {}, std::nullopt);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind(), ErrorKind::kBadRequest);
  EXPECT_EQ(service_.GetPending("default", "ext")->status, "inProgress");

  auto leaf = *crypto::IssueCertificate({csr->spec, csr->public_key, 0, 1900000000}, ca, ca_key);
  auto merged =
      service_.MergeCertificate("default", "ext", {ca.ToDer(), leaf.ToDer()}, {}, std::nullopt);
  ASSERT_TRUE(merged) << merged.error().message();
  EXPECT_EQ(merged->version.cer, leaf.ToDer());  // leaf first whatever the order given
  EXPECT_EQ(merged->version.chain.size(), 1u);
  EXPECT_EQ(service_.GetPending("default", "ext")->status, "completed");
}

TEST_F(VaultServiceTest, ImportPemAndPfxAndRejectGarbage) {
  auto key = *crypto::PrivateKey::Generate({crypto::KeyKind::kRsa, 2048, ""});
  crypto::CertificateSpec spec;
  spec.subject = "CN=imported";
  auto cert = *crypto::IssueCertificate({spec, key.Public(), 0, 1900000000}, std::nullopt, key);
  auto pem = service_.ImportCertificate("default", "pem", key.ToPkcs8Pem() + cert.ToPem(), "",
                                        nullptr, {}, std::nullopt);
  ASSERT_TRUE(pem) << pem.error().message();
  EXPECT_EQ(pem->cert.policy.key.kty, "RSA");
  EXPECT_EQ(pem->cert.policy.content_type, "application/x-pem-file");

  auto pfx = *crypto::BuildPkcs12(key, {cert}, "pw");
  auto wrong_pw = service_.ImportCertificate("default", "pfx", crypto::Base64Encode(pfx), "nope",
                                             nullptr, {}, std::nullopt);
  ASSERT_FALSE(wrong_pw);
  EXPECT_FALSE(service_.GetCertificate("default", "pfx", ""));  // nothing changed
  ASSERT_TRUE(service_.ImportCertificate("default", "pfx", crypto::Base64Encode(pfx), "pw", nullptr,
                                         {}, std::nullopt));
  EXPECT_FALSE(service_.ImportCertificate("default", "bad", "-----BEGIN CERTIFICATE-----\nxx\n", "",
                                          nullptr, {}, std::nullopt));
  EXPECT_FALSE(service_.ImportCertificate("default", "bad", "!!!", "", nullptr, {}, std::nullopt));
  EXPECT_FALSE(service_.GetCertificate("default", "bad", ""));
}

TEST_F(VaultServiceTest, SoftDeleteRecoverPurge) {
  ASSERT_TRUE(service_.CreateCertificate("default", "gone", Policy("Self"), {}, std::nullopt));
  ASSERT_TRUE(service_.DeleteCertificate("default", "gone"));
  EXPECT_FALSE(service_.GetCertificate("default", "gone", ""));
  EXPECT_FALSE(service_.GetSecret("default", "gone", ""));
  // The name cannot be reused while the certificate is recoverable.
  auto reuse = service_.CreateCertificate("default", "gone", Policy("Self"), {}, std::nullopt);
  ASSERT_FALSE(reuse);
  EXPECT_EQ(reuse.error().kind(), ErrorKind::kConflict);
  ASSERT_TRUE(service_.RecoverCertificate("default", "gone"));
  ASSERT_TRUE(service_.GetCertificate("default", "gone", ""));
  ASSERT_TRUE(service_.DeleteCertificate("default", "gone"));
  ASSERT_TRUE(service_.PurgeCertificate("default", "gone"));
  EXPECT_FALSE(service_.GetDeletedCertificate("default", "gone"));
}

TEST_F(VaultServiceTest, BackupRestoreRoundTrip) {
  ASSERT_TRUE(service_.CreateCertificate("default", "b", Policy("Self"), {}, std::nullopt));
  auto original = *service_.GetSecret("default", "b", "");
  auto blob = service_.BackupCertificate("default", "b");
  ASSERT_TRUE(blob);
  EXPECT_EQ(service_.RestoreCertificate("default", *blob).error().kind(), ErrorKind::kConflict);
  ASSERT_TRUE(service_.DeleteCertificate("default", "b"));
  ASSERT_TRUE(service_.PurgeCertificate("default", "b"));
  ASSERT_TRUE(service_.RestoreCertificate("default", *blob));
  EXPECT_EQ(service_.GetSecret("default", "b", "")->value, original.value);
  EXPECT_FALSE(service_.RestoreCertificate("default", "AAAA"));
}

TEST_F(VaultServiceTest, PlainSecretsHonourEnabledAndNbf) {
  ASSERT_TRUE(service_.SetSecret("default", "s", "v1", "text/plain", {}, std::nullopt));
  EXPECT_EQ(service_.GetSecret("default", "s", "")->value, "v1");
  ASSERT_TRUE(service_.SetSecret("default", "s", "v2", "text/plain", {}, std::nullopt));
  EXPECT_EQ(service_.GetSecret("default", "s", "")->value, "v2");  // the cache saw the write
  ASSERT_TRUE(service_.UpdateSecret("default", "s", "", {false, {}, {}}, std::nullopt, {}));
  EXPECT_EQ(service_.GetSecret("default", "s", "").error().kind(), ErrorKind::kForbidden);
  ASSERT_TRUE(service_.UpdateSecret("default", "s", "", {true, {}, {}}, std::nullopt, {}));
  EXPECT_TRUE(service_.GetSecret("default", "s", ""));
  ASSERT_TRUE(service_.UpdateSecret("default", "s", "", {false, {}, {}}, std::nullopt, {}));
  EXPECT_EQ(service_.GetSecret("default", "s", "").error().kind(), ErrorKind::kForbidden);
  ASSERT_TRUE(service_.SetSecret("default", "later", "v", "", {{}, clock_.NowUnix() + 60, {}},
                                 std::nullopt));
  EXPECT_EQ(service_.GetSecret("default", "later", "").error().kind(), ErrorKind::kForbidden);
  clock_.Advance(61);
  EXPECT_TRUE(service_.GetSecret("default", "later", ""));
  // A certificate's name is taken by its managed secret.
  ASSERT_TRUE(service_.CreateCertificate("default", "c", Policy("Self"), {}, std::nullopt));
  EXPECT_EQ(service_.SetSecret("default", "c", "x", "", {}, std::nullopt).error().kind(),
            ErrorKind::kConflict);
}

TEST_F(VaultServiceTest, SecretListingMergesManagedAndPlainInNameOrderWithPaging) {
  for (const char* n : {"a", "c", "e"}) {
    ASSERT_TRUE(service_.SetSecret("default", n, "v", "", {}, std::nullopt));
  }
  for (const char* n : {"b", "d"}) {
    ASSERT_TRUE(service_.CreateCertificate("default", n, Policy("Self"), {}, std::nullopt));
  }
  std::vector<std::string> names;
  store::Page page{0, 2};
  for (int i = 0; i < 10; ++i) {
    auto listing = service_.ListSecrets("default", page);
    ASSERT_TRUE(listing);
    for (const auto& s : listing->items) names.push_back(s.name);
    if (listing->next_offset < 0) break;
    page.offset = listing->next_offset;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
}

TEST_F(VaultServiceTest, NothingInAMissingVault) {
  auto r = service_.GetCertificate("nope", "x", "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), "VaultNotFound");
}

}  // namespace
}  // namespace certvault::vault
