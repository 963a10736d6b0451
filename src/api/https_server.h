#pragma once
// HttpsServer: the TLS transport (Boost.Beast over Asio). One I/O thread per core accepts and
// reads; GET/HEAD requests are answered on the I/O thread (they are cheap and cached), others run
// on a worker pool so that key generation and signing never stall other connections.
// Keep-alive, header and body limits, read timeouts. Beast stays inside https_server.cc.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api/api.h"
#include "common/result.h"

namespace certvault::api {

struct TlsCertificate {
  std::string chain_pem;  // certificate then its chain
  std::string key_pem;
};

struct HttpsOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8443;        // 0 picks a free port
  std::string cert_chain_pem;  // server certificate then its chain
  std::string key_pem;
  // Asked, during the handshake, for a certificate for an SNI name; nullopt serves the default.
  // Answers are cached until the default certificate is reloaded.
  std::function<std::optional<TlsCertificate>(const std::string& server_name)> sni_certificate;
  int io_threads = 0;      // 0: one per core
  int worker_threads = 0;  // 0: eight per core
};

class HttpsServer {
 public:
  virtual ~HttpsServer() = default;
  // Binds and starts serving in background threads.
  static Result<std::unique_ptr<HttpsServer>> Start(const Api& api, HttpsOptions options);
  virtual uint16_t port() const = 0;
  // Serves new connections with another certificate; open connections keep theirs.
  virtual Status ReloadCertificate(const std::string& cert_chain_pem,
                                   const std::string& key_pem) = 0;
  // Stops accepting, closes connections and joins the threads. Idempotent.
  virtual void Stop() = 0;
};

}  // namespace certvault::api
