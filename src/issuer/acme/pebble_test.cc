// End-to-end: AcmeIssuer against a real pebble (the ACME test CA) with real http-01 and dns-01
// validation. pebble-challtestsrv is pebble's DNS server and points every name at 127.0.0.1,
// where this test's Http01Responder listens. Skipped only when pebble is not installed.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/clock.h"
#include "crypto/encoding.h"
#include "crypto/x509.h"
#include "issuer/acme/acme.h"
#include "issuer/acme/acme_issuer.h"
#include "issuer/acme/client.h"
#include "issuer/acme/http01.h"
#include "issuer/acme/order_state.h"
#include "keys/kek.h"
#include "store/store.h"

extern char** environ;

namespace certvault::issuer::acme {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr char kPebble[] = "/usr/bin/pebble";
constexpr char kChalltestsrv[] = "/usr/bin/pebble-challtestsrv";
constexpr char kEabKid[] = "kid-1";
constexpr char kEabKey[] = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

bool TcpAccepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

bool WaitForTcp(int port) {
  for (int i = 0; i < 200; ++i) {  // up to 10 s
    if (TcpAccepts(port)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void WriteFile(const fs::path& path, const std::string& text,
               fs::perms perms = fs::perms::owner_read | fs::perms::owner_write) {
  std::ofstream(path, std::ios::binary) << text;
  fs::permissions(path, perms);
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A child process in its own process group, killed when the object goes away.
class Child {
 public:
  ~Child() { Stop(); }

  bool Start(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
             const fs::path& log) {
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = argv;
    std::vector<char*> argp;
    for (auto& s : args) argp.push_back(s.data());
    argp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    const int rc = posix_spawn(&pid_, argp[0], &actions, &attr, argp.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) pid_ = -1;
    return rc == 0;
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(-pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {  // up to 5 s
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(-pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

// The real transport, except that it spoils the nonce of the first few successful POST
// responses, so that pebble must answer badNonce and the client must retry; counts those answers.
class NonceSpoilingTransport : public HttpTransport {
 public:
  explicit NonceSpoilingTransport(std::unique_ptr<HttpTransport> inner)
      : inner_(std::move(inner)) {}
  Result<HttpResponse> Send(const HttpRequest& request) override {
    auto response = inner_->Send(request);
    if (!response) return response;
    if (ProblemType(*response) == "badNonce") ++bad_nonces;
    if (request.method == "POST" && response->status < 400 && !response->replay_nonce.empty() &&
        spoiled < 3) {
      ++spoiled;
      response->replay_nonce = crypto::Base64UrlEncode("spoiled" + std::to_string(spoiled));
    }
    return response;
  }
  std::atomic<int> bad_nonces{0};
  std::atomic<int> spoiled{0};

 private:
  std::unique_ptr<HttpTransport> inner_;
};

struct PebbleOptions {
  bool eab_required = false;
  int nonce_reject_percent = 0;
};

class AcmePebbleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kPebble, X_OK) != 0 || access(kChalltestsrv, X_OK) != 0) {
      GTEST_SKIP() << "pebble is not installed (Debian package `pebble`)";
    }
    std::string tmpl = (fs::temp_directory_path() / "cv-acme-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto port = responder_.Start("127.0.0.1:0");
    ASSERT_TRUE(port) << port.error().message();
    http_port_ = *port;
    store_ = store::NewMemoryStore();
    kek_ = keys::NewKekFromBytes(std::string(32, '\x42'));
    ctx_.clock = &clock_;
    ctx_.store = store_.get();
    ctx_.kek = kek_.get();
    ctx_.data_dir = dir_.string();
    ctx_.commands_dir = dir_.string();  // the dns-01 hooks are written here
  }

  void TearDown() override {
    pebble_.Stop();
    challtestsrv_.Stop();
    responder_.Stop();
    if (!dir_.empty()) {
      if (HasFailure()) {
        std::cerr << "--- pebble log ---\n"
                  << ReadFile(dir_ / "pebble.log") << "--- challtestsrv log ---\n"
                  << ReadFile(dir_ / "challtestsrv.log");
      }
      fs::remove_all(dir_);
    }
  }

  // Writes pebble's TLS certificate (for 127.0.0.1 and localhost, signed by a CA made here) and
  // config, and starts challtestsrv and pebble.
  void StartPebble(const PebbleOptions& options) {
    const int64_t now = clock_.NowUnix();
    const auto ca_key = *crypto::PrivateKey::Generate({crypto::KeyKind::kEc, 0, "P-256"});
    crypto::IssueRequest ca_req{crypto::CertificateSpec{}, ca_key.Public(), now - 3600,
                                now + 86400};
    ca_req.spec.subject = "CN=certvault test pebble TLS CA";
    ca_req.spec.is_ca = true;
    ca_req.spec.key_usage = {"keyCertSign", "cRLSign"};
    const auto ca = crypto::IssueCertificate(ca_req, std::nullopt, ca_key);
    ASSERT_TRUE(ca);
    const auto tls_key = *crypto::PrivateKey::Generate({crypto::KeyKind::kEc, 0, "P-256"});
    crypto::IssueRequest tls_req{crypto::CertificateSpec{}, tls_key.Public(), now - 3600,
                                 now + 86400};
    tls_req.spec.subject = "CN=localhost";
    tls_req.spec.sans.dns_names = {"localhost"};
    tls_req.spec.sans.ip_addresses = {"127.0.0.1"};
    tls_req.spec.key_usage = {"digitalSignature"};
    tls_req.spec.ekus = {"1.3.6.1.5.5.7.3.1"};
    const auto tls = crypto::IssueCertificate(tls_req, *ca, ca_key);
    ASSERT_TRUE(tls);
    WriteFile(dir_ / "ca.pem", ca->ToPem());
    WriteFile(dir_ / "cert.pem", tls->ToPem());
    WriteFile(dir_ / "key.pem", tls_key.ToPkcs8Pem());

    const int acme_port = FreePort();
    const int management_port = FreePort();
    dns_port_ = FreePort();
    challtestsrv_port_ = FreePort();
    json config = {{"pebble",
                    {{"listenAddress", "127.0.0.1:" + std::to_string(acme_port)},
                     {"managementListenAddress", "127.0.0.1:" + std::to_string(management_port)},
                     {"certificate", (dir_ / "cert.pem").string()},
                     {"privateKey", (dir_ / "key.pem").string()},
                     {"httpPort", http_port_},
                     {"tlsPort", FreePort()},
                     {"ocspResponderURL", ""},
                     {"externalAccountBindingRequired", options.eab_required}}}};
    if (options.eab_required) config["pebble"]["externalAccountMACKeys"] = {{kEabKid, kEabKey}};
    WriteFile(dir_ / "pebble.json", config.dump(2));

    ASSERT_TRUE(challtestsrv_.Start(
        {kChalltestsrv, "-management", "127.0.0.1:" + std::to_string(challtestsrv_port_), "-dns01",
         "127.0.0.1:" + std::to_string(dns_port_), "-http01", "", "-https01", "", "-tlsalpn01", "",
         "-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""},
        {}, dir_ / "challtestsrv.log"));
    ASSERT_TRUE(WaitForTcp(challtestsrv_port_)) << "challtestsrv did not start";
    ASSERT_TRUE(
        pebble_.Start({kPebble, "-config", (dir_ / "pebble.json").string(), "-dnsserver",
                       "127.0.0.1:" + std::to_string(dns_port_)},
                      {{"PEBBLE_VA_NOSLEEP", "1"},
                       {"PEBBLE_AUTHZREUSE", "0"},
                       {"PEBBLE_WFE_NONCEREJECT", std::to_string(options.nonce_reject_percent)}},
                      dir_ / "pebble.log"));
    ASSERT_TRUE(WaitForTcp(acme_port)) << "pebble did not start";
    directory_url_ = "https://127.0.0.1:" + std::to_string(acme_port) + "/dir";
  }

  json BaseSettings() const {
    return {{"directory_url", directory_url_},
            {"ca_bundle", (dir_ / "ca.pem").string()},
            {"contact", {"mailto:ops@example.test"}},
            {"poll_interval", "PT1S"}};
  }

  std::shared_ptr<Issuer> Build(const json& settings, const std::string& eab_kid = "",
                                const std::string& eab_key = "") {
    model::Issuer issuer;
    issuer.vault = "v1";
    issuer.name = "pebble";
    issuer.provider = "acme";
    issuer.account_id = eab_kid;
    issuer.settings = settings.dump();
    auto provider = NewAcmeProvider(ctx_, &responder_);
    EXPECT_TRUE(provider->Validate(issuer));
    auto built = provider->Build(issuer, eab_key);
    EXPECT_TRUE(built) << built.error().message();
    return built ? *built : nullptr;
  }

  EnrollRequest MakeRequest(const std::vector<std::string>& names) {
    leaf_key_ = *crypto::PrivateKey::Generate({crypto::KeyKind::kEc, 0, "P-256"});
    crypto::CertificateSpec spec;
    spec.subject = "CN=" + names.front();
    spec.sans.dns_names = names;
    spec.ekus = {"1.3.6.1.5.5.7.3.1"};
    EnrollRequest request;
    request.vault = "v1";
    request.certificate = "app";
    request.request_id = crypto::NewId();
    request.job_id = crypto::NewId();
    request.csr_der = *crypto::BuildCsrDer(*leaf_key_, spec);
    request.deadline = clock_.NowUnix() + 120;
    request.save_state = [this](const std::string& state) {
      saved_.push_back(state);
      return Ok();
    };
    return request;
  }

  // Calls Enroll until it issues or fails, as the lifecycle engine would (a bounded number of
  // times), handing back the state it saved.
  Result<Enrollment> EnrollToEnd(Issuer& issuer, EnrollRequest request) {
    for (int call = 0; call < 20; ++call) {
      if (!saved_.empty()) request.state = saved_.back();
      auto result = issuer.Enroll(request);
      if (!result || !result->chain.empty()) return result;
      EXPECT_GT(result->check_after, 0);
      const int64_t wait = std::clamp<int64_t>(result->check_after - clock_.NowUnix(), 0, 5);
      std::this_thread::sleep_for(std::chrono::seconds(wait));
    }
    return Fail(Error::Internal("Enroll did not finish in 20 calls"));
  }

  void ExpectIssued(const Result<Enrollment>& result, const std::string& name) {
    ASSERT_TRUE(result) << result.error().code() << ": " << result.error().message();
    ASSERT_GE(result->chain.size(), 2u);
    auto leaf = crypto::Certificate::FromDer(result->chain[0]);
    auto intermediate = crypto::Certificate::FromDer(result->chain[1]);
    ASSERT_TRUE(leaf && intermediate);
    EXPECT_TRUE(leaf->MatchesKey(*leaf_key_));
    EXPECT_TRUE(leaf->IsIssuedBy(*intermediate));
    const auto dns = leaf->Sans().dns_names;
    EXPECT_NE(std::find(dns.begin(), dns.end(), name), dns.end());
  }

  OrderState LastState() const {
    EXPECT_FALSE(saved_.empty());
    return saved_.empty() ? OrderState{} : *DecodeOrderState(saved_.back());
  }

  // The orders pebble lists for the issuer's account, read with the account key from the store.
  int CountAccountOrders() {
    auto tx = *store_->BeginRead();
    const std::string key_name = "acme/v1/pebble/account-key";
    auto sealed = *tx->GetSetting(key_name);
    EXPECT_TRUE(sealed.has_value());
    if (!sealed) return -1;
    auto der = kek_->Open(*crypto::Base64Decode(*sealed), key_name);
    EXPECT_TRUE(der);
    auto transport = NewCurlTransport((dir_ / "ca.pem").string());
    AcmeClient client(*transport, {});
    EXPECT_TRUE(client.LoadDirectory(directory_url_));
    client.SetAccountKey(*crypto::PrivateKey::FromDer(*der));
    auto account = client.Post(client.directory().new_account, R"({"onlyReturnExisting":true})",
                               /*use_jwk=*/true);
    EXPECT_TRUE(account) << account.error().message();
    if (!account) return -1;
    client.SetAccountUrl(account->location);
    const json body = json::parse(account->body);
    EXPECT_TRUE(body.contains("orders")) << body.dump();
    if (!body.contains("orders")) return -1;
    auto orders = client.PostAsGet(body["orders"].get<std::string>());
    EXPECT_TRUE(orders) << orders.error().message();
    if (!orders) return -1;
    return static_cast<int>(json::parse(orders->body)["orders"].size());
  }

  fs::path dir_;
  SystemClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<keys::KeyProtector> kek_;
  ProviderContext ctx_;
  Http01Responder responder_;
  int http_port_ = 0;
  int dns_port_ = 0;
  int challtestsrv_port_ = 0;
  Child challtestsrv_;
  Child pebble_;
  std::string directory_url_;
  std::optional<crypto::PrivateKey> leaf_key_;
  std::vector<std::string> saved_;
};

TEST_F(AcmePebbleTest, IssuesWithHttp01ThroughBadNonces) {
  // pebble rejects a fifth of good nonces, and the transport spoils three more.
  ASSERT_NO_FATAL_FAILURE(StartPebble({.nonce_reject_percent = 20}));
  auto settings = ParseAcmeSettings(BaseSettings().dump());
  ASSERT_TRUE(settings);
  auto transport =
      std::make_shared<NonceSpoilingTransport>(NewCurlTransport((dir_ / "ca.pem").string()));
  auto issuer = std::make_shared<AcmeIssuer>(
      ctx_, &responder_, AcmeIssuer::Config{"v1", "pebble", *settings, "", ""}, transport);
  auto result = EnrollToEnd(*issuer, MakeRequest({"app.example.test"}));
  EXPECT_EQ(transport->spoiled, 3);
  EXPECT_GE(transport->bad_nonces, 3);
  ExpectIssued(result, "app.example.test");

  // Every step was saved; the tokens are no longer served.
  const OrderState state = LastState();
  EXPECT_EQ(state.step, "download");
  EXPECT_FALSE(state.order_url.empty());
  EXPECT_FALSE(state.certificate_url.empty());
  ASSERT_FALSE(state.http_tokens.empty());
  for (const std::string& token : state.http_tokens) EXPECT_FALSE(responder_.Get(token));
  // The account key is kept sealed, never as plain DER.
  auto tx = *store_->BeginRead();
  auto sealed = *tx->GetSetting("acme/v1/pebble/account-key");
  ASSERT_TRUE(sealed);
  EXPECT_FALSE(crypto::PrivateKey::FromDer(*crypto::Base64Decode(*sealed)));
  EXPECT_TRUE(tx->GetSetting("acme/v1/pebble/account")->has_value());

  // A second certificate with two names reuses the account.
  saved_.clear();
  auto second = EnrollToEnd(*issuer, MakeRequest({"www.example.test", "api.example.test"}));
  ExpectIssued(second, "api.example.test");
  EXPECT_EQ(LastState().account_url, state.account_url);
}

TEST_F(AcmePebbleTest, BindsTheExternalAccountWhenRequired) {
  ASSERT_NO_FATAL_FAILURE(StartPebble({.eab_required = true}));
  auto issuer = Build(BaseSettings(), kEabKid, kEabKey);
  ASSERT_TRUE(issuer);
  ExpectIssued(EnrollToEnd(*issuer, MakeRequest({"eab.example.test"})), "eab.example.test");
}

TEST_F(AcmePebbleTest, MissingOrWrongExternalAccountBindingIsTerminal) {
  ASSERT_NO_FATAL_FAILURE(StartPebble({.eab_required = true}));
  auto issuer = Build(BaseSettings());
  ASSERT_TRUE(issuer);
  auto missing = issuer->Enroll(MakeRequest({"app.example.test"}));
  ASSERT_FALSE(missing);
  EXPECT_FALSE(missing.error().retryable());
  EXPECT_NE(missing.error().message().find("External Account Binding"), std::string::npos)
      << missing.error().message();

  // A key pebble does not know: pebble refuses the binding.
  auto wrong = Build(BaseSettings(), kEabKid, crypto::Base64UrlEncode(std::string(32, 'x')));
  ASSERT_TRUE(wrong);
  auto refused = wrong->Enroll(MakeRequest({"app.example.test"}));
  ASSERT_FALSE(refused);
  EXPECT_FALSE(refused.error().retryable()) << refused.error().message();
  EXPECT_TRUE(saved_.empty());  // no order was placed
}

TEST_F(AcmePebbleTest, ResumesTheSavedOrderAfterACrash) {
  ASSERT_NO_FATAL_FAILURE(StartPebble({.nonce_reject_percent = 5}));
  EnrollRequest request = MakeRequest({"resume.example.test"});
  // The first process "crashes" right after the order's state reached durable storage.
  request.save_state = [this](const std::string& state) -> Status {
    saved_.push_back(state);
    return Fail(Error::Unavailable("simulated crash after saving the order"));
  };
  auto first = Build(BaseSettings());
  ASSERT_TRUE(first);
  auto crashed = first->Enroll(request);
  ASSERT_FALSE(crashed);
  ASSERT_EQ(saved_.size(), 1u);
  const OrderState at_crash = LastState();
  ASSERT_FALSE(at_crash.order_url.empty());
  EXPECT_EQ(at_crash.step, "order");
  first.reset();

  // A new issuer object (as after a restart) continues with the saved state.
  request.save_state = [this](const std::string& state) {
    saved_.push_back(state);
    return Ok();
  };
  auto second = Build(BaseSettings());
  ASSERT_TRUE(second);
  ExpectIssued(EnrollToEnd(*second, request), "resume.example.test");
  for (const std::string& s : saved_) EXPECT_EQ(DecodeOrderState(s)->order_url, at_crash.order_url);
  EXPECT_EQ(CountAccountOrders(), 1);

  // Enrolling again with the final state downloads the same certificate, no new order.
  request.state = saved_.back();
  auto again = second->Enroll(request);
  ExpectIssued(again, "resume.example.test");
  EXPECT_EQ(CountAccountOrders(), 1);
}

TEST_F(AcmePebbleTest, IssuesWithDns01ThroughAHook) {
  ASSERT_NO_FATAL_FAILURE(StartPebble({}));
  const fs::path hook = dir_ / "dns-hook.sh";
  const fs::path calls = dir_ / "hook-calls.log";
  const std::string management = "http://127.0.0.1:" + std::to_string(challtestsrv_port_);
  WriteFile(
      hook,
      "#!/bin/sh\n"
      "echo \"$1 $2 $ACME_TXT_NAME\" >> '" +
          calls.string() +
          "'\n"
          "case \"$1\" in\n"
          "  add) exec curl -sS -f -X POST -d \"{\\\"host\\\":\\\"_acme-challenge.$2.\\\","
          "\\\"value\\\":\\\"$3\\\"}\" " +
          management +
          "/set-txt ;;\n"
          "  remove) exec curl -sS -f -X POST -d \"{\\\"host\\\":\\\"_acme-challenge.$2.\\\"}\" " +
          management +
          "/clear-txt ;;\n"
          "esac\n"
          "echo \"unknown action $1\" >&2\n"
          "exit 2\n",
      fs::perms::owner_all);
  json settings = BaseSettings();
  settings["challenge"] = "dns-01";
  settings["dns_hook"] = hook.string();
  auto issuer = Build(settings);
  ASSERT_TRUE(issuer);
  ExpectIssued(EnrollToEnd(*issuer, MakeRequest({"dns.example.test"})), "dns.example.test");
  EXPECT_EQ(ReadFile(calls),
            "add dns.example.test _acme-challenge.dns.example.test.\n"
            "remove dns.example.test _acme-challenge.dns.example.test.\n");
  const OrderState state = LastState();
  ASSERT_EQ(state.dns_records.size(), 1u);
  EXPECT_GT(state.dns_records[0].added, 0);
}

TEST_F(AcmePebbleTest, FailedValidationIsTerminalWithTheCasReason) {
  ASSERT_NO_FATAL_FAILURE(StartPebble({}));
  // A hook that publishes nothing: pebble finds no TXT record.
  const fs::path hook = dir_ / "lazy-hook.sh";
  WriteFile(hook, "#!/bin/sh\nexit 0\n", fs::perms::owner_all);
  json settings = BaseSettings();
  settings["challenge"] = "dns-01";
  settings["dns_hook"] = hook.string();
  auto issuer = Build(settings);
  ASSERT_TRUE(issuer);
  auto result = EnrollToEnd(*issuer, MakeRequest({"nothere.example.test"}));
  ASSERT_FALSE(result);
  EXPECT_FALSE(result.error().retryable());
  EXPECT_NE(result.error().message().find("could not validate nothere.example.test"),
            std::string::npos)
      << result.error().message();
}

}  // namespace
}  // namespace certvault::issuer::acme
