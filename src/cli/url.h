#pragma once
// URL handling for the client: splitting server URLs and addressing a vault by host name.
//
// The server addresses vaults as https://{vault}.{host}:{port}. The client reaches that name
// without any DNS setup: it connects to the server's own host and port and lets TLS verify the
// vault host name against the server certificate's *.{host} SAN.

#include <string>
#include <string_view>

#include "common/result.h"

namespace certvault::cli {

struct Url {
  std::string scheme;  // "https" or "http", lowercase
  std::string host;    // without brackets for IPv6 literals, lowercase
  int port = 0;        // explicit or the scheme's default
  std::string path;    // "/..." or empty; includes the query
  bool ipv6 = false;

  // "host:port" with brackets around IPv6 literals.
  std::string HostPort() const;
  // "scheme://host:port" (always with the port).
  std::string Origin() const;
};

// Parses an absolute http(s) URL. Fails with BadParameter saying what is wrong.
Result<Url> ParseUrl(std::string_view text);

bool IsIpLiteral(std::string_view host);

// Where to send a data-plane request for `vault` on `server`.
inline constexpr std::string_view kDefaultVault = "default";

struct VaultAddress {
  std::string base_url;     // e.g. https://v1.localhost:8443 (what ids and nextLinks use)
  std::string connect_to;   // curl CONNECT_TO entry; empty if none is needed
  std::string host_header;  // Host header override; empty if none is needed
  // The origin the server names the vault by in ids and nextLinks (equals base_url's unless a
  // Host header override is used).
  std::string vault_origin;
};

// Addresses `vault` on `server`. Host names whose *.{host} wildcard a TLS client accepts (at least
// two labels, like example.com) get https://{vault}.{host}:{port} with a CONNECT_TO entry. For
// single-label hosts (localhost: curl refuses wildcards over a single label, as browsers do) and
// IP literals the request goes to the server URL itself with `Host: {vault}.{host}:{port}`, so TLS
// verifies the server's own name and the server still routes by Host. An IP literal with the
// default vault needs no override: the server maps IP literals to the default vault.
VaultAddress AddressVault(const Url& server, std::string_view vault);

// Percent-encodes a path segment or query value (RFC 3986 unreserved characters pass).
std::string UrlEncode(std::string_view text);

}  // namespace certvault::cli
