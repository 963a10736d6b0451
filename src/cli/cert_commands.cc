// cert create, import, show, list, versions, delete, recover, purge.

#include "cli/cert_commands.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/api_client.h"
#include "cli/config.h"
#include "cli/files.h"
#include "cli/pem.h"
#include "cli/views.h"
#include "common/text.h"
#include "crypto/encoding.h"

namespace certvault::cli {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string CertPath(const std::string& name, const std::string& suffix = "") {
  return "/certificates/" + PathSegment(name) + suffix;
}

bool IsUnknownIssuer(const std::string& issuer) { return EqualsIgnoreCase(issuer, "Unknown"); }

// The operation's failure as an Error carrying the server's code.
Error OperationError(const json& op) {
  std::string status = op.value("status", "");
  std::string code = "CertificateOperationFailed";
  std::string message = "issuance ended with status " + status;
  if (op.contains("error") && op["error"].is_object()) {
    code = op["error"].value("code", code);
    message = op["error"].value("message", message);
  } else if (std::string details = op.value("status_details", ""); !details.empty()) {
    message += ": " + details;
  }
  return Error(ErrorKind::kConflict, code, message);
}

// Polls the pending operation until it leaves inProgress, at most `wait_seconds`.
Result<json> WaitForOperation(CommandContext& ctx, const std::string& name, json op,
                              int wait_seconds) {
  std::chrono::milliseconds waited{0}, interval{250};
  const std::chrono::milliseconds limit = std::chrono::seconds(wait_seconds);
  bool announced = false;
  while (op.value("status", "") == "inProgress") {
    if (waited >= limit) {
      if (announced) ctx.err << "\n";
      return Fail(ClientError("still in progress after " + std::to_string(wait_seconds) +
                              "s; see `certvault cert pending " + name + "`"));
    }
    if (ctx.progress && !announced) {
      ctx.err << "waiting for issuance..." << std::flush;
      announced = true;
    }
    ctx.sleep(interval);
    waited += interval;
    interval = std::min<std::chrono::milliseconds>(interval * 2, 2s);
    CV_ASSIGN_OR_RETURN(op, ctx.api.Data("GET", CertPath(name, "/pending")));
    if (announced) ctx.err << "." << std::flush;
  }
  if (announced) ctx.err << " " << op.value("status", "") << "\n";
  return op;
}

}  // namespace

Result<json> BuildCreateBody(const CertCreateArgs& args) {
  const bool ec = args.kty.rfind("EC", 0) == 0;
  if (ec && args.size != 0) return Fail(UsageError("--size applies to RSA keys; use --curve"));
  if (!ec && !args.curve.empty()) return Fail(UsageError("--curve applies to EC keys"));
  if (args.content_type != "pem" && args.content_type != "pfx") {
    return Fail(UsageError("--content-type must be pem or pfx"));
  }
  json key_props = {{"kty", args.kty}, {"exportable", !args.not_exportable}, {"reuse_key", false}};
  if (ec) {
    key_props["crv"] = args.curve.empty() ? "P-256" : args.curve;
  } else {
    key_props["key_size"] = args.size == 0 ? 2048 : args.size;
  }
  json x509 = {{"subject", args.subject.empty() ? "CN=" + args.name : args.subject}};
  if (!args.dns.empty()) x509["sans"] = {{"dns_names", args.dns}};
  if (!args.validity.empty()) {
    x509["validity_duration"] = args.validity;
  } else if (args.validity_months > 0) {
    x509["validity_months"] = args.validity_months;
  }
  json policy = {
      {"key_props", key_props},
      {"secret_props",
       {{"contentType", args.content_type == "pem" ? kPemContentType : kPfxContentType}}},
      {"x509_props", x509},
      {"issuer", {{"name", args.issuer}}},
  };
  if (!args.template_name.empty()) policy["issuer"]["cty"] = args.template_name;
  json body = {{"policy", policy}, {"attributes", {{"enabled", true}}}};
  CV_ASSIGN_OR_RETURN(json tags, ParseTags(args.tags));
  if (!tags.empty()) body["tags"] = tags;
  return body;
}

