#include "cli/issuer_commands.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/api_client.h"
#include "cli/config.h"
#include "cli/files.h"
#include "cli/lifecycle_views.h"
#include "cli/runner.h"

namespace certvault::cli {
namespace {

using nlohmann::json;

std::string IssuerPath(const std::string& name) {
  return "/certificates/issuers/" + PathSegment(name);
}

std::string Trim(std::string_view text) {
  size_t b = text.find_first_not_of(" \t");
  if (b == std::string_view::npos) return "";
  size_t e = text.find_last_not_of(" \t");
  return std::string(text.substr(b, e - b + 1));
}

// Files written by editors and `echo` end with a newline that is not part of the secret.
void DropTrailingNewlines(std::string& text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
}

Result<std::string> SettingsText(const IssuerArgs& args) {
  if (!args.settings_file.empty()) return ReadFile(args.settings_file);
  return args.settings;
}

Result<std::optional<std::string>> Password(CommandContext& ctx, const IssuerArgs& args) {
  std::string password;
  if (!args.password_file.empty()) {
    CV_ASSIGN_OR_RETURN(password, ReadFile(args.password_file));
  } else if (args.password_stdin) {
    if (ctx.in == nullptr && ::isatty(STDIN_FILENO) == 1) {
      ctx.err << "reading the password from standard input; end it with Ctrl-D\n" << std::flush;
    }
    std::istream& in = ctx.in != nullptr ? *ctx.in : std::cin;
    password.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) return Fail(ClientError("cannot read the password from standard input"));
  } else {
    return std::optional<std::string>();
  }
  DropTrailingNewlines(password);
  if (password.empty()) {
    return Fail(UsageError(args.password_stdin ? "--password-stdin: standard input was empty"
                                               : "--password-file: the file is empty"));
  }
  return std::optional<std::string>(std::move(password));
}

Status WriteIssuer(CommandContext& ctx, const IssuerArgs& args, bool create) {
  CV_ASSIGN_OR_RETURN(std::string settings, SettingsText(args));
  CV_ASSIGN_OR_RETURN(auto password, Password(ctx, args));
  CV_ASSIGN_OR_RETURN(json body, BuildIssuerBody(args, settings, password, create));
  CV_ASSIGN_OR_RETURN(json issuer,
                      ctx.api.Data(create ? "PUT" : "PATCH", IssuerPath(args.name), &body));
  Print(ctx, issuer, IssuerView(issuer));
  return Ok();
}

void AddIssuerOptions(CLI::App& cmd, IssuerArgs& args, bool create) {
  auto* provider = cmd.add_option("--provider", args.provider,
                                  "Provider: internal (certvault's CA), acme, command (a program "
                                  "the server runs) or worker (`certvault worker` runs it)");
  if (create) provider->required();
  auto* inline_settings = cmd.add_option("--settings", args.settings,
                                         "Provider settings as a JSON object (see docs/cli.md)");
  cmd.add_option("--settings-file", args.settings_file, "File holding the settings JSON object")
      ->check(CLI::ExistingFile)
      ->excludes(inline_settings);
  cmd.add_option("--account-id", args.account_id, "Credential account id (credentials.account_id)");
  auto* password_file =
      cmd.add_option("--password-file", args.password_file,
                     "File holding the credential password (credentials.pwd), e.g. an internal "
                     "CA's PEM private key; trailing newlines are dropped")
          ->check(CLI::ExistingFile);
  cmd.add_flag("--password-stdin", args.password_stdin,
               "Read the credential password from standard input")
      ->excludes(password_file);
  cmd.add_option("--organization-id", args.organization_id, "Organization id (org_details.id)");
  cmd.add_option("--admin", args.admins,
                 "Administrator \"First Last <email> [phone]\" (org_details.admin_details); "
                 "repeat for several" +
                     std::string(create ? "" : "; replaces the list"))
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd.add_option("--enabled", args.enabled, "true or false (attributes.enabled)")
      ->check(CLI::IsMember({"true", "false"}));
}

}  // namespace

