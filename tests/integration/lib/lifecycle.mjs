// Helpers for the lifecycle tests (issuers, renewal jobs, lifetime actions, the outbox and the
// test clock), all as the administrator over plain HTTPS:
//
//   import { LIFECYCLE_ARGS, vaultApi, advanceClock, events, jobsOf } from "./lib/lifecycle.mjs";
//   const server = await startServer({ extraArgs: LIFECYCLE_ARGS });
//   await advanceClock(server, "P2D");
//   const near = (await events(server, { after: seq })).filter((e) => e.object_name === name);
//
// Also the `command` issuer's side: installCommand() puts an executable into the server's issuer
// commands directory (DATA_DIR/commands), and signingScript() is a shell script that signs the
// CSR on its stdin with a test CA made by the openssl command (see pki.mjs), steered by files in a
// control directory so that a test can make the CA slow, down or refusing while jobs run.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fsp from "node:fs/promises";
import path from "node:path";
import { request } from "./server.mjs";
import { pollUntil } from "./util.mjs";

/** Server flags for the lifecycle tests: the movable clock and fast retries. */
export const LIFECYCLE_ARGS = Object.freeze([
  "--test-clock",
  "--retry-initial", "PT1S",
  "--retry-max", "PT4S",
  "--job-lease", "PT10S",
]);

export const API = "api-version=7.5";

function describeRes(res) {
  return `HTTP ${res.status} ${res.text.slice(0, 600)}`;
}

/** Appends ?api-version=7.5 (or &...) to a vault path. */
export function withApiVersion(p) {
  return p.includes("api-version=") ? p : `${p}${p.includes("?") ? "&" : "?"}${API}`;
}

/**
 * A request to a vault (default "default") as the administrator. `expect`: a status (or list)
 * the answer must have.
 */
export async function vaultApi(server, method, p, { body, vault = "default", expect } = {}) {
  const res = await request(server, { method, path: withApiVersion(p), vault, body, token: true });
  if (expect !== undefined) {
    const ok = Array.isArray(expect) ? expect.includes(res.status) : res.status === expect;
    assert.ok(ok, `${method} ${p}: expected HTTP ${expect}, got ${describeRes(res)}`);
  }
  return res;
}

/** A management request (host localhost) as the administrator. */
export async function managementApi(server, method, p, { body, expect } = {}) {
  const res = await request(server, { method, path: p, host: "localhost", body, token: true });
  if (expect !== undefined) {
    const ok = Array.isArray(expect) ? expect.includes(res.status) : res.status === expect;
    assert.ok(ok, `${method} ${p}: expected HTTP ${expect}, got ${describeRes(res)}`);
  }
  return res;
}

/** POST /management/clock {"advance"}: moves the server's clock forward; returns {now, time, offset_seconds}. */
export async function advanceClock(server, duration) {
  const res = await managementApi(server, "POST", "/management/clock", { body: { advance: duration }, expect: 200 });
  assert.equal(typeof res.json?.now, "number", res.text);
  return res.json;
}

/** Events of the outbox after `after` (all pages, bounded), oldest first. */
export async function events(server, { after = 0, limit = 10_000 } = {}) {
  const out = [];
  let cursor = after;
  for (let i = 0; i < 100; i++) {
    const res = await managementApi(server, "GET", `/management/events?after=${cursor}&maxresults=1000`, { expect: 200 });
    const page = res.json?.value;
    assert.ok(Array.isArray(page), `events: ${res.text.slice(0, 300)}`);
    out.push(...page);
    if (page.length < 1000 || out.length >= limit) return out;
    cursor = page[page.length - 1].seq;
  }
  throw new Error("events: more than 100 pages");
}

/** The highest event seq so far (0 when the outbox is empty). */
export async function lastEventSeq(server) {
  const all = await events(server);
  return all.length ? all[all.length - 1].seq : 0;
}

/** Events of one certificate after `after`. */
export async function certificateEvents(server, name, { after = 0 } = {}) {
  return (await events(server, { after })).filter((e) => e.object_name === name);
}

