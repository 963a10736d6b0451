// Name resolution for the integration tests.
//
// certvault addresses vaults by host name (https://{vault}.localhost:PORT). Node's resolver
// (getaddrinfo) does not map *.localhost to the loopback address, so the tests resolve those names
// themselves. Nothing else is resolved: the tests must only ever talk to this machine.
import dns from "node:dns";
import net from "node:net";

const LOOPBACK_V4 = "127.0.0.1";

/** True for `localhost` and any `*.localhost` name (RFC 6761 §6.3). */
export function isLoopbackName(hostname) {
  const h = String(hostname).toLowerCase().replace(/\.$/, "");
  return h === "localhost" || h.endsWith(".localhost");
}

function normaliseArgs(options, callback) {
  if (typeof options === "function") return [{}, options];
  if (typeof options === "number") return [{ family: options }, callback];
  return [options ?? {}, callback];
}

function answerLoopback(options, callback) {
  // The server listens on 127.0.0.1 only, so IPv4 loopback is the one answer.
  if (options.all) process.nextTick(callback, null, [{ address: LOOPBACK_V4, family: 4 }]);
  else process.nextTick(callback, null, LOOPBACK_V4, 4);
}

function refuse(hostname, callback) {
  const err = new Error(
    `certvault integration tests: refusing to resolve '${hostname}' (only localhost and *.localhost are allowed)`,
  );
  err.code = "ENOTFOUND";
  err.hostname = hostname;
  process.nextTick(callback, err);
}

const originalLookup = dns.lookup;

/**
 * A `dns.lookup`-compatible function for the `lookup` option of net/tls/https: maps localhost and
 * *.localhost to 127.0.0.1, passes IP literals through and refuses every other name.
 */
export function loopbackLookup(hostname, options, callback) {
  [options, callback] = normaliseArgs(options, callback);
  if (isLoopbackName(hostname)) return answerLoopback(options, callback);
  if (net.isIP(hostname)) return originalLookup.call(dns, hostname, options, callback);
  return refuse(hostname, callback);
}

let installed = false;

/** Replaces dns.lookup / dns.promises.lookup process-wide with loopbackLookup. Idempotent. */
export function installLoopbackDns() {
  if (installed) return;
  installed = true;
  dns.lookup = loopbackLookup;
  const originalPromiseLookup = dns.promises.lookup;
  dns.promises.lookup = async function lookup(hostname, options = {}) {
    if (typeof options === "number") options = { family: options };
    if (isLoopbackName(hostname)) {
      return options.all ? [{ address: LOOPBACK_V4, family: 4 }] : { address: LOOPBACK_V4, family: 4 };
    }
    if (net.isIP(hostname)) return originalPromiseLookup.call(dns.promises, hostname, options);
    const err = new Error(`certvault integration tests: refusing to resolve '${hostname}'`);
    err.code = "ENOTFOUND";
    throw err;
  };
}
