#include "cli/role_commands.h"

#include <CLI/CLI.hpp>
#include <array>
#include <cctype>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/api_client.h"
#include "cli/config.h"
#include "cli/identity_views.h"
#include "cli/runner.h"

namespace certvault::cli {
namespace {

using nlohmann::json;

// The roles of docs/permissions.md, as the server spells them.
constexpr std::array<std::string_view, 6> kRoles = {"Administrator",    "Certificates Officer",
                                                    "Certificate User", "Secrets Officer",
                                                    "Secrets User",     "Reader"};

// Lower-case letters and digits only: "Secrets User", "secrets-user" and "SECRETSUSER" fold alike.
std::string Fold(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c)) out += static_cast<char>(std::tolower(c));
  }
  return out;
}

// Whether `key` (folded) names `role`, with its first word singular or plural: people write
// "Certificate Officer" as often as "Certificates Officer". No two roles differ only so.
bool NamesRole(const std::string& key, std::string_view role) {
  const size_t space = role.find(' ');
  std::string first = Fold(role.substr(0, space));
  const std::string rest = space == std::string_view::npos ? "" : Fold(role.substr(space));
  if (!first.empty() && first.back() == 's') first.pop_back();
  return key == first + rest || key == first + "s" + rest;
}

std::string RoleNames() {
  std::string out;
  for (auto role : kRoles) {
    if (!out.empty()) out += ", ";
    out += "\"" + std::string(role) + "\"";
  }
  return out;
}

}  // namespace

Result<std::string> NormalizeRoleName(std::string_view role) {
  const std::string key = Fold(role);
  for (auto known : kRoles) {
    if (NamesRole(key, known)) return std::string(known);
  }
  return Fail(UsageError("--role: unknown role '" + std::string(role) + "'; roles are " +
                         RoleNames() + " (see docs/permissions.md)"));
}

Status RoleAssign(CommandContext& ctx, const RoleAssignArgs& args) {
  CV_ASSIGN_OR_RETURN(std::string role, NormalizeRoleName(args.role));
  if (args.scope.empty() || args.scope.front() != '/') {
    return Fail(
        UsageError("--scope must start with '/', like /, /vaults/NAME or "
                   "/vaults/NAME/certificates/CERT"));
  }
  if (args.principal.empty()) return Fail(UsageError("--principal must not be empty"));
  json body = {{"principalId", args.principal}, {"role", role}, {"scope", args.scope}};
  CV_ASSIGN_OR_RETURN(json assignment,
                      ctx.api.Management("POST", "/management/roleassignments", &body));
  Print(ctx, assignment, RoleAssignmentView(assignment));
  return Ok();
}

Status RoleList(CommandContext& ctx, const std::string& principal, const std::string& scope) {
  std::string query;
  if (!principal.empty()) query += "&principalId=" + UrlEncode(principal);
  if (!scope.empty()) query += "&scope=" + UrlEncode(scope);
  if (!query.empty()) query[0] = '?';
  CV_ASSIGN_OR_RETURN(auto assignments,
                      ctx.api.ManagementList("/management/roleassignments" + query));
  Print(ctx, json(assignments), RoleAssignmentListView(assignments));
  return Ok();
}

Status RoleRemove(CommandContext& ctx, const std::string& id) {
  CV_ASSIGN_OR_RETURN(json assignment, ctx.api.Management("DELETE", "/management/roleassignments/" +
                                                                        PathSegment(id)));
  if (!assignment.is_null()) {
    Print(ctx, assignment, RoleAssignmentView(assignment));
  } else if (ctx.format == OutputFormat::kTable) {
    ctx.out << "removed role assignment " << id << "\n";
  }
  return Ok();
}

void AddRoleCommands(CLI::App& app, CommandRunner& runner) {
  auto& role = *app.add_subcommand(
      "role", "Grant and revoke roles of service principals at a scope (administrators)");
  role.require_subcommand(1);
  {
    auto args = std::make_shared<RoleAssignArgs>();
    auto& cmd = *AddCommand(
        role, "assign",
        "Assign a role to a service principal at a scope.\n"
        "Roles: Administrator, Certificates Officer, Certificate User, Secrets Officer, Secrets "
        "User, Reader (any case; spaces, dashes or none: secrets-user, SecretsUser).\n"
        "Scopes: / (the server), /vaults/VAULT, /vaults/VAULT/certificates/NAME, "
        "/vaults/VAULT/secrets/NAME.\n\n"
        "Examples:\n"
        "  certvault role assign --principal ID --role \"Secrets User\" --scope /vaults/default\n"
        "  certvault role assign --principal ID --role certificates-officer \\\n"
        "      --scope /vaults/default/certificates/web\n"
        "  certvault role assign --principal ID --role Administrator --scope /");
    cmd.add_option("--principal", args->principal, "Client id of the principal")->required();
    cmd.add_option("--role", args->role, "Role name, e.g. \"Secrets User\" or secrets-user")
        ->required();
    cmd.add_option("--scope", args->scope, "Scope, e.g. / or /vaults/default")->required();
    runner.Bind(
        cmd, [args](CommandContext& ctx) { return RoleAssign(ctx, *args); }, false);
  }
  {
    auto principal = std::make_shared<std::string>();
    auto scope = std::make_shared<std::string>();
    auto& cmd = *AddCommand(role, "list",
                            "List role assignments, optionally of one principal or at one "
                            "scope.\n\n"
                            "Examples:\n"
                            "  certvault role list\n"
                            "  certvault role list --principal ID\n"
                            "  certvault role list --scope /vaults/default -o json");
    cmd.add_option("--principal", *principal, "Only assignments of this client id");
    cmd.add_option("--scope", *scope, "Only assignments at exactly this scope");
    runner.Bind(
        cmd, [principal, scope](CommandContext& ctx) { return RoleList(ctx, *principal, *scope); },
        false);
  }
  {
    auto id = std::make_shared<std::string>();
    auto& cmd = *AddCommand(role, "remove",
                            "Remove a role assignment (its id is in `certvault role list`).\n\n"
                            "Example:\n  certvault role remove ASSIGNMENT_ID");
    cmd.add_option("id", *id, "Role assignment id")->required();
    runner.Bind(
        cmd, [id](CommandContext& ctx) { return RoleRemove(ctx, *id); }, false);
  }
}

}  // namespace certvault::cli