/** GET /jobs?certificate=NAME: every job of a certificate (all pages, bounded). */
export async function jobsOf(server, name, { vault = "default", status } = {}) {
  const out = [];
  let p = `/jobs?certificate=${encodeURIComponent(name)}${status ? `&status=${status}` : ""}&${API}`;
  for (let i = 0; i < 100 && p; i++) {
    const res = await vaultApi(server, "GET", p, { vault, expect: 200 });
    assert.ok(Array.isArray(res.json?.value), res.text);
    out.push(...res.json.value);
    p = res.json.nextLink || null;
  }
  return out.filter((j) => j.certificate === name);
}

/** GET /jobs/{id}. */
export async function getJob(server, id, { vault = "default" } = {}) {
  return (await vaultApi(server, "GET", `/jobs/${id}`, { vault, expect: 200 })).json;
}

/** Polls a job until pred(job) holds (bounded); returns the job. */
export async function waitForJob(server, id, pred, { timeoutMs = 30_000, what = "job state" } = {}) {
  return pollUntil(async () => {
    const job = await getJob(server, id);
    return pred(job) ? job : null;
  }, { timeoutMs, intervalMs: 200, what: `${what} (job ${id})` });
}

/** GET /certificates/{name}/pending (the JSON, or null on 404). */
export async function pendingOperation(server, name, { vault = "default" } = {}) {
  const res = await vaultApi(server, "GET", `/certificates/${name}/pending`, { vault });
  if (res.status === 404) return null;
  assert.equal(res.status, 200, `pending ${name}: ${describeRes(res)}`);
  return res.json;
}

/** Polls the pending operation until its status leaves inProgress (bounded); returns it. */
export async function waitForOperation(server, name, { timeoutMs = 30_000 } = {}) {
  return pollUntil(async () => {
    const op = await pendingOperation(server, name);
    return op && op.status !== "inProgress" ? op : null;
  }, { timeoutMs, intervalMs: 100, what: `operation of ${name} finished` });
}

/** The version ids of a certificate (all pages). */
export async function versionsOf(server, name, { vault = "default" } = {}) {
  const out = [];
  let p = `/certificates/${name}/versions?maxresults=25&${API}`;
  for (let i = 0; i < 100 && p; i++) {
    const res = await vaultApi(server, "GET", p, { vault, expect: 200 });
    out.push(...res.json.value.map((v) => v.id.split("/").pop()));
    p = res.json.nextLink || null;
  }
  return out;
}

/** The current version of a certificate (the JSON of GET /certificates/{name}/). */
export async function currentCertificate(server, name, { vault = "default" } = {}) {
  return (await vaultApi(server, "GET", `/certificates/${name}/`, { vault, expect: 200 })).json;
}

/** PUT /certificates/issuers/{name} with a raw body (object or string); returns the response. */
export async function putIssuer(server, name, body, { vault = "default" } = {}) {
  return vaultApi(server, "PUT", `/certificates/issuers/${name}`, { body, vault });
}

/** GET /certificates/issuers/{name}: the JSON, or null on 404. */
export async function getIssuerRaw(server, name, { vault = "default" } = {}) {
  const res = await vaultApi(server, "GET", `/certificates/issuers/${name}`, { vault });
  if (res.status === 404) return null;
  assert.equal(res.status, 200, `issuer ${name}: ${describeRes(res)}`);
  return res.json;
}

/** The server's issuer commands directory (the default: DATA_DIR/commands). */
export function commandsDir(server) {
  return path.join(server.dataDir, "commands");
}

/** Writes an executable (mode 755) into the server's commands directory; returns its absolute path. */
export async function installCommand(server, fileName, text) {
  const dir = commandsDir(server);
  await fsp.mkdir(dir, { recursive: true });
  const file = path.join(dir, fileName);
  await fsp.writeFile(file, text, { mode: 0o755 });
  await fsp.chmod(file, 0o755);
  return file;
}

/**
 * A bash script for the `command` issuer: reads the CSR PEM on stdin and prints the signed leaf
 * followed by the CA certificate. Steered by two environment variables set through the issuer's
 * settings.env: IT_CA (a directory with ca.pem and ca.key) and IT_CTL (a control directory):
 *
 *   IT_CTL/calls         one line per run: the request id
 *   IT_CTL/env.REQID     the CERTVAULT_* variables the run got (sorted `env` lines)
 *   IT_CTL/csr.REQID     the CSR it got
 *   IT_CTL/delay         if present: seconds to sleep before answering
 *   IT_CTL/refuse        if present: "refused by policy" on stderr, exit 65
 *   IT_CTL/down          if present: "CA unavailable" on stderr, exit 1
 *
 * window false: `openssl x509 -req -days $CERTVAULT_VALIDITY_DAYS` (the CA decides the dates);
 * window true: `openssl ca -startdate/-enddate` from CERTVAULT_NOT_BEFORE/NOT_AFTER (the dates the
 * server asked for, which follow its clock, also the test clock).
 */
