// Starts and stops a real certvault server for the integration tests, and gives clients what they
// need to talk to it: the vault URL, a TokenCredential, an https.Agent that trusts the server's CA,
// and a raw HTTPS request helper for what the SDK cannot send.
//
//   import { startServer, vaultUrl, tokenCredential } from "./lib/server.mjs";
//   const server = await startServer();          // in before()
//   ...                                          // server.url, server.port, server.admin, ...
//   await server.stop();                         // in after(), always
//
// The binary is $CERTVAULT_BIN, or <repo>/build/certvault.
import { spawn } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loopbackLookup } from "./loopback.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, "..", "..", "..");
export const DNS_SUFFIX = "localhost";

const READY_RE = /certvault server ready: url=(\S+) ca=(\S+) admin=(\S+)/;
const LOG_LIMIT = 256 * 1024;

/** Path of the certvault binary under test. */
export function certvaultBin() {
  return process.env.CERTVAULT_BIN || path.join(REPO_ROOT, "build", "certvault");
}

/** `https://${vault}.localhost:${port}`: the URL the SDK clients use for a vault. */
export function vaultUrl(port, vault = "default") {
  return `https://${vault}.${DNS_SUFFIX}:${port}`;
}

// Servers still running, killed if the test process exits without stopping them.
const live = new Set();
process.once("exit", () => {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
});

function waitForExit(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off("exit", onExit);
      resolve(false);
    }, ms);
    function onExit() {
      clearTimeout(timer);
      resolve(true);
    }
    child.once("exit", onExit);
  });
}

/**
 * Spawns `certvault server --data-dir DIR --listen 127.0.0.1:0 --dns-suffix localhost` and waits
 * (at most readyTimeoutMs) for its ready line.
 *
 * @param {object} [opts]
 * @param {string} [opts.dataDir]   data directory to use; default a fresh temp dir (removed by stop())
 * @param {string[]} [opts.extraArgs] more arguments after the standard ones
 * @param {object} [opts.env]       extra environment variables for the server
 * @param {number} [opts.readyTimeoutMs] default 30000
 * @returns {Promise<Server>} {url, port, dataDir, caPath, adminPath, admin, ca, agent, log(), stop()}
 */
