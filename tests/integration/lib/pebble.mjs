// pebble (Let's Encrypt's ACME test CA) and pebble-challtestsrv for the integration tests.
//
//   import { pebbleMissing, startPebble, freePort } from "./lib/pebble.mjs";
//   const httpPort = await freePort();                    // certvault --acme-http-listen 127.0.0.1:PORT
//   const pebble = await startPebble({ httpPort });        // in before()
//   ... pebble.directoryUrl, pebble.caPath (verifies pebble's TLS), pebble.ordersPlaced() ...
//   await pebble.stop();                                   // in after(), always
//
// pebble validates http-01 challenges by connecting to 127.0.0.1:httpPort: every name resolves
// to 127.0.0.1 through pebble-challtestsrv, which runs as pebble's DNS server only (its own
// challenge servers are off). pebble's TLS certificate (IP:127.0.0.1, DNS:localhost) is signed by
// a CA made here with openssl; caPath is the bundle an ACME issuer's `ca_bundle` needs.
// pebble runs with PEBBLE_VA_NOSLEEP=1 (no random sleep before validations), PEBBLE_AUTHZREUSE=0
// (every order validates afresh) and PEBBLE_WFE_NONCEREJECT=0 (no deliberate badNonce), so what
// the tests count is what the client did.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import https from "node:https";
import net from "node:net";
import { Pki } from "./pki.mjs";

export const PEBBLE_BIN = process.env.PEBBLE_BIN || "/usr/bin/pebble";
export const CHALLTESTSRV_BIN = process.env.PEBBLE_CHALLTESTSRV_BIN || "/usr/bin/pebble-challtestsrv";

/** pebble's example EAB key (kid-1), base64url: what a CA hands out as the HMAC key. */
export const EAB_KID = "kid-1";
export const EAB_HMAC_KEY = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";

const LOG_LIMIT = 4 * 1024 * 1024;

/** A reason to skip when pebble or pebble-challtestsrv is not installed, else "". */
export function pebbleMissing() {
  for (const bin of [PEBBLE_BIN, CHALLTESTSRV_BIN]) {
    try {
      fs.accessSync(bin, fs.constants.X_OK);
    } catch {
      return `${bin} is not installed (Debian package pebble; scripts/install-deps.sh installs it)`;
    }
  }
  if (spawnSync("openssl", ["version"]).status !== 0) return "the openssl command is missing";
  return "";
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function tcpAccepts(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    sock.setTimeout(1000);
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("timeout", () => {
      sock.destroy();
      resolve(false);
    });
    sock.once("error", () => resolve(false));
  });
}

async function waitForTcp(port, what, child, logText, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; Date.now() < deadline && i < 1000; i++) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited during start:\n${logText().slice(-4096)}`);
    }
    if (await tcpAccepts(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms:\n${logText().slice(-4096)}`);
}

function spawnLogged(bin, args, env) {
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let text = "";
  const append = (chunk) => {
    text += chunk.toString("utf8");
    if (text.length > LOG_LIMIT) text = text.slice(text.length - LOG_LIMIT);
  };
  child.stdout.on("data", append);
  child.stderr.on("data", append);
  return { child, log: () => text };
}

async function stopChild(child, ms = 5_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = new Promise((resolve) => setTimeout(() => resolve("timeout"), ms));
  if ((await Promise.race([exited, timer])) === "timeout") {
    child.kill("SIGKILL");
    await exited;
  }
}

// Children still running, killed if the test process exits without stopping them.
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

/**
 * Starts pebble-challtestsrv (DNS only) and pebble.
 *
 * @param {object} opts
 * @param {number} opts.httpPort     port on 127.0.0.1 where pebble validates http-01 (certvault's --acme-http-listen)
 * @param {boolean} [opts.eab]       require External Account Binding (key EAB_KID / EAB_HMAC_KEY)
 * @param {number} [opts.validitySeconds] lifetime of issued certificates (pebble's default: 5 years)
 * @returns {Promise<object>} {directoryUrl, caPath, caPem, managementUrl, log(), ordersPlaced(),
 *   issuedSerials(), ordersBeforeIssue(serialHex), rootPem(), stop()}
 */
