#include "issuer/internal_ca/ca_issuer.h"

#include <algorithm>

#include "common/log.h"
#include "issuer/internal_ca/publish.h"
#include "issuer/internal_ca/template.h"

namespace certvault::issuer::internal_ca {

namespace {

// Without trailing slashes, so that URLs come out as {base}/pki/...
std::string TrimSlashes(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

CaIssuer::CaIssuer(const ProviderContext& ctx, std::string name, Settings settings,
                   std::optional<SigningCa> imported)
    : ctx_(ctx),
      base_url_(TrimSlashes(ctx.public_base_url)),
      name_(std::move(name)),
      settings_(std::move(settings)),
      imported_(std::move(imported)) {}

Result<SigningCa> CaIssuer::SigningCaForIssuing() {
  if (imported_) {
    // Recorded before it signs anything, so that its CRL can be published by id.
    if (!imported_recorded_.load()) {
      CV_ASSIGN_OR_RETURN(auto txn, ctx_.store->BeginWrite());
      CV_RETURN_IF_ERROR(RecordCa(*txn, *ctx_.kek, *imported_));
      CV_RETURN_IF_ERROR(txn->Commit());
      imported_recorded_.store(true);
    }
    return *imported_;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!default_ca_) {
    CV_ASSIGN_OR_RETURN(default_ca_, LoadOrCreateDefaultCa(*ctx_.store, *ctx_.kek, *ctx_.clock));
  }
  return *default_ca_;
}

Result<std::optional<SigningCa>> CaIssuer::ExistingCa() {
  if (imported_) return imported_;
  std::lock_guard<std::mutex> lock(mu_);
  if (!default_ca_) {
    CV_ASSIGN_OR_RETURN(auto txn, ctx_.store->BeginRead());
    CV_ASSIGN_OR_RETURN(default_ca_, LoadCa(*txn, *ctx_.kek, kDefaultCaId));
  }
  return default_ca_;
}

Result<Enrollment> CaIssuer::Enroll(const EnrollRequest& request) {
  CV_ASSIGN_OR_RETURN(const Template tmpl, SelectTemplate(settings_, request.policy.issuer.cty));
  auto csr = crypto::ParseCsr(request.csr_der);
  if (!csr) return Fail(csr.error().WithContext("the certificate request"));
  CV_ASSIGN_OR_RETURN(crypto::CertificateSpec spec, ApplyTemplate(tmpl, *csr));
  CV_ASSIGN_OR_RETURN(const SigningCa ca, SigningCaForIssuing());
  CV_ASSIGN_OR_RETURN(
      const Validity validity,
      ValidityFor(tmpl, request.not_before, request.not_after, ctx_.clock->NowUnix(), ca.cert));

  crypto::IssueRequest issue{std::move(spec), csr->public_key, validity.not_before,
                             validity.not_after};
  if (!base_url_.empty()) {
    issue.crl_urls = {CrlUrl(base_url_, ca.id)};
    issue.ca_issuers_urls = {CaCertificateUrl(base_url_, ca.id)};
  }
  CV_ASSIGN_OR_RETURN(const crypto::Certificate cert,
                      crypto::IssueCertificate(issue, ca.cert, ca.key));
  log::Info("internal CA " + ca.id + ": issued serial " + cert.SerialHex() + " for " +
            request.vault + "/" + request.certificate + " (issuer " + name_ + ", template " +
            tmpl.name + ")");
  Enrollment out;
  out.chain.push_back(cert.ToDer());
  out.chain.push_back(ca.cert.ToDer());
  for (const auto& above : ca.chain) out.chain.push_back(above.ToDer());
  return out;
}

Status CaIssuer::Revoke(const model::CertificateVersion& version, std::string_view reason) {
  std::string canonical = "unspecified";
  if (!reason.empty()) {
    CV_ASSIGN_OR_RETURN(canonical, crypto::CanonicalCrlReason(reason));
  }
  if (canonical == "certificateHold" || canonical == "removeFromCRL") {
    return Fail(Error::BadParameter("revocation reason " + canonical +
                                    " is not supported: revocation by the built-in CA is "
                                    "permanent"));
  }
  const std::string what = "certificate " + version.name + " version " + version.version;
  auto leaf = crypto::Certificate::FromDer(version.cer);
  if (!leaf) return Fail(leaf.error().WithContext(what));
  CV_ASSIGN_OR_RETURN(const auto ca, ExistingCa());
  if (!ca || !leaf->IsIssuedBy(ca->cert)) {
    return Fail(Error::BadParameter(what + " was not issued by the CA of issuer " + name_ +
                                    (ca ? " (" + ca->cert.Subject() + ")" : std::string())));
  }

  CV_ASSIGN_OR_RETURN(auto txn, ctx_.store->BeginWrite());
  if (imported_) CV_RETURN_IF_ERROR(RecordCa(*txn, *ctx_.kek, *imported_));
  model::Revocation revocation{ca->id,        leaf->SerialHex(), ctx_.clock->NowUnix(), canonical,
                               version.vault, version.name,      version.version};
  // Revoking again may change the reason (to keyCompromise, say) but keeps the first date.
  CV_ASSIGN_OR_RETURN(const auto existing, txn->ListRevocations(ca->id));
  for (const auto& r : existing) {
    if (r.serial == revocation.serial) revocation.revoked = r.revoked;
  }
  CV_RETURN_IF_ERROR(txn->PutRevocation(revocation));
  CV_RETURN_IF_ERROR(MarkCrlStale(*txn, ca->id));
  CV_RETURN_IF_ERROR(txn->Commit());
  log::Info("internal CA " + ca->id + ": revoked serial " + revocation.serial + " (" + what +
            " of vault " + version.vault + ", reason " + canonical + ")");
  return Ok();
}

}  // namespace certvault::issuer::internal_ca
