// One conformance suite for every AuditStore: each TEST_P runs against the memory store and the
// SQLite store (in a fresh temporary directory). SQLite-only properties (persistence, crash
// durability, atomicity of a failed append, migrations, WAL, file mode) follow at the end.

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "store/audit_store.h"
#include "store/testing/store_fixture.h"

namespace certvault::store {
namespace {

using model::AuditFilter;
using model::AuditRecord;

// Every field, for whole-record comparisons.
auto Fields(const AuditRecord& r) {
  return std::tie(r.seq, r.time_ms, r.request_id, r.principal, r.source, r.vault, r.operation,
                  r.object, r.outcome, r.status, r.duration_us);
}

template <typename T>
T Must(Result<T> r) {
  if (!r) throw std::runtime_error(r.error().message());
  return std::move(*r);
}
void MustOk(const Status& s) {
  if (!s) throw std::runtime_error(s.error().message());
}

AuditRecord MakeRecord(int64_t time_ms, std::string object = "certificates/web",
                       std::string principal = "client-a") {
  AuditRecord r;
  r.time_ms = time_ms;
  r.request_id = "req-" + std::to_string(time_ms);
  r.principal = std::move(principal);
  r.source = "10.0.0.1";
  r.vault = "prod";
  r.operation = "certificates.get";
  r.object = std::move(object);
  r.outcome = "success";
  r.status = 200;
  r.duration_us = 1234;
  return r;
}

std::vector<int64_t> Seqs(const std::vector<AuditRecord>& records) {
  std::vector<int64_t> out;
  for (const AuditRecord& r : records) out.push_back(r.seq);
  return out;
}

std::vector<int64_t> Times(const std::vector<AuditRecord>& records) {
  std::vector<int64_t> out;
  for (const AuditRecord& r : records) out.push_back(r.time_ms);
  return out;
}

using store_testing::Kind;

class AuditStoreTestBase : public store_testing::StoreFixture<AuditStore> {
 protected:
  std::unique_ptr<AuditStore> OpenMemory() override { return NewMemoryAuditStore(); }
  Result<std::unique_ptr<AuditStore>> OpenSqlite(const std::string& path) override {
    return OpenSqliteAuditStore(path);
  }
  const char* FileName() const override { return "audit.db"; }

  // Appends the records and returns them with their seqs.
  std::vector<AuditRecord> Append(std::vector<AuditRecord> records) {
    MustOk(store_->Append(records));
    return records;
  }

