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
  // When the lifecycle scheduler must next look at the current version (a lifetime action or
  // the expiry is due), Unix seconds; 0: nothing left to do.
  int64_t next_check = 0;
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
  std::string job_id;          // the renewal job driving the operation; empty for a manual merge
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

// A certificate issuer configured in a vault: Key Vault's issuer bundle plus certvault's
// provider settings.
struct IssuerAdmin {
  std::string first_name;
  std::string last_name;
  std::string email;
  std::string phone;
};

struct Issuer {
  std::string vault;
  std::string name;
  std::string provider;          // internal, acme, command, worker
  std::string account_id;        // credentials.account_id (e.g. an ACME EAB key id)
  std::string wrapped_password;  // credentials.pwd sealed by the KEK; empty if none
  std::string organization_id;
  std::vector<IssuerAdmin> admins;
  std::string settings = "{}";  // the provider's settings, a JSON object (certvault extension)
  bool enabled = true;
  int64_t created = 0;
  int64_t updated = 0;
};

// One run of a job's step.
struct JobAttempt {
  int64_t started = 0;
  int64_t finished = 0;  // 0 while running
  std::string outcome;   // succeeded, retry, failed, waiting, in progress
  std::string error;
};

// A durable unit of issuance work: obtain a new version of a certificate from its issuer. It
// survives restarts; a worker thread leases it, and a lease that runs out frees it for another.
struct Job {
  std::string id;   // 32 hex, stable
  std::string key;  // de-duplication key (unique when not empty), e.g. one renewal per version
  std::string vault;
  std::string name;               // the certificate
  std::string trigger;            // AutoRenew, manual, create
  std::string source_version;     // the version being renewed; empty for a new certificate
  std::string validity;           // ISO 8601 duration overriding the policy's validity, or empty
  std::string request_id;         // the pending operation this job drives; empty until created
  std::string issuer;             // the issuer's name
  std::string status = "queued";  // queued, running, waiting, succeeded, failed, cancelled
  int64_t not_before = 0;         // the next attempt starts no earlier (Unix seconds)
  int64_t deadline = 0;           // retry until then (the renewed version's expiry); 0: no limit
  std::string lease_owner;        // who holds it (engine thread or remote worker)
  int64_t lease_expires = 0;
  std::string state;  // the provider's saved progress (opaque)
  std::string last_error;
  std::vector<JobAttempt> attempts;  // the most recent ones, oldest first
  int64_t created = 0;
  int64_t updated = 0;
};

// An event in the transactional outbox, written in the same transaction as the change it
// describes. Delivered at least once; `id` lets consumers de-duplicate.
struct Event {
  int64_t seq = 0;   // assigned by the store, increasing
  std::string id;    // 32 hex
  std::string type;  // e.g. Microsoft.KeyVault.CertificateNewVersionCreated
  std::string vault;
  std::string object_type;  // Certificate, Secret
  std::string object_name;
  std::string version;
  std::optional<int64_t> nbf;
  std::optional<int64_t> exp;
  std::string key;            // de-duplication key (unique when not empty)
  std::string detail = "{}";  // JSON object: what else the event carries (action, error...)
  int64_t time = 0;
};

// Event types (Key Vault's names where Key Vault has the event).
inline constexpr const char* kCertificateNewVersionCreated =
    "Microsoft.KeyVault.CertificateNewVersionCreated";
inline constexpr const char* kCertificateNearExpiry = "Microsoft.KeyVault.CertificateNearExpiry";
inline constexpr const char* kCertificateExpired = "Microsoft.KeyVault.CertificateExpired";
// certvault's own: a renewal stopped for good (the reason is in the event's detail).
inline constexpr const char* kCertificateRenewalFailed = "CertVault.CertificateRenewalFailed";

// A certificate revoked by a CA this server runs.
struct Revocation {
  std::string ca;      // the issuing CA's id
  std::string serial;  // hex, as crypto::Certificate::SerialHex
  int64_t revoked = 0;
  std::string reason;  // RFC 5280 reason name
  std::string vault;
  std::string name;
  std::string version;
};

}  // namespace certvault::model
