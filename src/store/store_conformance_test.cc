// One conformance suite for every Store: each TEST_P runs against the memory store and the SQLite
// store (in a fresh temporary directory). SQLite-only properties (persistence, migrations, file
// mode, lock contention with another process) follow at the end.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <atomic>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "store/sqlite/connection.h"
#include "store/sqlite/encoding.h"
#include "store/sqlite/migrations.h"
#include "store/store.h"
#include "store/testing/store_fixture.h"

// Field-wise equality for the round-trip checks (the model types define none).
namespace certvault::model {

bool operator==(const Attributes& a, const Attributes& b) {
  return std::tie(a.enabled, a.nbf, a.exp, a.created, a.updated) ==
         std::tie(b.enabled, b.nbf, b.exp, b.created, b.updated);
}
bool operator==(const Vault& a, const Vault& b) {
  return std::tie(a.name, a.created) == std::tie(b.name, b.created);
}
bool operator==(const LifetimeAction& a, const LifetimeAction& b) {
  return std::tie(a.lifetime_percentage, a.days_before_expiry, a.action_type) ==
         std::tie(b.lifetime_percentage, b.days_before_expiry, b.action_type);
}
bool operator==(const IssuerParameters& a, const IssuerParameters& b) {
  return std::tie(a.name, a.cty, a.cert_transparency) ==
         std::tie(b.name, b.cty, b.cert_transparency);
}
bool operator==(const CertificatePolicy& a, const CertificatePolicy& b) {
  const auto& ka = a.key;
  const auto& kb = b.key;
  const auto& xa = a.x509;
  const auto& xb = b.x509;
  return std::tie(ka.kty, ka.key_size, ka.curve, ka.exportable, ka.reuse_key) ==
             std::tie(kb.kty, kb.key_size, kb.curve, kb.exportable, kb.reuse_key) &&
         a.content_type == b.content_type &&
         std::tie(xa.subject, xa.sans.dns_names, xa.sans.emails, xa.sans.upns, xa.sans.uris,
                  xa.sans.ip_addresses, xa.ekus, xa.key_usage, xa.validity_months,
                  xa.validity_duration) == std::tie(xb.subject, xb.sans.dns_names, xb.sans.emails,
                                                    xb.sans.upns, xb.sans.uris,
                                                    xb.sans.ip_addresses, xb.ekus, xb.key_usage,
                                                    xb.validity_months, xb.validity_duration) &&
         a.lifetime_actions == b.lifetime_actions && a.issuer == b.issuer &&
         a.attributes == b.attributes;
}
bool operator==(const Deletion& a, const Deletion& b) {
  return std::tie(a.deleted_date, a.scheduled_purge_date) ==
         std::tie(b.deleted_date, b.scheduled_purge_date);
}
bool operator==(const Certificate& a, const Certificate& b) {
  return std::tie(a.vault, a.name, a.policy, a.current_version, a.deleted, a.next_check, a.created,
                  a.updated) == std::tie(b.vault, b.name, b.policy, b.current_version, b.deleted,
                                         b.next_check, b.created, b.updated);
}
bool operator==(const CertificateVersion& a, const CertificateVersion& b) {
  return std::tie(a.vault, a.name, a.version, a.cer, a.chain, a.wrapped_key, a.content_type,
                  a.exportable, a.attributes,
                  a.tags) == std::tie(b.vault, b.name, b.version, b.cer, b.chain, b.wrapped_key,
                                      b.content_type, b.exportable, b.attributes, b.tags);
}
bool operator==(const PendingOperation& a, const PendingOperation& b) {
  return std::tie(a.vault, a.name, a.request_id, a.csr, a.wrapped_key, a.issuer, a.status,
                  a.status_details, a.cancellation_requested, a.error_code, a.error_message,
                  a.target_version, a.job_id, a.attributes, a.tags, a.created, a.updated) ==
         std::tie(b.vault, b.name, b.request_id, b.csr, b.wrapped_key, b.issuer, b.status,
                  b.status_details, b.cancellation_requested, b.error_code, b.error_message,
                  b.target_version, b.job_id, b.attributes, b.tags, b.created, b.updated);
}
bool operator==(const Secret& a, const Secret& b) {
  return std::tie(a.vault, a.name, a.current_version, a.deleted, a.created, a.updated) ==
         std::tie(b.vault, b.name, b.current_version, b.deleted, b.created, b.updated);
}
bool operator==(const SecretVersion& a, const SecretVersion& b) {
  return std::tie(a.vault, a.name, a.version, a.wrapped_value, a.content_type, a.attributes,
                  a.tags) == std::tie(b.vault, b.name, b.version, b.wrapped_value, b.content_type,
                                      b.attributes, b.tags);
}
bool operator==(const Contact& a, const Contact& b) {
  return std::tie(a.email, a.name, a.phone) == std::tie(b.email, b.name, b.phone);
}
bool operator==(const Principal& a, const Principal& b) {
  return std::tie(a.client_id, a.display_name, a.secret_hash, a.secret_expires, a.enabled,
                  a.created, a.updated) == std::tie(b.client_id, b.display_name, b.secret_hash,
                                                    b.secret_expires, b.enabled, b.created,
                                                    b.updated);
}
bool operator==(const RoleAssignment& a, const RoleAssignment& b) {
  return std::tie(a.id, a.principal_id, a.role, a.scope, a.created) ==
         std::tie(b.id, b.principal_id, b.role, b.scope, b.created);
}
bool operator==(const IssuerAdmin& a, const IssuerAdmin& b) {
  return std::tie(a.first_name, a.last_name, a.email, a.phone) ==
         std::tie(b.first_name, b.last_name, b.email, b.phone);
}
bool operator==(const Issuer& a, const Issuer& b) {
  return std::tie(a.vault, a.name, a.provider, a.account_id, a.wrapped_password, a.organization_id,
                  a.admins, a.settings, a.enabled, a.created, a.updated) ==
         std::tie(b.vault, b.name, b.provider, b.account_id, b.wrapped_password, b.organization_id,
                  b.admins, b.settings, b.enabled, b.created, b.updated);
}
bool operator==(const JobAttempt& a, const JobAttempt& b) {
  return std::tie(a.started, a.finished, a.outcome, a.error) ==
         std::tie(b.started, b.finished, b.outcome, b.error);
}
bool operator==(const Job& a, const Job& b) {
  return std::tie(a.id, a.key, a.vault, a.name, a.trigger, a.source_version, a.validity,
                  a.request_id, a.issuer, a.status, a.not_before, a.deadline, a.lease_owner,
                  a.lease_expires, a.state, a.last_error, a.attempts, a.created, a.updated) ==
         std::tie(b.id, b.key, b.vault, b.name, b.trigger, b.source_version, b.validity,
                  b.request_id, b.issuer, b.status, b.not_before, b.deadline, b.lease_owner,
                  b.lease_expires, b.state, b.last_error, b.attempts, b.created, b.updated);
}
bool operator==(const Event& a, const Event& b) {
  return std::tie(a.seq, a.id, a.type, a.vault, a.object_type, a.object_name, a.version, a.nbf,
                  a.exp, a.key, a.detail,
                  a.time) == std::tie(b.seq, b.id, b.type, b.vault, b.object_type, b.object_name,
                                      b.version, b.nbf, b.exp, b.key, b.detail, b.time);
}
bool operator==(const Revocation& a, const Revocation& b) {
  return std::tie(a.ca, a.serial, a.revoked, a.reason, a.vault, a.name, a.version) ==
         std::tie(b.ca, b.serial, b.revoked, b.reason, b.vault, b.name, b.version);
}

}  // namespace certvault::model

namespace certvault::store {
namespace {

using model::Certificate;
using model::CertificateVersion;
using model::PendingOperation;
using model::Secret;
using model::SecretVersion;

// Test helpers throw on error; GoogleTest reports the exception as the test's failure, and the
// open transaction's destructor rolls it back.
template <typename T>
T Must(Result<T> r) {
  if (!r) throw std::runtime_error(r.error().message());
  return std::move(*r);
}
void MustOk(const Status& s) {
  if (!s) throw std::runtime_error(s.error().message());
}

// Binary data with NUL and high bytes.
std::string Bytes(std::string_view tag) {
  std::string out("\x30\x82\x00\x01\xff\x00", 6);
  out += tag;
  out.push_back('\0');
  return out;
}

std::string VersionId(int n) {
  static const char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  for (int i = 31; i >= 0 && n > 0; --i, n /= 16) id[i] = kHex[n % 16];
  return id;
}

model::Attributes FullAttributes() {
  model::Attributes a;
  a.enabled = false;
  a.nbf = 1700000000;
  a.exp = 1800000000;
  a.created = 1690000000;
  a.updated = 1695000000;
  return a;
}

model::CertificatePolicy FullPolicy() {
  model::CertificatePolicy p;
  p.key.kty = "EC";
  p.key.key_size = 4096;  // irrelevant to EC, but stored as given
  p.key.curve = "P-384";
  p.key.exportable = false;
  p.key.reuse_key = true;
  p.content_type = "application/x-pem-file";
  p.x509.subject = "CN=www.example.com, O=Example \"Corp\"";
  p.x509.sans.dns_names = {"www.example.com", "example.com"};
  p.x509.sans.emails = {"ops@example.com"};
  p.x509.sans.upns = {"user@example.com"};
  p.x509.sans.uris = {"spiffe://example/x"};
  p.x509.sans.ip_addresses = {"10.0.0.1", "::1"};
  p.x509.ekus = {"1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"};
  p.x509.key_usage = {"digitalSignature", "keyEncipherment"};
  p.x509.validity_months = 7;
  p.x509.validity_duration = "PT10M";
  model::LifetimeAction renew;
  renew.lifetime_percentage = 80;
  renew.action_type = "AutoRenew";
  model::LifetimeAction email;
  email.days_before_expiry = 30;
  email.action_type = "EmailContacts";
  p.lifetime_actions = {renew, email};
  p.issuer.name = "corp-ca";
  p.issuer.cty = "WebServer";
  p.issuer.cert_transparency = false;
  p.attributes = FullAttributes();
  return p;
}

Certificate MakeCert(std::string vault, std::string name) {
  Certificate c;
  c.vault = std::move(vault);
  c.name = std::move(name);
  c.created = 10;
  c.updated = 11;
  return c;
}

CertificateVersion MakeCertVersion(std::string vault, std::string name, std::string version) {
  CertificateVersion v;
  v.vault = std::move(vault);
  v.name = std::move(name);
  v.version = std::move(version);
  v.cer = Bytes("cer");
  return v;
}

Secret MakeSecret(std::string vault, std::string name) {
  Secret s;
  s.vault = std::move(vault);
  s.name = std::move(name);
  s.created = 20;
  return s;
}

SecretVersion MakeSecretVersion(std::string vault, std::string name, std::string version) {
  SecretVersion v;
  v.vault = std::move(vault);
  v.name = std::move(name);
  v.version = std::move(version);
  v.wrapped_value = Bytes("value");
  return v;
}

PendingOperation MakePending(std::string vault, std::string name) {
  PendingOperation op;
  op.vault = std::move(vault);
  op.name = std::move(name);
  op.request_id = VersionId(77);
  op.csr = Bytes("csr");
  return op;
}

model::Issuer MakeIssuer(std::string vault, std::string name) {
  model::Issuer issuer;
  issuer.vault = std::move(vault);
  issuer.name = std::move(name);
  issuer.provider = "internal";
  issuer.created = 40;
  issuer.updated = 41;
  return issuer;
}

// A queued job for certificate `name` of `vault`, with id VersionId(n) and no key.
model::Job MakeJob(int n, std::string vault, std::string name) {
  model::Job job;
  job.id = VersionId(n);
  job.vault = std::move(vault);
  job.name = std::move(name);
  job.trigger = "AutoRenew";
  job.issuer = "corp-ca";
  job.created = 50;
  job.updated = 50;
  return job;
}

model::Event MakeEvent(int n, std::string key = "") {
  model::Event e;
  e.id = VersionId(n);
  e.type = "Microsoft.KeyVault.CertificateNewVersionCreated";
  e.vault = "v1";
  e.object_type = "Certificate";
  e.object_name = "c" + std::to_string(n);
  e.key = std::move(key);
  e.time = 60 + n;
  return e;
}

template <typename T>
std::vector<std::string> Ids(const std::vector<T>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) out.push_back(item.id);
  return out;
}

template <typename T>
std::vector<std::string> Names(const std::vector<T>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) out.push_back(item.name);
  return out;
}

