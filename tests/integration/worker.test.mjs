// The remote worker (`certvault worker`) against the real server: a worker issuer whose jobs a
// worker process pulls (POST /jobs/lease), signs with a script around the openssl command and
// merges (POST /jobs/{id}/complete); a second worker that takes the job over when the first is
// killed mid-job (its lease expires); and --once with no job (exit 3).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { certvaultBin, startServer } from "./lib/server.mjs";
import {
  currentCertificate,
  getJob,
  jobsOf,
  pendingOperation,
  putIssuer,
  vaultApi,
  versionsOf,
  waitForOperation,
} from "./lib/lifecycle.mjs";
import { Pki, derToPem, keyMatchesCert, pemBlocks } from "./lib/pki.mjs";
import { pollUntil } from "./lib/util.mjs";

const ISSUER = "adcs";

let server;
let pki;
let ca;
let work; // scratch dir: the signing script, its control files, HOME for the worker
let signScript;
const children = new Set(); // worker processes still running

/** The signing script: CSR on stdin, leaf + CA PEM on stdout; sleeps 60 s first if $work/slow exists. */
function signingScriptText() {
  return `#!/bin/bash
set -u
ctl=${JSON.stringify(work)}
tmp=$(mktemp -d "$ctl/run.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/req.pem"
echo "$$ \${CERTVAULT_JOB_ID:-none} \${IT_WORKER:-none}" >> "$ctl/calls"
if [ -f "$ctl/slow" ] && [ "\${IT_SLOW:-0}" = 1 ]; then sleep 60; fi
cd ${JSON.stringify(pki.dir)} || exit 1
openssl x509 -req -in "$tmp/req.pem" -days 30 -sha256 -CA ca.pem -CAkey ca.key -CAcreateserial \\
  -copy_extensions copyall -out "$tmp/leaf.pem" 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
cat "$tmp/leaf.pem" ca.pem
`;
}

/**
 * Spawns `certvault worker` with the admin credentials; returns {child, done: Promise<{code,
 * signal, stderr, stdout}>}. The worker is killed (SIGKILL) after timeoutMs at the latest.
 */
function startWorker(name, extra, { env = {}, timeoutMs = 90_000 } = {}) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("CERTVAULT_")));
  const args = [
    "worker", "--server", server.url, "--vault", "default", "--issuer", ISSUER,
    "--exec", signScript, "--name", name, ...extra,
  ];
  const child = spawn(certvaultBin(), args, {
    env: {
      ...base,
      HOME: work,
      CERTVAULT_CREDENTIALS: server.adminPath,
      CERTVAULT_CA_FILE: server.caPath,
      IT_WORKER: name,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c) => (stdout += c));
  child.stderr.on("data", (c) => (stderr += c));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const done = new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      // let the pipes drain
      setImmediate(() => resolve({ code, signal, stdout, stderr }));
    });
  });
  return { child, done, stderr: () => stderr };
}

async function runWorker(name, extra, opts) {
  return startWorker(name, extra, opts).done;
}

async function createCertificate(name) {
  const res = await vaultApi(server, "POST", `/certificates/${name}/create`, {
    body: {
      policy: {
        key_props: { kty: "EC", crv: "P-256", exportable: true },
        secret_props: { contentType: "application/x-pem-file" },
        x509_props: { subject: `CN=${name}`, sans: { dns_names: [`${name}.example.test`] } },
        issuer: { name: ISSUER },
      },
    },
    expect: 202,
  });
  assert.equal(res.json.status, "inProgress", res.text);
  return res.json;
}

/** The single job of a certificate. */
async function onlyJob(name) {
  const jobs = await jobsOf(server, name);
  assert.equal(jobs.length, 1, `jobs of ${name}: ${JSON.stringify(jobs)}`);
  return jobs[0];
}

