#include "store/memory/memory_store.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/text.h"

namespace certvault::store::memory {
namespace {

// Names compare as SQLite's NOCASE does.
std::string Fold(std::string_view s) { return AsciiLower(s); }

using Key = std::pair<std::string, std::string>;  // folded (vault, name)

Key MakeKey(std::string_view vault, std::string_view name) { return {Fold(vault), Fold(name)}; }

// A job with its insertion order (SQLite's rowid), which breaks ties between equal `created`
// times and stays when the job is replaced.
struct StoredJob {
  int64_t seq = 0;
  model::Job job;
};

struct State {
  std::map<std::string, model::Vault> vaults;
  std::map<Key, model::Certificate> certificates;
  std::map<Key, std::vector<model::CertificateVersion>> certificate_versions;  // creation order
  std::map<Key, model::PendingOperation> pending_operations;
  std::map<Key, model::Secret> secrets;
  std::map<Key, std::vector<model::SecretVersion>> secret_versions;  // creation order
  std::map<std::string, std::vector<model::Contact>> contacts;
  std::map<std::string, model::Principal> principals;   // client ids compare exactly
  std::vector<model::RoleAssignment> role_assignments;  // oldest first
  std::map<Key, model::Issuer> issuers;
  std::map<std::string, StoredJob> jobs;  // by id; ids and keys compare exactly
  int64_t next_job_seq = 1;
  std::vector<model::Event> events;  // in seq order
  int64_t next_event_seq = 1;        // never reused, as SQLite's AUTOINCREMENT
  std::map<std::pair<std::string, std::string>, model::Revocation> revocations;  // (ca, serial)
  std::map<std::string, std::string> settings;
};

// Applies `page` to a sequence, as SQL's LIMIT/OFFSET do (a negative limit means no limit).
template <typename T>
class Pager {
 public:
  explicit Pager(Page page) : skip_(std::max<int64_t>(page.offset, 0)), limit_(page.limit) {}
  // Offers the next item; returns false once the page is full.
  bool Offer(const T& item) {
    if (limit_ >= 0 && static_cast<int64_t>(out_.size()) >= limit_) return false;
    if (skip_ > 0) {
      --skip_;
      return true;
    }
    out_.push_back(item);
    return true;
  }
  std::vector<T> Take() { return std::move(out_); }

