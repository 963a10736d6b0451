#include "cli/secret_commands.h"

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/api_client.h"
#include "cli/config.h"
#include "cli/files.h"
#include "cli/runner.h"
#include "cli/views.h"

namespace certvault::cli {

using nlohmann::json;

Status SecretSet(CommandContext& ctx, const SecretSetArgs& args) {
  std::string value = args.value;
  if (!args.file.empty()) {
    CV_ASSIGN_OR_RETURN(value, ReadFile(args.file));
  }
  json body = {{"value", value}};
  if (!args.content_type.empty()) body["contentType"] = args.content_type;
  CV_ASSIGN_OR_RETURN(json tags, ParseTags(args.tags));
  if (!tags.empty()) body["tags"] = tags;
  CV_ASSIGN_OR_RETURN(json secret,
                      ctx.api.Data("PUT", "/secrets/" + PathSegment(args.name), &body));
  // Echo what was stored, but not the value: terminals and CI logs are not secret stores.
  if (ctx.format == OutputFormat::kJson) secret.erase("value");
  Print(ctx, secret, SecretView(secret));
  return Ok();
}

Status SecretShow(CommandContext& ctx, const std::string& name, const std::string& version) {
  std::string path =
      "/secrets/" + PathSegment(name) + (version.empty() ? "" : "/" + PathSegment(version));
  CV_ASSIGN_OR_RETURN(json secret, ctx.api.Data("GET", path));
  std::string value = secret.value("value", "");
  if (!value.empty() && value.back() != '\n') value += '\n';
  Print(ctx, secret, value);
  return Ok();
}

Status SecretList(CommandContext& ctx) {
  CV_ASSIGN_OR_RETURN(auto items, ctx.api.DataList("/secrets"));
  Print(ctx, json(items), SecretListView(items));
  return Ok();
}

Status SecretDelete(CommandContext& ctx, const std::string& name) {
  CV_ASSIGN_OR_RETURN(json deleted, ctx.api.Data("DELETE", "/secrets/" + PathSegment(name)));
  Print(ctx, deleted, DeletedSecretView(deleted));
  return Ok();
}

void AddSecretCommands(CLI::App& app, CommandRunner& runner) {
  auto& secret = *app.add_subcommand("secret", "Manage secrets in a vault");
  secret.require_subcommand(1);
  {
    auto args = std::make_shared<SecretSetArgs>();
    auto& cmd =
        *AddCommand(secret, "set",
                    "Set a secret's value (creates a new version).\n\n"
                    "Examples:\n"
                    "  certvault secret set db-password --file db.pass\n"
                    "  certvault secret set api-key --value s3cr3t --content-type text/plain");
    cmd.add_option("name", args->name, "Secret name")->required();
    auto* value = cmd.add_option("--value", args->value,
                                 "The value (visible in the process list; prefer --file)");
    auto* file = cmd.add_option("--file", args->file, "Read the value from this file")
                     ->check(CLI::ExistingFile)
                     ->excludes(value);
    value->excludes(file);
    cmd.add_option("--content-type", args->content_type, "Content type, e.g. text/plain");
    cmd.add_option("--tags", args->tags, "Tags, comma separated key=value pairs")->delimiter(',');
    runner.Bind(cmd, [args, value, file](CommandContext& ctx) -> Status {
      if (value->count() == 0 && file->count() == 0) {
        return Fail(UsageError("secret set needs --value or --file"));
      }
      return SecretSet(ctx, *args);
    });
  }
  {
    auto name = std::make_shared<std::string>();
    auto version = std::make_shared<std::string>();
    auto& cmd = *AddCommand(secret, "show",
                            "Print a secret's value (-o json: the whole secret).\n\n"
                            "Examples:\n"
                            "  certvault secret show db-password\n"
                            "  certvault secret show db-password --version 6a1f... -o json");
    cmd.add_option("name", *name, "Secret name")->required();
    cmd.add_option("--version", *version, "Version id (default: current)");
    runner.Bind(cmd,
                [name, version](CommandContext& ctx) { return SecretShow(ctx, *name, *version); });
  }
  {
    auto& cmd = *AddCommand(secret, "list",
                            "List the secrets in the vault (without values).\n\n"
                            "Example:\n  certvault secret list");
    runner.Bind(cmd, [](CommandContext& ctx) { return SecretList(ctx); });
  }
  {
    auto name = std::make_shared<std::string>();
    auto& cmd = *AddCommand(secret, "delete",
                            "Delete a secret (soft delete).\n\n"
                            "Example:\n  certvault secret delete db-password");
    cmd.add_option("name", *name, "Secret name")->required();
    runner.Bind(cmd, [name](CommandContext& ctx) { return SecretDelete(ctx, *name); });
  }
}

}  // namespace certvault::cli
