// Crash safety of renewals (DESIGN.md §5: "a crash at any step resumes or restarts the step,
// never produces two versions for one renewal, never orphans a key"): kill -9 of the server at
// random moments while a wave of AutoRenew jobs runs, restart on the same data dir, and check that
// nothing is lost: every job completes, each renewal makes exactly one version, every version has
// its certificate, chain and matching key, no operation is left in progress, the event outbox has
// one NewVersionCreated per version and no duplicate NearExpiry. The storage-level invariants are
// also checked (read-only sqlite3) on the database as each kill left it.
//
// Certificates: a third Self-issued, a third from the built-in CA (`internal`), a third from a
// `command` issuer whose script (openssl ca) sleeps 0.2 s, so that kills land mid-issuance.
// The lifecycle clock is moved with POST /management/clock (--test-clock); its offset lives in the
// server's memory, so it is re-applied (the running total) after every restart.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { installSignScript, storageInvariants } from "./lib/crash.mjs";
import { keyMatchesCert, pemBlocks, Pki } from "./lib/pki.mjs";
import { request, startServer } from "./lib/server.mjs";
import { pollUntil } from "./lib/util.mjs";

const API = "api-version=7.5";
const DAY = 86_400;
const CERTS_PER_ISSUER = 10; // x 3 issuers
// Diagnosis knobs (the defaults are what CI runs): CERTVAULT_IT_CRASH_ROUNDS, CERTVAULT_IT_CRASH_LEASE.
const ROUNDS = Number(process.env.CERTVAULT_IT_CRASH_ROUNDS || 8);
const LEASE = process.env.CERTVAULT_IT_CRASH_LEASE || "PT3S";
const ADVANCE_DAYS = 25; // per round: past 80 % of a P30D version issued at the previous round
const MAX_KILL_DELAY_MS = 400;
const DRAIN_TIMEOUT_MS = 30_000 + 3_000 * (Number(/^PT(\d+)S$/.exec(LEASE)?.[1]) || 3);
const SERVER_ARGS = ["--test-clock", "--job-lease", LEASE, "--retry-initial", "PT1S", "--retry-max", "PT2S", "--rate-limit", "0"];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const randomInt = (max) => crypto.randomInt(0, max + 1);
const lc = (s) => String(s).toLowerCase();

/** Runs fn over items with at most `limit` at once. */
async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

