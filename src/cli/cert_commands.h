#pragma once
// `certvault cert ...`: certificates in a vault (create, import, show, list, versions, download,
// pending, merge, renew, revoke, delete, recover, purge). Each command is a function of a
// CommandContext and its arguments; AddCertCommands wires them to CLI11.

#include <chrono>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command_context.h"
#include "common/result.h"

namespace CLI {
class App;
}

namespace certvault::cli {

class CommandRunner;

struct CertCreateArgs {
  std::string name;
  std::string subject;  // default "CN={name}"
  std::vector<std::string> dns;
  std::string kty = "RSA";
  int size = 0;             // RSA bits; 0 = server default (2048)
  std::string curve;        // EC curve; "" = P-256
  int validity_months = 0;  // 0 = server default (12)
  std::string validity;     // ISO 8601 duration; beats months
  std::string issuer = "Self";
  std::string template_name;         // issuer.cty; empty: the issuer's default
  std::string content_type = "pfx";  // pem or pfx
  bool not_exportable = false;
  std::vector<std::string> tags;  // k=v
  bool no_wait = false;
  int wait_seconds = 300;
};
// The JSON body of POST /certificates/{name}/create. Fails with UsageError for inconsistent
// arguments (an RSA size with EC, a curve with RSA, malformed tags).
Result<nlohmann::json> BuildCreateBody(const CertCreateArgs& args);
Status CertCreate(CommandContext& ctx, const CertCreateArgs& args);

struct CertImportArgs {
  std::string name;
  std::string file;
  std::string password;
  std::string password_file;
  std::vector<std::string> tags;
};
// `data` is the file's bytes: PEM text is sent as is, anything else as base64 PKCS#12.
Result<nlohmann::json> BuildImportBody(const CertImportArgs& args, const std::string& data,
                                       const std::string& password);
Status CertImport(CommandContext& ctx, const CertImportArgs& args);

Status CertShow(CommandContext& ctx, const std::string& name, const std::string& version);
Status CertList(CommandContext& ctx, int max_items);
Status CertVersions(CommandContext& ctx, const std::string& name);

struct CertDownloadArgs {
  std::string name;
  std::string version;
  std::string format = "pem";  // pem, pfx or cer
  std::string out;
};
Status CertDownload(CommandContext& ctx, const CertDownloadArgs& args);

struct CertPendingArgs {
  std::string name;
  std::string csr_out;
  bool cancel = false;
  bool remove = false;
};
Status CertPending(CommandContext& ctx, const CertPendingArgs& args);
Status CertMerge(CommandContext& ctx, const std::string& name, const std::string& file);

struct CertRenewArgs {
  std::string name;
  std::string validity;  // ISO 8601 duration overriding the policy's; "" = the policy's
  bool wait = true;      // wait for the job to finish and show the new version
  std::string timeout = "PT5M";
};
// The JSON body of POST /certificates/{name}/renew. Fails with UsageError for a validity that is
// not an ISO 8601 duration.
Result<nlohmann::json> BuildRenewBody(const CertRenewArgs& args);
// Starts a renewal job; with `wait`, follows it and prints the new version, failing with the
// job's last error if it failed.
Status CertRenew(CommandContext& ctx, const CertRenewArgs& args);

struct CertRevokeArgs {
  std::string name;
  std::string version;  // required unless `current`
  bool current = false;
  std::string reason;  // an RFC 5280 reason name; "" = the server's default (unspecified)
};
// The RFC 5280 spelling of a revocation reason given in any case; UsageError listing them if
// unknown.
Result<std::string> CanonicalRevocationReason(std::string_view reason);
Status CertRevoke(CommandContext& ctx, const CertRevokeArgs& args);

Status CertDelete(CommandContext& ctx, const std::string& name);
Status CertRecover(CommandContext& ctx, const std::string& name);
Status CertPurge(CommandContext& ctx, const std::string& name);

void AddCertCommands(CLI::App& app, CommandRunner& runner);

}  // namespace certvault::cli
