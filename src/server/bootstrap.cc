#include "server/bootstrap.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "auth/rbac.h"
#include "auth/secret_hash.h"
#include "common/log.h"
#include "crypto/encoding.h"
#include "crypto/x509.h"

namespace certvault::server {

namespace {

constexpr char kCaKey[] = "ca_key";
constexpr char kCaCert[] = "ca_cert";
constexpr char kTlsKey[] = "tls_key";
constexpr char kTlsCert[] = "tls_cert";
constexpr char kAdminClientId[] = "admin_client_id";
constexpr int64_t kDay = 86400;
constexpr int64_t kCaValidity = 10 * 365 * kDay;
// Re-issue the TLS certificate when less than a third of its lifetime is left.

std::string SettingAad(std::string_view key) { return "setting/" + std::string(key); }

Status WriteFile(const std::string& path, std::string_view content, mode_t mode) {
  const std::string tmp = path + ".tmp";
  {
    const mode_t old_mask = umask(077);
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.close();
    umask(old_mask);
    if (!out) return Fail(Error::Internal("cannot write " + tmp));
  }
  chmod(tmp.c_str(), mode);
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Fail(Error::Internal("cannot replace " + path + ": " + ec.message()));
  return Ok();
}

struct KeyAndCert {
  crypto::PrivateKey key;
  crypto::Certificate cert;
};

Result<std::optional<KeyAndCert>> LoadPair(store::Transaction& txn, const keys::KeyProtector& kek,
                                           const char* key_setting, const char* cert_setting) {
  CV_ASSIGN_OR_RETURN(auto sealed, txn.GetSetting(key_setting));
  CV_ASSIGN_OR_RETURN(auto der, txn.GetSetting(cert_setting));
  if (!sealed || !der) return std::optional<KeyAndCert>();
  CV_ASSIGN_OR_RETURN(std::string key_der, kek.Open(*sealed, SettingAad(key_setting)));
  CV_ASSIGN_OR_RETURN(auto key, crypto::PrivateKey::FromDer(key_der));
  CV_ASSIGN_OR_RETURN(auto cert, crypto::Certificate::FromDer(*der));
  return std::optional<KeyAndCert>(KeyAndCert{std::move(key), std::move(cert)});
}

Status StorePair(store::Transaction& txn, const keys::KeyProtector& kek, const char* key_setting,
                 const char* cert_setting, const KeyAndCert& pair) {
  CV_ASSIGN_OR_RETURN(std::string sealed, kek.Seal(pair.key.ToPkcs8Der(), SettingAad(key_setting)));
  CV_RETURN_IF_ERROR(txn.PutSetting(key_setting, sealed));
  return txn.PutSetting(cert_setting, pair.cert.ToDer());
}

Result<KeyAndCert> MakeRootCa(int64_t now) {
  CV_ASSIGN_OR_RETURN(auto key, crypto::PrivateKey::Generate({crypto::KeyKind::kEc, 0, "P-384"}));
  crypto::CertificateSpec spec;
  spec.subject =
      "CN=certvault root CA " + crypto::HexEncode(crypto::RandomBytes(4)) + ", O=certvault";
  spec.key_usage = {"keyCertSign", "cRLSign", "digitalSignature"};
  spec.is_ca = true;
  crypto::IssueRequest request{spec, key.Public(), now - 300, now + kCaValidity};
  CV_ASSIGN_OR_RETURN(auto cert, crypto::IssueCertificate(request, std::nullopt, key));
  return KeyAndCert{std::move(key), std::move(cert)};
}

std::vector<std::string> TlsNames(const std::string& suffix,
                                  const std::vector<model::Vault>& vaults) {
  std::vector<std::string> names = {suffix, "*." + suffix};
  for (const auto& v : vaults) names.push_back(v.name + "." + suffix);
  return names;
}

Result<KeyAndCert> MakeTlsCertificate(const KeyAndCert& ca, const std::vector<std::string>& names,
                                      int64_t now, int64_t validity) {
  const std::string& suffix = names.front();
  CV_ASSIGN_OR_RETURN(auto key, crypto::PrivateKey::Generate({crypto::KeyKind::kEc, 0, "P-256"}));
  crypto::CertificateSpec spec;
  spec.subject = "CN=" + suffix;
  spec.sans.dns_names = names;
  spec.sans.ip_addresses = {"127.0.0.1", "::1"};
  spec.key_usage = {"digitalSignature"};
  spec.ekus = {"1.3.6.1.5.5.7.3.1"};
  crypto::IssueRequest request{spec, key.Public(), now - 300, now + validity};
  CV_ASSIGN_OR_RETURN(auto cert, crypto::IssueCertificate(request, ca.cert, ca.key));
  return KeyAndCert{std::move(key), std::move(cert)};
}

bool TlsCertificateFits(const crypto::Certificate& cert, const std::vector<std::string>& names,
                        int64_t now, int64_t validity) {
  std::vector<std::string> have = cert.Sans().dns_names;
  std::vector<std::string> want = names;
  std::sort(have.begin(), have.end());
  std::sort(want.begin(), want.end());
  return have == want && cert.NotAfter() - now > validity / 3;
}

// Deleting admin.json and restarting is the way back in when every administrator was removed:
// the administrator principal gets its role at server scope again.
Status EnsureServerAdministrator(store::Transaction& txn, const std::string& client_id,
                                 const Clock& clock) {
  CV_ASSIGN_OR_RETURN(auto assignments, txn.ListRoleAssignments());
  for (const auto& a : assignments) {
    if (a.principal_id == client_id && a.role == auth::kRoleAdministrator && a.scope == "/") {
      return Ok();
    }
  }
  return txn.PutRoleAssignment(
      {crypto::NewId(), client_id, auth::kRoleAdministrator, "/", clock.NowUnix()});
}

}  // namespace

Result<ServerState> OpenDataDir(const BootstrapOptions& options, const Clock& clock) {
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) {
    return Fail(
        Error::Internal("cannot create data directory " + options.data_dir + ": " + ec.message()));
  }
  chmod(options.data_dir.c_str(), 0700);
  const std::filesystem::path dir(options.data_dir);

