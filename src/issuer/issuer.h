#pragma once
// Issuer: a certificate authority that signs a vault's CSRs, behind one small interface.
//
// A vault's issuers (model::Issuer: a name, a provider and its settings) are built into Issuer
// objects by the Provider registered under the issuer's provider name, one folder per provider:
// internal_ca/ (the built-in CA), acme/, command/, worker/. `Self` and `Unknown` are not
// providers: the vault signs Self certificates itself and leaves Unknown ones for a manual merge.
//
// Enroll is called by the lifecycle engine on one of its worker threads, once per attempt, and may
// block (network, child processes) up to the request's deadline. It reports one of:
//   - the issued chain (DER, leaf first), which the engine checks against the pending key and
//     merges;
//   - "not yet" (check_after), when the CA works asynchronously (an ACME order being validated):
//     the engine calls Enroll again after that time with the state the provider saved;
//   - "external": an outside party (a remote worker) completes the job through the API;
//   - an Error: retryable() ones (CA down, timeout, HTTP 5xx, rate limits) are retried with
//     backoff until the certificate expires; any other is terminal and stops the renewal with its
//     message (a template refusing the request, a CA rejecting the CSR).
// Providers keep what they must not repeat (an ACME account, an order URL) by calling
// save_state before taking the step; a restart then resumes instead of starting again.
//
// Thread safety: Issuer and Provider objects are used from several threads at once.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "keys/kek.h"
#include "model/types.h"
#include "store/store.h"

namespace certvault::issuer {

struct EnrollRequest {
  std::string vault;
  std::string certificate;          // the certificate's name
  std::string request_id;           // the pending operation's id; stable across attempts
  std::string job_id;               // the renewal job's id; stable across attempts
  std::string csr_der;              // PKCS#10, signed by the pending key
  model::CertificatePolicy policy;  // the template is policy.issuer.cty
  int64_t not_before = 0;           // the validity the policy asks for (Unix seconds)
  int64_t not_after = 0;
  int64_t deadline = 0;  // give up this attempt (retryably) at this time
  std::string state;     // what this provider saved in an earlier attempt; empty at first
  // Durably records `state` for this job before the provider takes a step it must not repeat.
  std::function<Status(const std::string& state)> save_state;
};

struct Enrollment {
  std::vector<std::string> chain;  // DER, leaf first; empty unless issued
  int64_t check_after = 0;         // not issued yet: call Enroll again after this (Unix s)
  bool external = false;           // not issued: an outside party completes the job
};

class Issuer {
 public:
  virtual ~Issuer() = default;
  virtual Result<Enrollment> Enroll(const EnrollRequest& request) = 0;
};

// Optional ability: issuers that can revoke what they issued (the built-in CA).
class Revoker {
 public:
  virtual ~Revoker() = default;
  // Revokes the certificate `leaf_der` issued by this issuer. `reason` is an RFC 5280 reason
  // name (unspecified, keyCompromise, superseded, cessationOfOperation, ...).
  virtual Status Revoke(const model::CertificateVersion& version, std::string_view reason) = 0;
};

// What providers may use of the server.
struct ProviderContext {
  const Clock* clock = nullptr;
  store::Store* store = nullptr;
  const keys::KeyProtector* kek = nullptr;
  // Base of public URLs this server answers (https://suffix:port), e.g. for CRL locations.
  std::string public_base_url;
  // A certificate authority's trust anchors (PEM), for providers that call HTTPS CAs.
  std::string ca_bundle_path;
  // Where providers keep files of their own (the ACME http-01 tokens live in memory, not here).
  std::string data_dir;
  // The command provider runs only executables inside this directory: whoever may configure
  // issuers through the API must not be able to run any program on the server. Empty: any
  // absolute path (unit tests).
  std::string commands_dir;
};

// A factory for one provider.
class Provider {
 public:
  virtual ~Provider() = default;
  // Checks an issuer's settings (model::Issuer::settings, a JSON object) and credentials before
  // they are stored. Fails with BadParameter naming the field that is wrong.
  virtual Status Validate(const model::Issuer& issuer) const = 0;
  // `password` is the issuer's credentials password, unsealed (empty if none).
  virtual Result<std::shared_ptr<Issuer>> Build(const model::Issuer& issuer,
                                                const std::string& password) const = 0;
};

class Registry {
 public:
  void Register(std::string name, std::unique_ptr<Provider> provider);
  // nullptr if no provider has that name (compared case-insensitively).
  const Provider* Find(std::string_view name) const;
  std::vector<std::string> Names() const;

 private:
  std::map<std::string, std::unique_ptr<Provider>> providers_;  // by lower-case name
};

}  // namespace certvault::issuer