Status CertCreate(CommandContext& ctx, const CertCreateArgs& args) {
  CV_ASSIGN_OR_RETURN(json body, BuildCreateBody(args));
  CV_ASSIGN_OR_RETURN(json op, ctx.api.Data("POST", CertPath(args.name, "/create"), &body));
  if (IsUnknownIssuer(args.issuer) || args.no_wait) {
    // Someone else signs the CSR: show it and how to finish.
    Print(ctx, op, OperationView(op, /*with_csr=*/true));
    if (IsUnknownIssuer(args.issuer) && ctx.format == OutputFormat::kTable) {
      ctx.err << "sign the CSR, then: certvault cert merge " << args.name << " --file chain.pem\n";
    }
    return Ok();
  }
  CV_ASSIGN_OR_RETURN(op, WaitForOperation(ctx, args.name, std::move(op), args.wait_seconds));
  if (op.value("status", "") != "completed") return Fail(OperationError(op));
  CV_ASSIGN_OR_RETURN(json cert, ctx.api.Data("GET", CertPath(args.name)));
  Print(ctx, cert, CertificateView(cert));
  return Ok();
}

Result<json> BuildImportBody(const CertImportArgs& args, const std::string& data,
                             const std::string& password) {
  const bool pem = LooksLikePem(data);
  json body = {
      {"value", pem ? data : crypto::Base64Encode(data)},
      {"policy", {{"secret_props", {{"contentType", pem ? kPemContentType : kPfxContentType}}}}}};
  if (!password.empty()) body["pwd"] = password;
  CV_ASSIGN_OR_RETURN(json tags, ParseTags(args.tags));
  if (!tags.empty()) body["tags"] = tags;
  return body;
}

Status CertImport(CommandContext& ctx, const CertImportArgs& args) {
  CV_ASSIGN_OR_RETURN(std::string data, ReadFile(args.file));
  std::string password = args.password;
  if (!args.password_file.empty()) {
    CV_ASSIGN_OR_RETURN(password, ReadFile(args.password_file));
    // Files written by editors and `echo` end with a newline that is not part of the password.
    while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
      password.pop_back();
    }
  }
  CV_ASSIGN_OR_RETURN(json body, BuildImportBody(args, data, password));
  CV_ASSIGN_OR_RETURN(json cert, ctx.api.Data("POST", CertPath(args.name, "/import"), &body));
  Print(ctx, cert, CertificateView(cert));
  return Ok();
}

Status CertShow(CommandContext& ctx, const std::string& name, const std::string& version) {
  std::string path = CertPath(name, version.empty() ? "" : "/" + PathSegment(version));
  CV_ASSIGN_OR_RETURN(json cert, ctx.api.Data("GET", path));
  Print(ctx, cert, CertificateView(cert));
  return Ok();
}

Status CertList(CommandContext& ctx, int max_items) {
  std::string path = "/certificates";
  // Key Vault pages hold at most 25 items.
  if (max_items > 0 && max_items <= 25) path += "?maxresults=" + std::to_string(max_items);
  CV_ASSIGN_OR_RETURN(auto items, ctx.api.DataList(path, max_items));
  Print(ctx, json(items), CertificateListView(items, /*versions=*/false));
  return Ok();
}

Status CertVersions(CommandContext& ctx, const std::string& name) {
  CV_ASSIGN_OR_RETURN(auto items, ctx.api.DataList(CertPath(name, "/versions")));
  Print(ctx, json(items), CertificateListView(items, /*versions=*/true));
  return Ok();
}

Status CertDelete(CommandContext& ctx, const std::string& name) {
  CV_ASSIGN_OR_RETURN(json deleted, ctx.api.Data("DELETE", CertPath(name)));
  Print(ctx, deleted, DeletedCertificateView(deleted));
  return Ok();
}

Status CertRecover(CommandContext& ctx, const std::string& name) {
  CV_ASSIGN_OR_RETURN(
      json cert, ctx.api.Data("POST", "/deletedcertificates/" + PathSegment(name) + "/recover"));
  Print(ctx, cert, CertificateView(cert));
  return Ok();
}

Status CertPurge(CommandContext& ctx, const std::string& name) {
  CV_RETURN_IF_ERROR(ctx.api.Data("DELETE", "/deletedcertificates/" + PathSegment(name)));
  if (ctx.format == OutputFormat::kTable) ctx.out << "purged " << name << "\n";
  return Ok();
}

}  // namespace certvault::cli