  ServerState state;
  state.tls_validity_seconds = options.tls_validity_seconds;
  CV_ASSIGN_OR_RETURN(state.kek, keys::LoadOrCreateFileKek((dir / "kek").string()));
  CV_ASSIGN_OR_RETURN(state.store, store::OpenSqliteStore((dir / "certvault.db").string()));
  state.ca_path = (dir / "ca.pem").string();
  state.admin_path = (dir / "admin.json").string();
  const int64_t now = clock.NowUnix();

  CV_ASSIGN_OR_RETURN(auto txn, state.store->BeginWrite());
  CV_ASSIGN_OR_RETURN(auto ca, LoadPair(*txn, *state.kek, kCaKey, kCaCert));
  if (!ca) {
    log::Info("first start: creating the built-in root CA");
    CV_ASSIGN_OR_RETURN(auto made, MakeRootCa(now));
    CV_RETURN_IF_ERROR(StorePair(*txn, *state.kek, kCaKey, kCaCert, made));
    ca = std::move(made);
  }
  CV_ASSIGN_OR_RETURN(auto default_vault, txn->GetVault("default"));
  if (!default_vault) CV_RETURN_IF_ERROR(txn->PutVault(model::Vault{"default", now}));
  CV_RETURN_IF_ERROR(txn->Commit());
  CV_RETURN_IF_ERROR(WriteFile(state.ca_path, ca->cert.ToPem(), 0644));
  CV_RETURN_IF_ERROR(RefreshTlsCertificate(state, options.dns_suffix, clock));
  return state;
}

