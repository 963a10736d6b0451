#pragma once
// Plain domain types. No behaviour beyond defaults; invariants are enforced by src/vault.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace certvault::model {

using Tags = std::map<std::string, std::string>;

// Key Vault object attributes. Times are Unix seconds.
struct Attributes {
  bool enabled = true;
  std::optional<int64_t> nbf;
  std::optional<int64_t> exp;
  int64_t created = 0;
  int64_t updated = 0;
};

struct Vault {
  std::string name;
  int64_t created = 0;
};

struct KeyProps {
  std::string kty = "RSA";  // RSA or EC (RSA-HSM / EC-HSM accepted and stored as given)
  int key_size = 2048;      // RSA only
  std::string curve;        // EC only: P-256, P-384, P-521
  bool exportable = true;
  bool reuse_key = false;
};

struct SubjectAltNames {
  std::vector<std::string> dns_names, emails, upns, uris, ip_addresses;
};

struct X509Props {
  std::string subject;
  SubjectAltNames sans;
  std::vector<std::string> ekus;
  std::vector<std::string> key_usage;
  int validity_months = 12;
  // certvault extension: ISO 8601 duration ("PT10M", "P7D"); takes precedence over months.
  std::string validity_duration;
};

struct LifetimeAction {
  std::optional<int> lifetime_percentage;
  std::optional<int> days_before_expiry;
  std::string action_type = "AutoRenew";  // AutoRenew or EmailContacts
};

struct IssuerParameters {
  std::string name = "Self";  // Self, Unknown, or a configured issuer
  std::string cty;            // certificate type / template
  std::optional<bool> cert_transparency;
};

struct CertificatePolicy {
  KeyProps key;
  std::string content_type = "application/x-pkcs12";
  X509Props x509;
  std::vector<LifetimeAction> lifetime_actions;
  IssuerParameters issuer;
  Attributes attributes;  // of the policy itself
};

// Set on an object (certificate or secret) while it is soft-deleted.
struct Deletion {
  int64_t deleted_date = 0;
  int64_t scheduled_purge_date = 0;
};

// A certificate by name: its policy and which version is current.
struct Certificate {
  std::string vault;
  std::string name;
  CertificatePolicy policy;
  std::string current_version;  // empty until the first version exists
  std::optional<Deletion> deleted;
  int64_t created = 0;
  int64_t updated = 0;
};

struct CertificateVersion {
  std::string vault;
  std::string name;
  std::string version;             // 32 hex
  std::string cer;                 // leaf certificate, DER
  std::vector<std::string> chain;  // issuing chain, DER each, leaf excluded
  std::string wrapped_key;         // PKCS#8 private key sealed by the KEK; empty if none
  std::string content_type;        // secret content type at the time of issue
  bool exportable = true;
  Attributes attributes;
  Tags tags;
};

// A certificate's in-flight (or last finished) issuance.
struct PendingOperation {
  std::string vault;
  std::string name;
  std::string request_id;   // 32 hex; stable across retries
  std::string csr;          // DER
  std::string wrapped_key;  // the pending key, sealed by the KEK
  IssuerParameters issuer;
  std::string status = "inProgress";  // inProgress, completed, failed, cancelled
  std::string status_details;
  bool cancellation_requested = false;
  std::string error_code;
  std::string error_message;
  std::string target_version;  // the version created when completed
  Attributes attributes;       // applied to the new version on merge
  Tags tags;
  int64_t created = 0;
  int64_t updated = 0;
};

struct Secret {
  std::string vault;
  std::string name;
  std::string current_version;
  std::optional<Deletion> deleted;
  int64_t created = 0;
  int64_t updated = 0;
};

struct SecretVersion {
  std::string vault;
  std::string name;
  std::string version;
  std::string wrapped_value;  // sealed by the KEK
  std::string content_type;
  Attributes attributes;
  Tags tags;
};

struct Contact {
  std::string email;
  std::string name;
  std::string phone;
};

// A service principal (client credentials identity). What it may do comes from its role
// assignments, not from the principal itself.
struct Principal {
  std::string client_id;
  std::string display_name;
  std::string secret_hash;     // "pbkdf2-sha256$iterations$salt_b64$hash_b64"
  int64_t secret_expires = 0;  // Unix seconds; 0: the secret does not expire
  bool enabled = true;
  int64_t created = 0;
  int64_t updated = 0;
};

// Grants `role` to a principal at `scope`: "/" (the server), "/vaults/{vault}",
// "/vaults/{vault}/certificates/{name}" or "/vaults/{vault}/secrets/{name}".
struct RoleAssignment {
  std::string id;  // 32 hex
  std::string principal_id;
  std::string role;  // a role name as in auth/rbac.h, e.g. "Secrets User"
  std::string scope;
  int64_t created = 0;
};

}  // namespace certvault::model
