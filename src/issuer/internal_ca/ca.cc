#include "issuer/internal_ca/ca.h"

#include <algorithm>

#include "common/log.h"
#include "crypto/encoding.h"

namespace certvault::issuer::internal_ca {
namespace {

// Where server/bootstrap.cc keeps the built-in root CA, and how it seals setting values.
constexpr char kRootKeySetting[] = "ca_key";
constexpr char kRootCertSetting[] = "ca_cert";
std::string SettingAad(std::string_view setting) { return "setting/" + std::string(setting); }

constexpr int64_t kDay = 86400;
constexpr int64_t kIssuingCaValidity = 5 * 365 * kDay;

Result<crypto::PrivateKey> OpenKey(const keys::KeyProtector& kek, std::string_view setting,
                                   std::string_view sealed) {
  CV_ASSIGN_OR_RETURN(std::string der, kek.Open(sealed, SettingAad(setting)));
  return crypto::PrivateKey::FromDer(der);
}

std::string ChainPem(const std::vector<crypto::Certificate>& chain) {
  std::string pem;
  for (const auto& cert : chain) pem += cert.ToPem();
  return pem;
}

Result<SigningCa> MakeDefaultCa(store::Transaction& txn, const keys::KeyProtector& kek,
                                int64_t now) {
  CV_ASSIGN_OR_RETURN(auto root_sealed, txn.GetSetting(kRootKeySetting));
  CV_ASSIGN_OR_RETURN(auto root_der, txn.GetSetting(kRootCertSetting));
  if (!root_sealed || !root_der) {
    return Fail(Error::Internal("the built-in root CA is missing from the store"));
  }
  CV_ASSIGN_OR_RETURN(auto root_key, OpenKey(kek, kRootKeySetting, *root_sealed));
  CV_ASSIGN_OR_RETURN(auto root, crypto::Certificate::FromDer(*root_der));

  CV_ASSIGN_OR_RETURN(auto key, crypto::PrivateKey::Generate({crypto::KeyKind::kEc, 0, "P-256"}));
  crypto::CertificateSpec spec;
  spec.subject =
      "CN=certvault Issuing CA " + crypto::HexEncode(crypto::RandomBytes(4)) + ", O=certvault";
  spec.key_usage = {"digitalSignature", "keyCertSign", "cRLSign"};
  spec.is_ca = true;
  spec.path_len = 0;
  crypto::IssueRequest request{spec, key.Public(), std::max(now - 300, root.NotBefore()),
                               std::min(now + kIssuingCaValidity, root.NotAfter())};
  CV_ASSIGN_OR_RETURN(auto cert, crypto::IssueCertificate(request, root, root_key));
  return SigningCa{kDefaultCaId, std::move(cert), std::move(key), {std::move(root)}};
}

}  // namespace

std::string ImportedCaId(const crypto::Certificate& ca_cert) {
  return crypto::HexEncode(crypto::Sha256(ca_cert.ToDer())).substr(0, 16);
}

bool IsWellFormedCaId(std::string_view id) {
  if (id == kDefaultCaId) return true;
  return id.size() == 16 && id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

std::string CaSettingName(std::string_view id, std::string_view what) {
  return "internal_ca/" + std::string(id) + "/" + std::string(what);
}

Result<std::optional<crypto::Certificate>> LoadCaCertificate(store::Transaction& txn,
                                                             std::string_view id) {
  CV_ASSIGN_OR_RETURN(auto der, txn.GetSetting(CaSettingName(id, "cert")));
  if (!der) return std::optional<crypto::Certificate>();
  CV_ASSIGN_OR_RETURN(auto cert, crypto::Certificate::FromDer(*der));
  return std::optional<crypto::Certificate>(std::move(cert));
}

Result<std::optional<SigningCa>> LoadCa(store::Transaction& txn, const keys::KeyProtector& kek,
                                        std::string_view id) {
  const std::string key_setting = CaSettingName(id, "key");
  CV_ASSIGN_OR_RETURN(auto cert, LoadCaCertificate(txn, id));
  CV_ASSIGN_OR_RETURN(auto sealed, txn.GetSetting(key_setting));
  if (!cert || !sealed) return std::optional<SigningCa>();
  CV_ASSIGN_OR_RETURN(auto key, OpenKey(kek, key_setting, *sealed));
  CV_ASSIGN_OR_RETURN(auto chain_pem, txn.GetSetting(CaSettingName(id, "chain")));
  std::vector<crypto::Certificate> chain;
  if (chain_pem && !chain_pem->empty()) {
    CV_ASSIGN_OR_RETURN(chain, crypto::ParsePemCertificates(*chain_pem));
  }
  return std::optional<SigningCa>(
      SigningCa{std::string(id), *std::move(cert), std::move(key), std::move(chain)});
}

Status RecordCa(store::Transaction& txn, const keys::KeyProtector& kek, const SigningCa& ca) {
  const std::string key_setting = CaSettingName(ca.id, "key");
  CV_ASSIGN_OR_RETURN(auto existing, txn.GetSetting(key_setting));
  if (existing) return Ok();
  CV_ASSIGN_OR_RETURN(std::string sealed, kek.Seal(ca.key.ToPkcs8Der(), SettingAad(key_setting)));
  CV_RETURN_IF_ERROR(txn.PutSetting(CaSettingName(ca.id, "chain"), ChainPem(ca.chain)));
  CV_RETURN_IF_ERROR(txn.PutSetting(key_setting, sealed));
  return txn.PutSetting(CaSettingName(ca.id, "cert"), ca.cert.ToDer());
}

Result<SigningCa> LoadOrCreateDefaultCa(store::Store& store, const keys::KeyProtector& kek,
                                        const Clock& clock) {
  {
    CV_ASSIGN_OR_RETURN(auto txn, store.BeginRead());
    CV_ASSIGN_OR_RETURN(auto ca, LoadCa(*txn, kek, kDefaultCaId));
    if (ca) return *std::move(ca);
  }
  CV_ASSIGN_OR_RETURN(auto txn, store.BeginWrite());
  CV_ASSIGN_OR_RETURN(auto ca, LoadCa(*txn, kek, kDefaultCaId));
  if (ca) return *std::move(ca);  // made meanwhile by another thread or replica
  CV_ASSIGN_OR_RETURN(SigningCa made, MakeDefaultCa(*txn, kek, clock.NowUnix()));
  CV_RETURN_IF_ERROR(RecordCa(*txn, kek, made));
  CV_RETURN_IF_ERROR(txn->Commit());
  log::Info("built-in CA: created the issuing CA " + made.cert.Subject());
  return made;
}

}  // namespace certvault::issuer::internal_ca
