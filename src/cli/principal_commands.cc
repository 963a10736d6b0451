#include "cli/principal_commands.h"

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/api_client.h"
#include "cli/config.h"
#include "cli/identity_views.h"
#include "cli/runner.h"
#include "cli/when.h"

namespace certvault::cli {
namespace {

using nlohmann::json;

constexpr const char* kSecretField = "clientSecret";

std::string PrincipalPath(const std::string& id, const std::string& suffix = "") {
  return "/management/principals/" + PathSegment(id) + suffix;
}

// The body field secretExpires for a WHEN argument; absent when `when` is empty.
Status AddSecretExpires(CommandContext& ctx, const std::string& when, json& body) {
  if (when.empty()) return Ok();
  const int64_t now = ctx.clock.NowUnix();
  CV_ASSIGN_OR_RETURN(int64_t expires,
                      ParseWhen(when, now, DurationCounts::kForward, "--secret-expires"));
  if (expires <= now) {
    return Fail(UsageError("--secret-expires: " + FormatTime(expires) + " is not in the future"));
  }
  body["secretExpires"] = expires;
  return Ok();
}

// Prints a principal that is not the answer of create or rotate-secret.
void PrintPrincipal(CommandContext& ctx, json principal) {
  if (principal.is_object()) principal.erase(kSecretField);
  Print(ctx, principal, PrincipalView(principal));
}

// The one place a client secret is shown: the answer of create and rotate-secret.
Status PrintWithSecret(CommandContext& ctx, const json& principal) {
  const std::string secret = TextField(principal, kSecretField);
  const std::string id = TextField(principal, "clientId");
  if (ctx.format == OutputFormat::kJson) {
    ctx.out << RenderJson(principal);
  } else {
    ctx.out << PrincipalWithSecretView(principal);
  }
  ctx.out.flush();
  if (secret.empty()) {
    return Fail(Error(ErrorKind::kInternal, "InvalidResponse",
                      "the server sent no clientSecret; get a new one with `certvault sp "
                      "rotate-secret " +
                          id + "`"));
  }
  if (ctx.format == OutputFormat::kTable) {
    ctx.err << "note: the client secret is shown only now and cannot be shown again; store it "
               "safely, or rotate it if it is lost\n";
  }
  return Ok();
}

}  // namespace

Status PrincipalCreate(CommandContext& ctx, const PrincipalCreateArgs& args) {
  if (args.display_name.empty()) return Fail(UsageError("--name must not be empty"));
  json body = {{"displayName", args.display_name}};
  CV_RETURN_IF_ERROR(AddSecretExpires(ctx, args.secret_expires, body));
  CV_ASSIGN_OR_RETURN(json principal, ctx.api.Management("POST", "/management/principals", &body));
  return PrintWithSecret(ctx, principal);
}

Status PrincipalList(CommandContext& ctx) {
  CV_ASSIGN_OR_RETURN(auto principals, ctx.api.ManagementList("/management/principals"));
  for (auto& p : principals) {
    if (p.is_object()) p.erase(kSecretField);
  }
  Print(ctx, json(principals), PrincipalListView(principals));
  return Ok();
}

Status PrincipalShow(CommandContext& ctx, const std::string& id) {
  CV_ASSIGN_OR_RETURN(json principal, ctx.api.Management("GET", PrincipalPath(id)));
  PrintPrincipal(ctx, std::move(principal));
  return Ok();
}

Status PrincipalSetEnabled(CommandContext& ctx, const std::string& id, bool enabled) {
  json body = {{"enabled", enabled}};
  CV_ASSIGN_OR_RETURN(json principal, ctx.api.Management("PATCH", PrincipalPath(id), &body));
  PrintPrincipal(ctx, std::move(principal));
  return Ok();
}

Status PrincipalDelete(CommandContext& ctx, const std::string& id) {
  CV_ASSIGN_OR_RETURN(json principal, ctx.api.Management("DELETE", PrincipalPath(id)));
  if (!principal.is_null()) {
    PrintPrincipal(ctx, std::move(principal));
  } else if (ctx.format == OutputFormat::kTable) {
    ctx.out << "deleted service principal " << id << "\n";
  }
  return Ok();
}

Status PrincipalRotateSecret(CommandContext& ctx, const std::string& id,
                             const std::string& secret_expires) {
  json body = json::object();
  CV_RETURN_IF_ERROR(AddSecretExpires(ctx, secret_expires, body));
  CV_ASSIGN_OR_RETURN(json principal,
                      ctx.api.Management("POST", PrincipalPath(id, "/rotate-secret"),
                                         body.empty() ? nullptr : &body));
  return PrintWithSecret(ctx, principal);
}

void AddPrincipalCommands(CLI::App& app, CommandRunner& runner) {
  auto& sp = *app.add_subcommand(
      "sp",
      "Manage service principals: the client ids and secrets that get tokens (administrators)");
  sp.require_subcommand(1);
  const std::string expires_help =
      "When the client secret stops working: an ISO 8601 duration from now (P90D, PT12H) or an "
      "RFC 3339 time (2026-01-31T00:00:00Z); default: never";
  {
    auto args = std::make_shared<PrincipalCreateArgs>();
    auto& cmd = *AddCommand(
        sp, "create",
        "Create a service principal and print its client id and secret.\n"
        "The secret is shown only this once (-o json: the server's answer, with clientSecret).\n"
        "A new principal may do nothing until a role is assigned (certvault role assign).\n\n"
        "Examples:\n"
        "  certvault sp create --name ci-deploy --secret-expires P90D\n"
        "  certvault sp create --name backup -o json > backup-principal.json");
    cmd.add_option("--name", args->display_name, "Display name")->required();
    cmd.add_option("--secret-expires", args->secret_expires, expires_help);
    runner.Bind(
        cmd, [args](CommandContext& ctx) { return PrincipalCreate(ctx, *args); }, false);
  }
  {
    auto& cmd =
        *AddCommand(sp, "list", "List the service principals.\n\nExample:\n  certvault sp list");
    runner.Bind(
        cmd, [](CommandContext& ctx) { return PrincipalList(ctx); }, false);
  }
  struct IdCommand {
    const char* name;
    const char* help;
    std::function<Status(CommandContext&, const std::string&)> fn;
  };
  const IdCommand id_commands[] = {
      {"show", "Show a service principal (never its secret).\n\nExample:\n  certvault sp show ID",
       &PrincipalShow},
      {"disable",
       "Disable a service principal: it gets no tokens, and the tokens it holds stop working "
       "within seconds.\n\nExample:\n  certvault sp disable ID",
       [](CommandContext& ctx, const std::string& id) {
         return PrincipalSetEnabled(ctx, id, false);
       }},
      {"enable", "Enable a disabled service principal.\n\nExample:\n  certvault sp enable ID",
       [](CommandContext& ctx, const std::string& id) {
         return PrincipalSetEnabled(ctx, id, true);
       }},
      {"delete",
       "Delete a service principal and its role assignments.\n\nExample:\n  certvault sp delete "
       "ID",
       &PrincipalDelete},
  };
  for (const auto& spec : id_commands) {
    auto id = std::make_shared<std::string>();
    auto& cmd = *AddCommand(sp, spec.name, spec.help);
    cmd.add_option("id", *id, "Client id of the principal")->required();
    runner.Bind(
        cmd, [id, fn = spec.fn](CommandContext& ctx) { return fn(ctx, *id); }, false);
  }
  {
    auto id = std::make_shared<std::string>();
    auto expires = std::make_shared<std::string>();
    auto& cmd =
        *AddCommand(sp, "rotate-secret",
                    "Give a service principal a new client secret and print it once.\n"
                    "The old secret stops working at once.\n\n"
                    "Examples:\n"
                    "  certvault sp rotate-secret ID\n"
                    "  certvault sp rotate-secret ID --secret-expires 2026-06-30T00:00:00Z");
    cmd.add_option("id", *id, "Client id of the principal")->required();
    cmd.add_option("--secret-expires", *expires, expires_help);
    runner.Bind(
        cmd,
        [id, expires](CommandContext& ctx) { return PrincipalRotateSecret(ctx, *id, *expires); },
        false);
  }
}

}  // namespace certvault::cli