 private:
  int64_t skip_;
  int64_t limit_;
  std::vector<T> out_;
};

// Every object of `vault` in a map keyed by (vault, name), in name order, filtered by deletion.
template <typename T>
std::vector<T> ListInVault(const std::map<Key, T>& m, std::string_view vault, Deleted deleted,
                           Page page) {
  Pager<T> pager(page);
  std::string v = Fold(vault);
  for (auto it = m.lower_bound({v, ""}); it != m.end() && it->first.first == v; ++it) {
    bool is_deleted = it->second.deleted.has_value();
    if (is_deleted != (deleted == Deleted::kOnly)) continue;
    if (!pager.Offer(it->second)) break;
  }
  return pager.Take();
}

template <typename T>
std::vector<T> PageOf(const std::vector<T>& all, Page page) {
  Pager<T> pager(page);
  for (const T& item : all) {
    if (!pager.Offer(item)) break;
  }
  return pager.Take();
}

// Every object of `vault` in a map keyed by (vault, name), in name order.
template <typename T>
std::vector<T> AllInVault(const std::map<Key, T>& m, std::string_view vault) {
  std::vector<T> out;
  std::string v = Fold(vault);
  for (auto it = m.lower_bound({v, ""}); it != m.end() && it->first.first == v; ++it) {
    out.push_back(it->second);
  }
  return out;
}

// The jobs matching `match`, sorted by `before` (then by insertion order), at most `limit` (a
// negative limit means no limit).
template <typename Match, typename Before>
std::vector<model::Job> SelectJobs(const std::map<std::string, StoredJob>& jobs, Match match,
                                   Before before, Page page) {
  std::vector<const StoredJob*> found;
  for (const auto& [id, stored] : jobs) {
    if (match(stored.job)) found.push_back(&stored);
  }
  std::sort(found.begin(), found.end(), before);
  Pager<model::Job> pager(page);
  for (const StoredJob* stored : found) {
    if (!pager.Offer(stored->job)) break;
  }
  return pager.Take();
}

// The job with the key `key`; null if none, or if `key` is empty (an empty key is no key).
const model::Job* FindJobByKey(const std::map<std::string, StoredJob>& jobs, std::string_view key) {
  if (key.empty()) return nullptr;
  for (const auto& [id, stored] : jobs) {
    if (stored.job.key == key) return &stored.job;
  }
  return nullptr;
}

template <typename V>
const V* FindVersion(const std::vector<V>& versions, std::string_view version) {
  std::string folded = Fold(version);
  for (const V& v : versions) {
    if (Fold(v.version) == folded) return &v;
  }
  return nullptr;
}

// Replaces the version in place (keeping its position) or appends it.
template <typename V>
void UpsertVersion(std::vector<V>& versions, const V& version) {
  std::string folded = Fold(version.version);
  for (V& v : versions) {
    if (Fold(v.version) == folded) {
      v = version;
      return;
    }
  }
  versions.push_back(version);
}

template <typename M>
void EraseVault(M& m, const std::string& vault) {
  auto first = m.lower_bound({vault, ""});
  auto last = first;
  while (last != m.end() && last->first.first == vault) ++last;
  m.erase(first, last);
}

template <typename M, typename K>
auto FindOptional(const M& m, const K& key) -> std::optional<typename M::mapped_type> {
  auto it = m.find(key);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

// What the store and its transactions share; transactions keep it alive.
struct Shared {
  std::mutex write_mu;  // held by the one open write transaction
  std::mutex state_mu;
  std::shared_ptr<const State> state = std::make_shared<State>();  // guarded by state_mu

  std::shared_ptr<const State> Current() {
    std::lock_guard<std::mutex> lock(state_mu);
    return state;
  }
  void Publish(std::shared_ptr<const State> next) {
    std::lock_guard<std::mutex> lock(state_mu);
    state = std::move(next);
  }
};

class MemoryTransaction final : public Transaction {
 public:
  // A write transaction when `write_lock` owns the writer mutex.
  MemoryTransaction(std::shared_ptr<Shared> shared, std::unique_lock<std::mutex> write_lock)
      : shared_(std::move(shared)),
        write_lock_(std::move(write_lock)),
        write_(write_lock_.owns_lock()),
        base_(shared_->Current()) {}

  Result<std::optional<model::Vault>> GetVault(std::string_view name) override {
    CV_RETURN_IF_ERROR(CheckOpen());
    return FindOptional(View().vaults, Fold(name));
  }
  Result<std::vector<model::Vault>> ListVaults() override {
    CV_RETURN_IF_ERROR(CheckOpen());
    std::vector<model::Vault> out;
    for (const auto& [key, vault] : View().vaults) out.push_back(vault);
    return out;
  }
  Status PutVault(const model::Vault& vault) override {
    CV_ASSIGN_OR_RETURN(State * s, Mutable());
    s->vaults[Fold(vault.name)] = vault;
    return Ok();
  }
  Status DeleteVault(std::string_view name) override {
    CV_ASSIGN_OR_RETURN(State * s, Mutable());
    std::string v = Fold(name);
    s->vaults.erase(v);
    EraseVault(s->certificates, v);
    EraseVault(s->certificate_versions, v);
    EraseVault(s->pending_operations, v);
    EraseVault(s->secrets, v);
    EraseVault(s->secret_versions, v);
    s->contacts.erase(v);
    EraseVault(s->issuers, v);
    std::erase_if(s->jobs, [&](const auto& entry) { return Fold(entry.second.job.vault) == v; });
    // Events and revocations stay: the outbox is a log, and revocations must stay published.
    const std::string scope = "/vaults/" + v;
    std::erase_if(s->role_assignments, [&](const model::RoleAssignment& a) {
      const std::string folded = Fold(a.scope);
      return folded == scope || folded.starts_with(scope + "/");
    });
    return Ok();
  }

  Result<std::optional<model::Certificate>> GetCertificate(std::string_view vault,
                                                           std::string_view name) override {
    CV_RETURN_IF_ERROR(CheckOpen());
    return FindOptional(View().certificates, MakeKey(vault, name));
  }
  Result<std::vector<model::Certificate>> ListCertificates(std::string_view vault, Deleted deleted,
                                                           Page page) override {
    CV_RETURN_IF_ERROR(CheckOpen());
    return ListInVault(View().certificates, vault, deleted, page);
  }
  Status PutCertificate(const model::Certificate& cert) override {
    CV_ASSIGN_OR_RETURN(State * s, Mutable());
    s->certificates[MakeKey(cert.vault, cert.name)] = cert;
    return Ok();
  }
  Status DeleteCertificate(std::string_view vault, std::string_view name) override {
    CV_ASSIGN_OR_RETURN(State * s, Mutable());
    Key key = MakeKey(vault, name);
    s->certificates.erase(key);
    s->certificate_versions.erase(key);
    s->pending_operations.erase(key);
    std::erase_if(s->jobs, [&](const auto& entry) {
      return MakeKey(entry.second.job.vault, entry.second.job.name) == key;
    });
    return Ok();
  }
  Result<std::vector<model::Certificate>> ListCertificatesDue(int64_t now, int64_t limit) override {
    CV_RETURN_IF_ERROR(CheckOpen());
    std::vector<std::pair<int64_t, Key>> due;  // (next_check, key): the order SQLite uses
    for (const auto& [key, c] : View().certificates) {
      if (!c.deleted && c.next_check > 0 && c.next_check <= now) {
        due.emplace_back(c.next_check, key);
      }
    }
    std::sort(due.begin(), due.end());
    Pager<model::Certificate> pager(Page{0, limit});
    for (const auto& [next_check, key] : due) {
      if (!pager.Offer(View().certificates.at(key))) break;
    }
    return pager.Take();
  }

  Result<std::optional<model::CertificateVersion>> GetCertificateVersion(
      std::string_view vault, std::string_view name, std::string_view version) override {
    CV_RETURN_IF_ERROR(CheckOpen());
    const auto& all = View().certificate_versions;
    auto it = all.find(MakeKey(vault, name));
    if (it == all.end()) return std::nullopt;
    const model::CertificateVersion* found = FindVersion(it->second, version);
    if (found == nullptr) return std::nullopt;
    return *found;
  }
  Result<std::vector<model::CertificateVersion>> ListCertificateVersions(std::string_view vault,
                                                                         std::string_view name,
                                                                         Page page) override {
    CV_RETURN_IF_ERROR(CheckOpen());
    const auto& all = View().certificate_versions;
    auto it = all.find(MakeKey(vault, name));
    if (it == all.end()) return std::vector<model::CertificateVersion>{};
    return PageOf(it->second, page);
  }
  Status PutCertificateVersion(const model::CertificateVersion& version) override {
    CV_ASSIGN_OR_RETURN(State * s, Mutable());
    UpsertVersion(s->certificate_versions[MakeKey(version.vault, version.name)], version);
    return Ok();
  }

  Result<std::optional<model::PendingOperation>> GetPendingOperation(
      std::string_view vault, std::string_view name) override {
    CV_RETURN_IF_ERROR(CheckOpen());
    return FindOptional(View().pending_operations, MakeKey(vault, name));
  }
  Status PutPendingOperation(const model::PendingOperation& op) override {
    CV_ASSIGN_OR_RETURN(State * s, Mutable());
    s->pending_operations[MakeKey(op.vault, op.name)] = op;
    return Ok();
  }
  Status DeletePendingOperation(std::string_view vault, std::string_view name) override {
    CV_ASSIGN_OR_RETURN(State * s, Mutable());
    s->pending_operations.erase(MakeKey(vault, name));
    return Ok();
  }

  Result<std::optional<model::Secret>> GetSecret(std::string_view vault,
                                                 std::string_view name) override {
    CV_RETURN_IF_ERROR(CheckOpen());
    return FindOptional(View().secrets, MakeKey(vault, name));
  }
  Result<std::vector<model::Secret>> ListSecrets(std::string_view vault, Deleted deleted,
                                                 Page page) override {
    CV_RETURN_IF_ERROR(CheckOpen());
    return ListInVault(View().secrets, vault, deleted, page);
  }
  Status PutSecret(const model::Secret& secret) override {
    CV_ASSIGN_OR_RETURN(State * s, Mutable());
    s->secrets[MakeKey(secret.vault, secret.name)] = secret;
    return Ok();
  }
  Status DeleteSecret(std::string_view vault, std::string_view name) override {
    CV_ASSIGN_OR_RETURN(State * s, Mutable());
    Key key = MakeKey(vault, name);
    s->secrets.erase(key);
    s->secret_versions.erase(key);
    return Ok();
  }
  Result<std::optional<model::SecretVersion>> GetSecretVersion(std::string_view vault,
                                                               std::string_view name,
                                                               std::string_view version) override {
    CV_RETURN_IF_ERROR(CheckOpen());
    const auto& all = View().secret_versions;
    auto it = all.find(MakeKey(vault, name));
    if (it == all.end()) return std::nullopt;
    const model::SecretVersion* found = FindVersion(it->second, version);
    if (found == nullptr) return std::nullopt;
    return *found;
  }
  Result<std::vector<model::SecretVersion>> ListSecretVersions(std::string_view vault,
                                                               std::string_view name,
                                                               Page page) override {
    CV_RETURN_IF_ERROR(CheckOpen());
    const auto& all = View().secret_versions;
    auto it = all.find(MakeKey(vault, name));
    if (it == all.end()) return std::vector<model::SecretVersion>{};
    return PageOf(it->second, page);
  }
  Status PutSecretVersion(const model::SecretVersion& version) override {
    CV_ASSIGN_OR_RETURN(State * s, Mutable());
    UpsertVersion(s->secret_versions[MakeKey(version.vault, version.name)], version);
    return Ok();
  }

  Result<std::vector<model::Contact>> GetContacts(std::string_view vault) override {
    CV_RETURN_IF_ERROR(CheckOpen());
    return FindOptional(View().contacts, Fold(vault)).value_or(std::vector<model::Contact>{});
  }
  Status PutContacts(std::string_view vault, const std::vector<model::Contact>& contacts) override {
    CV_ASSIGN_OR_RETURN(State * s, Mutable());
    if (contacts.empty()) {
      s->contacts.erase(Fold(vault));
    } else {
      s->contacts[Fold(vault)] = contacts;
    }
    return Ok();
  }

  Result<std::optional<model::Principal>> GetPrincipal(std::string_view client_id) override {
    CV_RETURN_IF_ERROR(CheckOpen());
    return FindOptional(View().principals, std::string(client_id));
  }
  Result<std::vector<model::Principal>> ListPrincipals() override {
    CV_RETURN_IF_ERROR(CheckOpen());
    std::vector<model::Principal> out;
    for (const auto& [id, principal] : View().principals) out.push_back(principal);
    return out;
  }
  Status PutPrincipal(const model::Principal& principal) override {
    CV_ASSIGN_OR_RETURN(State * s, Mutable());
    s->principals[principal.client_id] = principal;
    return Ok();
  }
  Status DeletePrincipal(std::string_view client_id) override {
    CV_ASSIGN_OR_RETURN(State * s, Mutable());
    s->principals.erase(std::string(client_id));
    std::erase_if(s->role_assignments,
                  [&](const model::RoleAssignment& a) { return a.principal_id == client_id; });
    return Ok();
  }

  Result<std::vector<model::RoleAssignment>> ListRoleAssignments() override {
    CV_RETURN_IF_ERROR(CheckOpen());
    auto out = View().role_assignments;
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return std::tie(a.created, a.id) < std::tie(b.created, b.id);
    });
    return out;
  }
  Status PutRoleAssignment(const model::RoleAssignment& assignment) override {
    CV_ASSIGN_OR_RETURN(State * s, Mutable());
    for (auto& a : s->role_assignments) {
      if (a.id == assignment.id) {
        a = assignment;
        return Ok();
      }
    }
    s->role_assignments.push_back(assignment);
    return Ok();
  }
  Status DeleteRoleAssignment(std::string_view id) override {
    CV_ASSIGN_OR_RETURN(State * s, Mutable());
    std::erase_if(s->role_assignments, [&](const model::RoleAssignment& a) { return a.id == id; });
    return Ok();
  }

