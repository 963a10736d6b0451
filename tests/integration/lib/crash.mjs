// Helpers for the crash-safety test (crash.test.mjs): a `command` issuer script backed by an
// openssl test CA, read-only SQL on a stopped server's database, and the storage-level
// invariants of renewals (DESIGN.md §5) checked on it.
import { execFile } from "node:child_process";
import fsp from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const execFileP = promisify(execFile);

/**
 * The body of an issuer command that signs the CSR on stdin with the CA in $CA_CERT / $CA_KEY for
 * exactly the validity certvault asks (CERTVAULT_NOT_BEFORE / CERTVAULT_NOT_AFTER, so the test
 * clock is honoured; `openssl x509 -req` cannot set a start date, `openssl ca` can) and prints
 * leaf + CA PEM. It sleeps `sleepSeconds` first so that a crash can land while it runs.
 */
export function signScript({ sleepSeconds = 0.2 } = {}) {
  return `#!/bin/sh
# certvault crash test: a CA behind the command issuer (openssl ca, one throw-away database per run).
set -eu
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
cat > "$D/req.csr"
sleep ${sleepSeconds}
: > "$D/index.txt"
openssl rand -hex 16 > "$D/serial"
cat > "$D/ca.cnf" <<CNF
[ca]
default_ca = testca
[testca]
database = $D/index.txt
serial = $D/serial
new_certs_dir = $D
certificate = $CA_CERT
private_key = $CA_KEY
default_md = sha256
policy = anything
copy_extensions = copy
unique_subject = no
email_in_dn = no
[anything]
commonName = supplied
CNF
openssl ca -batch -notext -config "$D/ca.cnf" -in "$D/req.csr" -out "$D/leaf.pem" \\
  -startdate "$(date -u -d "@$CERTVAULT_NOT_BEFORE" +%Y%m%d%H%M%SZ)" \\
  -enddate "$(date -u -d "@$CERTVAULT_NOT_AFTER" +%Y%m%d%H%M%SZ)" 2>"$D/err" || { cat "$D/err" >&2; exit 1; }
cat "$D/leaf.pem" "$CA_CERT"
`;
}

/** Writes the sign script as DATA_DIR/commands/<name> (mode 0755) and returns its absolute path. */
export async function installSignScript(dataDir, name = "sign.sh", opts = {}) {
  const dir = path.join(path.resolve(dataDir), "commands");
  await fsp.mkdir(dir, { recursive: true });
  const file = path.join(dir, name);
  await fsp.writeFile(file, signScript(opts), { mode: 0o755 });
  await fsp.chmod(file, 0o755);
  return file;
}

/**
 * Runs SQL on DATA_DIR/certvault.db read-only with the sqlite3 command (the server must not be
 * running) and returns the rows as objects. BLOB columns should be selected as length(...) or hex(...).
 */
export async function sql(dataDir, query) {
  const db = path.join(dataDir, "certvault.db");
  const { stdout } = await execFileP("sqlite3", ["-readonly", "-json", "-cmd", ".timeout 10000", db, query], {
    maxBuffer: 64 * 1024 * 1024,
    timeout: 30_000,
  });
  const text = stdout.trim();
  return text ? JSON.parse(text) : [];
}

const FINISHED = ["succeeded", "failed", "cancelled"];

/**
 * The storage-level invariants of renewals, on the database of a stopped (or killed) server. They
 * must hold at every instant, so also right after a kill -9. Returns {violations: [text...],
 * stats}; `final` adds what must hold once everything has run (no unfinished job, no operation
 * in progress).
 */