template <typename T>
std::vector<std::string> Versions(const std::vector<T>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) out.push_back(item.version);
  return out;
}

using store_testing::Kind;

class StoreTestBase : public store_testing::StoreFixture<Store> {
 protected:
  std::unique_ptr<Store> OpenMemory() override { return NewMemoryStore(); }
  Result<std::unique_ptr<Store>> OpenSqlite(const std::string& path) override {
    return OpenSqliteStore(path);
  }
  const char* FileName() const override { return "certvault.db"; }

  // Runs `f` in a write transaction and commits it.
  template <typename F>
  void Write(F f) {
    std::unique_ptr<Transaction> txn = Must(store_->BeginWrite());
    f(*txn);
    MustOk(txn->Commit());
  }
  std::unique_ptr<Transaction> Read() { return Must(store_->BeginRead()); }
};

class StoreConformanceTest : public StoreTestBase, public ::testing::WithParamInterface<Kind> {
 protected:
  Kind kind() const override { return GetParam(); }
};

// --- Round trips -------------------------------------------------------------------------------

TEST_P(StoreConformanceTest, VaultRoundTripAndOrder) {
  Write([](Transaction& t) {
    MustOk(t.PutVault({"beta", 2}));
    MustOk(t.PutVault({"Alpha", 1}));
    MustOk(t.PutVault({"gamma", 3}));
  });
  auto r = Read();
  EXPECT_EQ(Must(r->GetVault("ALPHA")), model::Vault({"Alpha", 1}));
  EXPECT_EQ(Must(r->GetVault("nope")), std::nullopt);
  EXPECT_EQ(Names(Must(r->ListVaults())), (std::vector<std::string>{"Alpha", "beta", "gamma"}));
}

TEST_P(StoreConformanceTest, PutReplacesWhateverTheCase) {
  Write([](Transaction& t) { MustOk(t.PutVault({"vault1", 1})); });
  Write([](Transaction& t) { MustOk(t.PutVault({"VAULT1", 9})); });
  auto vaults = Must(Read()->ListVaults());
  ASSERT_EQ(vaults.size(), 1u);
  EXPECT_EQ(vaults[0], model::Vault({"VAULT1", 9}));  // stored as given by the last Put
}

TEST_P(StoreConformanceTest, CertificateRoundTrip) {
  Certificate full = MakeCert("v1", "Full-Cert");
  full.policy = FullPolicy();
  full.current_version = VersionId(1);
  full.deleted = model::Deletion{1000, 2000};
  full.next_check = 1750000000;
  Certificate plain = MakeCert("v1", "plain");  // defaults: no deletion, default policy
  Write([&](Transaction& t) {
    MustOk(t.PutCertificate(full));
    MustOk(t.PutCertificate(plain));
  });
  auto r = Read();
  EXPECT_EQ(Must(r->GetCertificate("v1", "Full-Cert")), full);
  EXPECT_EQ(Must(r->GetCertificate("v1", "plain")), plain);
  EXPECT_EQ(Must(r->GetCertificate("v2", "plain")), std::nullopt);
}

TEST_P(StoreConformanceTest, CertificatePolicyOptionalsUnset) {
  Certificate c = MakeCert("v1", "c");
  c.policy.key.kty = "RSA";
  c.policy.key.curve = "P-256";       // irrelevant to RSA, but stored as given
  c.policy.x509.validity_months = 0;  // out of the API's range: still stored as given
  model::LifetimeAction empty;
  empty.action_type = "";
  c.policy.lifetime_actions = {empty};
  c.policy.issuer.cert_transparency = true;
  c.policy.attributes = {};
  Write([&](Transaction& t) { MustOk(t.PutCertificate(c)); });
  EXPECT_EQ(Must(Read()->GetCertificate("v1", "c")), c);
}

TEST_P(StoreConformanceTest, CertificateVersionRoundTrip) {
  CertificateVersion full = MakeCertVersion("v1", "c", VersionId(1));
  full.chain = {Bytes("intermediate"), Bytes("root"), std::string()};
  full.wrapped_key = Bytes("key");
  full.content_type = "application/x-pkcs12";
  full.exportable = false;
  full.attributes = FullAttributes();
  full.tags = {{"Recipient", "a@example.com;b@example.com"}, {"env", "prod"}, {"empty", ""}};
  CertificateVersion bare;  // empty binaries, no chain, no tags, nbf/exp unset
  bare.vault = "v1";
  bare.name = "c";
  bare.version = VersionId(2);
  Write([&](Transaction& t) {
    MustOk(t.PutCertificateVersion(full));
    MustOk(t.PutCertificateVersion(bare));
  });
  auto r = Read();
  EXPECT_EQ(Must(r->GetCertificateVersion("v1", "c", VersionId(1))), full);
  EXPECT_EQ(Must(r->GetCertificateVersion("v1", "c", VersionId(2))), bare);
  EXPECT_EQ(Must(r->GetCertificateVersion("v1", "c", VersionId(3))), std::nullopt);
  EXPECT_EQ(Must(r->GetCertificateVersion("v1", "other", VersionId(1))), std::nullopt);
}

TEST_P(StoreConformanceTest, PendingOperationRoundTripAndDelete) {
  PendingOperation full = MakePending("v1", "c");
  full.wrapped_key = Bytes("pending-key");
  full.issuer = {"corp-ca", "WebServer", true};
  full.status = "failed";
  full.status_details = "the CA said no";
  full.cancellation_requested = true;
  full.error_code = "CertificateRequestRejected";
  full.error_message = "rejected";
  full.target_version = VersionId(5);
  full.job_id = VersionId(6);
  full.attributes = FullAttributes();
  full.tags = {{"k", "v"}};
  full.created = 30;
  full.updated = 31;
  PendingOperation bare;
  bare.vault = "v1";
  bare.name = "d";
  Write([&](Transaction& t) {
    MustOk(t.PutPendingOperation(full));
    MustOk(t.PutPendingOperation(bare));
  });
  {
    auto r = Read();
    EXPECT_EQ(Must(r->GetPendingOperation("v1", "c")), full);
    EXPECT_EQ(Must(r->GetPendingOperation("v1", "d")), bare);
  }
  Write([](Transaction& t) { MustOk(t.DeletePendingOperation("V1", "C")); });
  auto r = Read();
  EXPECT_EQ(Must(r->GetPendingOperation("v1", "c")), std::nullopt);
  EXPECT_NE(Must(r->GetPendingOperation("v1", "d")), std::nullopt);
}

TEST_P(StoreConformanceTest, PendingOperationIsOnePerCertificate) {
  PendingOperation first = MakePending("v1", "c");
  PendingOperation second = MakePending("v1", "C");
  second.request_id = VersionId(78);
  second.status = "completed";
  Write([&](Transaction& t) { MustOk(t.PutPendingOperation(first)); });
  Write([&](Transaction& t) { MustOk(t.PutPendingOperation(second)); });
  EXPECT_EQ(Must(Read()->GetPendingOperation("v1", "c")), second);
}

TEST_P(StoreConformanceTest, SecretAndVersionRoundTrip) {
  Secret full = MakeSecret("v1", "Db-Password");
  full.current_version = VersionId(1);
  full.deleted = model::Deletion{5, 6};
  full.updated = 21;
  Secret plain = MakeSecret("v1", "plain");
  SecretVersion v1 = MakeSecretVersion("v1", "Db-Password", VersionId(1));
  v1.content_type = "text/plain";
  v1.attributes = FullAttributes();
  v1.tags = {{"a", "b"}};
  SecretVersion bare;
  bare.vault = "v1";
  bare.name = "Db-Password";
  bare.version = VersionId(2);
  Write([&](Transaction& t) {
    MustOk(t.PutSecret(full));
    MustOk(t.PutSecret(plain));
    MustOk(t.PutSecretVersion(v1));
    MustOk(t.PutSecretVersion(bare));
  });
  auto r = Read();
  EXPECT_EQ(Must(r->GetSecret("v1", "Db-Password")), full);
  EXPECT_EQ(Must(r->GetSecret("v1", "plain")), plain);
  EXPECT_EQ(Must(r->GetSecret("v1", "none")), std::nullopt);
  EXPECT_EQ(Must(r->GetSecretVersion("v1", "Db-Password", VersionId(1))), v1);
  EXPECT_EQ(Must(r->GetSecretVersion("v1", "Db-Password", VersionId(2))), bare);
  EXPECT_EQ(Must(r->GetSecretVersion("v1", "Db-Password", VersionId(3))), std::nullopt);
}

TEST_P(StoreConformanceTest, LookupsIgnoreCaseAndKeepSpelling) {
  std::string upper_version = VersionId(0xabc);
  for (char& c : upper_version) c = static_cast<char>(std::toupper(c));
  Write([&](Transaction& t) {
    MustOk(t.PutCertificate(MakeCert("MyVault", "MyCert")));
    MustOk(t.PutCertificateVersion(MakeCertVersion("MyVault", "MyCert", VersionId(0xabc))));
    MustOk(t.PutPendingOperation(MakePending("MyVault", "MyCert")));
    MustOk(t.PutSecret(MakeSecret("MyVault", "MySecret")));
    MustOk(t.PutSecretVersion(MakeSecretVersion("MyVault", "MySecret", VersionId(0xabc))));
    MustOk(t.PutContacts("MyVault", {{"a@example.com", "A", "1"}}));
  });
  auto r = Read();
  auto cert = Must(r->GetCertificate("myvault", "MYCERT"));
  ASSERT_TRUE(cert.has_value());
  EXPECT_EQ(cert->vault, "MyVault");
  EXPECT_EQ(cert->name, "MyCert");
  auto version = Must(r->GetCertificateVersion("MYVAULT", "mycert", upper_version));
  ASSERT_TRUE(version.has_value());
  EXPECT_EQ(version->version, VersionId(0xabc));
  EXPECT_NE(Must(r->GetPendingOperation("myVAULT", "myCERT")), std::nullopt);
  EXPECT_NE(Must(r->GetSecret("MYVAULT", "mysecret")), std::nullopt);
  EXPECT_NE(Must(r->GetSecretVersion("myvault", "MYSECRET", upper_version)), std::nullopt);
  EXPECT_EQ(Must(r->GetContacts("MYVAULT")).size(), 1u);
  EXPECT_EQ(Names(Must(r->ListCertificates("myvault", Deleted::kExclude, {}))),
            std::vector<std::string>{"MyCert"});
  EXPECT_EQ(Must(r->ListCertificateVersions("myvault", "mycert", {})).size(), 1u);
  EXPECT_EQ(Names(Must(r->ListSecrets("MYVAULT", Deleted::kExclude, {}))),
            std::vector<std::string>{"MySecret"});
  EXPECT_EQ(Must(r->ListSecretVersions("MYVAULT", "MYSECRET", {})).size(), 1u);
}

// --- Listing -----------------------------------------------------------------------------------