  Result<std::optional<model::Issuer>> GetIssuer(std::string_view vault,
                                                 std::string_view name) override {
    CV_RETURN_IF_ERROR(CheckOpen());
    return FindOptional(View().issuers, MakeKey(vault, name));
  }
  Result<std::vector<model::Issuer>> ListIssuers(std::string_view vault) override {
    CV_RETURN_IF_ERROR(CheckOpen());
    return AllInVault(View().issuers, vault);
  }
  Status PutIssuer(const model::Issuer& issuer) override {
    CV_ASSIGN_OR_RETURN(State * s, Mutable());
    s->issuers[MakeKey(issuer.vault, issuer.name)] = issuer;
    return Ok();
  }
  Status DeleteIssuer(std::string_view vault, std::string_view name) override {
    CV_ASSIGN_OR_RETURN(State * s, Mutable());
    s->issuers.erase(MakeKey(vault, name));
    return Ok();
  }

  Result<std::optional<model::Job>> GetJob(std::string_view id) override {
    CV_RETURN_IF_ERROR(CheckOpen());
    const auto& jobs = View().jobs;
    auto it = jobs.find(std::string(id));
    if (it == jobs.end()) return std::nullopt;
    return it->second.job;
  }
  Result<std::optional<model::Job>> GetJobByKey(std::string_view key) override {
    CV_RETURN_IF_ERROR(CheckOpen());
    const model::Job* job = FindJobByKey(View().jobs, key);
    if (job == nullptr) return std::nullopt;
    return *job;
  }
  Result<bool> InsertJob(const model::Job& job) override {
    CV_ASSIGN_OR_RETURN(State * s, Mutable());
    if (FindJobByKey(s->jobs, job.key) != nullptr) return false;
    // As in SQLite, a job id used twice is an error, not "already queued".
    if (s->jobs.contains(job.id)) return Fail(Error::Internal("store: duplicate job id"));
    s->jobs[job.id] = StoredJob{s->next_job_seq++, job};
    return true;
  }
  Status PutJob(const model::Job& job) override {
    CV_ASSIGN_OR_RETURN(State * s, Mutable());
    const model::Job* holder = FindJobByKey(s->jobs, job.key);
    if (holder != nullptr && holder->id != job.id) {
      return Fail(Error::Internal("store: the job key is held by another job"));
    }
    auto it = s->jobs.find(job.id);
    if (it != s->jobs.end()) {
      it->second.job = job;  // keeps its place
    } else {
      s->jobs[job.id] = StoredJob{s->next_job_seq++, job};
    }
    return Ok();
  }
  Result<std::vector<model::Job>> ListJobs(const JobFilter& filter, Page page) override {
    CV_RETURN_IF_ERROR(CheckOpen());
    auto match = [&](const model::Job& job) {
      return (filter.vault.empty() || EqualsIgnoreCase(job.vault, filter.vault)) &&
             (filter.name.empty() || EqualsIgnoreCase(job.name, filter.name)) &&
             (filter.status.empty() || job.status == filter.status);
    };
    auto newest_first = [](const StoredJob* a, const StoredJob* b) {
      return std::tie(a->job.created, a->seq) > std::tie(b->job.created, b->seq);
    };
    return SelectJobs(View().jobs, match, newest_first, page);
  }
  Result<std::vector<model::Job>> ListRunnableJobs(int64_t now, int64_t limit) override {
    CV_RETURN_IF_ERROR(CheckOpen());
    auto match = [&](const model::Job& job) {
      return (job.status == "queued" || job.status == "running") && job.not_before <= now &&
             job.lease_expires <= now;
    };
    auto earliest_first = [](const StoredJob* a, const StoredJob* b) {
      return std::tie(a->job.not_before, a->job.created, a->seq) <
             std::tie(b->job.not_before, b->job.created, b->seq);
    };
    return SelectJobs(View().jobs, match, earliest_first, Page{0, limit});
  }
  Result<std::vector<model::Job>> ListWaitingJobs(std::string_view vault, std::string_view issuer,
                                                  int64_t now, int64_t limit) override {
    CV_RETURN_IF_ERROR(CheckOpen());
    auto match = [&](const model::Job& job) {
      return job.status == "waiting" && EqualsIgnoreCase(job.vault, vault) &&
             EqualsIgnoreCase(job.issuer, issuer) && job.lease_expires <= now;
    };
    auto oldest_first = [](const StoredJob* a, const StoredJob* b) {
      return std::tie(a->job.created, a->seq) < std::tie(b->job.created, b->seq);
    };
    return SelectJobs(View().jobs, match, oldest_first, Page{0, limit});
  }