Result<json> ParseAdmin(std::string_view text) {
  size_t open = text.find('<');
  size_t close = open == std::string_view::npos ? open : text.find('>', open);
  if (close == std::string_view::npos) {
    return Fail(
        UsageError("--admin wants \"First Last <email>\", got '" + std::string(text) + "'"));
  }
  std::string email = Trim(text.substr(open + 1, close - open - 1));
  if (email.find('@') == std::string::npos || email.find_first_of(" <>") != std::string::npos) {
    return Fail(UsageError("--admin: '" + email + "' is not an email address"));
  }
  std::string name = Trim(text.substr(0, open));
  std::string first = name, last;
  if (size_t space = name.rfind(' '); space != std::string::npos) {
    first = Trim(name.substr(0, space));
    last = name.substr(space + 1);
  }
  json admin = {{"first_name", first}, {"last_name", last}, {"email", email}};
  if (std::string phone = Trim(text.substr(close + 1)); !phone.empty()) admin["phone"] = phone;
  return admin;
}

Result<json> BuildIssuerBody(const IssuerArgs& args, const std::string& settings,
                             const std::optional<std::string>& password, bool create) {
  json body = json::object();
  if (!args.provider.empty()) {
    body["provider"] = args.provider;
  } else if (create) {
    return Fail(UsageError("--provider is required"));
  }
  if (!args.account_id.empty() || password) {
    json credentials = json::object();
    if (!args.account_id.empty()) credentials["account_id"] = args.account_id;
    if (password) credentials["pwd"] = *password;
    body["credentials"] = std::move(credentials);
  }
  if (!args.organization_id.empty() || !args.admins.empty()) {
    json org = json::object();
    if (!args.organization_id.empty()) org["id"] = args.organization_id;
    if (!args.admins.empty()) {
      json admins = json::array();
      for (const auto& text : args.admins) {
        CV_ASSIGN_OR_RETURN(json admin, ParseAdmin(text));
        admins.push_back(std::move(admin));
      }
      org["admin_details"] = std::move(admins);
    }
    body["org_details"] = std::move(org);
  }
  if (!args.enabled.empty()) {
    if (args.enabled != "true" && args.enabled != "false") {
      return Fail(UsageError("--enabled must be true or false"));
    }
    body["attributes"] = {{"enabled", args.enabled == "true"}};
  }
  if (!settings.empty()) {
    const char* option = args.settings_file.empty() ? "--settings" : "--settings-file";
    json parsed = json::parse(settings, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
      return Fail(UsageError(std::string(option) + ": not valid JSON"));
    }
    if (!parsed.is_object()) {
      return Fail(UsageError(std::string(option) + ": must be a JSON object, like {\"lease\": "
                                                   "\"PT5M\"}"));
    }
    body["settings"] = std::move(parsed);
  }
  if (!create && body.empty()) {
    return Fail(
        UsageError("nothing to update: give at least one of --provider, --settings, "
                   "--settings-file, --account-id, --password-file, --password-stdin, "
                   "--organization-id, --admin, --enabled"));
  }
  return body;
}

Status IssuerCreate(CommandContext& ctx, const IssuerArgs& args) {
  return WriteIssuer(ctx, args, /*create=*/true);
}

Status IssuerUpdate(CommandContext& ctx, const IssuerArgs& args) {
  return WriteIssuer(ctx, args, /*create=*/false);
}

Status IssuerShow(CommandContext& ctx, const std::string& name) {
  CV_ASSIGN_OR_RETURN(json issuer, ctx.api.Data("GET", IssuerPath(name)));
  Print(ctx, issuer, IssuerView(issuer));
  return Ok();
}

Status IssuerList(CommandContext& ctx) {
  CV_ASSIGN_OR_RETURN(auto issuers, ctx.api.DataList("/certificates/issuers"));
  Print(ctx, json(issuers), IssuerListView(issuers));
  return Ok();
}