TEST_P(StoreConformanceTest, ListCertificatesByNameWithPaging) {
  Write([](Transaction& t) {
    for (const char* name : {"b", "A", "c", "D", "e"})
      MustOk(t.PutCertificate(MakeCert("v1", name)));
    MustOk(t.PutCertificate(MakeCert("v10", "a0")));  // another vault, sharing a prefix
    MustOk(t.PutCertificate(MakeCert("v", "a1")));
  });
  auto r = Read();
  auto page = [&](int64_t offset, int64_t limit) {
    return Names(Must(r->ListCertificates("v1", Deleted::kExclude, {offset, limit})));
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(page(0, 25), (V{"A", "b", "c", "D", "e"}));
  EXPECT_EQ(page(0, 2), (V{"A", "b"}));
  EXPECT_EQ(page(2, 2), (V{"c", "D"}));
  EXPECT_EQ(page(4, 2), (V{"e"}));
  EXPECT_EQ(page(5, 2), V{});
  EXPECT_EQ(page(0, 0), V{});
  EXPECT_EQ(page(3, -1), (V{"D", "e"}));  // a negative limit means no limit
  EXPECT_EQ(page(-3, 1), (V{"A"}));       // a negative offset counts as 0
  EXPECT_EQ(Names(Must(r->ListCertificates("nothing", Deleted::kExclude, {}))), V{});
}

TEST_P(StoreConformanceTest, DeletedFilter) {
  Write([](Transaction& t) {
    for (int i = 0; i < 6; ++i) {
      std::string name = "n" + std::to_string(i);
      Certificate c = MakeCert("v1", name);
      Secret s = MakeSecret("v1", name);
      if (i % 2 == 1) {
        c.deleted = model::Deletion{100, 200};
        s.deleted = model::Deletion{100, 200};
      }
      MustOk(t.PutCertificate(c));
      MustOk(t.PutSecret(s));
    }
  });
  auto r = Read();
  using V = std::vector<std::string>;
  EXPECT_EQ(Names(Must(r->ListCertificates("v1", Deleted::kExclude, {}))), (V{"n0", "n2", "n4"}));
  EXPECT_EQ(Names(Must(r->ListCertificates("v1", Deleted::kOnly, {}))), (V{"n1", "n3", "n5"}));
  EXPECT_EQ(Names(Must(r->ListCertificates("v1", Deleted::kOnly, {1, 1}))), (V{"n3"}));
  EXPECT_EQ(Names(Must(r->ListSecrets("v1", Deleted::kExclude, {1, 5}))), (V{"n2", "n4"}));
  EXPECT_EQ(Names(Must(r->ListSecrets("v1", Deleted::kOnly, {}))), (V{"n1", "n3", "n5"}));
}

TEST_P(StoreConformanceTest, VersionsListInCreationOrderAndUpdateInPlace) {
  // Ids deliberately not in lexical order.
  const std::vector<std::string> ids = {VersionId(0xf00), VersionId(0x100), VersionId(0xa00),
                                        VersionId(0x200)};
  Write([&](Transaction& t) {
    for (const auto& id : ids) {
      MustOk(t.PutCertificateVersion(MakeCertVersion("v1", "c", id)));
      MustOk(t.PutSecretVersion(MakeSecretVersion("v1", "s", id)));
    }
    MustOk(t.PutCertificateVersion(MakeCertVersion("v1", "other", VersionId(1))));
  });
  // Update the first one in place, through a differently spelled key.
  CertificateVersion updated = MakeCertVersion("V1", "C", ids[0]);
  updated.attributes.enabled = false;
  updated.tags = {{"t", "1"}};
  SecretVersion updated_secret = MakeSecretVersion("v1", "S", ids[0]);
  updated_secret.content_type = "changed";
  Write([&](Transaction& t) {
    MustOk(t.PutCertificateVersion(updated));
    MustOk(t.PutSecretVersion(updated_secret));
    MustOk(t.PutCertificateVersion(MakeCertVersion("v1", "c", VersionId(0x050))));
  });
  auto r = Read();
  auto all = Must(r->ListCertificateVersions("v1", "c", {0, 100}));
  std::vector<std::string> expected = ids;
  expected.push_back(VersionId(0x050));
  EXPECT_EQ(Versions(all), expected);
  EXPECT_EQ(all[0], updated);
  EXPECT_EQ(Versions(Must(r->ListCertificateVersions("v1", "c", {1, 2}))),
            (std::vector<std::string>{ids[1], ids[2]}));
  auto secrets = Must(r->ListSecretVersions("v1", "s", {0, 100}));
  EXPECT_EQ(Versions(secrets), ids);
  EXPECT_EQ(secrets[0], updated_secret);
  EXPECT_EQ(Versions(Must(r->ListSecretVersions("v1", "s", {3, 10}))),
            std::vector<std::string>{ids[3]});
  EXPECT_EQ(Must(r->ListCertificateVersions("v1", "none", {})).size(), 0u);
}

// --- Deletes -----------------------------------------------------------------------------------

TEST_P(StoreConformanceTest, DeleteCertificatePurgesVersionsAndPending) {
  Write([](Transaction& t) {
    for (const char* name : {"c", "keep"}) {
      MustOk(t.PutCertificate(MakeCert("v1", name)));
      MustOk(t.PutCertificateVersion(MakeCertVersion("v1", name, VersionId(1))));
      MustOk(t.PutPendingOperation(MakePending("v1", name)));
    }
    MustOk(t.PutSecret(MakeSecret("v1", "c")));  // a secret of the same name is not touched
  });
  Write([](Transaction& t) { MustOk(t.DeleteCertificate("V1", "C")); });
  {
    auto r = Read();
    EXPECT_EQ(Must(r->GetCertificate("v1", "c")), std::nullopt);
    EXPECT_EQ(Must(r->GetCertificateVersion("v1", "c", VersionId(1))), std::nullopt);
    EXPECT_EQ(Must(r->ListCertificateVersions("v1", "c", {})).size(), 0u);
    EXPECT_EQ(Must(r->GetPendingOperation("v1", "c")), std::nullopt);
    EXPECT_NE(Must(r->GetCertificate("v1", "keep")), std::nullopt);
    EXPECT_EQ(Must(r->ListCertificateVersions("v1", "keep", {})).size(), 1u);
    EXPECT_NE(Must(r->GetPendingOperation("v1", "keep")), std::nullopt);
    EXPECT_NE(Must(r->GetSecret("v1", "c")), std::nullopt);
  }
  // A new certificate of the same name starts with no history.
  Write([](Transaction& t) {
    MustOk(t.PutCertificate(MakeCert("v1", "c")));
    MustOk(t.PutCertificateVersion(MakeCertVersion("v1", "c", VersionId(2))));
  });
  EXPECT_EQ(Versions(Must(Read()->ListCertificateVersions("v1", "c", {}))),
            std::vector<std::string>{VersionId(2)});
}

TEST_P(StoreConformanceTest, DeleteSecretPurgesVersions) {
  Write([](Transaction& t) {
    for (const char* name : {"s", "keep"}) {
      MustOk(t.PutSecret(MakeSecret("v1", name)));
      MustOk(t.PutSecretVersion(MakeSecretVersion("v1", name, VersionId(1))));
    }
  });
  Write([](Transaction& t) { MustOk(t.DeleteSecret("v1", "S")); });
  auto r = Read();
  EXPECT_EQ(Must(r->GetSecret("v1", "s")), std::nullopt);
  EXPECT_EQ(Must(r->GetSecretVersion("v1", "s", VersionId(1))), std::nullopt);
  EXPECT_EQ(Must(r->ListSecretVersions("v1", "s", {})).size(), 0u);
  EXPECT_NE(Must(r->GetSecret("v1", "keep")), std::nullopt);
  EXPECT_EQ(Must(r->ListSecretVersions("v1", "keep", {})).size(), 1u);
}

TEST_P(StoreConformanceTest, DeleteVaultRemovesEverythingInIt) {
  Write([](Transaction& t) {
    for (const char* vault : {"gone", "kept"}) {
      MustOk(t.PutVault({vault, 1}));
      MustOk(t.PutCertificate(MakeCert(vault, "c")));
      MustOk(t.PutCertificateVersion(MakeCertVersion(vault, "c", VersionId(1))));
      MustOk(t.PutPendingOperation(MakePending(vault, "c")));
      MustOk(t.PutSecret(MakeSecret(vault, "s")));
      MustOk(t.PutSecretVersion(MakeSecretVersion(vault, "s", VersionId(1))));
      MustOk(t.PutContacts(vault, {{"a@example.com", "", ""}}));
    }
    MustOk(t.PutPrincipal({"client", "Client", "hash", 0, true, 1, 1}));
    MustOk(t.PutRoleAssignment({"a1", "client", "Reader", "/vaults/gone", 1}));
    MustOk(t.PutRoleAssignment({"a2", "client", "Reader", "/vaults/Gone/secrets/s", 2}));
    MustOk(t.PutRoleAssignment({"a3", "client", "Reader", "/vaults/gone-too", 3}));
    MustOk(t.PutRoleAssignment({"a4", "client", "Reader", "/vaults/kept", 4}));
    MustOk(t.PutSetting("k", "v"));
  });
  Write([](Transaction& t) { MustOk(t.DeleteVault("GONE")); });
  auto r = Read();
  EXPECT_EQ(Must(r->GetVault("gone")), std::nullopt);
  EXPECT_EQ(Must(r->GetCertificate("gone", "c")), std::nullopt);
  EXPECT_EQ(Must(r->ListCertificates("gone", Deleted::kExclude, {})).size(), 0u);
  EXPECT_EQ(Must(r->ListCertificateVersions("gone", "c", {})).size(), 0u);
  EXPECT_EQ(Must(r->GetPendingOperation("gone", "c")), std::nullopt);
  EXPECT_EQ(Must(r->GetSecret("gone", "s")), std::nullopt);
  EXPECT_EQ(Must(r->ListSecretVersions("gone", "s", {})).size(), 0u);
  EXPECT_EQ(Must(r->GetContacts("gone")).size(), 0u);

  EXPECT_NE(Must(r->GetVault("kept")), std::nullopt);
  EXPECT_NE(Must(r->GetCertificate("kept", "c")), std::nullopt);
  EXPECT_EQ(Must(r->ListCertificateVersions("kept", "c", {})).size(), 1u);
  EXPECT_NE(Must(r->GetPendingOperation("kept", "c")), std::nullopt);
  EXPECT_NE(Must(r->GetSecret("kept", "s")), std::nullopt);
  EXPECT_EQ(Must(r->ListSecretVersions("kept", "s", {})).size(), 1u);
  EXPECT_EQ(Must(r->GetContacts("kept")).size(), 1u);
  EXPECT_NE(Must(r->GetPrincipal("client")), std::nullopt);
  EXPECT_EQ(Must(r->GetSetting("k")), "v");
  // Assignments scoped to the deleted vault go with it; a vault whose name merely starts the same
  // keeps its own.
  std::vector<std::string> kept;
  for (const auto& a : Must(r->ListRoleAssignments())) kept.push_back(a.id);
  EXPECT_EQ(kept, (std::vector<std::string>{"a3", "a4"}));
}

// --- Contacts, principals, settings ------------------------------------------------------------

TEST_P(StoreConformanceTest, Contacts) {
  const std::vector<model::Contact> contacts = {{"a@example.com", "Alice", "+1 555"},
                                                {"b@example.com", "", ""}};
  EXPECT_EQ(Must(Read()->GetContacts("v1")).size(), 0u);
  Write([&](Transaction& t) { MustOk(t.PutContacts("v1", contacts)); });
  EXPECT_EQ(Must(Read()->GetContacts("v1")), contacts);
  EXPECT_EQ(Must(Read()->GetContacts("v2")).size(), 0u);
  Write([&](Transaction& t) { MustOk(t.PutContacts("V1", {contacts[1]})); });
  EXPECT_EQ(Must(Read()->GetContacts("v1")), std::vector<model::Contact>{contacts[1]});
  Write([&](Transaction& t) { MustOk(t.PutContacts("v1", {})); });
  EXPECT_EQ(Must(Read()->GetContacts("v1")).size(), 0u);
}

TEST_P(StoreConformanceTest, Principals) {
  const model::Principal a{"b-client", "B", "pbkdf2-sha256$1000$c2FsdA$aGFzaA", 99, true, 5, 7};
  const model::Principal b{"a-client", "A", "", 0, false, 6, 6};
  Write([&](Transaction& t) {
    MustOk(t.PutPrincipal(a));
    MustOk(t.PutPrincipal(b));
  });
  {
    auto r = Read();
    EXPECT_EQ(Must(r->GetPrincipal("b-client")), a);
    EXPECT_EQ(Must(r->GetPrincipal("B-CLIENT")), std::nullopt);  // client ids compare exactly
    EXPECT_EQ(Must(r->ListPrincipals()), (std::vector<model::Principal>{b, a}));
  }
  model::Principal disabled = a;
  disabled.enabled = false;
  disabled.display_name = "B2";
  Write([&](Transaction& t) { MustOk(t.PutPrincipal(disabled)); });
  EXPECT_EQ(Must(Read()->GetPrincipal("b-client")), disabled);
  EXPECT_EQ(Must(Read()->ListPrincipals()).size(), 2u);
}

TEST_P(StoreConformanceTest, RoleAssignments) {
  const model::RoleAssignment x{"x", "b-client", "Secrets User", "/vaults/v/certificates/Web", 2};
  const model::RoleAssignment y{"y", "b-client", "Reader", "/", 1};
  const model::RoleAssignment z{"z", "a-client", "Administrator", "/", 1};
  Write([&](Transaction& t) {
    MustOk(t.PutPrincipal({"a-client", "A", "h", 0, true, 1, 1}));
    MustOk(t.PutPrincipal({"b-client", "B", "h", 0, true, 1, 1}));
    MustOk(t.PutRoleAssignment(x));
    MustOk(t.PutRoleAssignment(y));
    MustOk(t.PutRoleAssignment(z));
  });
  EXPECT_EQ(Must(Read()->ListRoleAssignments()),
            (std::vector<model::RoleAssignment>{y, z, x}));  // oldest first, then by id
  Write([&](Transaction& t) { MustOk(t.DeleteRoleAssignment("y")); });
  EXPECT_EQ(Must(Read()->ListRoleAssignments()), (std::vector<model::RoleAssignment>{z, x}));
  // Deleting a principal removes its assignments.
  Write([&](Transaction& t) { MustOk(t.DeletePrincipal("b-client")); });
  EXPECT_EQ(Must(Read()->GetPrincipal("b-client")), std::nullopt);
  EXPECT_EQ(Must(Read()->ListRoleAssignments()), (std::vector<model::RoleAssignment>{z}));
  // A rolled-back transaction keeps nothing.
  {
    auto t = Must(store_->BeginWrite());
    MustOk(t->PutRoleAssignment(x));
  }
  EXPECT_EQ(Must(Read()->ListRoleAssignments()).size(), 1u);
}

TEST_P(StoreConformanceTest, Settings) {
  const std::string binary = Bytes("wrapped-ca-key");
  Write([&](Transaction& t) {
    MustOk(t.PutSetting("ca.key", binary));
    MustOk(t.PutSetting("empty", ""));
  });
  {
    auto r = Read();
    EXPECT_EQ(Must(r->GetSetting("ca.key")), binary);
    EXPECT_EQ(Must(r->GetSetting("empty")), std::string());
    EXPECT_EQ(Must(r->GetSetting("CA.KEY")), std::nullopt);  // keys compare exactly
    EXPECT_EQ(Must(r->GetSetting("missing")), std::nullopt);
  }
  Write([&](Transaction& t) { MustOk(t.PutSetting("ca.key", "new")); });
  EXPECT_EQ(Must(Read()->GetSetting("ca.key")), "new");
}

// --- Issuers -----------------------------------------------------------------------------------

TEST_P(StoreConformanceTest, IssuerRoundTripOrderAndDelete) {
  model::Issuer full = MakeIssuer("v1", "Corp-CA");
  full.provider = "acme";
  full.account_id = "eab-key-id";
  full.wrapped_password = Bytes("sealed-password");
  full.organization_id = "org-1";
  full.admins = {{"Ada", "Lovelace", "ada@example.com", "+44 20"}, {"", "", "", ""}};
  full.settings = R"({"directory":"https://acme.example/dir","contact":["mailto:ops@x"]})";
  full.enabled = false;
  model::Issuer bare;  // defaults: no admins, settings "{}", enabled, empty password
  bare.vault = "v1";
  bare.name = "bare";
  Write([&](Transaction& t) {
    MustOk(t.PutIssuer(full));
    MustOk(t.PutIssuer(bare));
    MustOk(t.PutIssuer(MakeIssuer("v1", "a-first")));
    MustOk(t.PutIssuer(MakeIssuer("v2", "other-vault")));
  });
  {
    auto r = Read();
    EXPECT_EQ(Must(r->GetIssuer("V1", "corp-ca")), full);
    EXPECT_EQ(Must(r->GetIssuer("v1", "bare")), bare);
    EXPECT_EQ(Must(r->GetIssuer("v2", "corp-ca")), std::nullopt);
    EXPECT_EQ(Names(Must(r->ListIssuers("V1"))),
              (std::vector<std::string>{"a-first", "bare", "Corp-CA"}));  // by name, any case
    EXPECT_EQ(Names(Must(r->ListIssuers("v2"))), std::vector<std::string>{"other-vault"});
    EXPECT_EQ(Must(r->ListIssuers("none")).size(), 0u);
  }
  // A Put under another spelling replaces, keeping the last spelling.
  model::Issuer renamed = MakeIssuer("V1", "CORP-CA");
  Write([&](Transaction& t) { MustOk(t.PutIssuer(renamed)); });
  EXPECT_EQ(Must(Read()->GetIssuer("v1", "corp-ca")), renamed);
  EXPECT_EQ(Must(Read()->ListIssuers("v1")).size(), 3u);
  Write([&](Transaction& t) {
    MustOk(t.DeleteIssuer("v1", "Corp-Ca"));
    MustOk(t.DeleteIssuer("v1", "missing"));  // deleting nothing is not an error
  });
  auto r = Read();
  EXPECT_EQ(Must(r->GetIssuer("v1", "corp-ca")), std::nullopt);
  EXPECT_EQ(Names(Must(r->ListIssuers("v1"))), (std::vector<std::string>{"a-first", "bare"}));
  EXPECT_NE(Must(r->GetIssuer("v2", "other-vault")), std::nullopt);
}

// --- Jobs --------------------------------------------------------------------------------------

TEST_P(StoreConformanceTest, JobRoundTrip) {
  model::Job full = MakeJob(1, "Vault-1", "Web-Cert");
  full.key = "renew:Vault-1/Web-Cert/" + VersionId(9);
  full.trigger = "manual";
  full.source_version = VersionId(9);
  full.validity = "P90D";
  full.request_id = VersionId(10);
  full.issuer = "Corp-CA";
  full.status = "running";
  full.not_before = 1700000100;
  full.deadline = 1800000000;
  full.lease_owner = "engine-2";
  full.lease_expires = 1700000400;
  full.state = Bytes("acme-order-url");
  full.last_error = "CA unavailable: 503";
  full.attempts = {{1700000000, 1700000010, "retry", "CA unavailable: 503"},
                   {1700000100, 0, "in progress", ""}};
  full.created = 1700000000;
  full.updated = 1700000100;
  model::Job bare;  // defaults: queued, no key, no attempts, empty state
  bare.id = VersionId(2);
  Write([&](Transaction& t) {
    EXPECT_TRUE(Must(t.InsertJob(full)));
    EXPECT_TRUE(Must(t.InsertJob(bare)));
  });
  auto r = Read();
  EXPECT_EQ(Must(r->GetJob(VersionId(1))), full);
  EXPECT_EQ(Must(r->GetJob(VersionId(2))), bare);
  EXPECT_EQ(Must(r->GetJobByKey(full.key)), full);
  EXPECT_EQ(Must(r->GetJob(VersionId(3))), std::nullopt);
  EXPECT_EQ(Must(r->GetJobByKey("renew:other")), std::nullopt);
  EXPECT_EQ(Must(r->GetJobByKey("")), std::nullopt);  // an empty key is no key
}

TEST_P(StoreConformanceTest, JobIdsAndKeysCompareExactly) {
  std::string upper_id = VersionId(0xabc);
  for (char& c : upper_id) c = static_cast<char>(std::toupper(c));
  model::Job job = MakeJob(0xabc, "v1", "c");
  job.key = "renew:v1/c";
  Write([&](Transaction& t) { EXPECT_TRUE(Must(t.InsertJob(job))); });
  auto r = Read();
  EXPECT_EQ(Must(r->GetJob(upper_id)), std::nullopt);
  EXPECT_EQ(Must(r->GetJobByKey("RENEW:V1/C")), std::nullopt);
  EXPECT_EQ(Must(r->GetJobByKey("renew:v1/c")), job);
}

TEST_P(StoreConformanceTest, InsertJobRefusesADuplicateKeyAndChangesNothing) {
  model::Job first = MakeJob(1, "v1", "c");
  first.key = "renew:v1/c/1";
  model::Job second = MakeJob(2, "v2", "d");  // another job, same key
  second.key = first.key;
  second.status = "waiting";
  Write([&](Transaction& t) {
    EXPECT_TRUE(Must(t.InsertJob(first)));
    EXPECT_FALSE(Must(t.InsertJob(second)));  // in the same transaction
    EXPECT_EQ(Must(t.GetJob(VersionId(2))), std::nullopt);
  });
  Write([&](Transaction& t) {
    EXPECT_FALSE(Must(t.InsertJob(second)));  // in a later one
    EXPECT_FALSE(Must(t.InsertJob(first)));   // the very same job again
  });
  auto r = Read();
  EXPECT_EQ(Must(r->GetJobByKey(first.key)), first);
  EXPECT_EQ(Must(r->GetJob(VersionId(1))), first);
  EXPECT_EQ(Must(r->GetJob(VersionId(2))), std::nullopt);
  EXPECT_EQ(Ids(Must(r->ListJobs({}, {0, -1}))), std::vector<std::string>{VersionId(1)});
}

TEST_P(StoreConformanceTest, InsertJobWithATakenIdIsAnError) {
  model::Job job = MakeJob(1, "v1", "c");
  Write([&](Transaction& t) { EXPECT_TRUE(Must(t.InsertJob(job))); });
  model::Job same_id = MakeJob(1, "v1", "other");
  same_id.key = "a-fresh-key";
  {
    auto w = Must(store_->BeginWrite());
    EXPECT_FALSE(w->InsertJob(same_id).has_value());  // not "already queued": a caller's bug
    EXPECT_EQ(Must(w->GetJob(VersionId(1))), job);
  }
  EXPECT_EQ(Must(Read()->GetJob(VersionId(1))), job);
}

TEST_P(StoreConformanceTest, EmptyJobKeysNeverConflict) {
  Write([&](Transaction& t) {
    for (int i = 1; i <= 3; ++i) EXPECT_TRUE(Must(t.InsertJob(MakeJob(i, "v1", "c"))));
    MustOk(t.PutJob(MakeJob(4, "v1", "c")));
  });
  Write([&](Transaction& t) { EXPECT_TRUE(Must(t.InsertJob(MakeJob(5, "v1", "c")))); });
  EXPECT_EQ(Must(Read()->ListJobs({}, {0, -1})).size(), 5u);
}

TEST_P(StoreConformanceTest, PutJobReplacesByIdAndKeepsItsPlace) {
  // Created in the same second: insertion order breaks the tie.
  Write([&](Transaction& t) {
    for (int i = 1; i <= 3; ++i) {
      model::Job job = MakeJob(i, "v1", "c");
      job.key = "k" + std::to_string(i);
      EXPECT_TRUE(Must(t.InsertJob(job)));
    }
  });
  model::Job updated = MakeJob(1, "v1", "c");
  updated.key = "k1-renamed";
  updated.status = "succeeded";
  updated.state = Bytes("done");
  updated.attempts = {{1, 2, "succeeded", ""}};
  updated.updated = 99;
  model::Job added = MakeJob(4, "v1", "c");  // PutJob also inserts
  Write([&](Transaction& t) {
    MustOk(t.PutJob(updated));
    MustOk(t.PutJob(added));
  });
  auto r = Read();
  EXPECT_EQ(Must(r->GetJob(VersionId(1))), updated);
  EXPECT_EQ(Must(r->GetJob(VersionId(4))), added);
  EXPECT_EQ(Must(r->GetJobByKey("k1")), std::nullopt);  // the old key is free again
  EXPECT_EQ(Must(r->GetJobByKey("k1-renamed")), updated);
  EXPECT_EQ(Ids(Must(r->ListJobs({}, {0, -1}))),
            (std::vector<std::string>{VersionId(4), VersionId(3), VersionId(2), VersionId(1)}));
  r.reset();
  Write([&](Transaction& t) {
    model::Job reuse = MakeJob(5, "v1", "c");
    reuse.key = "k1";
    EXPECT_TRUE(Must(t.InsertJob(reuse)));
  });
}

TEST_P(StoreConformanceTest, PutJobWithAnotherJobsKeyFailsAndChangesNothing) {
  model::Job a = MakeJob(1, "v1", "a");
  a.key = "ka";
  model::Job b = MakeJob(2, "v1", "b");
  b.key = "kb";
  Write([&](Transaction& t) {
    MustOk(t.PutJob(a));
    MustOk(t.PutJob(b));
  });
  model::Job b_stealing = b;
  b_stealing.key = "ka";
  b_stealing.status = "failed";
  model::Job c_stealing = MakeJob(3, "v1", "c");
  c_stealing.key = "ka";
  {
    auto w = Must(store_->BeginWrite());
    EXPECT_FALSE(w->PutJob(b_stealing).has_value());
    EXPECT_FALSE(w->PutJob(c_stealing).has_value());
    // Neither the job holding the key nor the one that asked for it changed.
    EXPECT_EQ(Must(w->GetJob(VersionId(1))), a);
    EXPECT_EQ(Must(w->GetJob(VersionId(2))), b);
    EXPECT_EQ(Must(w->GetJob(VersionId(3))), std::nullopt);
    EXPECT_EQ(Must(w->GetJobByKey("ka")), a);
  }
  EXPECT_EQ(Ids(Must(Read()->ListJobs({}, {0, -1}))),
            (std::vector<std::string>{VersionId(2), VersionId(1)}));
}

TEST_P(StoreConformanceTest, ListJobsNewestFirstWithFilterAndPaging) {
  struct Spec {
    int n;
    const char* vault;
    const char* name;
    const char* status;
    int64_t created;
  };
  const Spec specs[] = {
      {1, "v1", "a", "succeeded", 100}, {2, "v1", "b", "queued", 300},
      {3, "V1", "A", "queued", 200},    {4, "v2", "a", "queued", 400},
      {5, "v1", "a", "failed", 200},  // same second as 3, inserted later: newer
      {6, "v10", "a", "queued", 500},
  };
  Write([&](Transaction& t) {
    for (const Spec& spec : specs) {
      model::Job job = MakeJob(spec.n, spec.vault, spec.name);
      job.status = spec.status;
      job.created = spec.created;
      EXPECT_TRUE(Must(t.InsertJob(job)));
    }
  });
  auto r = Read();
  auto ids = [&](JobFilter filter, Page page = {0, -1}) {
    std::vector<int> out;
    for (const auto& job : Must(r->ListJobs(filter, page))) {
      for (const Spec& spec : specs) {
        if (VersionId(spec.n) == job.id) out.push_back(spec.n);
      }
    }
    return out;
  };
  using V = std::vector<int>;
  EXPECT_EQ(ids({}), (V{6, 4, 2, 5, 3, 1}));
  EXPECT_EQ(ids({"v1", "", ""}), (V{2, 5, 3, 1}));  // vaults compare case-insensitively
  EXPECT_EQ(ids({"", "A", ""}), (V{6, 4, 5, 3, 1}));
  EXPECT_EQ(ids({"", "", "queued"}), (V{6, 4, 2, 3}));
  EXPECT_EQ(ids({"", "", "Queued"}), V{});  // statuses compare exactly
  EXPECT_EQ(ids({"V1", "a", ""}), (V{5, 3, 1}));
  EXPECT_EQ(ids({"v1", "a", "queued"}), (V{3}));
  EXPECT_EQ(ids({"none", "", ""}), V{});
  EXPECT_EQ(ids({}, {0, 2}), (V{6, 4}));
  EXPECT_EQ(ids({}, {2, 2}), (V{2, 5}));
  EXPECT_EQ(ids({}, {5, 2}), (V{1}));
  EXPECT_EQ(ids({}, {6, 2}), V{});
  EXPECT_EQ(ids({"v1", "", ""}, {1, 2}), (V{5, 3}));
  EXPECT_EQ(ids({}, {-1, 1}), (V{6}));
  EXPECT_EQ(Must(r->ListJobs({}, {})).size(), 6u);  // the default page holds them all
}

TEST_P(StoreConformanceTest, ListRunnableJobs) {
  constexpr int64_t kNow = 1000;
  struct Spec {
    int n;
    const char* status;
    int64_t not_before;
    int64_t lease_expires;
    int64_t created;
  };
  const Spec specs[] = {
      {1, "queued", 900, 0, 10},          // runnable
      {2, "running", 500, 999, 10},       // runnable: its lease ran out
      {3, "queued", kNow, kNow, 10},      // runnable: both times are == now
      {4, "queued", kNow + 1, 0, 10},     // not yet
      {5, "running", 100, kNow + 1, 10},  // leased
      {6, "waiting", 0, 0, 10},           // a remote worker's
      {7, "succeeded", 0, 0, 10},        {8, "failed", 0, 0, 10}, {9, "cancelled", 0, 0, 10},
      {10, "queued", 900, 0, 5},   // same not_before as 1, created earlier
      {11, "queued", 900, 0, 10},  // same not_before and created as 1, inserted later
  };
  Write([&](Transaction& t) {
    for (const Spec& spec : specs) {
      model::Job job = MakeJob(spec.n, "v1", "c" + std::to_string(spec.n));
      job.status = spec.status;
      job.not_before = spec.not_before;
      job.lease_expires = spec.lease_expires;
      job.created = spec.created;
      EXPECT_TRUE(Must(t.InsertJob(job)));
    }
  });
  auto r = Read();
  using V = std::vector<std::string>;
  EXPECT_EQ(Ids(Must(r->ListRunnableJobs(kNow, 100))),
            (V{VersionId(2), VersionId(10), VersionId(1), VersionId(11), VersionId(3)}));
  EXPECT_EQ(Ids(Must(r->ListRunnableJobs(kNow, 2))), (V{VersionId(2), VersionId(10)}));
  EXPECT_EQ(Ids(Must(r->ListRunnableJobs(kNow, -1))).size(), 5u);
  EXPECT_EQ(Ids(Must(r->ListRunnableJobs(kNow, 0))), V{});
  EXPECT_EQ(Ids(Must(r->ListRunnableJobs(499, 100))), V{});
  EXPECT_EQ(Ids(Must(r->ListRunnableJobs(kNow + 1, 100))).size(), 7u);  // 4 and 5 join
}

TEST_P(StoreConformanceTest, ListWaitingJobs) {
  constexpr int64_t kNow = 1000;
  struct Spec {
    int n;
    const char* vault;
    const char* issuer;
    const char* status;
    int64_t lease_expires;
    int64_t created;
  };
  const Spec specs[] = {
      {1, "v1", "Worker-CA", "waiting", 0, 30},         // yes
      {2, "V1", "worker-ca", "waiting", kNow, 20},      // yes: names ignore case; lease == now
      {3, "v1", "worker-ca", "waiting", kNow + 1, 10},  // leased by a worker
      {4, "v1", "other-ca", "waiting", 0, 10},          // another issuer
      {5, "v2", "worker-ca", "waiting", 0, 10},         // another vault
      {6, "v1", "worker-ca", "queued", 0, 10},          // the engine's
      {7, "v1", "worker-ca", "running", 0, 10},
      {8, "v1", "worker-ca", "waiting", 0, 20},  // same created as 2, inserted later
  };
  Write([&](Transaction& t) {
    for (const Spec& spec : specs) {
      model::Job job = MakeJob(spec.n, spec.vault, "c" + std::to_string(spec.n));
      job.issuer = spec.issuer;
      job.status = spec.status;
      job.lease_expires = spec.lease_expires;
      job.created = spec.created;
      job.not_before = kNow + 100;  // not_before does not matter to a waiting job
      EXPECT_TRUE(Must(t.InsertJob(job)));
    }
  });
  auto r = Read();
  using V = std::vector<std::string>;
  EXPECT_EQ(Ids(Must(r->ListWaitingJobs("v1", "WORKER-CA", kNow, 100))),
            (V{VersionId(2), VersionId(8), VersionId(1)}));
  EXPECT_EQ(Ids(Must(r->ListWaitingJobs("V1", "worker-ca", kNow, 2))),
            (V{VersionId(2), VersionId(8)}));
  EXPECT_EQ(Ids(Must(r->ListWaitingJobs("v1", "worker-ca", kNow, -1))).size(), 3u);
  EXPECT_EQ(Ids(Must(r->ListWaitingJobs("v1", "worker-ca", kNow + 1, 100))),
            (V{VersionId(3), VersionId(2), VersionId(8), VersionId(1)}));
  EXPECT_EQ(Ids(Must(r->ListWaitingJobs("v1", "worker-ca", kNow - 1, 100))),
            (V{VersionId(8), VersionId(1)}));
  EXPECT_EQ(Ids(Must(r->ListWaitingJobs("v2", "worker-ca", kNow, 100))), V{VersionId(5)});
  EXPECT_EQ(Ids(Must(r->ListWaitingJobs("v1", "none", kNow, 100))), V{});
}

// --- Certificates due --------------------------------------------------------------------------

TEST_P(StoreConformanceTest, ListCertificatesDue) {
  constexpr int64_t kNow = 1000;
  struct Spec {
    const char* vault;
    const char* name;
    int64_t next_check;
    bool deleted;
  };
  const Spec specs[] = {
      {"v2", "a", 500, false},     // due
      {"v1", "b", 500, false},     // due, same time: by vault then name
      {"V1", "A", 500, false},     // due, same time
      {"v1", "now", kNow, false},  // due: == now
      {"v1", "early", 1, false},   // due
      {"v1", "later", kNow + 1, false}, {"v1", "never", 0, false},  // nothing to do
      {"v1", "gone", 100, true},                                    // soft-deleted
      {"v1", "negative", -5, false},                                // not > 0
  };
  Write([&](Transaction& t) {
    for (const Spec& spec : specs) {
      Certificate c = MakeCert(spec.vault, spec.name);
      c.next_check = spec.next_check;
      if (spec.deleted) c.deleted = model::Deletion{1, 2};
      MustOk(t.PutCertificate(c));
    }
  });
  auto r = Read();
  auto due = Must(r->ListCertificatesDue(kNow, 100));
  using V = std::vector<std::string>;
  EXPECT_EQ(Names(due), (V{"early", "A", "b", "a", "now"}));
  ASSERT_EQ(due.size(), 5u);
  EXPECT_EQ(due[0].next_check, 1);
  EXPECT_EQ(due[3].vault, "v2");
  EXPECT_EQ(Names(Must(r->ListCertificatesDue(kNow, 2))), (V{"early", "A"}));
  EXPECT_EQ(Names(Must(r->ListCertificatesDue(kNow, 0))), V{});
  EXPECT_EQ(Names(Must(r->ListCertificatesDue(kNow, -1))).size(), 5u);
  EXPECT_EQ(Names(Must(r->ListCertificatesDue(499, 100))), V{"early"});
  EXPECT_EQ(Names(Must(r->ListCertificatesDue(0, 100))), V{});
  r.reset();
  // Once the scheduler has looked, the certificate waits for its next time.
  Write([&](Transaction& t) {
    Certificate c = Must(t.GetCertificate("v1", "early")).value();
    c.next_check = kNow + 50;
    MustOk(t.PutCertificate(c));
    MustOk(t.DeleteCertificate("v1", "now"));
  });
  EXPECT_EQ(Names(Must(Read()->ListCertificatesDue(kNow, 100))), (V{"A", "b", "a"}));
}

// --- The event outbox --------------------------------------------------------------------------

TEST_P(StoreConformanceTest, EventRoundTripAndOrder) {
  model::Event full = MakeEvent(1, "new-version:v1/c1/" + VersionId(1));
  full.seq = 12345;  // ignored: the store assigns seq
  full.version = VersionId(1);
  full.nbf = 1700000000;
  full.exp = 1800000000;
  full.detail = R"({"action":"AutoRenew","error":null})";
  model::Event bare;  // no nbf/exp, no key, detail "{}"
  bare.id = VersionId(2);
  Write([&](Transaction& t) {
    EXPECT_TRUE(Must(t.AppendEvent(full)));
    EXPECT_TRUE(Must(t.AppendEvent(bare)));
  });
  Write([&](Transaction& t) { EXPECT_TRUE(Must(t.AppendEvent(MakeEvent(3)))); });
  auto events = Must(Read()->ListEvents(0, 100));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_GT(events[0].seq, 0);
  EXPECT_LT(events[0].seq, events[1].seq);
  EXPECT_LT(events[1].seq, events[2].seq);
  full.seq = events[0].seq;
  bare.seq = events[1].seq;
  EXPECT_EQ(events[0], full);
  EXPECT_EQ(events[1], bare);
  EXPECT_EQ(events[2].id, VersionId(3));

  auto r = Read();
  EXPECT_EQ(Ids(Must(r->ListEvents(events[0].seq, 100))),
            (std::vector<std::string>{VersionId(2), VersionId(3)}));
  EXPECT_EQ(Ids(Must(r->ListEvents(events[0].seq, 1))), std::vector<std::string>{VersionId(2)});
  EXPECT_EQ(Ids(Must(r->ListEvents(events[2].seq, 100))), std::vector<std::string>{});
  EXPECT_EQ(Must(r->ListEvents(0, 0)).size(), 0u);
  EXPECT_EQ(Must(r->ListEvents(0, -1)).size(), 3u);
  EXPECT_EQ(Must(r->ListEvents(-1, 100)).size(), 3u);
}

TEST_P(StoreConformanceTest, AppendEventRefusesADuplicateKeyAndChangesNothing) {
  Write([&](Transaction& t) {
    EXPECT_TRUE(Must(t.AppendEvent(MakeEvent(1, "k"))));
    EXPECT_FALSE(Must(t.AppendEvent(MakeEvent(2, "k"))));  // in the same transaction
    EXPECT_TRUE(Must(t.AppendEvent(MakeEvent(3))));        // empty keys never conflict
    EXPECT_TRUE(Must(t.AppendEvent(MakeEvent(4))));
  });
  Write([&](Transaction& t) {
    EXPECT_FALSE(Must(t.AppendEvent(MakeEvent(5, "k"))));  // in a later one
    EXPECT_TRUE(Must(t.AppendEvent(MakeEvent(6, "K"))));   // keys compare exactly
    EXPECT_TRUE(Must(t.AppendEvent(MakeEvent(7))));
  });
  auto events = Must(Read()->ListEvents(0, -1));
  EXPECT_EQ(Ids(events), (std::vector<std::string>{VersionId(1), VersionId(3), VersionId(4),
                                                   VersionId(6), VersionId(7)}));
  for (size_t i = 1; i < events.size(); ++i) EXPECT_LT(events[i - 1].seq, events[i].seq);
}

// --- Revocations -------------------------------------------------------------------------------

TEST_P(StoreConformanceTest, Revocations) {
  const model::Revocation a{"ca-1", "0a1b", 300, "keyCompromise", "V1", "Web", VersionId(1)};
  const model::Revocation b{"ca-1", "ff", 100, "superseded", "v1", "api", VersionId(2)};
  const model::Revocation c{"ca-1", "01", 300, "unspecified", "v2", "x", VersionId(3)};
  const model::Revocation other{"ca-2", "0a1b", 50, "cessationOfOperation", "v1", "y", ""};
  Write([&](Transaction& t) {
    for (const auto& r : {a, b, c, other}) MustOk(t.PutRevocation(r));
  });
  {
    auto r = Read();
    // By revocation time, then serial.
    EXPECT_EQ(Must(r->ListRevocations("ca-1")), (std::vector<model::Revocation>{b, c, a}));
    EXPECT_EQ(Must(r->ListRevocations("ca-2")), std::vector<model::Revocation>{other});
    EXPECT_EQ(Must(r->ListRevocations("CA-1")).size(), 0u);  // CA ids compare exactly
    EXPECT_EQ(Must(r->ListRevocations("none")).size(), 0u);
  }
  // Putting one for an existing (ca, serial) replaces it.
  model::Revocation again = b;
  again.revoked = 400;
  again.reason = "keyCompromise";
  Write([&](Transaction& t) { MustOk(t.PutRevocation(again)); });
  EXPECT_EQ(Must(Read()->ListRevocations("ca-1")), (std::vector<model::Revocation>{c, a, again}));
}

// --- What deletes take with them ---------------------------------------------------------------

TEST_P(StoreConformanceTest, DeleteVaultRemovesIssuersAndJobsButNotEventsOrRevocations) {
  Write([](Transaction& t) {
    int n = 0;
    for (const char* vault : {"gone", "kept"}) {
      MustOk(t.PutVault({vault, 1}));
      MustOk(t.PutIssuer(MakeIssuer(vault, "ca")));
      model::Job job = MakeJob(++n, vault, "c");
      job.key = std::string("renew:") + vault;
      EXPECT_TRUE(Must(t.InsertJob(job)));
      model::Event event = MakeEvent(n, std::string("event:") + vault);
      event.vault = vault;
      EXPECT_TRUE(Must(t.AppendEvent(event)));
      MustOk(t.PutRevocation({"ca", VersionId(n), 1, "unspecified", vault, "c", VersionId(n)}));
    }
  });
  Write([](Transaction& t) { MustOk(t.DeleteVault("Gone")); });
  auto r = Read();
  EXPECT_EQ(Must(r->GetIssuer("gone", "ca")), std::nullopt);
  EXPECT_EQ(Must(r->ListIssuers("gone")).size(), 0u);
  EXPECT_EQ(Must(r->GetJob(VersionId(1))), std::nullopt);
  EXPECT_EQ(Must(r->GetJobByKey("renew:gone")), std::nullopt);
  EXPECT_EQ(Ids(Must(r->ListJobs({}, {0, -1}))), std::vector<std::string>{VersionId(2)});
  EXPECT_NE(Must(r->GetIssuer("kept", "ca")), std::nullopt);
  // The outbox is a log, and revocations must stay published.
  EXPECT_EQ(Must(r->ListEvents(0, -1)).size(), 2u);
  EXPECT_EQ(Must(r->ListRevocations("ca")).size(), 2u);
  r.reset();
  // A vault made again under the name starts without the old jobs' keys.
  Write([](Transaction& t) {
    model::Job job = MakeJob(3, "gone", "c");
    job.key = "renew:gone";
    EXPECT_TRUE(Must(t.InsertJob(job)));
    EXPECT_FALSE(Must(t.AppendEvent(MakeEvent(3, "event:gone"))));  // event keys stay taken
  });
}

TEST_P(StoreConformanceTest, DeleteCertificatePurgesItsJobs) {
  Write([](Transaction& t) {
    model::Job purged = MakeJob(1, "v1", "c");
    purged.key = "renew:v1/c";
    EXPECT_TRUE(Must(t.InsertJob(purged)));
    EXPECT_TRUE(Must(t.InsertJob(MakeJob(2, "V1", "C"))));     // the same certificate
    EXPECT_TRUE(Must(t.InsertJob(MakeJob(3, "v1", "keep"))));  // another certificate
    EXPECT_TRUE(Must(t.InsertJob(MakeJob(4, "v2", "c"))));     // another vault
    EXPECT_TRUE(Must(t.AppendEvent(MakeEvent(1))));
  });
  Write([](Transaction& t) { MustOk(t.DeleteCertificate("v1", "c")); });
  auto r = Read();
  EXPECT_EQ(Must(r->GetJob(VersionId(1))), std::nullopt);
  EXPECT_EQ(Must(r->GetJob(VersionId(2))), std::nullopt);
  EXPECT_EQ(Must(r->GetJobByKey("renew:v1/c")), std::nullopt);
  EXPECT_EQ(Ids(Must(r->ListJobs({}, {0, -1}))),
            (std::vector<std::string>{VersionId(4), VersionId(3)}));
  EXPECT_EQ(Must(r->ListEvents(0, -1)).size(), 1u);
}

TEST_P(StoreConformanceTest, NewRecordsFollowTransactions) {
  Write([](Transaction& t) { EXPECT_TRUE(Must(t.AppendEvent(MakeEvent(1)))); });
  auto before = Read();
  EXPECT_EQ(Must(before->ListEvents(0, -1)).size(), 1u);  // takes its snapshot
  {
    auto w = Must(store_->BeginWrite());
    Certificate c = MakeCert("v1", "c");
    c.next_check = 5;
    MustOk(w->PutCertificate(c));
    MustOk(w->PutIssuer(MakeIssuer("v1", "ca")));
    model::Job job = MakeJob(1, "v1", "c");
    job.key = "k";
    EXPECT_TRUE(Must(w->InsertJob(job)));
    MustOk(w->PutJob(MakeJob(2, "v1", "c")));
    EXPECT_TRUE(Must(w->AppendEvent(MakeEvent(2, "e"))));
    MustOk(w->PutRevocation({"ca", "01", 1, "unspecified", "v1", "c", ""}));
    // The transaction sees its own writes.
    EXPECT_EQ(Must(w->ListCertificatesDue(5, -1)).size(), 1u);
    EXPECT_NE(Must(w->GetIssuer("v1", "ca")), std::nullopt);
    EXPECT_EQ(Must(w->GetJobByKey("k")), job);
    EXPECT_EQ(Must(w->ListJobs({}, {0, -1})).size(), 2u);
    EXPECT_EQ(Must(w->ListRunnableJobs(100, -1)).size(), 2u);
    EXPECT_EQ(Must(w->ListEvents(0, -1)).size(), 2u);
    EXPECT_EQ(Must(w->ListRevocations("ca")).size(), 1u);
  }  // dropped without Commit
  {
    auto r = Read();
    EXPECT_EQ(Must(r->ListCertificatesDue(5, -1)).size(), 0u);
    EXPECT_EQ(Must(r->ListIssuers("v1")).size(), 0u);
    EXPECT_EQ(Must(r->ListJobs({}, {0, -1})).size(), 0u);
    EXPECT_EQ(Must(r->ListEvents(0, -1)).size(), 1u);
    EXPECT_EQ(Must(r->ListRevocations("ca")).size(), 0u);
  }
  // The rolled-back keys are free; the outbox goes on in order.
  Write([](Transaction& t) {
    model::Job job = MakeJob(3, "v1", "c");
    job.key = "k";
    EXPECT_TRUE(Must(t.InsertJob(job)));
    EXPECT_TRUE(Must(t.AppendEvent(MakeEvent(3, "e"))));
  });
  auto events = Must(Read()->ListEvents(0, -1));
  EXPECT_EQ(Ids(events), (std::vector<std::string>{VersionId(1), VersionId(3)}));
  // A read transaction keeps the snapshot it started with.
  EXPECT_EQ(Must(before->ListEvents(0, -1)).size(), 1u);
  EXPECT_EQ(Must(before->GetJobByKey("k")), std::nullopt);
}

TEST_P(StoreConformanceTest, ReadTransactionRejectsNewWrites) {
  auto r = Read();
  EXPECT_FALSE(r->PutIssuer(MakeIssuer("v1", "ca")).has_value());
  EXPECT_FALSE(r->DeleteIssuer("v1", "ca").has_value());
  EXPECT_FALSE(r->InsertJob(MakeJob(1, "v1", "c")).has_value());
  EXPECT_FALSE(r->PutJob(MakeJob(1, "v1", "c")).has_value());
  EXPECT_FALSE(r->AppendEvent(MakeEvent(1)).has_value());
  EXPECT_FALSE(r->PutRevocation({"ca", "01", 1, "", "", "", ""}).has_value());
  auto check = Read();
  EXPECT_EQ(Must(check->ListJobs({}, {0, -1})).size(), 0u);
  EXPECT_EQ(Must(check->ListEvents(0, -1)).size(), 0u);
}

// --- Transactions ------------------------------------------------------------------------------

TEST_P(StoreConformanceTest, WriteSeesItsOwnWrites) {
  auto w = Must(store_->BeginWrite());
  MustOk(w->PutCertificate(MakeCert("v1", "c")));
  MustOk(w->PutSetting("k", "v"));
  EXPECT_NE(Must(w->GetCertificate("v1", "C")), std::nullopt);
  EXPECT_EQ(Must(w->GetSetting("k")), "v");
  MustOk(w->DeleteCertificate("v1", "c"));
  EXPECT_EQ(Must(w->GetCertificate("v1", "c")), std::nullopt);
  MustOk(w->Commit());
}

TEST_P(StoreConformanceTest, DroppedWriteRollsBack) {
  Write([](Transaction& t) { MustOk(t.PutSetting("k", "before")); });
  {
    auto w = Must(store_->BeginWrite());
    MustOk(w->PutSetting("k", "after"));
    MustOk(w->PutCertificate(MakeCert("v1", "c")));
    MustOk(w->PutVault({"v1", 1}));
  }  // destroyed without Commit
  auto r = Read();
  EXPECT_EQ(Must(r->GetSetting("k")), "before");
  EXPECT_EQ(Must(r->GetCertificate("v1", "c")), std::nullopt);
  EXPECT_EQ(Must(r->ListVaults()).size(), 0u);
  // The writer is free again.
  Write([](Transaction& t) { MustOk(t.PutSetting("k", "later")); });
  EXPECT_EQ(Must(Read()->GetSetting("k")), "later");
}

TEST_P(StoreConformanceTest, ReadSeesSnapshotAfterItsFirstRead) {
  Write([](Transaction& t) { MustOk(t.PutSetting("k", "1")); });
  auto r = Read();
  EXPECT_EQ(Must(r->GetSetting("k")), "1");
  Write([](Transaction& t) {
    MustOk(t.PutSetting("k", "2"));
    MustOk(t.PutCertificate(MakeCert("v1", "c")));
  });
  EXPECT_EQ(Must(r->GetSetting("k")), "1");
  EXPECT_EQ(Must(r->GetCertificate("v1", "c")), std::nullopt);
  EXPECT_EQ(Must(Read()->GetSetting("k")), "2");
}

TEST_P(StoreConformanceTest, ReadSeesSnapshotAsOfItsStart) {
  auto r = Read();  // no read yet
  Write([](Transaction& t) { MustOk(t.PutSetting("k", "1")); });
  EXPECT_EQ(Must(r->GetSetting("k")), std::nullopt);
}

TEST_P(StoreConformanceTest, ReadRunsWhileAWriteIsOpen) {
  Write([](Transaction& t) { MustOk(t.PutSetting("k", "committed")); });
  auto w = Must(store_->BeginWrite());
  MustOk(w->PutSetting("k", "uncommitted"));
  auto r = Read();  // must not wait for the writer
  EXPECT_EQ(Must(r->GetSetting("k")), "committed");
  MustOk(w->Commit());
  EXPECT_EQ(Must(r->GetSetting("k")), "committed");
  EXPECT_EQ(Must(Read()->GetSetting("k")), "uncommitted");
}

TEST_P(StoreConformanceTest, ReadTransactionRejectsWritesAndCommit) {
  auto r = Read();
  EXPECT_FALSE(r->PutSetting("k", "v").has_value());
  EXPECT_FALSE(r->PutCertificate(MakeCert("v1", "c")).has_value());
  EXPECT_FALSE(r->DeleteVault("v1").has_value());
  EXPECT_FALSE(r->Commit().has_value());
  EXPECT_EQ(Must(Read()->GetSetting("k")), std::nullopt);
}

TEST_P(StoreConformanceTest, CommittedTransactionIsFinished) {
  auto w = Must(store_->BeginWrite());
  MustOk(w->PutSetting("k", "v"));
  MustOk(w->Commit());
  EXPECT_FALSE(w->GetSetting("k").has_value());
  EXPECT_FALSE(w->PutSetting("k", "w").has_value());
  EXPECT_FALSE(w->Commit().has_value());
  // The writer was released at Commit, not at destruction.
  Write([](Transaction& t) { MustOk(t.PutSetting("k2", "v2")); });
  EXPECT_EQ(Must(Read()->GetSetting("k")), "v");
}

TEST_P(StoreConformanceTest, ConcurrentWritersAreSerialisedAndLoseNothing) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 15;
  Write([](Transaction& t) { MustOk(t.PutSetting("counter", "0")); });
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < kPerThread; ++j) {
        try {
          // Read-modify-write: only serialised transactions keep every increment.
          Write([&](Transaction& t) {
            int counter = std::stoi(Must(t.GetSetting("counter")).value());
            MustOk(t.PutSetting("counter", std::to_string(counter + 1)));
            MustOk(t.PutCertificate(
                MakeCert("v1", "t" + std::to_string(i) + "-" + std::to_string(j))));
          });
          // Readers run alongside.
          Must(Read()->ListCertificates("v1", Deleted::kExclude, {}));
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto r = Read();
  EXPECT_EQ(Must(r->GetSetting("counter")), std::to_string(kThreads * kPerThread));
  EXPECT_EQ(Must(r->ListCertificates("v1", Deleted::kExclude, {0, -1})).size(),
            static_cast<size_t>(kThreads * kPerThread));
}

TEST_P(StoreConformanceTest, WriteCommitsItsBodyAndKeepsNothingOfAFailingOne) {
  MustOk(store_->Write([](Transaction& t) { return t.PutSetting("a", "1"); }));
  EXPECT_EQ(Must(Read()->GetSetting("a")), "1");
  Status refused = store_->Write([](Transaction& t) -> Status {
    CV_RETURN_IF_ERROR(t.PutSetting("b", "2"));
    return Fail(Error::Conflict("changed my mind"));
  });
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message(), "changed my mind");
  EXPECT_EQ(Must(Read()->GetSetting("b")), std::nullopt);
}

