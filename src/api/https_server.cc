#include "api/https_server.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "api/render.h"
#include "common/log.h"
#include "common/text.h"
#include "common/thread.h"

namespace certvault::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kReadTimeout = std::chrono::seconds(60);
constexpr size_t kHeaderLimit = 16 * 1024;

HttpRequest ToRequest(const http::request_parser<http::string_body>& parser,
                      const std::string& remote, std::chrono::steady_clock::time_point received,
                      int64_t received_unix_ms) {
  const auto& msg = parser.get();
  HttpRequest req;
  req.received = received;
  req.received_unix_ms = received_unix_ms;
  req.method = std::string(msg.method_string());
  ParseTarget(std::string_view(msg.target().data(), msg.target().size()), req.path, req.query);
  for (const auto& field : msg) {
    const auto name = field.name_string();
    req.headers.emplace_back(AsciiLower(std::string_view(name.data(), name.size())),
                             std::string(field.value()));
  }
  req.remote_address = remote;
  return req;
}

http::response<http::string_body> ToBeast(HttpResponse&& r, unsigned version, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "certvault");
  if (!r.body.empty() || r.status != 204) res.set(http::field::content_type, r.content_type);
  for (auto& [k, v] : r.headers) res.set(k, v);
  res.body() = std::move(r.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<ssl::context> ctx, const Api& api,
          asio::thread_pool& workers)
      : ssl_ctx_(std::move(ctx)),
        stream_(std::move(socket), *ssl_ctx_),
        api_(api),
        workers_(workers) {
    boost::system::error_code ec;
    auto endpoint = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) remote_ = endpoint.address().to_string();
  }

  void Run() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
    stream_.async_handshake(ssl::stream_base::server,
                            beast::bind_front_handler(&Session::OnHandshake, shared_from_this()));
  }

 private:
  void OnHandshake(beast::error_code ec) {
    if (ec) return;
    ReadHeader();
  }

  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(api_.options().max_body_bytes);
    beast::get_lowest_layer(stream_).expires_after(kReadTimeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t) {
    received_ = std::chrono::steady_clock::now();
    received_unix_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    // Beast checks a declared Content-Length against the body limit while reading the header.
    if (ec == http::error::body_limit) {
      return Answer(ToRequest(*parser_, remote_, received_, received_unix_ms_), TooLarge(),
                    parser_->get().version(), false, true);
    }
    if (ec) return Close();
    HttpRequest head = ToRequest(*parser_, remote_, received_, received_unix_ms_);
    const auto& msg = parser_->get();
    if (auto early = api_.BeforeBody(head)) {
      // The body (if any) is left unread, so the connection cannot be reused after it.
      const bool body_pending = !parser_->is_done();
      return Answer(std::move(head), std::move(*early), msg.version(),
                    msg.keep_alive() && !body_pending, body_pending);
    }
    if (parser_->content_length() && *parser_->content_length() > api_.options().max_body_bytes) {
      return Answer(std::move(head), TooLarge(), msg.version(), false, true);
    }
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnBody, shared_from_this()));
  }

  static HttpResponse TooLarge() {
    HttpResponse r;
    r.status = 413;
    r.body = RenderError(Error(ErrorKind::kPayloadTooLarge, "RequestBodyTooLarge",
                               "the request body exceeds the server's limit"));
    return r;
  }

  void OnBody(beast::error_code ec, size_t) {
    if (ec == http::error::body_limit) {
      return Answer(ToRequest(*parser_, remote_, received_, received_unix_ms_), TooLarge(),
                    parser_->get().version(), false, true);
    }
    if (ec) return Close();
    auto request =
        std::make_shared<HttpRequest>(ToRequest(*parser_, remote_, received_, received_unix_ms_));
    request->body = std::move(parser_->get().body());
    const unsigned version = parser_->get().version();
    const bool keep_alive = parser_->get().keep_alive();
    if (request->method == "GET" || request->method == "HEAD") {
      return api_.Handle(*request, Responder(version, keep_alive, false));
    }
    asio::post(workers_, [self = shared_from_this(), request, version, keep_alive] {
      self->api_.Handle(*request, self->Responder(version, keep_alive, false));
    });
  }

  // Sends a response, once it is audited, on this connection's executor (the audit writer calls
  // back on its own thread).
  Respond Responder(unsigned version, bool keep_alive, bool drain) {
    return [self = shared_from_this(), version, keep_alive, drain](HttpResponse response) {
      asio::post(self->stream_.get_executor(),
                 [self, response = std::move(response), version, keep_alive, drain]() mutable {
                   self->Write(std::move(response), version, keep_alive, drain);
                 });
    };
  }

  // A response made without running a handler (413, the 401 challenge): audited all the same.
  void Answer(HttpRequest request, HttpResponse response, unsigned version, bool keep_alive,
              bool drain) {
    api_.Answer(request, std::move(response), Responder(version, keep_alive, drain));
  }

  // `drain`: the request body was not read. Closing with unread data makes the kernel reset the
  // connection, which can destroy the response before the client reads it, so the rest of the
  // body is read and discarded (bounded in size and time) before closing.
  void Write(HttpResponse&& response, unsigned version, bool keep_alive, bool drain = false) {
    auto res = std::make_shared<http::response<http::string_body>>(
        ToBeast(std::move(response), version, keep_alive));
    http::async_write(
        stream_, *res,
        [self = shared_from_this(), res, keep_alive, drain](beast::error_code ec, size_t) {
          if (!ec && drain) return self->Drain(0);
          if (ec || !keep_alive) return self->Close();
          self->ReadHeader();
        });
  }

  void Drain(size_t drained) {
    constexpr size_t kDrainLimit = 64 * 1024 * 1024;
    if (drained == 0) beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(10));
    if (drained > kDrainLimit) return Close();
    buffer_.consume(buffer_.size());
    stream_.async_read_some(buffer_.prepare(64 * 1024),
                            [self = shared_from_this(), drained](beast::error_code ec, size_t n) {
                              if (ec) return self->Close();
                              self->Drain(drained + n);
                            });
  }

  void Close() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) {
      beast::error_code ignored;
      beast::get_lowest_layer(self->stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    });
  }

  std::shared_ptr<ssl::context> ssl_ctx_;  // outlives stream_, which refers to it
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const Api& api_;
  asio::thread_pool& workers_;
  std::string remote_;
  std::chrono::steady_clock::time_point received_;
  int64_t received_unix_ms_ = 0;
};