/** Asserts the current version chains to the test CA and the secret's key matches its certificate. */
async function checkIssued(name) {
  const cert = await currentCertificate(server, name);
  const leaf = new crypto.X509Certificate(Buffer.from(cert.cer, "base64"));
  const caCert = new crypto.X509Certificate(ca.certPem);
  assert.ok(leaf.checkIssued(caCert), `${name}: issuer ${leaf.issuer}, not the test CA`);
  assert.ok(leaf.verify(caCert.publicKey), `${name}: signature does not verify with the test CA`);
  assert.match(leaf.subject, new RegExp(`CN=${name}`));
  const secret = (await vaultApi(server, "GET", `/secrets/${name}/`, { expect: 200 })).json;
  const blocks = pemBlocks(secret.value);
  const key = blocks.find((b) => /PRIVATE KEY/.test(b.type));
  assert.ok(key, `${name}: no private key in the secret`);
  const certs = blocks.filter((b) => b.type === "CERTIFICATE");
  assert.ok(certs.length >= 2, `${name}: secret holds ${certs.length} certificates, want leaf + CA`);
  assert.ok(certs.some((b) => new crypto.X509Certificate(b.der).fingerprint256 === caCert.fingerprint256),
    `${name}: the secret's chain lacks the test CA`);
  assert.ok(keyMatchesCert(key.pem, certs[0].der), `${name}: the secret's key does not match its certificate`);
  assert.equal(certs[0].der.toString("base64"), cert.cer, `${name}: secret and certificate differ`);
  return { cert, leaf };
}

before(async () => {
  server = await startServer({ extraArgs: ["--retry-initial", "PT1S", "--retry-max", "PT2S"] });
  pki = await Pki.create();
  ca = await pki.makeCA("ca", { cn: "certvault worker test CA" });
  work = await fsp.mkdtemp(path.join(os.tmpdir(), "certvault-worker-"));
  signScript = path.join(work, "sign.sh");
  await fsp.writeFile(signScript, signingScriptText(), { mode: 0o755 });
  await fsp.chmod(signScript, 0o755);
  const res = await putIssuer(server, ISSUER, { provider: "worker", settings: { lease: "PT10S" } });
  assert.equal(res.status, 200, `PUT issuer: HTTP ${res.status} ${res.text}`);
});