TEST_P(StoreConformanceTest, ConcurrentWritesAndWriteTransactionsLoseNothing) {
  // Write bodies (the SQLite store runs them on its writer thread, several to a commit) and
  // BeginWrite transactions at once; every fifth body fails after writing, which must undo its
  // own writes only.
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20;
  Write([](Transaction& t) { MustOk(t.PutSetting("counter", "0")); });
  std::atomic<int> succeeded{0};
  std::atomic<int> unexpected{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < kPerThread; ++j) {
        const std::string name = "t" + std::to_string(i) + "-" + std::to_string(j);
        const bool fails = j % 5 == 4;
        auto body = [&](Transaction& t) -> Status {
          CV_ASSIGN_OR_RETURN(auto counter, t.GetSetting("counter"));
          CV_RETURN_IF_ERROR(t.PutSetting("counter", std::to_string(std::stoi(*counter) + 1)));
          CV_RETURN_IF_ERROR(t.PutCertificate(MakeCert("v1", name)));
          if (fails) return Fail(Error::Conflict("deliberate"));
          return Ok();
        };
        Status status = Ok();
        if (i % 2 == 0) {
          status = store_->Write(body);
        } else {
          auto txn = store_->BeginWrite();
          status = txn ? body(**txn).and_then([&] { return (*txn)->Commit(); })
                       : Status(Fail(txn.error()));
        }
        if (status) {
          ++succeeded;
        } else if (!fails || status.error().message() != "deliberate") {
          ++unexpected;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_EQ(succeeded.load(), kThreads * kPerThread * 4 / 5);
  auto r = Read();
  EXPECT_EQ(Must(r->GetSetting("counter")), std::to_string(succeeded.load()));
  EXPECT_EQ(Must(r->ListCertificates("v1", Deleted::kExclude, {0, -1})).size(),
            static_cast<size_t>(succeeded.load()));
  EXPECT_EQ(Must(r->GetCertificate("v1", "t0-4")), std::nullopt);
}

TEST_P(StoreConformanceTest, WriteAsyncCommitsThenCallsDoneOnceAndDrainWaitsForIt) {
  // 40 writes from 4 threads, every fifth failing after writing; the callers do not wait. After
  // Drain every `done` has run exactly once, with the body's result, and exactly the writes of
  // the bodies that succeeded are kept.
  constexpr int kThreads = 4;
  constexpr int kPerThread = 10;
  std::mutex mu;
  std::map<std::string, int> calls;     // guarded by mu
  std::map<std::string, bool> results;  // guarded by mu
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < kPerThread; ++j) {
        const std::string name = "a" + std::to_string(i) + "-" + std::to_string(j);
        const bool fails = j % 5 == 4;
        store_->WriteAsync(
            [name, fails](Transaction& t) -> Status {
              CV_RETURN_IF_ERROR(t.PutCertificate(MakeCert("v1", name)));
              if (fails) return Fail(Error::Conflict("deliberate"));
              return Ok();
            },
            [&, name](Status written) {
              std::lock_guard<std::mutex> lock(mu);
              ++calls[name];
              results[name] = written.has_value();
            });
      }
    });
  }
  for (auto& t : threads) t.join();
  store_->Drain();
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(calls.size(), static_cast<size_t>(kThreads * kPerThread));
  auto r = Read();
  for (const auto& [name, n] : calls) {
    EXPECT_EQ(n, 1) << name;
    const bool should_fail = name.back() == '4' || name.back() == '9';
    EXPECT_EQ(results[name], !should_fail) << name;
    EXPECT_EQ(Must(r->GetCertificate("v1", name)).has_value(), !should_fail) << name;
  }
}