Result<std::shared_ptr<ssl::context>> MakeTlsContext(const std::string& chain_pem,
                                                     const std::string& key_pem) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* raw = ctx->native_handle();
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  SSL_CTX_set_options(
      raw, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  // TLS 1.2: forward-secret AEAD suites only. TLS 1.3 suites are all modern.
  SSL_CTX_set_cipher_list(raw,
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                          "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
  boost::system::error_code ec;
  ctx->use_certificate_chain(asio::buffer(chain_pem), ec);
  if (ec) return Fail(Error::Internal("cannot load the TLS certificate: " + ec.message()));
  ctx->use_private_key(asio::buffer(key_pem), ssl::context::pem, ec);
  if (ec) return Fail(Error::Internal("cannot load the TLS key: " + ec.message()));
  return ctx;
}

class BeastServer final : public HttpsServer {
 public:
  BeastServer(const Api& api, int io_threads, int worker_threads)
      : api_(api),
        ioc_(io_threads),
        acceptor_(asio::make_strand(ioc_)),
        workers_(worker_threads),
        io_threads_(io_threads) {}

  ~BeastServer() override { Stop(); }

  Status Init(const HttpsOptions& options) {
    sni_certificate_ = options.sni_certificate;
    CV_RETURN_IF_ERROR(ReloadCertificate(options.cert_chain_pem, options.key_pem));
    boost::system::error_code ec;
    auto address = asio::ip::make_address(options.host, ec);
    if (ec) return Fail(Error::BadParameter("invalid listen address " + options.host));
    tcp::endpoint endpoint(address, options.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Fail(Error::Unavailable("cannot listen on " + options.host + ":" +
                                     std::to_string(options.port) + ": " + ec.message()));
    }
    port_ = acceptor_.local_endpoint().port();
    Accept();
    for (int i = 0; i < io_threads_; ++i)
      threads_.emplace_back([this] {
        NameThisThread("cv-io");
        ioc_.run();
      });
    return Ok();
  }

  uint16_t port() const override { return port_; }

  Status ReloadCertificate(const std::string& chain_pem, const std::string& key_pem) override {
    CV_ASSIGN_OR_RETURN(auto ctx, MakeTlsContext(chain_pem, key_pem));
    if (sni_certificate_) {
      SSL_CTX_set_tlsext_servername_callback(ctx->native_handle(), &BeastServer::OnServerName);
      SSL_CTX_set_tlsext_servername_arg(ctx->native_handle(), this);
    }
    std::lock_guard lock(ssl_mu_);
    ssl_ctx_ = std::move(ctx);
    sni_contexts_.clear();
    return Ok();
  }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    asio::post(acceptor_.get_executor(), [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
    });
    ioc_.stop();
    for (auto& t : threads_) t.join();
    workers_.join();
  }

 private:
  // Runs during a handshake: switches the connection to a certificate for its SNI name when the
  // default one does not cover it.
  static int OnServerName(SSL* ssl, int* /*alert*/, void* arg) {
    auto* self = static_cast<BeastServer*>(arg);
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (name == nullptr) return SSL_TLSEXT_ERR_OK;
    const std::string host = AsciiLower(name);
    std::shared_ptr<ssl::context> ctx;
    {
      std::lock_guard lock(self->ssl_mu_);
      auto it = self->sni_contexts_.find(host);
      if (it != self->sni_contexts_.end()) ctx = it->second;
    }
    if (!ctx) {
      std::optional<TlsCertificate> cert = self->sni_certificate_(host);
      if (!cert) return SSL_TLSEXT_ERR_OK;
      auto made = MakeTlsContext(cert->chain_pem, cert->key_pem);
      if (!made) return SSL_TLSEXT_ERR_OK;
      ctx = *made;
      std::lock_guard lock(self->ssl_mu_);
      if (self->sni_contexts_.size() >= kMaxSniContexts) self->sni_contexts_.clear();
      self->sni_contexts_[host] = ctx;
    }
    SSL_set_SSL_CTX(ssl, ctx->native_handle());
    return SSL_TLSEXT_ERR_OK;
  }

  void Accept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket s) {
      if (ec) {
        if (ec == asio::error::operation_aborted) return;
        log::Warn("accept failed: " + ec.message());
      } else {
        s.set_option(tcp::no_delay(true), ec);
        std::shared_ptr<ssl::context> ctx;
        {
          std::lock_guard lock(ssl_mu_);
          ctx = ssl_ctx_;
        }
        std::make_shared<Session>(std::move(s), std::move(ctx), api_, workers_)->Run();
      }
      if (acceptor_.is_open()) Accept();
    });
  }

  const Api& api_;
  asio::io_context ioc_;
  std::mutex ssl_mu_;
  std::shared_ptr<ssl::context> ssl_ctx_;  // guarded by ssl_mu_
  static constexpr size_t kMaxSniContexts = 256;
  std::map<std::string, std::shared_ptr<ssl::context>> sni_contexts_;  // guarded by ssl_mu_
  std::function<std::optional<TlsCertificate>(const std::string&)> sni_certificate_;
  tcp::acceptor acceptor_;
  asio::thread_pool workers_;
  int io_threads_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  std::atomic<bool> stopped_{false};
};

}  // namespace

Result<std::unique_ptr<HttpsServer>> HttpsServer::Start(const Api& api, HttpsOptions options) {
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  const int io = options.io_threads > 0 ? options.io_threads : cores;
  // Writers spend much of their time waiting for the group commit's fsync; more threads than
  // cores let more of them join one batch.
  const int workers = options.worker_threads > 0 ? options.worker_threads : 8 * cores;
  auto server = std::make_unique<BeastServer>(api, io, workers);
  CV_RETURN_IF_ERROR(server->Init(options));
  return std::unique_ptr<HttpsServer>(std::move(server));
}

}  // namespace certvault::api
