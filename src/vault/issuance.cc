#include "vault/issuance.h"

#include "model/codec.h"

namespace certvault::vault {

Result<crypto::KeySpec> KeySpecFor(const model::KeyProps& key) {
  crypto::KeySpec spec;
  if (key.kty.rfind("EC", 0) == 0) {
    spec.kind = crypto::KeyKind::kEc;
    spec.curve = key.curve.empty() ? "P-256" : key.curve;
  } else {
    spec.kind = crypto::KeyKind::kRsa;
    spec.rsa_bits = key.key_size;
  }
  CV_RETURN_IF_ERROR(crypto::ValidateKeySpec(spec));
  return spec;
}

Result<crypto::CertificateSpec> CertificateSpecFor(const model::X509Props& x509) {
  crypto::CertificateSpec spec;
  spec.subject = x509.subject;
  spec.sans.dns_names = x509.sans.dns_names;
  spec.sans.emails = x509.sans.emails;
  spec.sans.upns = x509.sans.upns;
  spec.sans.uris = x509.sans.uris;
  spec.sans.ip_addresses = x509.sans.ip_addresses;
  spec.key_usage = x509.key_usage;
  spec.ekus = x509.ekus;
  if (spec.subject.empty() && spec.sans.empty()) {
    return Fail(Error::BadParameter("the policy needs x509_props.subject or at least one SAN"));
  }
  CV_RETURN_IF_ERROR(crypto::ValidateCertificateSpec(spec));
  return spec;
}

model::CertificatePolicy PolicyFromCertificate(const crypto::Certificate& cert,
                                               const crypto::PrivateKey& key,
                                               const std::string& content_type) {
  model::CertificatePolicy p;
  const crypto::KeySpec spec = key.Spec();
  if (spec.kind == crypto::KeyKind::kEc) {
    p.key.kty = "EC";
    p.key.curve = spec.curve;
  } else {
    p.key.kty = "RSA";
    p.key.key_size = spec.rsa_bits;
  }
  p.content_type = content_type;
  p.x509.subject = cert.Subject();
  const crypto::SubjectAltNames sans = cert.Sans();
  p.x509.sans = {sans.dns_names, sans.emails, sans.upns, sans.uris, sans.ip_addresses};
  p.x509.key_usage = cert.KeyUsage();
  p.x509.ekus = cert.Ekus();
  const int64_t lifetime = cert.NotAfter() - cert.NotBefore();
  p.x509.validity_months = static_cast<int>(std::max<int64_t>(1, (lifetime + 2629745) / 2629746));
  p.issuer.name = "Unknown";
  model::LifetimeAction notify = model::DefaultLifetimeAction();
  notify.action_type = "EmailContacts";  // an Unknown issuer cannot renew by itself
  p.lifetime_actions = {notify};
  return p;
}

}  // namespace certvault::vault