export async function storageInvariants(dataDir, { final = false } = {}) {
  const v = [];
  // One query at a time: after a kill, the first reader rebuilds the WAL index (no data changes).
  const queries = [
    "SELECT id, key, name, trigger, source_version, request_id, status, lease_owner, lease_expires, not_before FROM jobs ORDER BY seq",
    "SELECT name, request_id, job_id, status, length(wrapped_key) AS key_len, target_version, issuer FROM pending_operations",
    "SELECT name, current_version, deleted FROM certificates",
    "SELECT name, version, length(cer) AS cer_len, length(chain) AS chain_len, length(wrapped_key) AS key_len FROM certificate_versions ORDER BY seq",
    "SELECT type, object_type, object_name, version, key, detail FROM events ORDER BY seq",
    "SELECT key, count(*) AS n FROM jobs WHERE key != '' GROUP BY key HAVING n > 1",
    "SELECT key, count(*) AS n FROM events WHERE key != '' GROUP BY key HAVING n > 1",
  ];
  const results = [];
  for (const q of queries) results.push(await sql(dataDir, q));
  const [jobs, ops, certs, versions, events, dupKeys, dupEventKeys] = results;
  const lc = (s) => String(s).toLowerCase();
  const jobById = new Map(jobs.map((j) => [j.id, j]));
  const versionsOf = new Map();
  for (const ver of versions) {
    const k = lc(ver.name);
    if (!versionsOf.has(k)) versionsOf.set(k, []);
    versionsOf.get(k).push(ver);
    if (!(ver.cer_len > 0)) v.push(`version ${ver.name}/${ver.version} has no certificate (cer ${ver.cer_len} bytes)`);
    if (!(ver.key_len > 0)) v.push(`version ${ver.name}/${ver.version} has no wrapped key`);
  }
  const renewals = jobs.filter((j) => /^AutoRenew/.test(j.trigger));

  for (const k of dupKeys) v.push(`job key ${k.key} used by ${k.n} jobs`);
  for (const k of dupEventKeys) v.push(`event key ${k.key} used by ${k.n} events`);

  // One renewal job per source version.
  const bySource = new Map();
  for (const j of renewals) {
    const k = `${lc(j.name)}/${lc(j.source_version)}`;
    if (bySource.has(k)) v.push(`renewal jobs ${bySource.get(k)} and ${j.id} share source version ${k}`);
    else bySource.set(k, j.id);
    if (!j.source_version) v.push(`renewal job ${j.id} (${j.name}) has no source_version`);
  }

  // Every certificate: a current version that exists; versions = 1 + succeeded renewals.
  for (const c of certs) {
    if (c.deleted) continue;
    const vs = versionsOf.get(lc(c.name)) ?? [];
    if (c.current_version && !vs.some((x) => lc(x.version) === lc(c.current_version))) {
      v.push(`certificate ${c.name}: current_version ${c.current_version} is not among its ${vs.length} versions`);
    }
    const succeeded = renewals.filter((j) => lc(j.name) === lc(c.name) && j.status === "succeeded").length;
    if (vs.length > 0 && vs.length !== 1 + succeeded) {
      const mine = jobs.filter((j) => lc(j.name) === lc(c.name))
        .map((j) => `${j.id} ${j.trigger} source=${j.source_version} request=${j.request_id} ${j.status}`);
      v.push(`certificate ${c.name}: ${vs.length} versions but ${succeeded} succeeded renewal jobs (expected ${1 + succeeded} versions); ` +
        `versions [${vs.map((x) => x.version).join(", ")}]; jobs [${mine.join("; ")}]`);
    }
  }

  // Pending operations: a key only while in progress, and then a live job drives it.
  for (const op of ops) {
    if (op.status !== "inProgress" && op.key_len > 0) {
      v.push(`pending operation of ${op.name} (request ${op.request_id}) is ${op.status} but still holds a wrapped key (${op.key_len} bytes)`);
    }
    if (op.status === "inProgress") {
      if (!(op.key_len > 0)) v.push(`pending operation of ${op.name} is inProgress without a key`);
      const job = jobById.get(op.job_id);
      if (!op.job_id) v.push(`pending operation of ${op.name} (request ${op.request_id}) is inProgress with no job`);
      else if (!job) v.push(`pending operation of ${op.name} is inProgress; its job ${op.job_id} does not exist`);
      else if (FINISHED.includes(job.status)) {
        v.push(`pending operation of ${op.name} (request ${op.request_id}) is inProgress but its job ${job.id} is ${job.status}: its key is orphaned`);
      }
      if (final) v.push(`pending operation of ${op.name} (request ${op.request_id}) is still inProgress at the end`);
    }
    if (op.status === "completed" && op.target_version) {
      const vs = versionsOf.get(lc(op.name)) ?? [];
      if (!vs.some((x) => lc(x.version) === lc(op.target_version))) {
        v.push(`pending operation of ${op.name} is completed with target_version ${op.target_version}, which is not a version`);
      }
    }
  }
  // A succeeded job whose request is still the certificate's operation saw that operation complete.
  for (const j of jobs) {
    if (j.status !== "succeeded" || !j.request_id) continue;
    const op = ops.find((o) => lc(o.name) === lc(j.name) && o.request_id === j.request_id);
    if (op && op.status !== "completed") v.push(`job ${j.id} (${j.name}) succeeded but its operation ${j.request_id} is ${op.status}`);
  }

  // The outbox: one NewVersionCreated per certificate version, none for a version that does not exist.
  const nvc = new Map();
  for (const e of events) {
    if (e.type !== "Microsoft.KeyVault.CertificateNewVersionCreated") continue;
    const k = `${lc(e.object_name)}/${lc(e.version)}`;
    nvc.set(k, (nvc.get(k) ?? 0) + 1);
  }
  const allVersions = new Set(versions.map((x) => `${lc(x.name)}/${lc(x.version)}`));
  for (const k of allVersions) {
    if ((nvc.get(k) ?? 0) !== 1) v.push(`version ${k} has ${nvc.get(k) ?? 0} CertificateNewVersionCreated events (expected 1)`);
  }
  for (const k of nvc.keys()) if (!allVersions.has(k)) v.push(`CertificateNewVersionCreated for ${k}, which is not a version`);
  // NearExpiry: at most one per (version, action).
  const near = new Map();
  for (const e of events) {
    if (e.type !== "Microsoft.KeyVault.CertificateNearExpiry") continue;
    let action = "";
    try {
      action = JSON.parse(e.detail).action ?? "";
    } catch {
      // no detail
    }
    const k = `${lc(e.object_name)}/${lc(e.version)}/${action}`;
    near.set(k, (near.get(k) ?? 0) + 1);
  }
  for (const [k, n] of near) if (n > 1) v.push(`${n} CertificateNearExpiry events for ${k}`);

  const unfinished = jobs.filter((j) => !FINISHED.includes(j.status));
  if (final) {
    for (const j of jobs) {
      if (j.status !== "succeeded") v.push(`job ${j.id} (${j.name}, ${j.trigger}) ended ${j.status}`);
    }
  }
  const count = (arr, f) => arr.filter(f).length;
  return {
    violations: v,
    stats: {
      jobs: jobs.length,
      renewals: renewals.length,
      queued: count(jobs, (j) => j.status === "queued"),
      running: count(jobs, (j) => j.status === "running"),
      waiting: count(jobs, (j) => j.status === "waiting"),
      unfinished: unfinished.length,
      opsInProgress: count(ops, (o) => o.status === "inProgress"),
      versions: versions.length,
      succeededRenewals: count(renewals, (j) => j.status === "succeeded"),
    },
  };
}