Status RefreshTlsCertificate(ServerState& state, const std::string& dns_suffix,
                             const Clock& clock) {
  const int64_t now = clock.NowUnix();
  CV_ASSIGN_OR_RETURN(auto txn, state.store->BeginWrite());
  CV_ASSIGN_OR_RETURN(auto ca, LoadPair(*txn, *state.kek, kCaKey, kCaCert));
  if (!ca) return Fail(Error::Internal("the built-in CA is missing from the store"));
  CV_ASSIGN_OR_RETURN(auto vaults, txn->ListVaults());
  const std::vector<std::string> names = TlsNames(dns_suffix, vaults);
  CV_ASSIGN_OR_RETURN(auto tls, LoadPair(*txn, *state.kek, kTlsKey, kTlsCert));
  if (!tls || !TlsCertificateFits(tls->cert, names, now, state.tls_validity_seconds)) {
    log::Info("issuing the server's TLS certificate for " + dns_suffix + " and " +
              std::to_string(vaults.size()) + " vault host(s)");
    CV_ASSIGN_OR_RETURN(auto made, MakeTlsCertificate(*ca, names, now, state.tls_validity_seconds));
    CV_RETURN_IF_ERROR(StorePair(*txn, *state.kek, kTlsKey, kTlsCert, made));
    CV_RETURN_IF_ERROR(txn->Commit());
    tls = std::move(made);
  }
  state.tls_chain_pem = tls->cert.ToPem() + ca->cert.ToPem();
  state.tls_key_pem = tls->key.ToPkcs8Pem();
  state.tls_names = tls->cert.Sans().dns_names;
  return Ok();
}

Result<std::pair<std::string, std::string>> IssueHostCertificate(ServerState& state,
                                                                 const std::string& host,
                                                                 const Clock& clock) {
  std::optional<KeyAndCert> ca;
  {
    CV_ASSIGN_OR_RETURN(auto txn, state.store->BeginRead());
    CV_ASSIGN_OR_RETURN(ca, LoadPair(*txn, *state.kek, kCaKey, kCaCert));
  }
  if (!ca) return Fail(Error::Internal("the built-in CA is missing from the store"));
  CV_ASSIGN_OR_RETURN(auto made,
                      MakeTlsCertificate(*ca, {host}, clock.NowUnix(), state.tls_validity_seconds));
  return std::make_pair(made.cert.ToPem() + ca->cert.ToPem(), made.key.ToPkcs8Pem());
}

Status WriteAdminFile(ServerState& state, const BootstrapOptions& options, const Clock& clock) {
  const std::string token_url =
      "https://" + options.dns_suffix + ":" + std::to_string(options.port) + "/oauth2/token";
  nlohmann::json existing;
  {
    std::ifstream in(state.admin_path);
    if (in) existing = nlohmann::json::parse(in, nullptr, false);
  }
  CV_ASSIGN_OR_RETURN(auto txn, state.store->BeginWrite());
  CV_ASSIGN_OR_RETURN(auto client_id, txn->GetSetting(kAdminClientId));
  std::optional<model::Principal> principal;
  if (client_id) {
    CV_ASSIGN_OR_RETURN(principal, txn->GetPrincipal(*client_id));
  }

  std::string secret;
  const bool file_valid =
      existing.is_object() && principal &&
      existing.value("client_id", "") == principal->client_id &&
      auth::VerifyClientSecret(existing.value("client_secret", ""), principal->secret_hash);
  if (file_valid) {
    secret = existing.value("client_secret", "");
  } else {
    // No usable credentials file: create the administrator, or rotate its secret.
    if (!principal) {
      principal = model::Principal{};
      principal->client_id = crypto::NewId();
      principal->display_name = "administrator";
      principal->created = clock.NowUnix();
      CV_RETURN_IF_ERROR(txn->PutSetting(kAdminClientId, principal->client_id));
      log::Info("created the administrator service principal");
    } else {
      log::Warn("admin.json missing or stale: rotating the administrator's secret");
    }
    secret = auth::NewClientSecret();
    principal->secret_hash = auth::HashClientSecret(secret);
    principal->secret_expires = 0;
    principal->enabled = true;
    principal->updated = clock.NowUnix();
    CV_RETURN_IF_ERROR(txn->PutPrincipal(*principal));
    CV_RETURN_IF_ERROR(EnsureServerAdministrator(*txn, principal->client_id, clock));
  }
  CV_RETURN_IF_ERROR(txn->Commit());
  nlohmann::json file = {
      {"client_id", principal->client_id}, {"client_secret", secret}, {"token_url", token_url}};
  return WriteFile(state.admin_path, file.dump(2) + "\n", 0600);
}

}  // namespace certvault::server
