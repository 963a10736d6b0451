// One conformance suite for every Store: each TEST_P runs against the memory store and the SQLite
// store (in a fresh temporary directory). SQLite-only properties (persistence, migrations, file
// mode, lock contention with another process) follow at the end.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

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
  return std::tie(a.vault, a.name, a.policy, a.current_version, a.deleted, a.created, a.updated) ==
         std::tie(b.vault, b.name, b.policy, b.current_version, b.deleted, b.created, b.updated);
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
                  a.target_version, a.attributes, a.tags, a.created, a.updated) ==
         std::tie(b.vault, b.name, b.request_id, b.csr, b.wrapped_key, b.issuer, b.status,
                  b.status_details, b.cancellation_requested, b.error_code, b.error_message,
                  b.target_version, b.attributes, b.tags, b.created, b.updated);
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
