// cert renew and cert revoke: the certvault extensions to the Key Vault certificates API.

#include <array>
#include <cctype>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/api_client.h"
#include "cli/cert_commands.h"
#include "cli/config.h"
#include "cli/job_commands.h"
#include "cli/lifecycle_views.h"
#include "cli/views.h"
#include "cli/when.h"
#include "common/text.h"

namespace certvault::cli {
namespace {

using nlohmann::json;

// RFC 5280 5.3.1 CRLReason names, as the server spells them.
constexpr std::array<std::string_view, 10> kReasons = {
    "unspecified",        "keyCompromise",        "cACompromise",    "affiliationChanged",
    "superseded",         "cessationOfOperation", "certificateHold", "removeFromCRL",
    "privilegeWithdrawn", "aACompromise"};

std::string CertPath(const std::string& name, const std::string& suffix = "") {
  return "/certificates/" + PathSegment(name) + suffix;
}

}  // namespace

Result<json> BuildRenewBody(const CertRenewArgs& args) {
  json body = json::object();
  if (!args.validity.empty()) {
    if (args.validity[0] != 'P' && args.validity[0] != 'p') {
      return Fail(UsageError("--validity wants an ISO 8601 duration such as P30D or P1Y, not '" +
                             args.validity + "'"));
    }
    CV_RETURN_IF_ERROR(ParseDurationArg(args.validity, "--validity", 1));
    std::string validity = args.validity;
    for (char& c : validity) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    body["validity"] = validity;
  }
  return body;
}

Status CertRenew(CommandContext& ctx, const CertRenewArgs& args) {
  CV_ASSIGN_OR_RETURN(json body, BuildRenewBody(args));
  // Checked before the job exists, so that a typo does not leave a renewal nobody waits for.
  int64_t timeout = 0;
  if (args.wait) {
    CV_ASSIGN_OR_RETURN(timeout, ParseDurationArg(args.timeout, "--timeout", 1));
  }
  CV_ASSIGN_OR_RETURN(json job, ctx.api.Data("POST", CertPath(args.name, "/renew"), &body));
  if (!args.wait) {
    Print(ctx, job, JobView(job));
    if (ctx.format == OutputFormat::kTable) {
      ctx.err << "follow it with: certvault jobs show " << TextField(job, "job_id") << "\n";
    }
    return Ok();
  }
  CV_ASSIGN_OR_RETURN(job, WaitForJob(ctx, std::move(job), timeout));
  if (TextField(job, "status") != "succeeded") return Fail(JobError(job));
  CV_ASSIGN_OR_RETURN(json cert, ctx.api.Data("GET", CertPath(args.name)));
  Print(ctx, cert, CertificateView(cert));
  return Ok();
}

Result<std::string> CanonicalRevocationReason(std::string_view reason) {
  for (auto known : kReasons) {
    if (EqualsIgnoreCase(reason, known)) return std::string(known);
  }
  std::string names;
  for (auto known : kReasons) names += (names.empty() ? "" : ", ") + std::string(known);
  return Fail(
      UsageError("--reason: unknown reason '" + std::string(reason) + "'; reasons are " + names));
}

Status CertRevoke(CommandContext& ctx, const CertRevokeArgs& args) {
  if (args.current == !args.version.empty()) {
    return Fail(UsageError("give either --version VERSION or --current"));
  }
  json body = json::object();
  if (!args.reason.empty()) {
    CV_ASSIGN_OR_RETURN(std::string reason, CanonicalRevocationReason(args.reason));
    body["reason"] = reason;
  }
  std::string version = args.version;
  if (args.current) {
    CV_ASSIGN_OR_RETURN(json cert, ctx.api.Data("GET", CertPath(args.name)));
    version = VersionFromId(TextField(cert, "id"));
    if (version.empty()) {
      return Fail(
          ClientError("the server did not say which version of " + args.name + " is current"));
    }
  }
  CV_ASSIGN_OR_RETURN(
      json revoked,
      ctx.api.Data("POST", CertPath(args.name, "/" + PathSegment(version) + "/revoke"), &body));
  Print(ctx, revoked, RevocationView(revoked));
  return Ok();
}

}  // namespace certvault::cli