TEST_P(StoreConformanceTest, TransactionMayOutliveTheStore) {
  auto r = Read();
  store_.reset();
  EXPECT_EQ(Must(r->GetSetting("k")), std::nullopt);
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreConformanceTest,
                         ::testing::Values(Kind::kMemory, Kind::kSqlite), store_testing::KindName);

// --- SQLite only -------------------------------------------------------------------------------

class SqliteStoreTest : public StoreTestBase {
 protected:
  Kind kind() const override { return Kind::kSqlite; }

  std::vector<int64_t> RawInts(const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(Raw(), sql, -1, &stmt, nullptr), SQLITE_OK);
    std::vector<int64_t> out;
    while (sqlite3_step(stmt) == SQLITE_ROW) out.push_back(sqlite3_column_int64(stmt, 0));
    sqlite3_finalize(stmt);
    return out;
  }
};

TEST_F(SqliteStoreTest, AThrowingWriteBodyFailsAloneAndTheWriterThreadGoesOn) {
  Status thrown = store_->Write([](Transaction& t) -> Status {
    MustOk(t.PutSetting("a", "1"));
    throw std::runtime_error("bug");
  });
  ASSERT_FALSE(thrown);
  EXPECT_EQ(thrown.error().kind(), ErrorKind::kInternal);
  MustOk(store_->Write([](Transaction& t) { return t.PutSetting("b", "2"); }));
  auto r = Read();
  EXPECT_EQ(Must(r->GetSetting("a")), std::nullopt);
  EXPECT_EQ(Must(r->GetSetting("b")), "2");
}

