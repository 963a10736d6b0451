// Wires the `cert` commands to CLI11: names, options, help text and examples.

#include <CLI/CLI.hpp>
#include <memory>

#include "cli/cert_commands.h"
#include "cli/runner.h"

namespace certvault::cli {
namespace {

CLI::Option* AddName(CLI::App& cmd, std::string& name) {
  return cmd.add_option("name", name, "Certificate name")->required();
}

void AddCreate(CLI::App& cert, CommandRunner& runner) {
  auto args = std::make_shared<CertCreateArgs>();
  auto& cmd = *AddCommand(
      cert, "create",
      "Create a certificate: the vault generates the key and the "
      "issuer signs it.\n"
      "Waits for issuance and prints the certificate; with "
      "--issuer Unknown prints the CSR to sign instead.\n\n"
      "Examples:\n"
      "  certvault cert create web --dns web.example.com,www.example.com\n"
      "  certvault cert create api --kty EC --curve P-384 --validity P90D\n"
      "  certvault cert create ext --issuer Unknown --subject 'CN=ext.example.com, O=Contoso'");
  AddName(cmd, args->name);
  cmd.add_option("--subject", args->subject, "Subject DN (default CN=NAME)");
  cmd.add_option("--dns", args->dns, "DNS subject alternative names, comma separated")
      ->delimiter(',');
  cmd.add_option("--kty", args->kty, "Key type: RSA (default) or EC")
      ->check(CLI::IsMember({"RSA", "EC", "RSA-HSM", "EC-HSM"}));
  cmd.add_option("--size", args->size, "RSA key size (default 2048)")
      ->check(CLI::IsMember({2048, 3072, 4096}));
  cmd.add_option("--curve", args->curve, "EC curve (default P-256)")
      ->check(CLI::IsMember({"P-256", "P-384", "P-521"}));
  auto* months =
      cmd.add_option("--validity-months", args->validity_months, "Validity in months (default 12)")
          ->check(CLI::Range(1, 1200));
  cmd.add_option("--validity", args->validity,
                 "Validity as an ISO 8601 duration, e.g. PT10M or P7D (sent as "
                 "x509_props.validity_duration)")
      ->excludes(months);
  cmd.add_option("--issuer", args->issuer,
                 "Issuer: Self (default), Unknown (you sign the CSR and merge), or a configured "
                 "issuer name");
  cmd.add_option("--template", args->template_name,
                 "The issuer's template (sent as issuer.cty), e.g. a built-in CA template name");
  cmd.add_option("--content-type", args->content_type,
                 "Form of the secret holding key and chain: pfx (default) or pem")
      ->check(CLI::IsMember({"pem", "pfx"}));
  cmd.add_flag("--not-exportable", args->not_exportable, "The private key can never be downloaded");
  cmd.add_option("--tags", args->tags, "Tags, comma separated key=value pairs")->delimiter(',');
  cmd.add_flag("--no-wait", args->no_wait, "Print the pending operation instead of waiting");
  cmd.add_option("--wait-timeout", args->wait_seconds, "Seconds to wait for issuance (default 300)")
      ->check(CLI::Range(1, 86400));
  runner.Bind(cmd, [args](CommandContext& ctx) { return CertCreate(ctx, *args); });
}

void AddImport(CLI::App& cert, CommandRunner& runner) {
  auto args = std::make_shared<CertImportArgs>();
  auto& cmd =
      *AddCommand(cert, "import",
                  "Import a certificate with its private key from a PEM or PFX (PKCS#12) file.\n"
                  "The format is detected from the content.\n\n"
                  "Examples:\n"
                  "  certvault cert import web --file web.pem\n"
                  "  certvault cert import web --file web.pfx --password-file pfx.pass");
  AddName(cmd, args->name);
  cmd.add_option("--file", args->file, "PEM (key + certificates) or PFX file")
      ->required()
      ->check(CLI::ExistingFile);
  auto* password =
      cmd.add_option("--password", args->password, "PFX password (prefer --password-file)");
  cmd.add_option("--password-file", args->password_file, "File holding the PFX password")
      ->check(CLI::ExistingFile)
      ->excludes(password);
  cmd.add_option("--tags", args->tags, "Tags, comma separated key=value pairs")->delimiter(',');
  runner.Bind(cmd, [args](CommandContext& ctx) { return CertImport(ctx, *args); });
}

void AddShowListVersions(CLI::App& cert, CommandRunner& runner) {
  {
    auto name = std::make_shared<std::string>();
    auto version = std::make_shared<std::string>();
    auto& cmd = *AddCommand(cert, "show",
                            "Show a certificate (the current version unless --version).\n\n"
                            "Examples:\n"
                            "  certvault cert show web\n"
                            "  certvault cert show web --version 0f3c... -o json");
    AddName(cmd, *name);
    cmd.add_option("--version", *version, "Version id (32 hex)");
    runner.Bind(cmd,
                [name, version](CommandContext& ctx) { return CertShow(ctx, *name, *version); });
  }
  {
    auto max = std::make_shared<int>(0);
    auto& cmd = *AddCommand(cert, "list",
                            "List the certificates in the vault (all pages).\n\n"
                            "Examples:\n"
                            "  certvault cert list\n"
                            "  certvault cert list --max 10 -o json");
    cmd.add_option("--max", *max, "Show at most N certificates")->check(CLI::PositiveNumber);
    runner.Bind(cmd, [max](CommandContext& ctx) { return CertList(ctx, *max); });
  }
  {
    auto name = std::make_shared<std::string>();
    auto& cmd = *AddCommand(cert, "versions",
                            "List the versions of a certificate.\n\n"
                            "Example:\n"
                            "  certvault cert versions web");
    AddName(cmd, *name);
    runner.Bind(cmd, [name](CommandContext& ctx) { return CertVersions(ctx, *name); });
  }
}

void AddDownload(CLI::App& cert, CommandRunner& runner) {
  auto args = std::make_shared<CertDownloadArgs>();
  auto& cmd = *AddCommand(
      cert, "download",
      "Download a certificate: pem (key + chain), pfx (PKCS#12, empty password) or cer (the "
      "public certificate as PEM).\nFiles holding a private key are written with mode 0600.\n\n"
      "Examples:\n"
      "  certvault cert download web --format pem --out web.pem\n"
      "  certvault cert download web --format pfx --out web.pfx\n"
      "  certvault cert download web --format cer --out web.crt");
  AddName(cmd, args->name);
  cmd.add_option("--version", args->version, "Version id (default: current)");
  cmd.add_option("--format", args->format, "pem (default), pfx or cer")
      ->check(CLI::IsMember({"pem", "pfx", "cer"}));
  cmd.add_option("--out", args->out, "File to write")->required();
  runner.Bind(cmd, [args](CommandContext& ctx) { return CertDownload(ctx, *args); });
}

void AddPendingMerge(CLI::App& cert, CommandRunner& runner) {
  {
    auto args = std::make_shared<CertPendingArgs>();
    auto& cmd =
        *AddCommand(cert, "pending",
                    "Show, cancel or delete a certificate's pending operation; save its CSR.\n\n"
                    "Examples:\n"
                    "  certvault cert pending ext\n"
                    "  certvault cert pending ext --csr-out ext.csr\n"
                    "  certvault cert pending ext --cancel\n"
                    "  certvault cert pending ext --delete");
    AddName(cmd, args->name);
    auto* csr = cmd.add_option("--csr-out", args->csr_out, "Write the CSR (PEM) to this file");
    auto* cancel = cmd.add_flag("--cancel", args->cancel, "Request cancellation")->excludes(csr);
    cmd.add_flag("--delete", args->remove, "Delete the operation")->excludes(csr, cancel);
    runner.Bind(cmd, [args](CommandContext& ctx) { return CertPending(ctx, *args); });
  }
  {
    auto name = std::make_shared<std::string>();
    auto file = std::make_shared<std::string>();
    auto& cmd =
        *AddCommand(cert, "merge",
                    "Complete a pending certificate with the certificate chain signed by your CA.\n"
                    "The file holds PEM certificates, the signed leaf first.\n\n"
                    "Example:\n"
                    "  certvault cert merge ext --file ext-chain.pem");
    AddName(cmd, *name);
    cmd.add_option("--file", *file, "PEM file with the signed certificate and its chain")
        ->required()
        ->check(CLI::ExistingFile);
    runner.Bind(cmd, [name, file](CommandContext& ctx) { return CertMerge(ctx, *name, *file); });
  }
}

void AddRenewRevoke(CLI::App& cert, CommandRunner& runner) {
  {
    auto args = std::make_shared<CertRenewArgs>();
    auto& cmd = *AddCommand(
        cert, "renew",
        "Renew a certificate now: the vault makes a new key and CSR and its issuer signs them.\n"
        "Starts a renewal job (as AutoRenew does) and, unless --no-wait, follows it until it "
        "succeeds, fails or is cancelled (at most --timeout), then prints the new version. A "
        "failed job prints its last error and exits 1; `certvault jobs retry ID` starts it "
        "again.\n\n"
        "Examples:\n"
        "  certvault cert renew web\n"
        "  certvault cert renew web --validity P30D --timeout PT15M\n"
        "  certvault cert renew adcs-web --no-wait      # a worker issuer: follow with jobs show");
    AddName(cmd, args->name);
    cmd.add_option("--validity", args->validity,
                   "Validity of the new version as an ISO 8601 duration, e.g. P30D (default: the "
                   "policy's)");
    cmd.add_flag("--wait,!--no-wait", args->wait,
                 "Wait for the job and print the new version (default), or print the job at once");
    cmd.add_option("--timeout", args->timeout,
                   "How long to wait: ISO 8601 duration or seconds (default PT5M)");
    runner.Bind(cmd, [args](CommandContext& ctx) { return CertRenew(ctx, *args); });
  }
  {
    auto args = std::make_shared<CertRevokeArgs>();
    auto& cmd = *AddCommand(
        cert, "revoke",
        "Revoke a version of a certificate at its issuer (issuers that can revoke: internal).\n"
        "The issuer lists it in its CRL. Name the version, or --current for the current one.\n"
        "Reasons (RFC 5280): unspecified, keyCompromise, cACompromise, affiliationChanged, "
        "superseded, cessationOfOperation, certificateHold, removeFromCRL, privilegeWithdrawn, "
        "aACompromise.\n\n"
        "Examples:\n"
        "  certvault cert revoke web --version 0f3c... --reason keyCompromise\n"
        "  certvault cert revoke web --current --reason superseded");
    AddName(cmd, args->name);
    auto* version = cmd.add_option("--version", args->version, "Version id (32 hex)");
    cmd.add_flag("--current", args->current, "Revoke the current version")->excludes(version);
    cmd.add_option("--reason", args->reason, "Revocation reason (default: unspecified)");
    runner.Bind(cmd, [args](CommandContext& ctx) { return CertRevoke(ctx, *args); });
  }
}

void AddDeletion(CLI::App& cert, CommandRunner& runner) {
  struct Spec {
    const char* name;
    const char* help;
    Status (*fn)(CommandContext&, const std::string&);
  };
  const Spec specs[] = {
      {"delete",
       "Delete a certificate (soft delete: it can be recovered until purged).\n\n"
       "Example:\n  certvault cert delete web",
       &CertDelete},
      {"recover", "Recover a deleted certificate.\n\nExample:\n  certvault cert recover web",
       &CertRecover},
      {"purge", "Permanently remove a deleted certificate.\n\nExample:\n  certvault cert purge web",
       &CertPurge},
  };
  for (const auto& spec : specs) {
    auto name = std::make_shared<std::string>();
    auto& cmd = *AddCommand(cert, spec.name, spec.help);
    AddName(cmd, *name);
    runner.Bind(cmd, [name, fn = spec.fn](CommandContext& ctx) { return fn(ctx, *name); });
  }
}

}  // namespace

void AddCertCommands(CLI::App& app, CommandRunner& runner) {
  auto& cert = *app.add_subcommand("cert", "Manage certificates in a vault");
  cert.require_subcommand(1);
  AddCreate(cert, runner);
  AddImport(cert, runner);
  AddShowListVersions(cert, runner);
  AddDownload(cert, runner);
  AddPendingMerge(cert, runner);
  AddRenewRevoke(cert, runner);
  AddDeletion(cert, runner);
}

}  // namespace certvault::cli