Status IssuerDelete(CommandContext& ctx, const std::string& name) {
  CV_ASSIGN_OR_RETURN(json issuer, ctx.api.Data("DELETE", IssuerPath(name)));
  if (!issuer.is_null()) {
    Print(ctx, issuer, IssuerView(issuer));
  } else if (ctx.format == OutputFormat::kTable) {
    ctx.out << "deleted issuer " << name << "\n";
  }
  return Ok();
}

void AddIssuerCommands(CLI::App& app, CommandRunner& runner) {
  auto& issuer = *app.add_subcommand(
      "issuer", "Manage a vault's certificate issuers (Key Vault's issuers API)");
  issuer.require_subcommand(1);
  {
    auto args = std::make_shared<IssuerArgs>();
    auto& cmd = *AddCommand(
        issuer, "create",
        "Create (or replace) an issuer: PUT /certificates/issuers/NAME.\n"
        "A certificate uses it when its policy names it (cert create --issuer NAME). The "
        "credential password is read from a file or standard input, never from the command "
        "line.\n\n"
        "Examples:\n"
        "  certvault issuer create corp-ca --provider internal \\\n"
        "      --settings '{\"default_template\": \"web\", \"templates\": {\"web\": "
        "{\"max_validity\": \"P90D\"}}}'\n"
        "  certvault issuer create le --provider acme \\\n"
        "      --settings '{\"directory_url\": \"https://acme.example/directory\"}'\n"
        "  certvault issuer create adcs --provider worker --settings '{\"lease\": \"PT10M\"}' \\\n"
        "      --admin 'Ada Lovelace <ada@example.com>'\n"
        "  certvault issuer create runbook --provider command --settings-file runbook.json\n"
        "  certvault issuer create sub-ca --provider internal --settings-file sub-ca.json \\\n"
        "      --password-file sub-ca.key");
    cmd.add_option("name", args->name, "Issuer name")->required();
    AddIssuerOptions(cmd, *args, /*create=*/true);
    runner.Bind(cmd, [args](CommandContext& ctx) { return IssuerCreate(ctx, *args); });
  }
  {
    auto& cmd = *AddCommand(issuer, "list",
                            "List the vault's issuers.\n\n"
                            "Examples:\n"
                            "  certvault issuer list\n"
                            "  certvault issuer list -o json");
    runner.Bind(cmd, [](CommandContext& ctx) { return IssuerList(ctx); });
  }
  {
    auto name = std::make_shared<std::string>();
    auto& cmd = *AddCommand(issuer, "show",
                            "Show an issuer: provider, credentials' account id (never the "
                            "password), organization, attributes and settings.\n\n"
                            "Example:\n"
                            "  certvault issuer show corp-ca");
    cmd.add_option("name", *name, "Issuer name")->required();
    runner.Bind(cmd, [name](CommandContext& ctx) { return IssuerShow(ctx, *name); });
  }
  {
    auto args = std::make_shared<IssuerArgs>();
    auto& cmd = *AddCommand(
        issuer, "update",
        "Change some of an issuer's fields: PATCH /certificates/issuers/NAME.\n"
        "Only the options given are sent; --settings replaces the settings object and --admin "
        "the list of administrators.\n\n"
        "Examples:\n"
        "  certvault issuer update adcs --enabled false\n"
        "  certvault issuer update runbook --settings '{\"command\": \"/opt/ca/sign\", "
        "\"timeout\": \"PT5M\"}'\n"
        "  certvault issuer update sub-ca --password-stdin < sub-ca.key");
    cmd.add_option("name", args->name, "Issuer name")->required();
    AddIssuerOptions(cmd, *args, /*create=*/false);
    runner.Bind(cmd, [args](CommandContext& ctx) { return IssuerUpdate(ctx, *args); });
  }
  {
    auto name = std::make_shared<std::string>();
    auto& cmd = *AddCommand(issuer, "delete",
                            "Delete an issuer; prints the deleted issuer.\n\n"
                            "Example:\n"
                            "  certvault issuer delete adcs");
    cmd.add_option("name", *name, "Issuer name")->required();
    runner.Bind(cmd, [name](CommandContext& ctx) { return IssuerDelete(ctx, *name); });
  }
}

}  // namespace certvault::cli