export async function startPebble({ httpPort, eab = false, validitySeconds } = {}) {
  if (!httpPort) throw new Error("startPebble: httpPort is required");
  const pki = await Pki.create();
  const children = [];
  try {
    const ca = await pki.makeCA("pebble-tls-ca", { cn: "certvault test pebble TLS CA", days: 2 });
    const tls = await pki.makeLeaf(ca, "pebble-tls", { cn: "localhost", sans: "IP:127.0.0.1,DNS:localhost", days: 2 });
    const [acmePort, managementPort, dnsPort, challPort, tlsPort] = await Promise.all(
      Array.from({ length: 5 }, () => freePort()),
    );
    const config = {
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: tls.certPath,
        privateKey: tls.keyPath,
        httpPort,
        tlsPort,
        ocspResponderURL: "",
        externalAccountBindingRequired: !!eab,
        ...(eab ? { externalAccountMACKeys: { [EAB_KID]: EAB_HMAC_KEY } } : {}),
        ...(validitySeconds ? { certificateValidityPeriod: validitySeconds } : {}),
      },
    };
    const configPath = await pki.write("pebble.json", JSON.stringify(config, null, 2));

    const chall = spawnLogged(CHALLTESTSRV_BIN, [
      "-management", `127.0.0.1:${challPort}`,
      "-dns01", `127.0.0.1:${dnsPort}`,
      "-http01", "", "-https01", "", "-tlsalpn01", "",
      "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
    ]);
    children.push(chall.child);
    live.add(chall.child);
    await waitForTcp(challPort, "pebble-challtestsrv", chall.child, chall.log);

    const peb = spawnLogged(PEBBLE_BIN, ["-config", configPath, "-dnsserver", `127.0.0.1:${dnsPort}`], {
      PEBBLE_VA_NOSLEEP: "1",
      PEBBLE_AUTHZREUSE: "0",
      PEBBLE_WFE_NONCEREJECT: "0",
    });
    children.push(peb.child);
    live.add(peb.child);
    await waitForTcp(acmePort, "pebble", peb.child, peb.log);
    await waitForTcp(managementPort, "pebble management", peb.child, peb.log);

    const agent = new https.Agent({ ca: ca.certPem });
    const get = (url) =>
      new Promise((resolve, reject) => {
        https
          .get(url, { agent, timeout: 10_000 }, (res) => {
            const chunks = [];
            res.on("data", (c) => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString("utf8") }));
            res.on("error", reject);
          })
          .on("error", reject)
          .on("timeout", function onTimeout() {
            this.destroy(new Error(`GET ${url} timed out`));
          });
      });

    let stopped = null;
    return {
      directoryUrl: `https://127.0.0.1:${acmePort}/dir`,
      managementUrl: `https://127.0.0.1:${managementPort}`,
      caPath: ca.certPath,
      caPem: ca.certPem,
      eab: !!eab,
      /** pebble's output so far. */
      log: () => peb.log(),
      challtestsrvLog: () => chall.log(),
      /** Orders pebble created so far (one `Added order "ID"` line each), in order. */
      ordersPlaced: () => [...peb.log().matchAll(/Added order "([^"]+)" to the db/g)].map((m) => m[1]),
      /** Certificates pebble issued so far: [{serial (hex, lower case), order}]. */
      issuedSerials: () =>
        [...peb.log().matchAll(/Issued certificate serial ([0-9a-f]+) for order (\S+)/gi)].map((m) => ({
          serial: m[1].toLowerCase(),
          order: m[2],
        })),
      /** pebble's root CA certificate (PEM) from its management interface. */
      async rootPem() {
        const res = await get(`https://127.0.0.1:${managementPort}/roots/0`);
        if (res.status !== 200) throw new Error(`pebble /roots/0: HTTP ${res.status} ${res.text.slice(0, 200)}`);
        return res.text;
      },
      stop() {
        stopped ??= (async () => {
          agent.destroy();
          for (const c of children.reverse()) {
            await stopChild(c);
            live.delete(c);
          }
          await pki.cleanup();
        })();
        return stopped;
      },
    };
  } catch (err) {
    for (const c of children) {
      await stopChild(c);
      live.delete(c);
    }
    await pki.cleanup();
    throw err;
  }
}

/**
 * Orders pebble placed between the issuance before `serialHex` and the issuance of `serialHex`
 * (i.e. the orders a client opened to obtain that certificate), read from pebble's log.
 * Returns {orders: [ids], order: the id that issued it} or null if pebble did not issue it.
 */
export function ordersForSerial(pebbleLog, serialHex) {
  const serial = serialHex.toLowerCase().replace(/^0+/, "");
  const lines = pebbleLog.split("\n");
  let since = [];
  for (const line of lines) {
    const added = /Added order "([^"]+)" to the db/.exec(line);
    if (added) since.push(added[1]);
    const issued = /Issued certificate serial ([0-9a-f]+) for order (\S+)/i.exec(line);
    if (issued) {
      if (issued[1].toLowerCase().replace(/^0+/, "") === serial) return { orders: since, order: issued[2] };
      since = since.filter((o) => o !== issued[2]);
    }
  }
  return null;
}