after(async () => {
  for (const child of children) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // no such group
    }
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  await killLeftoverScripts();
  await server?.stop();
  await pki?.cleanup();
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

/** Kills the script runs (and their process groups) recorded in $work/calls that still live. */
async function killLeftoverScripts() {
  if (!work) return;
  let lines = [];
  try {
    lines = (await fsp.readFile(path.join(work, "calls"), "utf8")).split("\n").filter(Boolean);
  } catch {
    return;
  }
  for (const line of lines) {
    const pid = Number(line.split(" ")[0]);
    if (!pid) continue;
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
}

describe("worker issuer", () => {
  test("a worker pulls, signs and merges", async () => {
    await createCertificate("web");
    const op = await pendingOperation(server, "web");
    assert.equal(op.status, "inProgress");
    const job = await pollUntil(async () => {
      const j = await onlyJob("web");
      return j.status === "waiting" ? j : null;
    }, { timeoutMs: 10_000, what: "job of web waiting for a worker" });
    assert.equal(job.issuer, ISSUER);

    const r = await runWorker("w1", ["--once", "--wait", "5"]);
    assert.equal(r.code, 0, `worker w1 exited ${r.code}/${r.signal}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`worker w1: job ${job.job_id} for certificate web: completed`), r.stderr);

    const done = await waitForOperation(server, "web", { timeoutMs: 10_000 });
    assert.equal(done.status, "completed", JSON.stringify(done));
    await checkIssued("web");
    assert.equal((await versionsOf(server, "web")).length, 1);

    const finished = await getJob(server, job.job_id);
    assert.equal(finished.status, "succeeded", JSON.stringify(finished));
    // Attempts are {started, finished, outcome, error?} (docs/api.md): a successful one names no
    // worker, so w1 is identified by its own log line above.
    const lastAttempt = finished.attempts[finished.attempts.length - 1];
    assert.equal(lastAttempt?.outcome, "succeeded", JSON.stringify(finished.attempts));
    assert.ok(!finished.attempts.some((a) => a.outcome === "retry" || a.outcome === "failed"),
      `unexpected failed attempts: ${JSON.stringify(finished.attempts)}`);
  });

  test("a second worker takes the job over when the first is killed mid-job", { timeout: 120_000 }, async () => {
    await createCertificate("api");
    const job = await pollUntil(async () => {
      const j = await onlyJob("api");
      return j.status === "waiting" ? j : null;
    }, { timeoutMs: 10_000, what: "job of api waiting for a worker" });

    await fsp.writeFile(path.join(work, "slow"), "");
    const w1 = startWorker("w1", ["--once", "--wait", "5"], { env: { IT_SLOW: "1" } });
    const leased = await pollUntil(async () => {
      if (w1.child.exitCode !== null) throw new Error(`w1 exited early: ${w1.stderr()}`);
      const j = await onlyJob("api");
      return j.lease_owner === "worker:w1" ? j : null;
    }, { timeoutMs: 15_000, intervalMs: 100, what: "job of api leased to worker:w1" });
    // The script is running (sleeping) under w1.
    await pollUntil(async () => {
      try {
        return (await fsp.readFile(path.join(work, "calls"), "utf8")).includes(`${job.job_id} w1`);
      } catch {
        return false;
      }
    }, { timeoutMs: 5_000, what: "w1 ran the signing script" });
    w1.child.kill("SIGKILL");
    const w1Exit = await w1.done;
    assert.equal(w1Exit.signal, "SIGKILL");
    await killLeftoverScripts(); // the orphaned sleep
    const killedAt = Date.now();

    // Still leased to the dead w1 for now.
    const meanwhile = await getJob(server, job.job_id);
    assert.notEqual(meanwhile.status, "succeeded", JSON.stringify(meanwhile));

    const r = await runWorker("w2", ["--once", "--wait", "30"], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, `worker w2 exited ${r.code}/${r.signal}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`worker w2: job ${job.job_id} for certificate api: completed`), r.stderr);
    const tookOver = Date.now() - killedAt;
    // The lease (10 s, from about when w1 got the job) had to run out first.
    assert.ok(tookOver >= 3_000, `w2 completed ${tookOver} ms after w1 died: before the lease ran out?`);

    const done = await waitForOperation(server, "api", { timeoutMs: 10_000 });
    assert.equal(done.status, "completed", JSON.stringify(done));
    await checkIssued("api");
    const versions = await versionsOf(server, "api");
    assert.equal(versions.length, 1, `versions of api: ${versions}`);

    const finished = await getJob(server, job.job_id);
    assert.equal(finished.status, "succeeded", JSON.stringify(finished));
    const attempts = finished.attempts;
    assert.ok(attempts.length >= 2, `attempts: ${JSON.stringify(attempts)}`);
    // w1's attempt ended when its lease expired ("worker w1 did not finish before its lease
    // expired", outcome retry); the last is w2's success (attempts name no worker on success: w2 is
    // identified by its log line above).
    const a1 = attempts.find((a) => /\bw1\b/.test(a.error ?? ""));
    assert.ok(a1, `no attempt of w1: ${JSON.stringify(attempts)}`);
    assert.ok(a1.finished, `w1's attempt never ended: ${JSON.stringify(a1)}`);
    assert.equal(a1.outcome, "retry", `w1's attempt: ${JSON.stringify(a1)}`);
    assert.match(a1.error, /lease expired/i, `w1's attempt: ${JSON.stringify(a1)}`);
    const last = attempts[attempts.length - 1];
    assert.equal(last.outcome, "succeeded", `last attempt: ${JSON.stringify(last)}`);
    assert.ok(attempts.indexOf(a1) < attempts.length - 1, `attempts out of order: ${JSON.stringify(attempts)}`);
    assert.equal(attempts.filter((a) => a.outcome === "succeeded").length, 1, JSON.stringify(attempts));
    assert.equal(leased.job_id, job.job_id);

    // A late answer from w1 is refused and changes nothing.
    const before = await currentCertificate(server, "api");
    const late = await vaultApi(server, "POST", `/jobs/${job.job_id}/complete`, {
      body: { worker: "w1", certificate: derToPem(Buffer.from(before.cer, "base64")) + ca.certPem },
    });
    assert.equal(late.status, 409, `late complete by w1: HTTP ${late.status} ${late.text}`);
    const afterLate = await getJob(server, job.job_id);
    assert.equal(afterLate.status, "succeeded");
    assert.equal(afterLate.attempts.length, attempts.length, JSON.stringify(afterLate.attempts));
    assert.deepEqual(await versionsOf(server, "api"), versions);
    assert.equal((await currentCertificate(server, "api")).cer, before.cer);
  });

  test("--once with no job exits 3", async () => {
    await fsp.rm(path.join(work, "slow"), { force: true });
    const r = await runWorker("w3", ["--once", "--wait", "1"], { timeoutMs: 30_000 });
    assert.equal(r.code, 3, `worker w3 exited ${r.code}/${r.signal}: ${r.stderr}`);
  });
});

