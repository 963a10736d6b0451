#include "model/lifetime.h"

#include <algorithm>

namespace certvault::model {

std::vector<DueAction> DueActions(const CertificatePolicy& policy, int64_t nbf, int64_t exp) {
  std::vector<DueAction> out;
  const int64_t lifetime = std::max<int64_t>(0, exp - nbf);
  for (const LifetimeAction& a : policy.lifetime_actions) {
    if (a.lifetime_percentage) {
      out.push_back({a, nbf + lifetime * *a.lifetime_percentage / 100});
    } else if (a.days_before_expiry) {
      out.push_back({a, exp - int64_t{*a.days_before_expiry} * 86400});
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const DueAction& a, const DueAction& b) { return a.due < b.due; });
  return out;
}

int64_t NextLifetimeCheck(const CertificatePolicy& policy, int64_t nbf, int64_t exp, int64_t now) {
  int64_t next = exp > now ? exp : 0;
  for (const DueAction& d : DueActions(policy, nbf, exp)) {
    if (d.due > now && (next == 0 || d.due < next)) next = std::max<int64_t>(d.due, 1);
  }
  return next;
}

}  // namespace certvault::model
