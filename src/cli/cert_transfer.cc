// cert download, pending, merge: moving certificates, keys and CSRs between files and the vault.

#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/api_client.h"
#include "cli/cert_commands.h"
#include "cli/config.h"
#include "cli/files.h"
#include "cli/pem.h"
#include "cli/views.h"

namespace certvault::cli {
namespace {

using nlohmann::json;

std::string VersionSuffix(const std::string& version) {
  return version.empty() ? "" : "/" + PathSegment(version);
}

// Local conversion failures are the client's, not the server's: show them without a code.
Error LocalError(const Error& e, const std::string& context) {
  return ClientError(context + ": " + e.message());
}

void ReportWritten(CommandContext& ctx, const std::string& path, const std::string& what) {
  if (ctx.format == OutputFormat::kJson) {
    ctx.out << RenderJson({{"file", path}, {"content", what}});
  } else {
    ctx.err << "wrote " << what << " to " << path << "\n";
  }
}

}  // namespace

Status CertDownload(CommandContext& ctx, const CertDownloadArgs& args) {
  const std::string version = VersionSuffix(args.version);
  if (args.format == "cer") {
    CV_ASSIGN_OR_RETURN(json cert,
                        ctx.api.Data("GET", "/certificates/" + PathSegment(args.name) + version));
    auto pem = Base64DerToPem("CERTIFICATE", cert.value("cer", ""));
    if (!pem || cert.value("cer", "").empty()) {
      return Fail(ClientError("the server's certificate has no readable \"cer\""));
    }
    CV_RETURN_IF_ERROR(WriteFile(args.out, *pem, kPublicFileMode));
    ReportWritten(ctx, args.out, "certificate");
    return Ok();
  }
  if (args.format != "pem" && args.format != "pfx") {
    return Fail(UsageError("--format must be pem, pfx or cer"));
  }
  // A certificate's key and chain are the secret of the same name and version.
  CV_ASSIGN_OR_RETURN(json secret,
                      ctx.api.Data("GET", "/secrets/" + PathSegment(args.name) + version));
  const std::string value = secret.value("value", "");
  const std::string content_type = secret.value("contentType", "");
  Result<std::string> data = args.format == "pem" ? SecretValueToPem(value, content_type)
                                                  : SecretValueToPfx(value, content_type);
  if (!data) return Fail(LocalError(data.error(), "converting the secret to " + args.format));
  CV_RETURN_IF_ERROR(WriteFile(args.out, *data, kPrivateFileMode));
  ReportWritten(ctx, args.out, args.format == "pem" ? "key and certificates (PEM)" : "PKCS#12");
  return Ok();
}

Status CertPending(CommandContext& ctx, const CertPendingArgs& args) {
  if (args.cancel + args.remove + !args.csr_out.empty() > 1) {
    return Fail(UsageError("choose one of --cancel, --delete and --csr-out"));
  }
  const std::string path = "/certificates/" + PathSegment(args.name) + "/pending";
  json op;
  if (args.cancel) {
    json body = {{"cancellation_requested", true}};
    CV_ASSIGN_OR_RETURN(op, ctx.api.Data("PATCH", path, &body));
  } else if (args.remove) {
    CV_ASSIGN_OR_RETURN(op, ctx.api.Data("DELETE", path));
  } else {
    CV_ASSIGN_OR_RETURN(op, ctx.api.Data("GET", path));
  }
  if (!args.csr_out.empty()) {
    std::string csr = op.value("csr", "");
    auto pem = Base64DerToPem("CERTIFICATE REQUEST", csr);
    if (csr.empty() || !pem) {
      return Fail(ClientError("the pending operation of " + args.name + " holds no CSR"));
    }
    CV_RETURN_IF_ERROR(WriteFile(args.csr_out, *pem, kPublicFileMode));
    ReportWritten(ctx, args.csr_out, "CSR");
    return Ok();
  }
  Print(ctx, op, OperationView(op, /*with_csr=*/!args.cancel && !args.remove));
  return Ok();
}

Status CertMerge(CommandContext& ctx, const std::string& name, const std::string& file) {
  CV_ASSIGN_OR_RETURN(std::string pem, ReadFile(file));
  auto x5c = PemToX5c(pem);
  if (!x5c) return Fail(LocalError(x5c.error(), file));
  json body = {{"x5c", *x5c}};
  CV_ASSIGN_OR_RETURN(
      json cert,
      ctx.api.Data("POST", "/certificates/" + PathSegment(name) + "/pending/merge", &body));
  Print(ctx, cert, CertificateView(cert));
  return Ok();
}

}  // namespace certvault::cli