export async function startServer({ dataDir, extraArgs = [], env = {}, readyTimeoutMs = 30_000 } = {}) {
  const bin = certvaultBin();
  if (!fs.existsSync(bin)) {
    throw new Error(
      `certvault binary not found at ${bin}: build it first (make build) or set CERTVAULT_BIN`,
    );
  }
  const ownsDir = !dataDir;
  const dir = dataDir ?? (await fsp.mkdtemp(path.join(os.tmpdir(), "certvault-it-")));
  const args = [
    "server",
    "--data-dir",
    dir,
    "--listen",
    "127.0.0.1:0",
    "--dns-suffix",
    DNS_SUFFIX,
    ...extraArgs,
  ];
  const child = spawn(bin, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  live.add(child);
  child.once("exit", () => live.delete(child));

  let logText = "";
  const verbose = !!process.env.CERTVAULT_IT_VERBOSE;
  const appendLog = (chunk) => {
    const s = chunk.toString("utf8");
    if (verbose) process.stderr.write(`[certvault ${child.pid}] ${s}`);
    logText += s;
    if (logText.length > LOG_LIMIT) logText = logText.slice(logText.length - LOG_LIMIT);
  };

  let ready;
  try {
    ready = await new Promise((resolve, reject) => {
      let stdoutBuf = "";
      const timer = setTimeout(() => {
        reject(new Error(`certvault server did not print its ready line within ${readyTimeoutMs} ms`));
      }, readyTimeoutMs);
      const onExit = (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`certvault server exited before ready (code ${code}, signal ${signal})`));
      };
      child.once("exit", onExit);
      child.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.stdout.on("data", (chunk) => {
        appendLog(chunk);
        if (stdoutBuf === null) return;
        stdoutBuf += chunk.toString("utf8");
        const lines = stdoutBuf.split("\n");
        stdoutBuf = lines.pop(); // an incomplete last line waits for more output
        for (const line of lines) {
          const m = READY_RE.exec(line);
          if (m) {
            stdoutBuf = null;
            clearTimeout(timer);
            child.off("exit", onExit);
            resolve({ url: m[1], caPath: m[2], adminPath: m[3] });
            return;
          }
        }
        if (stdoutBuf.length > LOG_LIMIT) stdoutBuf = stdoutBuf.slice(-4096);
      });
      child.stderr.on("data", appendLog);
    });
  } catch (err) {
    child.kill("SIGKILL");
    await waitForExit(child, 5_000);
    if (ownsDir) await fsp.rm(dir, { recursive: true, force: true });
    err.message += `\n--- server output ---\n${logText.slice(-8192)}`;
    throw err;
  }

  const port = Number(new URL(ready.url).port);
  const caPath = path.resolve(dir, ready.caPath);
  const adminPath = path.resolve(dir, ready.adminPath);
  const ca = await fsp.readFile(caPath, "utf8");
  const admin = JSON.parse(await fsp.readFile(adminPath, "utf8"));
  // Trusts the server's CA only (TLS verification stays on) and resolves *.localhost to loopback.
  const agent = new https.Agent({ ca, lookup: loopbackLookup, keepAlive: true });

  let stopped = null;
  const server = {
    url: ready.url,
    port,
    dataDir: dir,
    caPath,
    adminPath,
    admin,
    ca,
    agent,
    pid: child.pid,
    /** Everything the server printed so far (last 256 KiB). */
    log: () => logText,
    /** True while the process runs. */
    running: () => child.exitCode === null && child.signalCode === null,
    /**
     * Crash: SIGKILL (no chance to clean up) and wait for the exit. The data dir stays, so a new
     * server can start on it with startServer({dataDir: server.dataDir}); a temp dir that
     * startServer made itself is still removed by a later stop(). Resolves to {code, signal}.
     */
    async kill(timeoutMs = 10_000) {
      agent.destroy();
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
        child.kill("SIGKILL");
        if (!(await waitForExit(child, timeoutMs))) throw new Error(`certvault ${child.pid} did not die on SIGKILL`);
        return exited;
      }
      return { code: child.exitCode, signal: child.signalCode };
    },
    /** SIGTERM, wait up to timeoutMs, then SIGKILL; removes the temp data dir. Idempotent. */
    stop(timeoutMs = 10_000) {
      stopped ??= (async () => {
        agent.destroy();
        let exit = { code: child.exitCode, signal: child.signalCode, graceful: true };
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((resolve) =>
            child.once("exit", (code, signal) => resolve({ code, signal })),
          );
          child.kill("SIGTERM");
          if (await waitForExit(child, timeoutMs)) {
            exit = { ...(await exited), graceful: true };
          } else {
            child.kill("SIGKILL");
            await waitForExit(child, 5_000);
            exit = { ...(await exited), graceful: false };
          }
        }
        if (ownsDir) await fsp.rm(dir, { recursive: true, force: true });
        return exit;
      })();
      return stopped;
    },
  };
  return server;
}

/**
 * A raw HTTPS request to the server (trusting its CA), for what the SDK cannot send.
 *
 * @param {object} server from startServer()
 * @param {object} req
 * @param {string} [req.method] default GET
 * @param {string} req.path     path and query, e.g. "/certificates?api-version=7.5"; or a full URL
 * @param {string} [req.vault]  vault name (host `${vault}.localhost`), default "default"
 * @param {string} [req.host]   host name instead of the vault's (e.g. "localhost", "127.0.0.1")
 * @param {object} [req.headers]
 * @param {string|Buffer|object} [req.body] an object is sent as JSON
 * @param {string|boolean} [req.token] a bearer token, or true for an admin token
 * @param {string} [req.servername] TLS server name (SNI and certificate check) when it must differ
 *   from the URL's host, e.g. to send `Host: other.localhost` over a connection to default.localhost
 * @returns {Promise<{status:number, headers:object, body:Buffer, text:string, json:any}>}
 */
