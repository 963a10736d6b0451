#include "issuer/worker/worker.h"

#include <nlohmann/json.hpp>
#include <string>

#include "model/codec.h"

namespace certvault::issuer::worker {
namespace {

using nlohmann::json;

constexpr int64_t kMinLeaseSeconds = 10;
constexpr int64_t kMaxLeaseSeconds = 86400;

class WorkerIssuer final : public Issuer {
 public:
  Result<Enrollment> Enroll(const EnrollRequest& request) override {
    Enrollment enrollment;
    enrollment.external = true;  // a worker completes the job through the API
    return enrollment;
  }
};

class WorkerProvider final : public Provider {
 public:
  Status Validate(const model::Issuer& issuer) const override {
    CV_RETURN_IF_ERROR(LeaseSeconds(issuer));
    return Ok();
  }

  Result<std::shared_ptr<Issuer>> Build(const model::Issuer& issuer,
                                        const std::string& password) const override {
    CV_RETURN_IF_ERROR(LeaseSeconds(issuer));
    return std::make_shared<WorkerIssuer>();
  }
};

}  // namespace

Result<int64_t> LeaseSeconds(const model::Issuer& issuer) {
  // An issuer stored without settings has none.
  json j = issuer.settings.find_first_not_of(" \t\r\n") == std::string::npos
               ? json::object()
               : json::parse(issuer.settings, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Fail(Error::BadParameter("'settings' must be a JSON object"));
  }
  int64_t lease = kDefaultLeaseSeconds;
  for (const auto& [key, value] : j.items()) {
    if (key != "lease") {
      return Fail(Error::BadParameter("'settings." + key +
                                      "' is not a setting of the worker provider (lease)"));
    }
    if (!value.is_string()) {
      return Fail(Error::BadParameter("'settings.lease' must be an ISO 8601 duration string"));
    }
    auto seconds = model::ParseIsoDuration(value.get<std::string>());
    if (!seconds) return Fail(seconds.error().WithContext("'settings.lease'"));
    if (*seconds < kMinLeaseSeconds || *seconds > kMaxLeaseSeconds) {
      return Fail(Error::BadParameter("'settings.lease' must be between PT10S and P1D"));
    }
    lease = *seconds;
  }
  return lease;
}

std::unique_ptr<Provider> NewWorkerProvider() { return std::make_unique<WorkerProvider>(); }

}  // namespace certvault::issuer::worker