  std::vector<AuditRecord> Query(AuditFilter filter) { return Must(store_->Query(filter)); }
  std::vector<AuditRecord> All() {
    AuditFilter f;
    f.limit = kMaxAuditQueryLimit;
    return Query(f);
  }
};

class AuditStoreConformanceTest : public AuditStoreTestBase,
                                  public ::testing::WithParamInterface<Kind> {
 protected:
  Kind kind() const override { return GetParam(); }
};

// --- Append ------------------------------------------------------------------------------------

TEST_P(AuditStoreConformanceTest, AppendAssignsIncreasingSeqAndRoundTrips) {
  std::vector<AuditRecord> first = Append({MakeRecord(1), MakeRecord(2), MakeRecord(3)});
  EXPECT_GT(first[0].seq, 0);
  EXPECT_LT(first[0].seq, first[1].seq);
  EXPECT_LT(first[1].seq, first[2].seq);
  std::vector<AuditRecord> second = Append({MakeRecord(4), MakeRecord(5)});
  EXPECT_LT(first[2].seq, second[0].seq);
  EXPECT_LT(second[0].seq, second[1].seq);

  std::vector<AuditRecord> all = All();
  ASSERT_EQ(all.size(), 5u);
  first.insert(first.end(), second.begin(), second.end());
  for (size_t i = 0; i < all.size(); ++i) EXPECT_TRUE(Fields(all[i]) == Fields(first[i])) << i;
}

TEST_P(AuditStoreConformanceTest, AppendIgnoresTheGivenSeq) {
  AuditRecord r = MakeRecord(1);
  r.seq = 999999;
  std::vector<AuditRecord> stored = Append({r, MakeRecord(2)});
  EXPECT_NE(stored[0].seq, 999999);
  EXPECT_LT(stored[0].seq, stored[1].seq);
  EXPECT_EQ(Seqs(All()), Seqs(stored));
}

TEST_P(AuditStoreConformanceTest, EmptyAppendWritesNothing) {
  std::vector<AuditRecord> none;
  EXPECT_TRUE(store_->Append(none));
  EXPECT_TRUE(All().empty());
}

TEST_P(AuditStoreConformanceTest, AwkwardValuesRoundTrip) {
  AuditRecord r = MakeRecord(7);
  r.request_id = "it's a \"quoted\" id; DROP TABLE audit_records; --";
  r.principal = "Ünïcødé-客户端-🔑";
  r.source = "::ffff:192.0.2.1";
  r.vault = "back\\slash";
  r.operation = "secrets.get";
  r.object = "secrets/%_[*]?/ü";
  r.outcome = "failed";
  r.status = 503;
  r.duration_us = -1;
  r.time_ms = -5;  // before the epoch: stored as given
  std::vector<AuditRecord> stored = Append({r, MakeRecord(8, std::string(4000, 'x'))});
  std::vector<AuditRecord> all = All();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_TRUE(Fields(all[0]) == Fields(stored[0]));
  EXPECT_TRUE(Fields(all[1]) == Fields(stored[1]));

  AuditFilter f;
  f.principal = r.principal;
  EXPECT_EQ(Seqs(Query(f)), std::vector<int64_t>{stored[0].seq});
  f = {};
  f.object = "secrets/%_[*";
  EXPECT_EQ(Seqs(Query(f)), std::vector<int64_t>{stored[0].seq});
  f.object = r.object;
  EXPECT_EQ(Seqs(Query(f)), std::vector<int64_t>{stored[0].seq});
}

TEST_P(AuditStoreConformanceTest, ConcurrentAppendsGetDistinctSeqs) {
  constexpr int kThreads = 8;
  constexpr int kBatches = 20;
  constexpr int kPerBatch = 5;
  std::vector<std::thread> threads;
  std::vector<std::vector<int64_t>> seqs(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<AuditRecord> batch(kPerBatch, MakeRecord(t));
        if (!store_->Append(batch)) return;
        // A batch's seqs are increasing (not necessarily contiguous).
        for (size_t i = 1; i < batch.size(); ++i) {
          if (batch[i].seq <= batch[i - 1].seq) return;
        }
        for (const AuditRecord& r : batch) seqs[t].push_back(r.seq);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::set<int64_t> distinct;
  for (const auto& s : seqs) {
    EXPECT_EQ(s.size(), static_cast<size_t>(kBatches * kPerBatch));
    distinct.insert(s.begin(), s.end());
  }
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kThreads * kBatches * kPerBatch));
  AuditFilter f;
  f.limit = kMaxAuditQueryLimit;
  std::set<int64_t> stored;
  for (std::vector<AuditRecord> page = Query(f); !page.empty(); page = Query(f)) {
    for (const AuditRecord& r : page) stored.insert(r.seq);
    f.after_seq = page.back().seq;
  }
  EXPECT_EQ(stored, distinct);
}

// --- Query -------------------------------------------------------------------------------------

TEST_P(AuditStoreConformanceTest, FiltersByTimeRange) {
  Append({MakeRecord(10), MakeRecord(20), MakeRecord(30), MakeRecord(40)});
  AuditFilter f;
  f.from_ms = 20;  // inclusive
  EXPECT_EQ(Times(Query(f)), (std::vector<int64_t>{20, 30, 40}));
  f.to_ms = 40;  // exclusive
  EXPECT_EQ(Times(Query(f)), (std::vector<int64_t>{20, 30}));
  f.from_ms = 0;  // zero: no lower bound
  EXPECT_EQ(Times(Query(f)), (std::vector<int64_t>{10, 20, 30}));
  f.from_ms = 41;
  f.to_ms = 0;
  EXPECT_TRUE(Query(f).empty());
}

TEST_P(AuditStoreConformanceTest, TimeRangesFollowSeqOrderWhenTimesAreOutOfOrder) {
  // A slow request's record is appended after faster requests that arrived later.
  Append({MakeRecord(50), MakeRecord(10), MakeRecord(30), MakeRecord(20, "x", "bob"),
          MakeRecord(40), MakeRecord(25)});
  AuditFilter f;
  f.from_ms = 20;
  f.to_ms = 45;
  EXPECT_EQ(Times(Query(f)), (std::vector<int64_t>{30, 20, 40, 25}));
  f.limit = 2;
  std::vector<AuditRecord> page = Query(f);
  EXPECT_EQ(Times(page), (std::vector<int64_t>{30, 20}));
  f.after_seq = page.back().seq;
  EXPECT_EQ(Times(Query(f)), (std::vector<int64_t>{40, 25}));
  f.after_seq = 0;
  f.principal = "client-a";
  EXPECT_EQ(Times(Query(f)), (std::vector<int64_t>{30, 40}));
  f.principal.clear();
  f.from_ms = 45;
  f.to_ms = 50;  // between records
  EXPECT_TRUE(Query(f).empty());
}

TEST_P(AuditStoreConformanceTest, FiltersByEachStringField) {
  AuditRecord a = MakeRecord(1, "certificates/web", "alice");
  AuditRecord b = MakeRecord(2, "secrets/db", "bob");
  b.operation = "secrets.get";
  b.outcome = "denied";
  AuditRecord c = MakeRecord(3, "secrets/db", "alice");
  c.operation = "secrets.set";
  c.outcome = "failed";
  Append({a, b, c});

  AuditFilter f;
  f.principal = "alice";
  EXPECT_EQ(Times(Query(f)), (std::vector<int64_t>{1, 3}));
  f.principal = "ALICE";  // exact bytes, no case folding
  EXPECT_TRUE(Query(f).empty());
  f = {};
  f.operation = "secrets.get";
  EXPECT_EQ(Times(Query(f)), (std::vector<int64_t>{2}));
  f = {};
  f.outcome = "failed";
  EXPECT_EQ(Times(Query(f)), (std::vector<int64_t>{3}));
  f = {};
  f.object = "secrets/db";
  EXPECT_EQ(Times(Query(f)), (std::vector<int64_t>{2, 3}));
  f.principal = "alice";  // fields combine with AND
  EXPECT_EQ(Times(Query(f)), (std::vector<int64_t>{3}));
  f.from_ms = 1;
  f.to_ms = 3;
  EXPECT_TRUE(Query(f).empty());
}

TEST_P(AuditStoreConformanceTest, ObjectFilterIsExactOrPrefix) {
  Append({MakeRecord(1, "certificates/web"), MakeRecord(2, "certificates/web/0123"),
          MakeRecord(3, "certificates/webmail"), MakeRecord(4, "certificates/api"),
          MakeRecord(5, ""), MakeRecord(6, "Certificates/web"), MakeRecord(7, "a%b_c"),
          MakeRecord(8, "axbyc")});
  AuditFilter f;
  f.object = "certificates/web";  // exact
  EXPECT_EQ(Times(Query(f)), (std::vector<int64_t>{1}));
  f.object = "certificates/web*";
  EXPECT_EQ(Times(Query(f)), (std::vector<int64_t>{1, 2, 3}));
  f.object = "certificates/web/*";
  EXPECT_EQ(Times(Query(f)), (std::vector<int64_t>{2}));
  f.object = "certificates/web/0123*";  // the prefix may be the whole value
  EXPECT_EQ(Times(Query(f)), (std::vector<int64_t>{2}));
  f.object = "*";  // the empty prefix matches everything
  EXPECT_EQ(Query(f).size(), 8u);
  f.object = "a%b*";  // no LIKE or GLOB characters apply
  EXPECT_EQ(Times(Query(f)), (std::vector<int64_t>{7}));
  f.object = "a?b*";
  EXPECT_TRUE(Query(f).empty());
  f.object = "certificates";  // exact, so not a prefix
  EXPECT_TRUE(Query(f).empty());
}

TEST_P(AuditStoreConformanceTest, PagesByAfterSeq) {
  std::vector<AuditRecord> records;
  for (int i = 0; i < 7; ++i) records.push_back(MakeRecord(i, i % 2 == 0 ? "even" : "odd"));
  records = Append(records);

  std::vector<int64_t> seen;
  AuditFilter f;
  f.limit = 3;
  for (;;) {
    std::vector<AuditRecord> page = Query(f);
    if (page.empty()) break;
    EXPECT_LE(page.size(), 3u);
    for (const AuditRecord& r : page) seen.push_back(r.seq);
    f.after_seq = page.back().seq;
  }
  EXPECT_EQ(seen, Seqs(records));

  // With a filter, a page holds the next matching records.
  f = {};
  f.object = "even";
  f.limit = 2;
  f.after_seq = records[0].seq;
  EXPECT_EQ(Times(Query(f)), (std::vector<int64_t>{2, 4}));
  f.after_seq = records[4].seq;
  EXPECT_EQ(Times(Query(f)), (std::vector<int64_t>{6}));
}

TEST_P(AuditStoreConformanceTest, LimitIsClamped) {
  std::vector<AuditRecord> records(kMaxAuditQueryLimit + 5, MakeRecord(1));
  Append(records);
  AuditFilter f;
  f.limit = 0;
  EXPECT_EQ(Query(f).size(), 1u);
  f.limit = -3;
  EXPECT_EQ(Query(f).size(), 1u);
  f.limit = 7;
  EXPECT_EQ(Query(f).size(), 7u);
  f.limit = kMaxAuditQueryLimit + 1;
  EXPECT_EQ(Query(f).size(), static_cast<size_t>(kMaxAuditQueryLimit));
  f.limit = 1'000'000;
  EXPECT_EQ(Query(f).size(), static_cast<size_t>(kMaxAuditQueryLimit));
  EXPECT_EQ(ClampAuditLimit(100), 100);
}

// --- Retention ---------------------------------------------------------------------------------

TEST_P(AuditStoreConformanceTest, DeleteBeforeRemovesOlderRecords) {
  EXPECT_EQ(Must(store_->DeleteBefore(100)), 0);
  Append({MakeRecord(10), MakeRecord(20), MakeRecord(30), MakeRecord(20)});
  EXPECT_EQ(Must(store_->DeleteBefore(20)), 1);  // strictly before
  EXPECT_EQ(Times(All()), (std::vector<int64_t>{20, 30, 20}));
  EXPECT_EQ(Must(store_->DeleteBefore(30)), 2);
  EXPECT_EQ(Times(All()), (std::vector<int64_t>{30}));
  EXPECT_EQ(Must(store_->DeleteBefore(30)), 0);
}

TEST_P(AuditStoreConformanceTest, DeleteBeforeHandlesManyRecords) {
  std::vector<AuditRecord> old_records(12000, MakeRecord(5));
  Append(old_records);
  Append({MakeRecord(50)});
  EXPECT_EQ(Must(store_->DeleteBefore(10)), 12000);
  EXPECT_EQ(Times(All()), (std::vector<int64_t>{50}));
}

TEST_P(AuditStoreConformanceTest, SeqsAreNotReusedAfterDeletion) {
  std::vector<AuditRecord> first = Append({MakeRecord(1), MakeRecord(2)});
  EXPECT_EQ(Must(store_->DeleteBefore(100)), 2);
  std::vector<AuditRecord> second = Append({MakeRecord(3)});
  EXPECT_GT(second[0].seq, first[1].seq);
}

INSTANTIATE_TEST_SUITE_P(AuditStores, AuditStoreConformanceTest,
                         ::testing::Values(Kind::kMemory, Kind::kSqlite), store_testing::KindName);

// --- SQLite only -------------------------------------------------------------------------------

class SqliteAuditStoreTest : public AuditStoreTestBase {
 protected:
  Kind kind() const override { return Kind::kSqlite; }

