#pragma once
// Helpers for crypto/ tests: keys and certificates made once per process (RSA generation is
// slow), scratch files, and running the `openssl` command for interoperability checks.

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "crypto/encoding.h"
#include "crypto/key.h"
#include "crypto/x509.h"

namespace certvault::crypto::test_util {

inline const PrivateKey& TestKey(KeyKind kind, int rsa_bits = 2048,
                                 const std::string& curve = "P-256") {
  static const PrivateKey rsa2048 = *PrivateKey::Generate({KeyKind::kRsa, 2048, ""});
  static const PrivateKey p256 = *PrivateKey::Generate({KeyKind::kEc, 0, "P-256"});
  static const PrivateKey p384 = *PrivateKey::Generate({KeyKind::kEc, 0, "P-384"});
  static const PrivateKey p521 = *PrivateKey::Generate({KeyKind::kEc, 0, "P-521"});
  if (kind == KeyKind::kRsa) return rsa2048;
  if (curve == "P-384") return p384;
  if (curve == "P-521") return p521;
  return p256;
}
inline const PrivateKey& RsaKey() { return TestKey(KeyKind::kRsa); }
inline const PrivateKey& EcKey() { return TestKey(KeyKind::kEc); }

constexpr int64_t kNotBefore = 1700000000;  // 2023-11-14
constexpr int64_t kNotAfter = kNotBefore + 365 * 86400;

inline Certificate SelfSigned(const PrivateKey& key, const std::string& subject, bool is_ca) {
  IssueRequest req{CertificateSpec{}, key.Public(), kNotBefore, kNotAfter};
  req.spec.subject = subject;
  req.spec.is_ca = is_ca;
  if (is_ca) req.spec.key_usage = {"keyCertSign", "cRLSign"};
  return *IssueCertificate(req, std::nullopt, key);
}

inline Certificate IssuedBy(const PrivateKey& subject_key, const std::string& subject,
                            const Certificate& issuer, const PrivateKey& issuer_key, bool is_ca) {
  IssueRequest req{CertificateSpec{}, subject_key.Public(), kNotBefore, kNotAfter};
  req.spec.subject = subject;
  req.spec.is_ca = is_ca;
  if (is_ca) req.spec.key_usage = {"keyCertSign", "cRLSign"};
  return *IssueCertificate(req, issuer, issuer_key);
}

// A directory removed with everything in it when the object goes away.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cv-crypto-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string Write(const std::string& name, const std::string& data) const {
    const std::string file = path_ + "/" + name;
    std::ofstream(file, std::ios::binary) << data;
    return file;
  }
  std::string Read(const std::string& name) const {
    std::ifstream in(path_ + "/" + name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline bool HaveOpensslCommand() { return std::system("openssl version >/dev/null 2>&1") == 0; }

// Runs `command` through the shell; returns its exit status and fills `output` (stdout+stderr).
inline int RunCommand(const std::string& command, std::string* output = nullptr) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  const int status = pclose(pipe);
  if (output != nullptr) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace certvault::crypto::test_util
