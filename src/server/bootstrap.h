#pragma once
// First-start initialisation and reuse of a data directory.
//
// On an empty directory: a key-encryption key (kek, mode 0600), the SQLite store, a built-in root
// CA, the server's TLS certificate signed by it (SANs: the suffix, *.suffix, 127.0.0.1, ::1), an
// administrator service principal with its credentials in admin.json (mode 0600), the CA bundle
// at ca.pem and the vault `default`. Later starts reuse all of it; the TLS certificate is
// re-issued when it nears expiry or the DNS suffix changed.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "keys/kek.h"
#include "store/store.h"

namespace certvault::server {

struct BootstrapOptions {
  std::string data_dir;
  std::string dns_suffix;
  uint16_t port = 0;  // the port actually bound, for admin.json's token_url
  // Lifetime of the server's TLS certificate; it is re-issued when a third of it remains.
  int64_t tls_validity_seconds = 90 * 24 * 3600;
};

struct ServerState {
  std::unique_ptr<keys::KeyProtector> kek;
  std::unique_ptr<store::Store> store;
  std::string tls_chain_pem;  // server certificate then root CA
  std::string tls_key_pem;
  std::vector<std::string> tls_names;  // DNS names the current TLS certificate holds
  int64_t tls_validity_seconds = 0;
  std::string ca_path;
  std::string admin_path;
};

// Opens the directory, creating what is missing. Does not write admin.json (see WriteAdminFile).
Result<ServerState> OpenDataDir(const BootstrapOptions& options, const Clock& clock);

// Re-issues the server's TLS certificate if it nears expiry or does not name every vault host
// ({vault}.{suffix}: clients refuse a single-label wildcard such as *.localhost), and returns the
// current chain and key in state.tls_chain_pem / tls_key_pem.
Status RefreshTlsCertificate(ServerState& state, const std::string& dns_suffix, const Clock& clock);

// A certificate for one host name under the suffix that the main TLS certificate does not name
// (a vault that does not exist yet, so that the client reaches the server and hears
// VaultNotFound instead of failing the handshake). Chain and key as PEM.
Result<std::pair<std::string, std::string>> IssueHostCertificate(ServerState& state,
                                                                 const std::string& host,
                                                                 const Clock& clock);

// Writes admin.json with the token URL for `port`, creating or rotating the administrator's
// secret when the file is missing.
Status WriteAdminFile(ServerState& state, const BootstrapOptions& options, const Clock& clock);

}  // namespace certvault::server