TEST_F(SqliteStoreTest, AThrowingCompletionIsLoggedAndTheWriterThreadGoesOn) {
  store_->WriteAsync([](Transaction& t) { return t.PutSetting("a", "1"); },
                     [](Status) { throw std::runtime_error("bug in a completion"); });
  std::atomic<bool> second{false};
  store_->WriteAsync([](Transaction& t) { return t.PutSetting("b", "2"); },
                     [&](Status written) { second = written.has_value(); });
  store_->Drain();
  EXPECT_TRUE(second.load());
  auto r = Read();
  EXPECT_EQ(Must(r->GetSetting("a")), "1");  // committed: only its completion failed
  EXPECT_EQ(Must(r->GetSetting("b")), "2");
}

TEST_F(SqliteStoreTest, ClosingTheStoreCompletesTheWritesQueuedBeforeIt) {
  // The destructor runs every queued body and calls its done before it returns.
  std::atomic<int> completed{0};
  for (int i = 0; i < 20; ++i) {
    store_->WriteAsync([i](Transaction& t) { return t.PutSetting("k" + std::to_string(i), "v"); },
                       [&](Status written) {
                         if (written) ++completed;
                       });
  }
  store_.reset();
  EXPECT_EQ(completed.load(), 20);
  Reopen();
  EXPECT_EQ(Must(Read()->GetSetting("k19")), "v");
}

