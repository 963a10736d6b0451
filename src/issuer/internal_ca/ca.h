#pragma once
// The CAs the `internal` provider signs with, and how the store keeps them.
//
// Server-wide settings (store::Transaction::GetSetting), per CA id:
//   internal_ca/{id}/cert   the CA certificate, DER
//   internal_ca/{id}/key    its PKCS#8 private key sealed by the KEK, aad "setting/<setting name>"
//                           (as server/bootstrap.cc seals the root's)
//   internal_ca/{id}/chain  the certificates above it, PEM, nearest first, ending with the root
//   internal_ca/{id}/crl    the last published CRL and its number (publish.h)
// Id "default" is the server's issuing CA: an intermediate signed by the built-in root (settings
// "ca_cert" and "ca_key", made by server/bootstrap.cc at first start), itself made on first
// use. An imported CA's id is derived from its certificate (ImportedCaId); it is recorded here
// before its first use, so that its CRL can be published knowing only the id.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "crypto/key.h"
#include "crypto/x509.h"
#include "keys/kek.h"
#include "store/store.h"

namespace certvault::issuer::internal_ca {

inline constexpr char kDefaultCaId[] = "default";

struct SigningCa {
  std::string id;
  crypto::Certificate cert;
  crypto::PrivateKey key;
  std::vector<crypto::Certificate> chain;  // cert's issuers, nearest first
};

// The first 16 hex digits of the SHA-256 of the certificate's DER: stable, and distinct for a
// re-issued CA certificate (whose revocations are its own).
std::string ImportedCaId(const crypto::Certificate& ca_cert);

// "default" or 16 lower-case hex digits; anything else names no CA (ids come from URLs).
bool IsWellFormedCaId(std::string_view id);

// "internal_ca/{id}/{what}".
std::string CaSettingName(std::string_view id, std::string_view what);

// The CA stored under `id`, or nullopt.
Result<std::optional<SigningCa>> LoadCa(store::Transaction& txn, const keys::KeyProtector& kek,
                                        std::string_view id);
// Only its certificate (no unsealing), or nullopt.
Result<std::optional<crypto::Certificate>> LoadCaCertificate(store::Transaction& txn,
                                                             std::string_view id);

// Stores `ca` under ca.id unless a CA is stored under that id already.
// REQUIRES: a write transaction; the caller commits.
Status RecordCa(store::Transaction& txn, const keys::KeyProtector& kek, const SigningCa& ca);

// The server's issuing CA. On first use it is made ("CN=certvault Issuing CA <random>",
// EC P-256, path length 0, valid 5 years or until the root expires) in a write transaction
// that checks again, so that concurrent first uses (also on replicas sharing the store) end up
// with one CA. Fails with Internal if the built-in root is missing.
Result<SigningCa> LoadOrCreateDefaultCa(store::Store& store, const keys::KeyProtector& kek,
                                        const Clock& clock);

}  // namespace certvault::issuer::internal_ca
