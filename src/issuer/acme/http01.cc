#include "issuer/acme/http01.h"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "common/log.h"

namespace certvault::issuer::acme {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::string_view kPrefix = "/.well-known/acme-challenge/";
constexpr auto kEntryLifetime = std::chrono::hours(24);
constexpr auto kIoTimeout = std::chrono::seconds(10);
constexpr int kMaxConnections = 256;
constexpr int kMaxRequestsPerConnection = 100;

struct ListenAddress {
  asio::ip::address address;
  unsigned short port = 0;
};

Result<ListenAddress> ParseListen(std::string_view listen) {
  auto bad = [&listen] {
    return Error::BadParameter("ACME http-01 listen address \"" + std::string(listen) +
                               "\" is not host:port");
  };
  std::string host;
  std::string_view port_text;
  if (!listen.empty() && listen.front() == '[') {
    const size_t close = listen.find(']');
    if (close == std::string_view::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return Fail(bad());
    }
    host = std::string(listen.substr(1, close - 1));
    port_text = listen.substr(close + 2);
  } else {
    const size_t colon = listen.rfind(':');
    if (colon == std::string_view::npos) return Fail(bad());
    host = std::string(listen.substr(0, colon));
    port_text = listen.substr(colon + 1);
  }
  if (port_text.empty() || port_text.size() > 5) return Fail(bad());
  int port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9') return Fail(bad());
    port = port * 10 + (c - '0');
  }
  if (port > 65535) return Fail(bad());
  if (host.empty()) host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  ListenAddress out;
  out.address = asio::ip::make_address(host, ec);
  if (ec) return Fail(bad());
  out.port = static_cast<unsigned short>(port);
  return out;
}

}  // namespace

class Http01Responder::Impl {
 public:
  struct Entry {
    std::string key_authorization;
    std::chrono::steady_clock::time_point added;
  };

  ~Impl() { Stop(); }

