// TLS: protocol versions and cipher suites checked with the openssl command (each refusal is
// backed by a control server that accepts the very same client command, so a refusal is the
// server's and not the client's), and renewal of the server's certificate without a restart
// (--tls-cert-validity PT15S).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import https from "node:https";
import tls from "node:tls";
import { after, before, describe, it } from "node:test";
import { loopbackLookup } from "./lib/loopback.mjs";
import { Pki } from "./lib/pki.mjs";
import { startServer } from "./lib/server.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * `openssl s_client` against 127.0.0.1:port (SNI and host check: localhost, verification on);
 * stdin is empty so it ends right after the handshake. Resolves {ok, protocol, cipher, verified, out}.
 */
function sClient(port, caFile, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "openssl",
      ["s_client", "-connect", `127.0.0.1:${port}`, "-servername", "localhost", "-CAfile", caFile, "-verify_return_error", "-verify_hostname", "localhost", ...args],
      { stdio: ["ignore", "pipe", "pipe"], env },
    );
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      const m = /New, (TLSv[\d.]+|SSLv3), Cipher is (\S+)/.exec(out);
      const protocol = /Protocol\s*:\s*(\S+)/.exec(out)?.[1] ?? m?.[1];
      const cipher = m?.[2] && m[2] !== "(NONE)" ? m[2] : undefined;
      resolve({ ok: code === 0 && !!cipher, code, protocol, cipher, verified: /Verify return code: 0 \(ok\)/.test(out), out });
    });
  });
}

function peerCertificate(port, ca) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, servername: "localhost", ca }, () => {
      const cert = socket.getPeerCertificate(true);
      socket.end();
      resolve(cert);
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error("tls.connect timed out")));
    socket.on("error", reject);
  });
}

const sans = (cert) => String(cert.subjectaltname ?? "").split(/,\s*/).filter(Boolean).sort();

