#pragma once
// Conversions between the forms certificates take on the wire and in files: PEM text, base64
// DER (Key Vault's "cer", "csr" and "x5c"), and certificate secret values (PEM text or base64
// PKCS#12, told apart by the secret's content type).

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace certvault::cli {

inline constexpr std::string_view kPemContentType = "application/x-pem-file";
inline constexpr std::string_view kPfxContentType = "application/x-pkcs12";

// True if `data` holds PEM blocks (as opposed to binary DER or PKCS#12).
bool LooksLikePem(std::string_view data);

// Every CERTIFICATE block in `pem` as base64 DER, in file order: the x5c list of a merge.
// Fails with BadParameter if there is none or one is malformed.
Result<std::vector<std::string>> PemToX5c(std::string_view pem);

// `der` as a PEM block with `label` ("CERTIFICATE", "CERTIFICATE REQUEST"), 64-column lines.
std::string DerToPem(std::string_view label, std::string_view der);
// The same from base64 DER; fails with BadParameter if `base64_der` is not base64.
Result<std::string> Base64DerToPem(std::string_view label, std::string_view base64_der);

// A certificate secret's value as PEM text: the private key (PKCS#8) followed by the
// certificates. PKCS#12 values (base64) are opened with the empty password, as Key Vault stores
// them.
Result<std::string> SecretValueToPem(std::string_view value, std::string_view content_type);
// A certificate secret's value as PKCS#12 bytes with an empty password.
Result<std::string> SecretValueToPfx(std::string_view value, std::string_view content_type);

}  // namespace certvault::cli