describe("crash safety: kill -9 during renewals", { timeout: 240_000 }, () => {
  let server;
  let dataDir;
  let pki;
  let offsetSeconds = 0; // the lifecycle clock's total advance, re-applied after each restart

  after(async () => {
    await server?.stop();
    // CERTVAULT_IT_KEEP_DATA=1 keeps the data dir (database, logs) for a post-mortem.
    if (dataDir && !process.env.CERTVAULT_IT_KEEP_DATA) await fsp.rm(dataDir, { recursive: true, force: true });
    else if (dataDir) process.stderr.write(`crash test: data dir kept at ${dataDir}\n`);
    await pki?.cleanup();
  });

  async function call(method, p, { body, host, expect } = {}) {
    const res = await request(server, { method, path: p, body, host, token: true });
    if (expect !== undefined) {
      const ok = Array.isArray(expect) ? expect.includes(res.status) : res.status === expect;
      assert.ok(ok, `${method} ${p}: expected HTTP ${expect}, got ${res.status} ${res.text.slice(0, 500)}`);
    }
    return res;
  }

  async function start() {
    server = await startServer({ dataDir, extraArgs: SERVER_ARGS });
    if (offsetSeconds > 0) {
      await call("POST", "/management/clock", { host: "localhost", body: { advance: `PT${offsetSeconds}S` }, expect: 200 });
    }
  }

  async function advance(days) {
    offsetSeconds += days * DAY;
    const res = await call("POST", "/management/clock", { host: "localhost", body: { advance: `P${days}D` }, expect: 200 });
    assert.equal(res.json.offset_seconds, offsetSeconds, `the server's clock offset is the running total: ${res.text}`);
  }

  /** Every item of a paged listing (nextLink is an absolute URL). */
  async function listAll(first, { limit = 100_000 } = {}) {
    const items = [];
    let link = first;
    for (let page = 0; link; page++) {
      assert.ok(page < 1000, `too many pages from ${first}`);
      const res = await call("GET", link, { expect: 200 });
      items.push(...res.json.value);
      link = res.json.nextLink ?? null;
      assert.ok(items.length <= limit, `more than ${limit} items from ${first}`);
    }
    return items;
  }

  async function unfinishedJobs() {
    const counts = {};
    for (const status of ["queued", "running", "waiting"]) {
      const res = await call("GET", `/jobs?status=${status}&maxresults=25&${API}`, { expect: 200 });
      counts[status] = res.json.value.length;
    }
    return counts;
  }

  /** Waits (bounded) until no job is queued, running or waiting. */
  async function drain(what) {
    let last;
    await pollUntil(
      async () => {
        last = await unfinishedJobs();
        return last.queued + last.running + last.waiting === 0;
      },
      { timeoutMs: DRAIN_TIMEOUT_MS, intervalMs: 150, what: `${what}: every job finished` },
    ).catch((err) => {
      err.message += ` (last counts ${JSON.stringify(last)})\n--- server output ---\n${server.log().slice(-4000)}`;
      throw err;
    });
  }

  it("loses nothing: every job completes, one version per renewal, no orphaned key", async (t) => {
    const began = Date.now();
    dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), "certvault-crash-"));
    pki = await Pki.create();
    const ca = await pki.makeCA("crash-ca", { days: 3650 });
    const signPath = await installSignScript(dataDir, "sign.sh", { sleepSeconds: 0.2 });
    await start();

    await call("PUT", `/certificates/issuers/corp-internal?${API}`, { body: { provider: "internal" }, expect: 200 });
    await call("PUT", `/certificates/issuers/corp-command?${API}`, {
      body: { provider: "command", settings: { command: signPath, env: { CA_CERT: ca.certPath, CA_KEY: ca.keyPath } } },
      expect: 200,
    });

    // 30 certificates, P30D, AutoRenew at 80 %, PEM secrets (key + leaf + chain).
    const certs = [];
    for (const issuer of ["Self", "corp-internal", "corp-command"]) {
      for (let i = 0; i < CERTS_PER_ISSUER; i++) {
        const rsa = i % 2 === 0;
        certs.push({ name: `crash-${lc(issuer)}-${i}`, issuer, rsa });
      }
    }
    const policyOf = (c) => ({
      key_props: c.rsa ? { kty: "RSA", key_size: 2048, exportable: true, reuse_key: false } : { kty: "EC", crv: "P-256", exportable: true, reuse_key: false },
      secret_props: { contentType: "application/x-pem-file" },
      x509_props: { subject: `CN=${c.name}`, sans: { dns_names: [`${c.name}.example.test`] }, validity_duration: "P30D" },
      issuer: { name: c.issuer },
      lifetime_actions: [{ trigger: { lifetime_percentage: 80 }, action: { action_type: "AutoRenew" } }],
    });
    await mapLimit(certs, 8, async (c) => {
      await call("POST", `/certificates/${c.name}/create?${API}`, { body: { policy: policyOf(c) }, expect: 202 });
    });

    const kills = [];
    let midWork = 0;
    async function crash(round, phase, delayMs) {
      await sleep(delayMs);
      const exit = await server.kill();
      assert.equal(exit.signal, "SIGKILL", `the server died of the kill: ${JSON.stringify(exit)}`);
      const inv = await storageInvariants(dataDir);
      const point = { round, phase, delayMs, ...inv.stats };
      kills.push(point);
      if (inv.stats.unfinished > 0 || inv.stats.opsInProgress > 0) midWork++;
      t.diagnostic(`kill #${kills.length} round ${round} ${phase} after ${delayMs} ms: ${JSON.stringify(inv.stats)}`);
      assert.deepEqual(inv.violations, [], `storage invariants right after kill #${kills.length} (round ${round}, ${phase}, ${delayMs} ms)`);
      await start();
    }

    // Round 0: a kill while the creations (jobs for the issuer-backed ones) run. Every
    // acknowledged create must survive it.
    await crash(0, "create", randomInt(MAX_KILL_DELAY_MS));
    await drain("round 0");
    for (const c of certs) {
      const res = await call("GET", `/certificates/${c.name}?${API}`, { expect: 200 });
      assert.ok(res.json.cer, `${c.name} has its first version after the create-time crash: ${res.text.slice(0, 300)}`);
    }

    // Rounds: a wave of renewals falls due; kill -9 at a random moment (sometimes twice: again
    // during the recovery); restart; let the wave finish.
    const roundStats = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const t0 = Date.now();
      await advance(ADVANCE_DAYS);
      await crash(round, "wave", randomInt(MAX_KILL_DELAY_MS));
      let extra = 0;
      while (extra < 2 && crypto.randomInt(0, 2) === 1) {
        extra++;
        await crash(round, `recovery${extra}`, randomInt(MAX_KILL_DELAY_MS));
      }
      await drain(`round ${round}`);
      roundStats.push({ round, kills: 1 + extra, ms: Date.now() - t0 });
      t.diagnostic(`round ${round}: ${1 + extra} kill(s), drained in ${Date.now() - t0} ms`);
    }

    // Everything has run (bounded wait above); now the invariants, over the API first.
    const jobs = await listAll(`/jobs?maxresults=25&${API}`);
    const notSucceeded = jobs.filter((j) => j.status !== "succeeded");
    assert.deepEqual(
      notSucceeded.map((j) => ({ job: j.job_id, certificate: j.certificate, trigger: j.trigger, status: j.status, last_error: j.last_error, attempts: j.attempts })),
      [],
      "every job succeeded",
    );
    const renewals = jobs.filter((j) => /^AutoRenew \(lifetime_percentage=80\)$/.test(j.trigger));
    const seenSource = new Map();
    for (const j of renewals) {
      const k = `${lc(j.certificate)}/${lc(j.source_version)}`;
      assert.ok(j.source_version, `renewal job ${j.job_id} names its source version`);
      assert.ok(!seenSource.has(k), `renewal jobs ${seenSource.get(k)} and ${j.job_id} share source version ${k}`);
      seenSource.set(k, j.job_id);
    }
    t.diagnostic(`jobs: ${jobs.length} (${renewals.length} renewals); attempts > 1 on ${jobs.filter((j) => j.attempts.length > 1).length}`);

    const versionsOf = new Map();
    await mapLimit(certs, 6, async (c) => {
      const versions = await listAll(`/certificates/${c.name}/versions?maxresults=25&${API}`);
      versionsOf.set(c.name, versions.map((v) => v.id.split("/").pop()));
      const succeeded = renewals.filter((j) => lc(j.certificate) === lc(c.name)).length;
      assert.equal(versions.length, 1 + succeeded, `${c.name}: versions = 1 + succeeded renewal jobs`);
      assert.equal(versions.length, 1 + ROUNDS, `${c.name}: each of the ${ROUNDS} waves renewed it exactly once`);
      for (const j of renewals.filter((x) => lc(x.certificate) === lc(c.name))) {
        assert.ok(versionsOf.get(c.name).some((v) => lc(v) === lc(j.source_version)), `${c.name}: renewal ${j.job_id} renewed one of its versions`);
      }
      const pending = await call("GET", `/certificates/${c.name}/pending?${API}`, { expect: 200 });
      assert.equal(pending.json.status, "completed", `${c.name}: its last operation completed: ${pending.text.slice(0, 300)}`);
    });

    // Every version: its certificate, its chain (issuer-backed) and a private key that matches.
    let checked = 0;
    await mapLimit(certs, 6, async (c) => {
      for (const version of versionsOf.get(c.name)) {
        const cert = await call("GET", `/certificates/${c.name}/${version}?${API}`, { expect: 200 });
        assert.ok(cert.json.cer, `${c.name}/${version} has its certificate`);
        const der = Buffer.from(cert.json.cer, "base64");
        const x509 = new crypto.X509Certificate(der);
        const secret = await call("GET", `/secrets/${c.name}/${version}?${API}`, { expect: 200 });
        assert.equal(secret.json.contentType, "application/x-pem-file");
        const blocks = pemBlocks(secret.json.value);
        const key = blocks.find((b) => /PRIVATE KEY$/.test(b.type));
        const chain = blocks.filter((b) => b.type === "CERTIFICATE");
        assert.ok(key, `${c.name}/${version}: the secret has the private key`);
        assert.ok(chain.length >= 1 && chain[0].der.equals(der), `${c.name}/${version}: the secret's leaf is the certificate`);
        assert.ok(keyMatchesCert(key.pem, x509), `${c.name}/${version}: the key matches the certificate`);
        if (c.issuer === "Self") {
          assert.equal(x509.issuer, x509.subject, `${c.name}/${version} is self-signed`);
        } else {
          assert.ok(chain.length >= 2, `${c.name}/${version}: the chain has its CA (${chain.length} certificates)`);
          const issuerCert = new crypto.X509Certificate(chain[1].der);
          assert.ok(x509.verify(issuerCert.publicKey), `${c.name}/${version} is signed by the next certificate of its chain`);
          if (c.issuer === "corp-command") assert.ok(chain[1].der.equals(ca.certDer), `${c.name}/${version}: chained to the test CA`);
        }
        const days = (new Date(x509.validTo) - new Date(x509.validFrom)) / 1000 / DAY;
        assert.ok(Math.abs(days - 30) < 0.01, `${c.name}/${version}: valid for P30D (${days} days)`);
        checked++;
      }
    });
    t.diagnostic(`versions checked (certificate, chain, key): ${checked}`);

    // The event outbox over the management API.
    const events = [];
    for (let after = 0, i = 0; i < 1000; i++) {
      const res = await call("GET", `/management/events?after=${after}&maxresults=1000`, { host: "localhost", expect: 200 });
      if (res.json.value.length === 0) break;
      events.push(...res.json.value);
      after = res.json.value[res.json.value.length - 1].seq;
    }
    const newVersion = new Map();
    const nearExpiry = new Map();
    for (const e of events) {
      if (e.object_type && !/certificate/i.test(e.object_type)) continue;
      const k = `${lc(e.object_name)}/${lc(e.version)}`;
      if (e.type === "Microsoft.KeyVault.CertificateNewVersionCreated") newVersion.set(k, (newVersion.get(k) ?? 0) + 1);
      if (e.type === "Microsoft.KeyVault.CertificateNearExpiry") {
        const kk = `${k}/${e.detail?.action}`;
        nearExpiry.set(kk, (nearExpiry.get(kk) ?? 0) + 1);
      }
    }
    const allVersions = [...versionsOf].flatMap(([name, vs]) => vs.map((v) => `${lc(name)}/${lc(v)}`));
    assert.deepEqual(allVersions.filter((k) => newVersion.get(k) !== 1).map((k) => [k, newVersion.get(k) ?? 0]), [], "one NewVersionCreated per version");
    assert.equal([...newVersion.values()].reduce((a, b) => a + b, 0), allVersions.length, "no NewVersionCreated without a version");
    assert.deepEqual([...nearExpiry].filter(([, n]) => n > 1), [], "no duplicate NearExpiry per (version, action)");
    assert.equal(nearExpiry.size, renewals.length, "one NearExpiry per renewed version");

    // And at the storage level, after a clean stop.
    const exit = await server.stop();
    server = undefined;
    assert.equal(exit.graceful, true, "the server stopped on SIGTERM");
    const final = await storageInvariants(dataDir, { final: true });
    assert.deepEqual(final.violations, [], "storage invariants at the end");
    assert.equal(final.stats.unfinished, 0);

    const byPhase = {};
    for (const k of kills) byPhase[k.phase.replace(/\d+$/, "")] = (byPhase[k.phase.replace(/\d+$/, "")] ?? 0) + 1;
    t.diagnostic(`kills: ${kills.length} ${JSON.stringify(byPhase)}; with work in flight: ${midWork}; delays ms: ${kills.map((k) => k.delayMs).join(",")}`);
    t.diagnostic(`rounds: ${roundStats.map((r) => `#${r.round} ${r.kills} kill(s) ${r.ms} ms`).join(", ")}`);
    t.diagnostic(`final: ${JSON.stringify(final.stats)}; ${((Date.now() - began) / 1000).toFixed(1)} s`);
    assert.ok(midWork >= 3, `some kills landed while jobs were queued/running or operations in progress (${midWork} of ${kills.length})`);
  });
});
