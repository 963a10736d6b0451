#pragma once
// A strict scanner for PEM text (RFC 7468), written here rather than using PEM_read_bio so that
// every block is seen (OpenSSL's reader stops or skips silently on some malformations), errors
// name the block at fault, and no code path can reach OpenSSL's interactive password prompt.

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace certvault::crypto::internal {

struct PemBlock {
  std::string label;       // "CERTIFICATE", "PRIVATE KEY", ...
  bool encrypted = false;  // RFC 1421 "Proc-Type: 4,ENCRYPTED" header present
  std::string der;
};

// Every BEGIN/END block in `text`, in order; text between blocks is ignored (for example the
// "Bag Attributes" lines that `openssl pkcs12` writes). Fails with BadParameter if a block has
// no matching END line, bad base64 or an empty body.
Result<std::vector<PemBlock>> ParsePemBlocks(std::string_view text);

// True if `text` looks like PEM rather than DER.
bool LooksLikePem(std::string_view text);

// PEM text for `der` under `label`, with 64-column lines.
std::string ToPem(std::string_view label, std::string_view der);

bool IsPrivateKeyLabel(std::string_view label);  // PKCS#8, PKCS#1 or SEC1, unencrypted
bool IsEncryptedKeyLabel(std::string_view label);

}  // namespace certvault::crypto::internal
