#include "issuer/acme/acme_issuer.h"

#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/log.h"
#include "common/subprocess.h"
#include "common/text.h"
#include "crypto/encoding.h"
#include "crypto/x509.h"
#include "issuer/acme/client.h"
#include "issuer/acme/http01.h"
#include "issuer/acme/jws.h"
#include "issuer/acme/order_state.h"

namespace certvault::issuer::acme {
namespace {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr int kMaxRounds = 1000;  // polls per attempt; max_wait ends an attempt long before
constexpr size_t kMaxAuthorizations = 100;
constexpr int64_t kDeadlineMarginSeconds = 2;
constexpr size_t kMaxHookOutput = 64 * 1024;

Error AcmeError(std::string message, std::string inner = {}) {
  Error e(ErrorKind::kBadRequest, "AcmeError", std::move(message));
  return inner.empty() ? e : std::move(e).WithInnerCode(std::move(inner));
}

std::string StringMember(const json& j, const char* name) {
  return j.is_object() && j.contains(name) && j[name].is_string() ? j[name].get<std::string>()
                                                                  : std::string();
}

std::vector<std::string> StringArrayMember(const json& j, const char* name) {
  std::vector<std::string> out;
  if (!j.is_object() || !j.contains(name) || !j[name].is_array()) return out;
  for (const json& v : j[name]) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

bool IsIpLiteral(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool LooksLikeDnsName(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '*' || c == '_';
    if (!ok) return false;
  }
  return s.find('.') != std::string_view::npos || s == "localhost";
}

// Challenge tokens go into a URL path and onto a hook's command line: base64url only.
bool IsToken(std::string_view t) {
  if (t.empty() || t.size() > 256) return false;
  for (char c : t) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// The CN of a subject in crypto's "CN=foo, O=bar" form; empty if none.
std::string CommonName(std::string_view subject) {
  size_t start = 0;
  while (start < subject.size()) {
    size_t end = start;
    while (end < subject.size() && subject[end] != ',' && subject[end] != ';') {
      if (subject[end] == '\\') ++end;  // an escaped separator belongs to the value
      ++end;
    }
    std::string_view part = subject.substr(start, std::min(end, subject.size()) - start);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > 3 && EqualsIgnoreCase(part.substr(0, 3), "CN=")) {
      std::string value(part.substr(3));
      while (!value.empty() && value.back() == ' ') value.pop_back();
      return value;
    }
    start = end + 1;
  }
  return {};
}

// A state with no order, keeping what does not belong to one.
OrderState WithoutOrder(const OrderState& s, std::string account_url) {
  OrderState out;
  out.directory_url = s.directory_url;
  out.account_url = std::move(account_url);
  out.csr_sha256 = s.csr_sha256;
  return out;
}

struct Identifier {
  std::string type;  // dns or ip
  std::string value;
};

Result<std::vector<Identifier>> IdentifiersFromCsr(std::string_view csr_der) {
  CV_ASSIGN_OR_RETURN(const crypto::CsrInfo csr, crypto::ParseCsr(csr_der));
  const crypto::SubjectAltNames& sans = csr.spec.sans;
  if (!sans.emails.empty() || !sans.upns.empty() || !sans.uris.empty()) {
    return Fail(Error::BadParameter(
        "an ACME CA certifies only DNS names and IP addresses; remove the e-mail, UPN and URI "
        "subject alternative names from the certificate policy"));
  }
  std::vector<Identifier> ids;
  auto add = [&ids](std::string type, std::string value) {
    for (const Identifier& id : ids) {
      if (id.type == type && id.value == value) return;
    }
    ids.push_back({std::move(type), std::move(value)});
  };
  for (const std::string& name : sans.dns_names) add("dns", AsciiLower(name));
  for (const std::string& ip : sans.ip_addresses) add("ip", ip);
  // The CSR's CN must be one of the order's names too.
  const std::string cn = CommonName(csr.spec.subject);
  if (IsIpLiteral(cn)) {
    add("ip", cn);
  } else if (LooksLikeDnsName(cn)) {
    add("dns", AsciiLower(cn));
  }
  if (ids.empty()) {
    return Fail(Error::BadParameter(
        "the certificate policy names no DNS name or IP address for the ACME CA to validate"));
  }
  if (ids.size() > kMaxAuthorizations) {
    return Fail(Error::BadParameter("too many names for one ACME order"));
  }
  return ids;
}

// One call of Enroll: continues the order in `state` as far as it can within `wait_until`.
class Attempt {
 public:
  Attempt(const ProviderContext& ctx, Http01Responder* http01, const AcmeSettings& settings,
          const EnrollRequest& request, AcmeClient& client, crypto::PrivateKey account_key,
          OrderState& state, SteadyClock::time_point wait_until)
      : ctx_(ctx),
        http01_(http01),
        settings_(settings),
        request_(request),
        client_(client),
        account_key_(std::move(account_key)),
        state_(state),
        wait_until_(wait_until) {}

  Result<Enrollment> Run(const std::vector<Identifier>& ids) {
    CV_ASSIGN_OR_RETURN(thumbprint_, JwkThumbprint(account_key_.Public()));
    json order;
    if (!state_.order_url.empty()) {
      auto got = client_.PostAsGet(state_.order_url);
      if (!got && !got.error().retryable()) {
        // The CA no longer knows the order (it expired and was purged, or the CA was reset).
        log::Warn("ACME order " + state_.order_url + " of " + Who() +
                  " is gone; placing a new one: " + got.error().message());
        Cleanup();
        state_ = WithoutOrder(state_, state_.account_url);
      } else {
        CV_RETURN_IF_ERROR(got);
        CV_ASSIGN_OR_RETURN(order, JsonObjectBody(*got, "order"));
      }
    }
    if (state_.order_url.empty()) {
      CV_ASSIGN_OR_RETURN(order, NewOrder(ids));
    }

    for (int round = 0; round < kMaxRounds; ++round) {
      Remember(order);
      const std::string status = StringMember(order, "status");
      if (status == "pending") {
        Result<bool> authorized = Authorize();
        if (!authorized) {
          if (!authorized.error().retryable()) Cleanup();
          return Fail(authorized.error());
        }
        const bool all_valid = *authorized;
        if (!all_valid && !Wait(settings_.poll_interval)) return Later(settings_.poll_interval);
      } else if (status == "ready") {
        CV_ASSIGN_OR_RETURN(std::optional<json> finalized, Finalize());
        if (finalized) {
          order = std::move(*finalized);
          continue;
        }
      } else if (status == "processing") {
        const int64_t wait =
            std::clamp<int64_t>(last_retry_after_.value_or(settings_.poll_interval), 1, 3600);
        if (!Wait(wait)) return Later(wait);
      } else if (status == "valid") {
        return Download(order);
      } else if (status == "invalid") {
        Error error = InvalidOrderError(order);
        Cleanup();
        return Fail(std::move(error));
      } else {
        return Fail(AcmeError("the ACME order " + state_.order_url + " has an unknown status \"" +
                              status + "\""));
      }
      CV_ASSIGN_OR_RETURN(const HttpResponse got, client_.PostAsGet(state_.order_url));
      last_retry_after_ = got.retry_after;
      CV_ASSIGN_OR_RETURN(order, JsonObjectBody(got, "order"));
    }
    return Later(settings_.poll_interval);
  }

  // Takes back what was published for validation. Best effort: a failure is only logged.
  void Cleanup() {
    if (http01_ != nullptr) {
      for (const std::string& token : state_.http_tokens) http01_->Remove(token);
    }
    for (DnsRecord& record : state_.dns_records) {
      if (record.removed) continue;
      Status removed = RunHook("remove", record);
      if (!removed) {
        log::Warn("ACME dns-01 cleanup for " + Who() + ": " + removed.error().message());
      }
      record.removed = true;  // one try: a failing hook must not block the enrollment
    }
  }

 private:
  std::string Who() const { return request_.vault + "/" + request_.certificate; }

  Status Save(std::string step) {
    state_.step = std::move(step);
    if (!request_.save_state) return Ok();
    return request_.save_state(EncodeOrderState(state_));
  }

  Enrollment Later(int64_t seconds) const {
    Enrollment later;
    later.check_after = ctx_.clock->NowUnix() + seconds;
    return later;
  }

  // Sleeps `seconds` unless that would pass wait_until_.
  bool Wait(int64_t seconds) {
    const auto wake = SteadyClock::now() + std::chrono::seconds(seconds);
    if (wake > wait_until_) return false;
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    return true;
  }

  void Remember(const json& order) {
    std::vector<std::string> authorizations = StringArrayMember(order, "authorizations");
    if (!authorizations.empty()) state_.authorizations = std::move(authorizations);
    const std::string finalize = StringMember(order, "finalize");
    if (!finalize.empty()) state_.finalize_url = finalize;
  }

  Result<json> NewOrder(const std::vector<Identifier>& ids) {
    json identifiers = json::array();
    for (const Identifier& id : ids)
      identifiers.push_back({{"type", id.type}, {"value", id.value}});
    const json payload = {{"identifiers", identifiers}};
    CV_ASSIGN_OR_RETURN(const HttpResponse created,
                        client_.Post(client_.directory().new_order, payload.dump()));
    CV_ASSIGN_OR_RETURN(json order, JsonObjectBody(created, "order"));
    if (created.location.empty()) {
      return Fail(AcmeError("the ACME server created an order without a Location"));
    }
    state_.order_url = created.location;
    Remember(order);
    if (state_.authorizations.empty() || state_.finalize_url.empty()) {
      return Fail(AcmeError("the ACME server sent an order without authorizations or finalize"));
    }
    // Saved before anything relies on the order: a crash from here on resumes it.
    CV_RETURN_IF_ERROR(Save("order"));
    log::Info("ACME order " + state_.order_url + " placed for " + Who());
    return order;
  }

  // Publishes and answers the challenge of every pending authorization. True when all are valid.
  Result<bool> Authorize() {
    if (state_.authorizations.size() > kMaxAuthorizations) {
      return Fail(AcmeError("the ACME order has too many authorizations"));
    }
    const std::string type(ChallengeName(settings_.challenge));
    bool all_valid = true;
    for (const std::string& url : state_.authorizations) {
      CV_ASSIGN_OR_RETURN(const HttpResponse got, client_.PostAsGet(url));
      CV_ASSIGN_OR_RETURN(const json authz, JsonObjectBody(got, "authorization"));
      const std::string status = StringMember(authz, "status");
      const std::string name = StringMember(authz.value("identifier", json::object()), "value");
      if (status == "valid") continue;
      all_valid = false;
      if (status == "invalid") return Fail(AuthorizationError(authz));
      if (status != "pending") {
        return Fail(AcmeError("the ACME authorization for " + name + " is " + status));
      }
      const json* challenge = nullptr;
      std::string offered;
      if (authz.contains("challenges") && authz["challenges"].is_array()) {
        for (const json& c : authz["challenges"]) {
          const std::string t = StringMember(c, "type");
          offered += (offered.empty() ? "" : ", ") + t;
          if (t == type && challenge == nullptr) challenge = &c;
        }
      }
      if (challenge == nullptr) {
        return Fail(AcmeError("the ACME server offers no " + type + " challenge for " + name +
                              " (offered: " + (offered.empty() ? "none" : offered) + ")"));
      }
      const std::string token = StringMember(*challenge, "token");
      const std::string challenge_url = StringMember(*challenge, "url");
      if (!IsToken(token) || challenge_url.empty()) {
        return Fail(AcmeError("the ACME server sent a malformed " + type + " challenge"));
      }
      const std::string key_authorization = token + "." + thumbprint_;
      if (settings_.challenge == ChallengeType::kHttp01) {
        if (http01_ == nullptr) return Fail(Error::Internal("no http-01 responder"));
        http01_->Put(token, key_authorization);
        if (std::find(state_.http_tokens.begin(), state_.http_tokens.end(), token) ==
            state_.http_tokens.end()) {
          state_.http_tokens.push_back(token);
        }
      } else {
        CV_ASSIGN_OR_RETURN(const bool propagated, PublishTxt(name, key_authorization));
        if (!propagated) continue;
      }
      if (StringMember(*challenge, "status") == "pending") {
        CV_RETURN_IF_ERROR(client_.Post(challenge_url, "{}"));
        log::Info("ACME " + type + " challenge for " + name + " answered (" + Who() + ")");
      }
    }
    if (!all_valid && state_.step == "order") CV_RETURN_IF_ERROR(Save("authorize"));
    return all_valid;
  }

  // Publishes the dns-01 TXT record through the hook unless already done. True once the
  // record has had dns_propagation_wait to spread.
  Result<bool> PublishTxt(const std::string& domain, const std::string& key_authorization) {
    const std::string value = Dns01TxtValue(key_authorization);
    DnsRecord* record = nullptr;
    for (DnsRecord& r : state_.dns_records) {
      if (r.domain == domain && r.value == value) record = &r;
    }
    if (record == nullptr) {
      state_.dns_records.push_back({domain, value, 0, false});
      // Saved first, so that a crash during the hook still removes the record later.
      CV_RETURN_IF_ERROR(Save("authorize"));
      record = &state_.dns_records.back();
    }
    if (record->added == 0) {
      CV_RETURN_IF_ERROR(RunHook("add", *record));
      record->added = ctx_.clock->NowUnix();
      record->removed = false;
      CV_RETURN_IF_ERROR(Save("authorize"));
    }
    const int64_t ready_at = record->added + settings_.dns_propagation_wait;
    const int64_t now = ctx_.clock->NowUnix();
    if (now >= ready_at) return true;
    // Short waits are taken here; long ones end the attempt at the next poll.
    return Wait(ready_at - now);
  }

  Status RunHook(const std::string& action, const DnsRecord& record) {
    // Checked again at each run: the directory's contents may have changed since Validate.
    CV_RETURN_IF_ERROR(CheckHookInsideCommandsDir(settings_.dns_hook, ctx_.commands_dir));
    SubprocessSpec spec;
    spec.argv = {settings_.dns_hook, action, record.domain, record.value};
    spec.env = {{"ACME_ACTION", action},
                {"ACME_DOMAIN", record.domain},
                {"ACME_TXT_NAME", "_acme-challenge." + record.domain + "."},
                {"ACME_TXT_VALUE", record.value}};
    spec.timeout_ms = settings_.dns_hook_timeout * 1000;
    spec.max_output = kMaxHookOutput;
    CV_ASSIGN_OR_RETURN(const SubprocessResult ran, RunSubprocess(spec));
    if (ran.exit_code == 0 && !ran.timed_out) return Ok();
    std::string why = ran.timed_out ? "timed out" : "exited with " + std::to_string(ran.exit_code);
    // The last line of stderr usually says what went wrong.
    std::string_view err = ran.stderr_data;
    while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.remove_suffix(1);
    const size_t nl = err.rfind('\n');
    if (nl != std::string_view::npos) err.remove_prefix(nl + 1);
    if (err.size() > 300) err = err.substr(0, 300);
    if (!err.empty()) why += ": " + std::string(err);
    return Fail(Error(ErrorKind::kUnavailable, "DnsHookFailed",
                      "the dns-01 hook `" + action + "` for " + record.domain + " " + why));
  }

  // Finalizes the order with the vault's CSR. Returns the order as the CA answered, or nullopt
  // when the order must be read again (another attempt finalized it already).
  Result<std::optional<json>> Finalize() {
    CV_RETURN_IF_ERROR(Save("finalize"));
    const json payload = {{"csr", crypto::Base64UrlEncode(request_.csr_der)}};
    auto finalized = client_.Post(state_.finalize_url, payload.dump());
    if (!finalized) {
      if (finalized.error().inner_code() == "orderNotReady") return std::optional<json>();
      return Fail(finalized.error());
    }
    last_retry_after_ = finalized->retry_after;
    CV_ASSIGN_OR_RETURN(json order, JsonObjectBody(*finalized, "order"));
    log::Info("ACME order " + state_.order_url + " finalized for " + Who());
    return std::optional<json>(std::move(order));
  }

  Result<Enrollment> Download(const json& order) {
    state_.certificate_url = StringMember(order, "certificate");
    if (state_.certificate_url.empty()) {
      return Fail(AcmeError("the ACME order is valid but names no certificate"));
    }
    CV_RETURN_IF_ERROR(Save("download"));
    CV_ASSIGN_OR_RETURN(
        const HttpResponse got,
        client_.PostAsGet(state_.certificate_url, "application/pem-certificate-chain"));
    auto certs = crypto::ParsePemCertificates(got.body);
    if (!certs) {
      return Fail(AcmeError("the ACME server sent a malformed certificate chain: " +
                            certs.error().message()));
    }
    Enrollment issued;
    for (const crypto::Certificate& cert : *certs) issued.chain.push_back(cert.ToDer());
    Cleanup();
    log::Info("ACME certificate downloaded for " + Who());
    return issued;
  }

  Error AuthorizationError(const json& authz) {
    const std::string name = StringMember(authz.value("identifier", json::object()), "value");
    if (authz.contains("challenges") && authz["challenges"].is_array()) {
      for (const json& c : authz["challenges"]) {
        if (c.is_object() && c.contains("error")) {
          std::string inner = StringMember(c["error"], "type");
          if (inner.rfind(kProblemPrefix, 0) == 0) inner = inner.substr(kProblemPrefix.size());
          return AcmeError("the ACME CA could not validate " + name + " (" +
                               StringMember(c, "type") + "): " + DescribeProblem(c["error"]),
                           inner);
        }
      }
    }
    return AcmeError("the ACME CA could not validate " + name);
  }

  Error InvalidOrderError(const json& order) {
    for (const std::string& url : state_.authorizations) {
      auto got = client_.PostAsGet(url);
      if (!got) continue;
      auto authz = JsonObjectBody(*got, "authorization");
      if (authz && StringMember(*authz, "status") == "invalid") return AuthorizationError(*authz);
    }
    if (order.contains("error")) {
      return AcmeError("the ACME order failed: " + DescribeProblem(order["error"]));
    }
    return AcmeError("the ACME order " + state_.order_url + " is invalid (expired?)");
  }

  const ProviderContext& ctx_;
  Http01Responder* const http01_;
  const AcmeSettings& settings_;
  const EnrollRequest& request_;
  AcmeClient& client_;
  const crypto::PrivateKey account_key_;
  OrderState& state_;
  const SteadyClock::time_point wait_until_;
  std::string thumbprint_;
  std::optional<int64_t> last_retry_after_;
};

}  // namespace

AcmeIssuer::AcmeIssuer(const ProviderContext& ctx, Http01Responder* http01, Config config,
                       std::shared_ptr<HttpTransport> transport)
    : ctx_(ctx), http01_(http01), config_(std::move(config)), transport_(std::move(transport)) {}

std::string AcmeIssuer::SettingKey(std::string_view what) const {
  return "acme/" + AsciiLower(config_.vault) + "/" + AsciiLower(config_.name) + "/" +
         std::string(what);
}

Result<crypto::PrivateKey> AcmeIssuer::AccountKey() {
  std::lock_guard lock(mu_);
  if (account_key_) return *account_key_;
  const std::string key = SettingKey("account-key");
  auto open = [this, &key](const std::string& stored) -> Result<crypto::PrivateKey> {
    CV_ASSIGN_OR_RETURN(const std::string blob, crypto::Base64Decode(stored));
    CV_ASSIGN_OR_RETURN(const std::string der, ctx_.kek->Open(blob, key));
    return crypto::PrivateKey::FromDer(der);
  };
  std::optional<std::string> stored;
  {
    CV_ASSIGN_OR_RETURN(auto tx, ctx_.store->BeginRead());
    CV_ASSIGN_OR_RETURN(stored, tx->GetSetting(key));
  }
  if (!stored) {
    // Made inside a write transaction, so that two servers sharing the store agree on one key.
    CV_ASSIGN_OR_RETURN(auto tx, ctx_.store->BeginWrite());
    CV_ASSIGN_OR_RETURN(stored, tx->GetSetting(key));
    if (!stored) {
      CV_ASSIGN_OR_RETURN(const crypto::PrivateKey made,
                          crypto::PrivateKey::Generate({crypto::KeyKind::kEc, 0, "P-256"}));
      CV_ASSIGN_OR_RETURN(const std::string sealed, ctx_.kek->Seal(made.ToPkcs8Der(), key));
      CV_RETURN_IF_ERROR(tx->PutSetting(key, crypto::Base64Encode(sealed)));
      CV_RETURN_IF_ERROR(tx->Commit());
      account_key_ = made;
      return made;
    }
  }
  auto opened = open(*stored);
  if (!opened) {
    return Fail(Error::Internal("cannot open the ACME account key of issuer " + config_.vault +
                                "/" + config_.name + ": " + opened.error().message()));
  }
  account_key_ = *opened;
  return *opened;
}

Result<std::string> AcmeIssuer::AccountUrl(AcmeClient& client, const crypto::PrivateKey& key,
                                           bool fresh) {
  std::lock_guard lock(mu_);
  const std::string setting = SettingKey("account");
  const std::string& directory_url = config_.settings.directory_url;
  if (!fresh) {
    if (!account_url_.empty()) return account_url_;
    CV_ASSIGN_OR_RETURN(auto tx, ctx_.store->BeginRead());
    CV_ASSIGN_OR_RETURN(const std::optional<std::string> stored, tx->GetSetting(setting));
    if (stored) {
      const json j = json::parse(*stored, nullptr, /*allow_exceptions=*/false);
      // An account belongs to one CA: a changed directory URL registers anew.
      if (StringMember(j, "directory_url") == directory_url && !StringMember(j, "url").empty()) {
        account_url_ = StringMember(j, "url");
        return account_url_;
      }
    }
  }

  const Directory& dir = client.directory();
  json payload = {{"termsOfServiceAgreed", config_.settings.terms_of_service_agreed}};
  if (!config_.settings.contact.empty()) payload["contact"] = config_.settings.contact;
  if (!config_.eab_kid.empty()) {
    CV_ASSIGN_OR_RETURN(const std::string eab,
                        ExternalAccountBinding(key.Public(), config_.eab_kid, config_.eab_hmac_key,
                                               dir.new_account));
    payload["externalAccountBinding"] = json::parse(eab);
  } else if (dir.external_account_required) {
    return Fail(
        AcmeError("the ACME server requires External Account Binding: set the issuer's credentials "
                  "(account_id: the EAB key id, password: the EAB HMAC key)",
                  "externalAccountRequired"));
  }
  CV_ASSIGN_OR_RETURN(const HttpResponse created,
                      client.Post(dir.new_account, payload.dump(), /*use_jwk=*/true));
  CV_ASSIGN_OR_RETURN(const json account, JsonObjectBody(created, "account"));
  const std::string status = StringMember(account, "status");
  if (created.location.empty()) {
    return Fail(AcmeError("the ACME server created an account without a Location"));
  }
  if (!status.empty() && status != "valid") {
    return Fail(AcmeError("the ACME account " + created.location + " is " + status));
  }
  const json record = {{"directory_url", directory_url}, {"url", created.location}};
  CV_ASSIGN_OR_RETURN(auto tx, ctx_.store->BeginWrite());
  CV_RETURN_IF_ERROR(tx->PutSetting(setting, record.dump()));
  CV_RETURN_IF_ERROR(tx->Commit());
  log::Info("ACME account " + created.location + " registered for issuer " + config_.vault + "/" +
            config_.name);
  account_url_ = created.location;
  return account_url_;
}

Result<Enrollment> AcmeIssuer::Enroll(const EnrollRequest& request) {
  const int64_t now = ctx_.clock->NowUnix();
  CV_ASSIGN_OR_RETURN(const std::vector<Identifier> ids, IdentifiersFromCsr(request.csr_der));

  OrderState state;
  if (!request.state.empty()) {
    auto decoded = DecodeOrderState(request.state);
    if (decoded) {
      state = std::move(*decoded);
    } else {
      log::Warn("ignoring the unreadable saved ACME state of " + request.vault + "/" +
                request.certificate);
    }
  }
  const std::string csr_sha256 = crypto::HexEncode(crypto::Sha256(request.csr_der));
  if (state.csr_sha256 != csr_sha256 || state.directory_url != config_.settings.directory_url) {
    // Saved for another request or another CA: that order cannot give this certificate.
    state = OrderState{};
  }
  state.csr_sha256 = csr_sha256;
  state.directory_url = config_.settings.directory_url;

  // Bound this attempt by its deadline and by how long it may block polling.
  const auto start = SteadyClock::now();
  AcmeClient::Options options;
  auto wait_until = start + std::chrono::seconds(config_.settings.max_wait);
  if (request.deadline > 0) {
    const int64_t left = request.deadline - now;
    if (left <= kDeadlineMarginSeconds) {
      return Fail(Error::Unavailable("the enrollment attempt's deadline has passed"));
    }
    options.deadline = start + std::chrono::seconds(left - kDeadlineMarginSeconds);
    wait_until = std::min(wait_until, options.deadline);
  }
  AcmeClient client(*transport_, options);

  auto run = [&](bool fresh_account) -> Result<Enrollment> {
    CV_RETURN_IF_ERROR(client.LoadDirectory(config_.settings.directory_url));
    CV_ASSIGN_OR_RETURN(const crypto::PrivateKey key, AccountKey());
    client.SetAccountKey(key);
    CV_ASSIGN_OR_RETURN(const std::string account_url, AccountUrl(client, key, fresh_account));
    client.SetAccountUrl(account_url);
    if (state.account_url != account_url) {
      // Orders belong to the account that placed them.
      state = WithoutOrder(state, account_url);
    }
    Attempt attempt(ctx_, http01_, config_.settings, request, client, key, state, wait_until);
    return attempt.Run(ids);
  };

  Result<Enrollment> result = run(false);
  if (!result && result.error().inner_code() == "accountDoesNotExist") {
    log::Warn("the ACME server forgot the account of issuer " + config_.vault + "/" + config_.name +
              "; registering again");
    result = run(true);
  }
  if (!result && result.error().retryable() && client.retry_after().value_or(0) > 0) {
    // The CA said when to come back (rate limits, maintenance): wait that long, not the backoff.
    log::Warn("ACME enrollment of " + request.vault + "/" + request.certificate +
              " deferred: " + result.error().message());
    Enrollment later;
    later.check_after = ctx_.clock->NowUnix() + *client.retry_after();
    return later;
  }
  return result;
}

}  // namespace certvault::issuer::acme