  int RawExec(const char* sql) { return sqlite3_exec(Raw(), sql, nullptr, nullptr, nullptr); }
  std::vector<std::string> RawTexts(const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(Raw(), sql, -1, &stmt, nullptr), SQLITE_OK);
    std::vector<std::string> out;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
    }
    sqlite3_finalize(stmt);
    return out;
  }
};

TEST_F(SqliteAuditStoreTest, RecordsAndSeqsPersistAcrossReopen) {
  std::vector<AuditRecord> first = Append({MakeRecord(1), MakeRecord(2)});
  Reopen();
  std::vector<AuditRecord> all = All();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_TRUE(Fields(all[1]) == Fields(first[1]));
  // Even with the newest records gone, a reopened store continues after the highest seq used.
  EXPECT_EQ(Must(store_->DeleteBefore(100)), 2);
  Reopen();
  EXPECT_GT(Append({MakeRecord(3)})[0].seq, first[1].seq);
}

TEST_F(SqliteAuditStoreTest, AnAppendSurvivesKill9) {
  store_.reset();
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child appends and dies at once, with no chance to close or flush anything.
    auto store = OpenSqliteAuditStore(path_);
    if (!store) _exit(1);
    std::vector<AuditRecord> records = {MakeRecord(1), MakeRecord(2), MakeRecord(3)};
    if (!(*store)->Append(records)) _exit(2);
    kill(getpid(), SIGKILL);
    _exit(3);
  }
  int wstatus = 0;
  ASSERT_EQ(waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited with " << WEXITSTATUS(wstatus);
  Open();
  EXPECT_EQ(Times(All()), (std::vector<int64_t>{1, 2, 3}));
}