  Result<bool> AppendEvent(const model::Event& event) override {
    CV_ASSIGN_OR_RETURN(State * s, Mutable());
    if (!event.key.empty()) {
      for (const model::Event& e : s->events) {
        if (e.key == event.key) return false;
      }
    }
    s->events.push_back(event);
    s->events.back().seq = s->next_event_seq++;
    return true;
  }
  Result<std::vector<model::Event>> ListEvents(int64_t after, int64_t limit) override {
    CV_RETURN_IF_ERROR(CheckOpen());
    const auto& events = View().events;
    auto first = std::upper_bound(events.begin(), events.end(), after,
                                  [](int64_t seq, const model::Event& e) { return seq < e.seq; });
    Pager<model::Event> pager(Page{0, limit});
    for (auto it = first; it != events.end(); ++it) {
      if (!pager.Offer(*it)) break;
    }
    return pager.Take();
  }

  Status PutRevocation(const model::Revocation& revocation) override {
    CV_ASSIGN_OR_RETURN(State * s, Mutable());
    s->revocations[{revocation.ca, revocation.serial}] = revocation;
    return Ok();
  }
  Result<std::vector<model::Revocation>> ListRevocations(std::string_view ca) override {
    CV_RETURN_IF_ERROR(CheckOpen());
    const auto& all = View().revocations;
    std::vector<model::Revocation> out;
    for (auto it = all.lower_bound({std::string(ca), ""}); it != all.end() && it->first.first == ca;
         ++it) {
      out.push_back(it->second);
    }
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return std::tie(a.revoked, a.serial) < std::tie(b.revoked, b.serial);
    });
    return out;
  }

  Result<std::optional<std::string>> GetSetting(std::string_view key) override {
    CV_RETURN_IF_ERROR(CheckOpen());
    return FindOptional(View().settings, std::string(key));
  }
  Status PutSetting(std::string_view key, std::string_view value) override {
    CV_ASSIGN_OR_RETURN(State * s, Mutable());
    s->settings[std::string(key)] = std::string(value);
    return Ok();
  }

  Status Commit() override {
    CV_RETURN_IF_ERROR(CheckOpen());
    if (!write_) return Fail(Error::Internal("store: Commit on a read transaction"));
    if (work_) shared_->Publish(std::shared_ptr<const State>(std::move(work_)));
    done_ = true;
    write_lock_.unlock();
    return Ok();
  }

 private:
  Status CheckOpen() const {
    if (done_) return Fail(Error::Internal("store: transaction already committed"));
    return Ok();
  }
  // The state to write to, copied from the snapshot on first use.
  Result<State*> Mutable() {
    CV_RETURN_IF_ERROR(CheckOpen());
    if (!write_) return Fail(Error::Internal("store: write in a read transaction"));
    if (!work_) work_ = std::make_unique<State>(*base_);
    return work_.get();
  }
  const State& View() const { return work_ ? *work_ : *base_; }

  std::shared_ptr<Shared> shared_;           // declared first: outlives write_lock_
  std::unique_lock<std::mutex> write_lock_;  // owns shared_->write_mu iff a write transaction
  const bool write_;
  std::shared_ptr<const State> base_;  // the snapshot this transaction started from
  std::unique_ptr<State> work_;        // this write transaction's copy; null until first write
  bool done_ = false;
};

class MemoryStore final : public Store {
 public:
  Result<std::unique_ptr<Transaction>> BeginRead() override {
    return std::make_unique<MemoryTransaction>(shared_, std::unique_lock<std::mutex>());
  }
  Result<std::unique_ptr<Transaction>> BeginWrite() override {
    std::unique_lock<std::mutex> lock(shared_->write_mu);
    return std::make_unique<MemoryTransaction>(shared_, std::move(lock));
  }

 private:
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
};

}  // namespace

std::unique_ptr<Store> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace certvault::store::memory