export function signingScript({ window = false } = {}) {
  const sign = window
    ? `
conf="$work/ca.cnf"
: > "$work/index.txt"
echo 01 > "$work/serial"
cat > "$conf" <<EOF
[ca]
default_ca = it
[it]
database = $work/index.txt
serial = $work/serial
new_certs_dir = $work
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
EOF
start=$(date -u -d "@$CERTVAULT_NOT_BEFORE" +%Y%m%d%H%M%SZ)
end=$(date -u -d "@$CERTVAULT_NOT_AFTER" +%Y%m%d%H%M%SZ)
openssl ca -batch -notext -config "$conf" -in "$work/req.pem" -out "$work/leaf.pem" \\
  -cert "$IT_CA/ca.pem" -keyfile "$IT_CA/ca.key" -startdate "$start" -enddate "$end" 2>"$work/err" \\
  || { cat "$work/err" >&2; exit 1; }
`
    : `
openssl x509 -req -in "$work/req.pem" -CA "$IT_CA/ca.pem" -CAkey "$IT_CA/ca.key" \\
  -set_serial "0x$(openssl rand -hex 16)" -days "$CERTVAULT_VALIDITY_DAYS" -sha256 \\
  -copy_extensions copyall -out "$work/leaf.pem" 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
`;
  return `#!/bin/bash
# certvault integration tests: a CA behind the command issuer (see lib/lifecycle.mjs).
set -u
work=$(mktemp -d "$IT_CTL/run.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
cat > "$work/req.pem"
id="\${CERTVAULT_REQUEST_ID:-none}"
echo "$id" >> "$IT_CTL/calls"
env | grep '^CERTVAULT_' | sort > "$IT_CTL/env.$id"
cp "$work/req.pem" "$IT_CTL/csr.$id"
if [ -f "$IT_CTL/delay" ]; then sleep "$(cat "$IT_CTL/delay")"; fi
if [ -f "$IT_CTL/refuse" ]; then echo "refused by policy" >&2; exit 65; fi
if [ -f "$IT_CTL/down" ]; then echo "CA unavailable" >&2; exit 1; fi
${sign}
cat "$work/leaf.pem" "$IT_CA/ca.pem"
`;
}

/** Parses the IT_CTL/env.REQID file into an object. */
export async function recordedEnv(ctlDir, requestId) {
  const text = await fsp.readFile(path.join(ctlDir, `env.${requestId}`), "utf8");
  return Object.fromEntries(
    text.split("\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

/** The request ids the script was run for (IT_CTL/calls), in order. */
export async function recordedCalls(ctlDir) {
  try {
    return (await fsp.readFile(path.join(ctlDir, "calls"), "utf8")).split("\n").filter(Boolean);
  } catch (err) {
    if (err.code === "ENOENT") return [];
    throw err;
  }
}

/**
 * A pipeline policy for the SDK clients that records, for every answer, the method, path, HTTP
 * status and the `status` member of a JSON body (the pending operation's status). Pass
 * `{additionalPolicies: [{policy: rec.policy, position: "perCall"}]}` in the client options.
 */
export function responseRecorder() {
  const log = [];
  const policy = {
    name: "certvaultItResponseRecorder",
    async sendRequest(req, next) {
      const res = await next(req);
      let status;
      try {
        status = res.bodyAsText ? JSON.parse(res.bodyAsText)?.status : undefined;
      } catch {
        status = undefined;
      }
      log.push({ method: req.method, path: new URL(req.url).pathname, httpStatus: res.status, status });
      return res;
    },
  };
  return { policy, log, options: { additionalPolicies: [{ policy, position: "perCall" }] } };
}

/**
 * Runs `openssl ...args`; resolves {code, stdout, stderr} (never rejects on a non-zero exit), for
 * commands whose verdict is on stderr (`openssl crl -CAfile` prints "verify OK" there).
 */
export function opensslRun(args, { timeout = 60_000 } = {}) {
  return new Promise((resolve) => {
    execFile("openssl", args, { timeout, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
    });
  });
}