TEST_F(SqliteAuditStoreTest, AFailedAppendStoresNothingAndKeepsSeqs) {
  Append({MakeRecord(1)});
  ASSERT_EQ(RawExec("CREATE TRIGGER boom BEFORE INSERT ON audit_records "
                    "WHEN NEW.request_id = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END"),
            SQLITE_OK);
  AuditRecord bad = MakeRecord(3);
  bad.request_id = "boom";
  std::vector<AuditRecord> batch = {MakeRecord(2), bad};
  batch[0].seq = -7;
  Status status = store_->Append(batch);
  ASSERT_FALSE(status);
  EXPECT_EQ(batch[0].seq, -7);
  EXPECT_EQ(batch[1].seq, 0);
  EXPECT_EQ(Times(All()), (std::vector<int64_t>{1}));
  // The store is still usable.
  ASSERT_EQ(RawExec("DROP TRIGGER boom"), SQLITE_OK);
  EXPECT_EQ(Times(Append({MakeRecord(4)})), (std::vector<int64_t>{4}));
}

TEST_F(SqliteAuditStoreTest, MigrationsAreRecordedOnceAndIdempotent) {
  Append({MakeRecord(1)});
  Reopen();
  Reopen();
  EXPECT_EQ(RawTexts("SELECT version FROM schema_migrations ORDER BY version"),
            std::vector<std::string>{"1"});
  EXPECT_EQ(Times(All()), (std::vector<int64_t>{1}));
}

