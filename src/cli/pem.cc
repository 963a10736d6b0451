#include "cli/pem.h"

#include "crypto/encoding.h"
#include "crypto/x509.h"

namespace certvault::cli {
namespace {

bool IsPfxType(std::string_view content_type, std::string_view value) {
  if (content_type == kPfxContentType) return true;
  if (content_type == kPemContentType) return false;
  return !LooksLikePem(value);  // unknown or missing type: judge by content
}

}  // namespace

bool LooksLikePem(std::string_view data) {
  return data.find("-----BEGIN ") != std::string_view::npos;
}

Result<std::vector<std::string>> PemToX5c(std::string_view pem) {
  CV_ASSIGN_OR_RETURN(auto certs, crypto::ParsePemCertificates(pem));
  std::vector<std::string> x5c;
  x5c.reserve(certs.size());
  for (const auto& cert : certs) x5c.push_back(crypto::Base64Encode(cert.ToDer()));
  return x5c;
}

std::string DerToPem(std::string_view label, std::string_view der) {
  std::string b64 = crypto::Base64Encode(der);
  std::string out = "-----BEGIN " + std::string(label) + "-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) {
    out.append(b64, i, 64);
    out += '\n';
  }
  out += "-----END " + std::string(label) + "-----\n";
  return out;
}

Result<std::string> Base64DerToPem(std::string_view label, std::string_view base64_der) {
  CV_ASSIGN_OR_RETURN(std::string der, crypto::Base64Decode(base64_der));
  return DerToPem(label, der);
}

Result<std::string> SecretValueToPem(std::string_view value, std::string_view content_type) {
  if (!IsPfxType(content_type, value)) {
    std::string pem(value);
    if (!pem.empty() && pem.back() != '\n') pem += '\n';
    return pem;
  }
  CV_ASSIGN_OR_RETURN(std::string der, crypto::Base64Decode(value));
  CV_ASSIGN_OR_RETURN(auto contents, crypto::ParsePkcs12(der, ""));
  std::string pem = contents.key.ToPkcs8Pem();
  for (const auto& cert : contents.certificates) pem += cert.ToPem();
  return pem;
}

Result<std::string> SecretValueToPfx(std::string_view value, std::string_view content_type) {
  if (IsPfxType(content_type, value)) return crypto::Base64Decode(value);
  CV_ASSIGN_OR_RETURN(auto bundle, crypto::ParsePemBundle(value));
  if (!bundle.key) {
    return Fail(Error::BadParameter("the certificate's secret holds no private key"));
  }
  if (bundle.certificates.empty()) {
    return Fail(Error::BadParameter("the certificate's secret holds no certificate"));
  }
  return crypto::BuildPkcs12(*bundle.key, bundle.certificates, "");
}

}  // namespace certvault::cli
