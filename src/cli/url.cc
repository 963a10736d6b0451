#include "cli/url.h"

#include <arpa/inet.h>

#include <cctype>
#include <charconv>

#include "common/text.h"

namespace certvault::cli {
namespace {}  // namespace

std::string Url::HostPort() const {
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string Url::Origin() const { return scheme + "://" + HostPort(); }

Result<Url> ParseUrl(std::string_view text) {
  Url url;
  size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    return Fail(Error::BadParameter("'" + std::string(text) + "' is not an absolute URL"));
  }
  url.scheme = AsciiLower(text.substr(0, scheme_end));
  if (url.scheme != "https" && url.scheme != "http") {
    return Fail(Error::BadParameter("URL '" + std::string(text) + "' must use https"));
  }
  std::string_view rest = text.substr(scheme_end + 3);
  size_t path_start = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_start);
  if (path_start != std::string_view::npos) url.path = std::string(rest.substr(path_start));
  if (authority.find('@') != std::string_view::npos) {
    return Fail(Error::BadParameter("URL '" + std::string(text) + "' must not hold user info"));
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return Fail(Error::BadParameter("URL '" + std::string(text) + "' has an unclosed '['"));
    }
    url.host = AsciiLower(authority.substr(1, close - 1));
    url.ipv6 = true;
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return Fail(Error::BadParameter("URL '" + std::string(text) + "' is malformed"));
      }
      port_text = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    url.host = AsciiLower(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (url.host.empty()) {
    return Fail(Error::BadParameter("URL '" + std::string(text) + "' has no host"));
  }
  if (port_text.empty()) {
    url.port = url.scheme == "https" ? 443 : 80;
  } else {
    auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), url.port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || url.port <= 0 ||
        url.port > 65535) {
      return Fail(Error::BadParameter("URL '" + std::string(text) + "' has a bad port"));
    }
  }
  return url;
}

bool IsIpLiteral(std::string_view host) {
  std::string h(host);
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

VaultAddress AddressVault(const Url& server, std::string_view vault) {
  VaultAddress address;
  std::string vault_host = std::string(vault) + "." + server.host;
  std::string vault_host_port = vault_host + ":" + std::to_string(server.port);
  bool wildcard_ok =
      !server.ipv6 && !IsIpLiteral(server.host) && server.host.find('.') != std::string::npos;
  if (wildcard_ok) {
    address.base_url = server.scheme + "://" + vault_host_port;
    address.connect_to = vault_host_port + ":" + server.HostPort();
  } else {
    address.base_url = server.Origin();
    // An IP literal already addresses the default vault; any other vault needs its host name.
    bool ip = server.ipv6 || IsIpLiteral(server.host);
    if (!(ip && vault == kDefaultVault)) address.host_header = vault_host_port;
  }
  address.vault_origin =
      address.host_header.empty() ? address.base_url : server.scheme + "://" + vault_host_port;
  return address;
}

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace certvault::cli