TEST_F(SqliteStoreTest, DataPersistsAcrossReopen) {
  Certificate cert = MakeCert("v1", "c");
  cert.policy = FullPolicy();
  CertificateVersion version = MakeCertVersion("v1", "c", VersionId(1));
  version.chain = {Bytes("ca")};
  version.tags = {{"a", "b"}};
  Write([&](Transaction& t) {
    MustOk(t.PutVault({"v1", 1}));
    MustOk(t.PutCertificate(cert));
    MustOk(t.PutCertificateVersion(version));
    MustOk(t.PutSetting("k", Bytes("v")));
  });
  Reopen();
  auto r = Read();
  EXPECT_EQ(Must(r->GetCertificate("v1", "c")), cert);
  EXPECT_EQ(Must(r->GetCertificateVersion("v1", "c", VersionId(1))), version);
  EXPECT_EQ(Must(r->GetSetting("k")), Bytes("v"));
}

TEST_F(SqliteStoreTest, MigrationsAreRecordedOnceAndIdempotent) {
  Write([](Transaction& t) { MustOk(t.PutSetting("k", "v")); });
  Reopen();
  Reopen();
  std::vector<int64_t> expected;
  for (size_t i = 1; i <= sqlite::Migrations().size(); ++i) expected.push_back(i);
  EXPECT_EQ(RawInts("SELECT version FROM schema_migrations ORDER BY version"), expected);
  EXPECT_EQ(Must(Read()->GetSetting("k")), "v");
}