export async function request(server, { method = "GET", path: p, vault = "default", host, headers = {}, body, token, servername, timeoutMs = 30_000 }) {
  let url;
  if (/^https:\/\//.test(p)) {
    url = new URL(p);
  } else {
    url = new URL(`https://${host ?? `${vault}.${DNS_SUFFIX}`}:${server.port}${p}`);
  }
  const h = { ...headers };
  let payload;
  if (body !== undefined && body !== null) {
    if (Buffer.isBuffer(body) || typeof body === "string") {
      payload = body;
    } else {
      payload = JSON.stringify(body);
      h["content-type"] ??= "application/json";
    }
  }
  if (token === true) token = (await adminToken(server)).access_token;
  if (token) h.authorization = `Bearer ${token}`;
  if (payload !== undefined) h["content-length"] = Buffer.byteLength(payload);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        agent: server.agent,
        hostname: url.hostname.replace(/^\[|\]$/g, ""),
        port: url.port || 443,
        path: `${url.pathname}${url.search}`,
        method,
        headers: h,
        timeout: timeoutMs,
        ...(servername ? { servername } : {}),
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const buf = Buffer.concat(chunks);
          const text = buf.toString("utf8");
          let json;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode, headers: res.headers, body: buf, text, json });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`request ${method} ${url} timed out`)));
    req.on("error", reject);
    req.end(payload);
  });
}

/**
 * POSTs a client-credentials grant for the admin client to admin.token_url.
 * @returns {Promise<{access_token:string, expires_in:number, token_type:string}>}
 */
export async function requestToken(server, { clientId, clientSecret, scope, tokenUrl } = {}) {
  const form = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: clientId ?? server.admin.client_id,
    client_secret: clientSecret ?? server.admin.client_secret,
  });
  if (scope) form.set("scope", scope);
  const res = await request(server, {
    method: "POST",
    path: tokenUrl ?? server.admin.token_url,
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: form.toString(),
  });
  if (res.status !== 200 || !res.json?.access_token) {
    const err = new Error(`token request failed: HTTP ${res.status} ${res.text.slice(0, 500)}`);
    err.statusCode = res.status;
    err.response = res;
    throw err;
  }
  return res.json;
}

/** An admin access token (cached until a minute before expiry). */
export async function adminToken(server) {
  const cached = server._adminToken;
  if (cached && cached.expiresAt - 60_000 > Date.now()) return cached;
  const t = await requestToken(server);
  server._adminToken = { ...t, expiresAt: Date.now() + Number(t.expires_in ?? 300) * 1000 };
  return server._adminToken;
}

/**
 * A TokenCredential (@azure/core-auth) that gets tokens from the server's token endpoint with the
 * admin client's credentials.
 */
export function tokenCredential(server, { clientId, clientSecret } = {}) {
  return {
    async getToken(scopes) {
      const scope = Array.isArray(scopes) ? scopes.join(" ") : scopes;
      const t = await requestToken(server, { clientId, clientSecret, scope });
      const expiresIn = Number(t.expires_in ?? 300);
      return {
        token: t.access_token,
        expiresOnTimestamp: Date.now() + expiresIn * 1000,
        tokenType: "Bearer",
      };
    },
  };
}

/**
 * Options for the SDK clients (CertificateClient, SecretClient): the agent that trusts the
 * server's CA, and no retries so that failures show at once.
 */
export function clientOptions(server, extra = {}) {
  return { agent: server.agent, retryOptions: { maxRetries: 0 }, ...extra };
}