TEST_F(SqliteAuditStoreTest, RefusesADatabaseFromANewerBinary) {
  store_.reset();
  ASSERT_EQ(RawExec("INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)"),
            SQLITE_OK);
  auto opened = OpenSqliteAuditStore(path_);
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().kind(), ErrorKind::kInternal);
}

TEST_F(SqliteAuditStoreTest, UsesWalAndItsIndexes) {
  EXPECT_EQ(RawTexts("PRAGMA journal_mode"), std::vector<std::string>{"wal"});
  EXPECT_EQ(RawTexts("SELECT name FROM sqlite_master WHERE type = 'index' AND "
                     "tbl_name = 'audit_records' ORDER BY name"),
            (std::vector<std::string>{"audit_records_principal", "audit_records_time"}));
}

TEST_F(SqliteAuditStoreTest, FilesAreOwnerOnly) {
  store_.reset();
  std::filesystem::remove(path_);
  mode_t old_umask = umask(0);  // so that only the store's own choice of mode counts
  Open();
  umask(old_umask);
  Append({MakeRecord(1)});
  for (const std::string& file : {path_, path_ + "-wal", path_ + "-shm"}) {
    struct stat st {};
    ASSERT_EQ(stat(file.c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
  }
}

TEST_F(SqliteAuditStoreTest, QueriesAreNotBlockedByAnotherWriter) {
  Append({MakeRecord(1)});
  ASSERT_EQ(RawExec("BEGIN IMMEDIATE"), SQLITE_OK);
  EXPECT_EQ(Times(All()), (std::vector<int64_t>{1}));
  ASSERT_EQ(RawExec("ROLLBACK"), SQLITE_OK);
}

}  // namespace
}  // namespace certvault::store
