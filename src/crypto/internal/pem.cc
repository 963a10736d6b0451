#include "crypto/internal/pem.h"

#include "crypto/encoding.h"

namespace certvault::crypto::internal {

namespace {

constexpr std::string_view kBegin = "-----BEGIN ";
constexpr std::string_view kEnd = "-----END ";
constexpr std::string_view kDashes = "-----";
constexpr size_t kMaxLabel = 64;

std::string_view TrimLine(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
    line.remove_suffix(1);
  }
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  return line;
}

// Splits the RFC 1421 headers ("Name: value" lines up to a blank line) off `body`.
std::string_view StripHeaders(std::string_view body, bool& encrypted) {
  std::string_view rest = body;
  while (!rest.empty() && (rest.front() == '\r' || rest.front() == '\n')) rest.remove_prefix(1);
  bool saw_header = false;
  while (!rest.empty()) {
    const size_t eol = rest.find('\n');
    const std::string_view line = TrimLine(rest.substr(0, eol));
    if (line.find(':') == std::string_view::npos) {
      // A blank line ends the headers; the first base64 line means there were none.
      if (line.empty() && saw_header) rest = eol == std::string_view::npos ? "" : rest.substr(eol);
      break;
    }
    saw_header = true;
    if (line.starts_with("Proc-Type:") && line.find("ENCRYPTED") != std::string_view::npos) {
      encrypted = true;
    }
    rest = eol == std::string_view::npos ? "" : rest.substr(eol + 1);
  }
  return rest;
}

}  // namespace

Result<std::vector<PemBlock>> ParsePemBlocks(std::string_view text) {
  std::vector<PemBlock> blocks;
  size_t pos = 0;
  while ((pos = text.find(kBegin, pos)) != std::string_view::npos) {
    const size_t label_start = pos + kBegin.size();
    const size_t label_end = text.find(kDashes, label_start);
    const size_t eol = text.find('\n', label_start);
    if (label_end == std::string_view::npos || (eol != std::string_view::npos && eol < label_end) ||
        label_end - label_start > kMaxLabel) {
      return Fail(Error::BadParameter("malformed PEM BEGIN line"));
    }
    PemBlock block;
    block.label = std::string(text.substr(label_start, label_end - label_start));
    const size_t body_start = label_end + kDashes.size();
    const std::string end_line = std::string(kEnd) + block.label + std::string(kDashes);
    const size_t body_end = text.find(end_line, body_start);
    if (body_end == std::string_view::npos) {
      return Fail(Error::BadParameter("PEM block \"" + block.label + "\" has no END line"));
    }
    const std::string_view body =
        StripHeaders(text.substr(body_start, body_end - body_start), block.encrypted);
    auto der = Base64Decode(body);
    if (!der) {
      return Fail(Error::BadParameter("PEM block \"" + block.label + "\" has invalid base64"));
    }
    if (der->empty()) {
      return Fail(Error::BadParameter("PEM block \"" + block.label + "\" is empty"));
    }
    block.der = std::move(*der);
    blocks.push_back(std::move(block));
    pos = body_end + end_line.size();
  }
  return blocks;
}

bool LooksLikePem(std::string_view text) { return text.find(kBegin) != std::string_view::npos; }

std::string ToPem(std::string_view label, std::string_view der) {
  const std::string b64 = Base64Encode(der);
  std::string out;
  out.reserve(b64.size() + b64.size() / 64 + 2 * label.size() + 40);
  out.append(kBegin).append(label).append(kDashes).push_back('\n');
  for (size_t i = 0; i < b64.size(); i += 64) {
    out.append(b64, i, 64).push_back('\n');
  }
  out.append(kEnd).append(label).append(kDashes).push_back('\n');
  return out;
}

bool IsPrivateKeyLabel(std::string_view label) {
  return label == "PRIVATE KEY" || label == "RSA PRIVATE KEY" || label == "EC PRIVATE KEY";
}

bool IsEncryptedKeyLabel(std::string_view label) { return label == "ENCRYPTED PRIVATE KEY"; }

}  // namespace certvault::crypto::internal
