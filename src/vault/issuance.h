#pragma once
// Translation between certificate policies and what the crypto layer issues.

#include "common/result.h"
#include "crypto/key.h"
#include "crypto/x509.h"
#include "model/types.h"

namespace certvault::vault {

Result<crypto::KeySpec> KeySpecFor(const model::KeyProps& key);
// Fails with BadParameter if the policy names neither a subject nor any SAN.
Result<crypto::CertificateSpec> CertificateSpecFor(const model::X509Props& x509);

// The policy Key Vault derives for an imported certificate: key, subject, SANs, usages and
// validity read from the certificate; issuer Unknown.
model::CertificatePolicy PolicyFromCertificate(const crypto::Certificate& cert,
                                               const crypto::PrivateKey& key,
                                               const std::string& content_type);

}  // namespace certvault::vault