  Result<int> Start(std::string_view listen) {
    CV_ASSIGN_OR_RETURN(const ListenAddress where, ParseListen(listen));
    std::lock_guard lock(run_mu_);
    if (ioc_) return Fail(Error::Conflict("the ACME http-01 listener is already running"));
    auto ioc = std::make_unique<asio::io_context>(1);
    auto acceptor = std::make_unique<tcp::acceptor>(*ioc);
    const tcp::endpoint endpoint(where.address, where.port);
    boost::system::error_code ec;
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Fail(Error::Unavailable("cannot listen for ACME http-01 on " + std::string(listen) +
                                     ": " + ec.message()));
    }
    const int port = acceptor->local_endpoint().port();
    retry_timer_ = std::make_unique<asio::steady_timer>(*ioc);
    ioc_ = std::move(ioc);
    acceptor_ = std::move(acceptor);
    Accept();
    thread_ = std::thread([this] {
      try {
        ioc_->run();
      } catch (const std::exception& e) {
        log::Error(std::string("ACME http-01 listener stopped: ") + e.what());
      }
    });
    return port;
  }

  void Stop() {
    std::lock_guard lock(run_mu_);
    if (!ioc_) return;
    asio::post(*ioc_, [this] {
      boost::system::error_code ignored;
      acceptor_->close(ignored);
      retry_timer_->cancel();
      ioc_->stop();
    });
    if (thread_.joinable()) thread_.join();
    // Destroying the context destroys the pending handlers, and with them the connections.
    retry_timer_.reset();
    acceptor_.reset();
    ioc_.reset();
  }

  void Put(std::string_view token, std::string_view key_authorization) {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(tokens_,
                  [now](const auto& kv) { return now - kv.second.added > kEntryLifetime; });
    tokens_[std::string(token)] = Entry{std::string(key_authorization), now};
  }

  void Remove(std::string_view token) {
    std::lock_guard lock(mu_);
    auto it = tokens_.find(token);
    if (it != tokens_.end()) tokens_.erase(it);
  }

  std::optional<std::string> Get(std::string_view token) const {
    std::lock_guard lock(mu_);
    auto it = tokens_.find(token);
    if (it == tokens_.end()) return std::nullopt;
    return it->second.key_authorization;
  }

 private:
  class Session : public std::enable_shared_from_this<Session> {
   public:
    Session(Impl* owner, tcp::socket socket) : owner_(owner), stream_(std::move(socket)) {
      ++owner_->connections_;
    }
    ~Session() { --owner_->connections_; }

    void Read() {
      parser_.emplace();
      parser_->header_limit(8 * 1024);
      parser_->body_limit(1024);
      stream_.expires_after(kIoTimeout);
      http::async_read(stream_, buffer_, *parser_,
                       [self = shared_from_this()](beast::error_code ec, size_t) {
                         if (ec) return self->Close();
                         self->Respond();
                       });
    }

   private:
    void Respond() {
      const auto& request = parser_->get();
      auto response = std::make_shared<http::response<http::string_body>>();
      response->version(request.version());
      response->set(http::field::server, "certvault");
      std::string_view target(request.target().data(), request.target().size());
      std::optional<std::string> key_authorization;
      if (target.substr(0, kPrefix.size()) == kPrefix) {
        key_authorization = owner_->Get(target.substr(kPrefix.size()));
      }
      const bool get_or_head =
          request.method() == http::verb::get || request.method() == http::verb::head;
      if (key_authorization && get_or_head) {
        response->result(http::status::ok);
        response->set(http::field::content_type, "application/octet-stream");
        response->body() = *key_authorization;
      } else if (key_authorization) {
        response->result(http::status::method_not_allowed);
        response->set(http::field::allow, "GET, HEAD");
      } else {
        response->result(http::status::not_found);
        response->set(http::field::content_type, "text/plain");
        response->body() = "not found\n";
      }
      const bool keep_alive = request.keep_alive() && ++requests_ < kMaxRequestsPerConnection;
      response->keep_alive(keep_alive);
      response->prepare_payload();
      if (request.method() == http::verb::head) response->body().clear();
      stream_.expires_after(kIoTimeout);
      http::async_write(
          stream_, *response,
          [self = shared_from_this(), response, keep_alive](beast::error_code ec, size_t) {
            if (ec || !keep_alive) return self->Close();
            self->Read();
          });
    }

    void Close() {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream_.close();
    }

    Impl* owner_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    int requests_ = 0;
  };

  void Accept() {
    acceptor_->async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor_->is_open()) return;
      if (ec) {
        // Out of descriptors, say: try again a little later rather than spinning.
        retry_timer_->expires_after(std::chrono::milliseconds(100));
        retry_timer_->async_wait([this](beast::error_code wait_ec) {
          if (!wait_ec && acceptor_->is_open()) Accept();
        });
        return;
      }
      if (connections_.load() >= kMaxConnections) {
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        std::make_shared<Session>(this, std::move(socket))->Read();
      }
      Accept();
    });
  }

  mutable std::mutex mu_;
  std::map<std::string, Entry, std::less<>> tokens_;  // guarded by mu_

  std::mutex run_mu_;  // serialises Start and Stop
  std::unique_ptr<asio::io_context> ioc_;
  std::unique_ptr<tcp::acceptor> acceptor_;  // used on the listener thread once started
  std::unique_ptr<asio::steady_timer> retry_timer_;
  std::thread thread_;
  std::atomic<int> connections_{0};
};

Http01Responder::Http01Responder() : impl_(std::make_unique<Impl>()) {}
Http01Responder::~Http01Responder() = default;

Result<int> Http01Responder::Start(std::string_view listen) { return impl_->Start(listen); }
void Http01Responder::Stop() { impl_->Stop(); }
void Http01Responder::Put(std::string_view token, std::string_view key_authorization) {
  impl_->Put(token, key_authorization);
}
void Http01Responder::Remove(std::string_view token) { impl_->Remove(token); }
std::optional<std::string> Http01Responder::Get(std::string_view token) const {
  return impl_->Get(token);
}

}  // namespace certvault::issuer::acme