TEST_F(SqliteStoreTest, MigratesASchema2Database) {
  // A database as the previous release left it: migrations 1 and 2 only, with a certificate and
  // a pending operation in it.
  store_.reset();
  for (const std::string& file : {path_, path_ + "-wal", path_ + "-shm"}) {
    std::filesystem::remove(file);
  }
  Certificate cert = MakeCert("v1", "Old-Cert");
  cert.policy = FullPolicy();
  cert.current_version = VersionId(1);
  PendingOperation op = MakePending("v1", "Old-Cert");
  op.issuer = {"corp-ca", "WebServer", true};
  op.status = "inProgress";
  {
    auto conn = Must(sqlite::Connection::Open(path_, sqlite::Connection::Mode::kWriter));
    MustOk(sqlite::ApplyMigrations(*conn, sqlite::Migrations().first(2), "store"));
    auto insert_cert =
        Must(conn->Prepare("INSERT INTO certificates (vault, name, policy, current_version, "
                           "deleted, deleted_date, scheduled_purge_date, created, updated) "
                           "VALUES (?, ?, ?, ?, 0, NULL, NULL, ?, ?)"));
    MustOk(insert_cert.BindText(cert.vault)
               .BindText(cert.name)
               .BindText(Must(sqlite::EncodePolicy(cert.policy)))
               .BindText(cert.current_version)
               .BindInt(cert.created)
               .BindInt(cert.updated)
               .Run());
    auto insert_op = Must(conn->Prepare(
        "INSERT INTO pending_operations (vault, name, request_id, csr, wrapped_key, issuer, "
        "status, status_details, cancellation_requested, error_code, error_message, "
        "target_version, attributes, tags, created, updated) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, '', 0, '', '', '', ?, '{}', 0, 0)"));
    MustOk(insert_op.BindText(op.vault)
               .BindText(op.name)
               .BindText(op.request_id)
               .BindBlob(op.csr)
               .BindBlob(op.wrapped_key)
               .BindText(Must(sqlite::EncodeIssuer(op.issuer)))
               .BindText(op.status)
               .BindText(sqlite::EncodeAttributes(op.attributes))
               .Run());
  }
  Open();
  EXPECT_EQ(RawInts("SELECT max(version) FROM schema_migrations"),
            std::vector<int64_t>{static_cast<int64_t>(sqlite::Migrations().size())});
  {
    auto r = Read();
    EXPECT_EQ(Must(r->GetCertificate("v1", "old-cert")), cert);     // next_check 0
    EXPECT_EQ(Must(r->GetPendingOperation("v1", "old-cert")), op);  // no job_id
    EXPECT_EQ(Must(r->ListCertificatesDue(INT64_MAX, -1)).size(), 0u);
    EXPECT_EQ(Must(r->ListJobs({}, {})).size(), 0u);
    EXPECT_EQ(Must(r->ListEvents(0, -1)).size(), 0u);
  }
  // The migrated database takes the new records.
  cert.next_check = 100;
  Write([&](Transaction& t) {
    MustOk(t.PutCertificate(cert));
    MustOk(t.PutIssuer(MakeIssuer("v1", "corp-ca")));
    EXPECT_TRUE(Must(t.InsertJob(MakeJob(1, "v1", "Old-Cert"))));
    EXPECT_TRUE(Must(t.AppendEvent(MakeEvent(1))));
    MustOk(t.PutRevocation({"ca", "01", 1, "unspecified", "v1", "Old-Cert", VersionId(1)}));
  });
  EXPECT_EQ(Names(Must(Read()->ListCertificatesDue(100, -1))),
            std::vector<std::string>{"Old-Cert"});
}

TEST_F(SqliteStoreTest, EventSeqIsNeverReused) {
  Write([](Transaction& t) {
    for (int i = 1; i <= 3; ++i) EXPECT_TRUE(Must(t.AppendEvent(MakeEvent(i))));
  });
  auto events = Must(Read()->ListEvents(0, -1));
  ASSERT_EQ(events.size(), 3u);
  // A consumer saw the newest event; then delivered events were pruned.
  const int64_t cursor = events[2].seq;
  ASSERT_EQ(sqlite3_exec(Raw(), "DELETE FROM events", nullptr, nullptr, nullptr), SQLITE_OK);
  Write([](Transaction& t) { EXPECT_TRUE(Must(t.AppendEvent(MakeEvent(4)))); });
  EXPECT_EQ(Ids(Must(Read()->ListEvents(cursor, -1))), std::vector<std::string>{VersionId(4)});
}

TEST_F(SqliteStoreTest, NewRecordsPersistAcrossReopen) {
  model::Issuer issuer = MakeIssuer("v1", "ca");
  issuer.admins = {{"A", "B", "a@example.com", ""}};
  issuer.wrapped_password = Bytes("sealed");
  model::Job job = MakeJob(1, "v1", "c");
  job.key = "k";
  job.state = Bytes("state");
  job.attempts = {{1, 2, "retry", "boom"}};
  model::Event event = MakeEvent(1, "e");
  event.nbf = 5;
  const model::Revocation revocation{"ca", "01", 1, "superseded", "v1", "c", VersionId(1)};
  Write([&](Transaction& t) {
    MustOk(t.PutIssuer(issuer));
    EXPECT_TRUE(Must(t.InsertJob(job)));
    EXPECT_TRUE(Must(t.AppendEvent(event)));
    MustOk(t.PutRevocation(revocation));
  });
  Reopen();
  auto r = Read();
  EXPECT_EQ(Must(r->GetIssuer("v1", "ca")), issuer);
  EXPECT_EQ(Must(r->GetJobByKey("k")), job);
  auto events = Must(r->ListEvents(0, -1));
  ASSERT_EQ(events.size(), 1u);
  event.seq = events[0].seq;
  EXPECT_EQ(events[0], event);
  EXPECT_EQ(Must(r->ListRevocations("ca")), std::vector<model::Revocation>{revocation});
}

TEST_F(SqliteStoreTest, CorruptJobAttemptsAreAnInternalError) {
  Write([](Transaction& t) { EXPECT_TRUE(Must(t.InsertJob(MakeJob(1, "v1", "c")))); });
  ASSERT_EQ(sqlite3_exec(Raw(), "UPDATE jobs SET attempts = '[{\"started\":1}]'", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  auto got = Read()->GetJob(VersionId(1));
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().kind(), ErrorKind::kInternal);
}

TEST_F(SqliteStoreTest, RefusesADatabaseFromANewerBinary) {
  store_.reset();
  EXPECT_EQ(
      sqlite3_exec(Raw(), "INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)",
                   nullptr, nullptr, nullptr),
      SQLITE_OK);
  auto opened = OpenSqliteStore(path_);
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().kind(), ErrorKind::kInternal);
}

TEST_F(SqliteStoreTest, UsesWal) {
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(Raw(), "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
}

TEST_F(SqliteStoreTest, FilesAreOwnerOnly) {
  store_.reset();
  std::filesystem::remove(path_);
  mode_t old_umask = umask(0);  // so that only the store's own choice of mode counts
  Open();
  umask(old_umask);
  Write([](Transaction& t) { MustOk(t.PutSetting("k", "v")); });
  for (const std::string& file : {path_, path_ + "-wal", path_ + "-shm"}) {
    struct stat st {};
    ASSERT_EQ(stat(file.c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
  }
}

TEST_F(SqliteStoreTest, CommittedDataIsVisibleToAnotherConnection) {
  Write([](Transaction& t) { MustOk(t.PutSetting("k", "v")); });
  EXPECT_EQ(RawInts("SELECT count(*) FROM settings"), std::vector<int64_t>{1});
}

TEST_F(SqliteStoreTest, CorruptColumnIsAnInternalError) {
  Write([](Transaction& t) {
    MustOk(t.PutCertificateVersion(MakeCertVersion("v1", "c", VersionId(1))));
  });
  ASSERT_EQ(sqlite3_exec(Raw(), "UPDATE certificate_versions SET tags = 'not json'", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  auto got = Read()->GetCertificateVersion("v1", "c", VersionId(1));
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().kind(), ErrorKind::kInternal);
  EXPECT_EQ(got.error().message().find("not json"), std::string::npos);
}

TEST_F(SqliteStoreTest, LockHeldByAnotherProcessIsRetryable) {
  ASSERT_EQ(sqlite3_exec(Raw(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto w = store_->BeginWrite();  // waits out the busy timeout
  ASSERT_FALSE(w.has_value());
  EXPECT_EQ(w.error().kind(), ErrorKind::kUnavailable);
  EXPECT_TRUE(w.error().retryable());
  ASSERT_EQ(sqlite3_exec(Raw(), "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  // Reads were never blocked, and the writer works once the lock is gone.
  EXPECT_EQ(Must(Read()->GetSetting("k")), std::nullopt);
  Write([](Transaction& t) { MustOk(t.PutSetting("k", "v")); });
}

}  // namespace
}  // namespace certvault::store