describe("TLS versions and cipher suites (openssl s_client)", { timeout: 180_000 }, () => {
  let server;
  let pki;
  let control; // a permissive TLS server: proves each refused client command can connect at all
  let controlPort;
  let env;
  let servedKeyType;

  before(async () => {
    server = await startServer();
    pki = await Pki.create();
    // A clean OpenSSL configuration, so that the system's (MinProtocol, SECLEVEL) does not decide for us.
    const conf = await pki.write("openssl.cnf", "# empty\n");
    env = { ...process.env, OPENSSL_CONF: conf };
    const ca = await pki.makeCA("tls-control-ca");
    const rsa = await pki.makeLeaf(ca, "control-rsa", { kind: "rsa2048", sans: "DNS:localhost,IP:127.0.0.1" });
    const ec = await pki.makeLeaf(ca, "control-ec", { kind: "p256", sans: "DNS:localhost,IP:127.0.0.1" });
    control = tls.createServer(
      {
        key: [rsa.keyPem, ec.keyPem],
        cert: [rsa.certPem, ec.certPem],
        minVersion: "TLSv1",
        maxVersion: "TLSv1.3",
        ciphers: "ALL:@SECLEVEL=0",
        dhparam: "auto",
      },
      (socket) => socket.end(),
    );
    await new Promise((r) => control.listen(0, "127.0.0.1", r));
    controlPort = control.address().port;
    control.caFile = ca.certPath;
    const served = new crypto.X509Certificate((await peerCertificate(server.port, server.ca)).raw);
    servedKeyType = served.publicKey.asymmetricKeyType; // "ec" per docs/security.md
  });

  after(async () => {
    control?.close();
    await server?.stop();
    await pki?.cleanup();
  });

  const REFUSED = [
    ["TLS 1.0", ["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"]],
    ["TLS 1.1", ["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"]],
    ["TLS 1.2 AES128-SHA256 (RSA key exchange, CBC)", ["-tls1_2", "-cipher", "AES128-SHA256"]],
    ["TLS 1.2 AES256-GCM-SHA384 (RSA key exchange: not forward secret)", ["-tls1_2", "-cipher", "AES256-GCM-SHA384"]],
    ["TLS 1.2 ECDHE-RSA-AES128-SHA (CBC)", ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA"]],
    ["TLS 1.2 ECDHE-ECDSA-AES128-SHA (CBC)", ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA"]],
    ["TLS 1.2 ECDHE-ECDSA-AES128-SHA256 (CBC)", ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256"]],
    ["TLS 1.2 ECDHE-ECDSA-AES256-SHA384 (CBC)", ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-SHA384"]],
    ["TLS 1.2 DHE-RSA-AES128-GCM-SHA256 (finite-field DHE)", ["-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0"]],
  ];

  for (const [what, args] of REFUSED) {
    it(`refuses ${what}`, async () => {
      const ctl = await sClient(controlPort, control.caFile, args, env);
      assert.ok(ctl.ok, `control: this client command must connect to a permissive server:\n${ctl.out.slice(-1500)}`);
      const res = await sClient(server.port, server.caPath, args, env);
      assert.ok(!res.ok, `certvault accepted ${what}: protocol ${res.protocol}, cipher ${res.cipher}`);
    });
  }

  it("accepts TLS 1.2 with the forward-secret AEAD suites for its key type", async () => {
    const suites = servedKeyType === "ec"
      ? ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"]
      : ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305"];
    for (const suite of suites) {
      const res = await sClient(server.port, server.caPath, ["-tls1_2", "-cipher", suite], env);
      assert.ok(res.ok, `TLS 1.2 ${suite} refused:\n${res.out.slice(-1500)}`);
      assert.equal(res.protocol, "TLSv1.2");
      assert.equal(res.cipher, suite);
      assert.ok(res.verified, "the certificate verifies against ca.pem for localhost");
    }
    // A client offering both AES128-GCM suites gets one of them.
    const both = await sClient(server.port, server.caPath, ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"], env);
    assert.ok(both.ok, both.out.slice(-1500));
    assert.match(both.cipher, /^ECDHE-(ECDSA|RSA)-AES128-GCM-SHA256$/);
  });

  it("accepts TLS 1.3", async () => {
    const res = await sClient(server.port, server.caPath, ["-tls1_3"], env);
    assert.ok(res.ok, res.out.slice(-1500));
    assert.equal(res.protocol, "TLSv1.3");
    assert.ok(res.verified);
    for (const suite of ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]) {
      const r = await sClient(server.port, server.caPath, ["-tls1_3", "-ciphersuites", suite], env);
      assert.ok(r.ok, `TLS 1.3 ${suite}: ${r.out.slice(-800)}`);
      assert.equal(r.cipher, suite);
    }
  });
});

describe("TLS certificate renewal without a restart (--tls-cert-validity PT15S)", { timeout: 90_000 }, () => {
  let server;
  let agent;

  before(async () => {
    server = await startServer({ extraArgs: ["--tls-cert-validity", "PT15S"] });
    agent = new https.Agent({ ca: server.ca, keepAlive: true, maxSockets: 1, lookup: loopbackLookup });
  });

  after(async () => {
    agent?.destroy();
    await server?.stop();
  });

  /** GET /healthz over the one kept-alive connection: {status, socket}. */
  function healthz() {
    return new Promise((resolve, reject) => {
      const req = https.request({ agent, hostname: "localhost", port: server.port, path: "/healthz", timeout: 10_000 }, (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode, socket: res.socket ?? req.socket }));
      });
      req.on("timeout", () => req.destroy(new Error("healthz timed out")));
      req.on("error", reject);
      req.end();
    });
  }

  it("re-issues the certificate before it expires; new connections get it, the old connection keeps working", async () => {
    const pid = server.pid;
    const caX509 = new crypto.X509Certificate(server.ca);
    const first = await peerCertificate(server.port, server.ca);
    const firstX509 = new crypto.X509Certificate(first.raw);
    const remaining = (Date.parse(first.valid_to) - Date.now()) / 1000;
    assert.ok(remaining <= 16, `the first certificate lives about 15 s (expires in ${remaining.toFixed(1)} s)`);

    const kept = await healthz();
    assert.equal(kept.status, 200);
    const keptSocket = kept.socket;
    const keptPort = keptSocket.localPort;
    assert.equal(keptSocket.getPeerCertificate().serialNumber, first.serialNumber);

    let renewed;
    const deadline = Date.now() + 25_000;
    for (let i = 0; i < 100 && Date.now() < deadline; i++) {
      await sleep(500);
      const c = await peerCertificate(server.port, server.ca); // verification on: fails if expired or unchained
      if (c.serialNumber !== first.serialNumber) {
        renewed = c;
        break;
      }
      // The kept-alive connection is used all along (and keeps being served).
      const h = await healthz();
      assert.equal(h.status, 200);
    }
    assert.ok(renewed, `no new certificate within 25 s (serial still ${first.serialNumber}, valid to ${first.valid_to})`);

    const x = new crypto.X509Certificate(renewed.raw);
    const now = Date.now();
    assert.ok(Date.parse(renewed.valid_from) <= now && now < Date.parse(renewed.valid_to), `valid now: ${renewed.valid_from} .. ${renewed.valid_to}`);
    assert.ok(Date.parse(renewed.valid_to) > Date.parse(first.valid_to), "it expires later than the first");
    assert.ok(x.checkIssued(caX509) && x.verify(caX509.publicKey), "signed by the CA in ca.pem");
    assert.deepEqual(sans(renewed), sans(first), "the same names");
    assert.equal(x.subject, firstX509.subject, "the same subject");

    assert.equal(server.running(), true, "the server is still running");
    assert.equal(server.pid, pid, "the same process");
    assert.equal((server.log().match(/certvault server ready/g) ?? []).length, 1, "one ready line: never restarted");
    const after = await healthz();
    assert.equal(after.status, 200, "the old connection is still served");
    assert.equal(after.socket.localPort, keptPort, "on the same connection");
    assert.equal(after.socket.getPeerCertificate().serialNumber, first.serialNumber, "which keeps the certificate it was opened with");
    await fsp.access(server.caPath);
    assert.equal(fs.readFileSync(server.caPath, "utf8"), server.ca, "ca.pem is unchanged: same CA");
  });
});
