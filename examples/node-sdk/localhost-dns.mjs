// EXAMPLE-SIDE WORKAROUND, not part of certvault or of the Azure SDK.
//
// certvault addresses a vault by host name: https://{vault}.{dns-suffix}:{port}, by default
// https://default.localhost:8443. Node resolves names with getaddrinfo, which on most Linux systems
// does not map *.localhost to the loopback address (RFC 6761 says it should; glibc does not).
// Loaded with `node --import ./localhost-dns.mjs`, this file makes `localhost` and every
// `*.localhost` name resolve to 127.0.0.1 in this process; every other name goes to the normal
// resolver. It changes name resolution only: TLS verification is untouched.
//
// Alternatives that need no code: add "127.0.0.1 default.localhost" to /etc/hosts, or run the
// server with --dns-suffix set to a domain whose names resolve to it.
import dns from "node:dns";

const LOOPBACK = { address: "127.0.0.1", family: 4 };

function isLocalhost(hostname) {
  const h = String(hostname).toLowerCase().replace(/\.$/, "");
  return h === "localhost" || h.endsWith(".localhost");
}

const originalLookup = dns.lookup;
dns.lookup = function lookup(hostname, options, callback) {
  if (typeof options === "function") [options, callback] = [{}, options];
  if (typeof options === "number") options = { family: options };
  if (!isLocalhost(hostname)) return originalLookup.call(dns, hostname, options, callback);
  if (options?.all) process.nextTick(callback, null, [LOOPBACK]);
  else process.nextTick(callback, null, LOOPBACK.address, LOOPBACK.family);
};

const originalPromiseLookup = dns.promises.lookup;
dns.promises.lookup = async function lookup(hostname, options = {}) {
  if (typeof options === "number") options = { family: options };
  if (!isLocalhost(hostname)) return originalPromiseLookup.call(dns.promises, hostname, options);
  return options.all ? [LOOPBACK] : LOOPBACK;
};
