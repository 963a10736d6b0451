// THE permission matrix: reads the table in docs/permissions.md (never a copy of it) and checks
// every cell against the running server, for each role assigned at
//   server      scope "/"
//   vault       scope "/vaults/perms" (the vault the requests go to)
//   otherVault  scope "/vaults/perm"  (another vault; its name is a prefix of the test vault's)
//   object      scope of the object the request targets (certificate scope for certificates.* and
//               deletedcertificates.*, secret scope for secrets.* and deletedsecrets.*; for the
//               vault rows a certificate scope: the job's certificate for jobs.*, the shared
//               certificate for the rest)
//   otherObject scope of another object ("pc" / "ps": prefixes of every target name "pc-..." / "ps-...")
// plus a principal with no role. Expected: server = the cell; vault = the cell for vault and object
// rows; object = the cell for object rows; otherVault, otherObject and no role = never.
// "Allowed" means the documented success status and the effect (checked as the administrator);
// "denied" means 403 Forbidden with innererror ForbiddenByRbac and nothing changed.
// Every mismatch is collected and the test fails once with the whole list.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, before, describe, it } from "node:test";
import {
  assignRole,
  certificateScope,
  createPrincipal,
  errorCode,
  isRbacDenied,
  jwks,
  manage,
  MANAGEMENT_HOST,
  parsePermissionMatrix,
  PERMISSIONS_DOC,
  principalToken,
  requestRetrying,
  secretScope,
  vaultScope,
} from "./lib/identity.mjs";
import { openssl, Pki } from "./lib/pki.mjs";
import { adminToken, request, startServer } from "./lib/server.mjs";
import { pollUntil, uniqueName } from "./lib/util.mjs";
import fs from "node:fs";

const V = "perms"; // the vault every data-plane request goes to
const OTHER_VAULT = "perm"; // "/vaults/perm" is a string prefix of "/vaults/perms"
const OTHER_CERT = "pc"; // every certificate target is named "pc-..."
const OTHER_SECRET = "ps"; // every secret target is named "ps-..."
const KINDS = ["server", "vault", "otherVault", "object", "otherObject"];
const VERSIONED_KINDS = new Set(["otherVault", "object", "otherObject"]); // these cells use /{name}/{version}
const ROW_CONCURRENCY = 4;
const MAX_LISTED = 200;
const WORKER = "pm-worker"; // the remote worker name the jobs.lease/complete/fail requests use
// --test-clock: clock.advance answers 200 (404 without it). --job-lease: a job the admin leased as
// a fixture stays leased however long its row takes (the default PT2M could expire mid-row).
const SERVER_ARGS = ["--test-clock", "--job-lease", "PT30M"];

const hex = (n = 4) => crypto.randomBytes(n).toString("hex");
const versionOf = (id) => String(id ?? "").replace(/\/+$/, "").split("/").pop();

/** Expected outcome of a cell: true = allowed. */
function expectedAllowed(row, role, kind) {
  if (role === null) return false;
  const yes = row.allowed[role];
  switch (kind) {
    case "server":
      return yes;
    case "vault":
      return yes && (row.scope === "vault" || row.scope === "object");
    case "object":
      return yes && row.scope === "object";
    default:
      return false;
  }
}

let server;
let pki;
let ca;
let importPem;
let matrix;
let parseError;
const shared = {};
const principals = {}; // principals[kind][role], principals.none
const objectAssigned = new Map(); // "clientId scope" -> promise of the assignment

try {
  matrix = parsePermissionMatrix(fs.readFileSync(PERMISSIONS_DOC, "utf8"));
} catch (e) {
  parseError = e;
}

// ---- requests as the administrator (fixtures and effect checks) ----
async function adminTok() {
  return (await adminToken(server)).access_token;
}
function withApiVersion(p) {
  return `${p}${p.includes("?") ? "&" : "?"}api-version=7.5`;
}
async function admin(method, p, body) {
  return requestRetrying(server, { method, path: withApiVersion(p), vault: V, body, token: await adminTok() });
}
async function adminExpect(method, p, body, status) {
  const res = await admin(method, p, body);
  assert.equal(res.status, status, `fixture: ${method} ${p} as admin: HTTP ${res.status} ${res.text.slice(0, 300)}`);
  return res;
}
const selfPolicy = (name, issuer = "Self") => ({
  key_props: { kty: "EC", crv: "P-256", exportable: true },
  secret_props: { contentType: "application/x-pem-file" },
  x509_props: { subject: `CN=${name}` },
  issuer: { name: issuer },
});

// ---- fixtures (made as the administrator) ----
async function newCert(name = uniqueName(OTHER_CERT)) {
  await adminExpect("POST", `/certificates/${name}/create`, { policy: selfPolicy(name) }, 202);
  const got = await adminExpect("GET", `/certificates/${name}`, undefined, 200);
  assert.ok(got.json?.cer, `fixture: ${name} has a cer`);
  return { name, version: versionOf(got.json.id) };
}
async function newPending() {
  const name = uniqueName(OTHER_CERT);
  const res = await adminExpect("POST", `/certificates/${name}/create`, { policy: selfPolicy(name, "Unknown") }, 202);
  assert.equal(res.json?.status, "inProgress", `fixture: Unknown-issuer operation: ${res.text.slice(0, 300)}`);
  assert.ok(res.json?.csr, "fixture: the pending operation has a CSR");
  return { name, csr: res.json.csr };
}
async function newSignedPending() {
  const p = await newPending();
  const signed = await pki.signCsr(ca, Buffer.from(p.csr, "base64"), { name: `merge-${p.name}` });
  return { ...p, x5c: [signed.certDer.toString("base64"), ca.certDer.toString("base64")] };
}
async function newDeletedCert() {
  const c = await newCert();
  await adminExpect("DELETE", `/certificates/${c.name}`, undefined, 200);
  return c;
}
async function newPurgedCertBackup() {
  const c = await newCert();
  const b = await adminExpect("POST", `/certificates/${c.name}/backup`, undefined, 200);
  await adminExpect("DELETE", `/certificates/${c.name}`, undefined, 200);
  await adminExpect("DELETE", `/deletedcertificates/${c.name}`, undefined, 204);
  return { name: c.name, blob: b.json.value };
}
async function newSecret(name = uniqueName(OTHER_SECRET)) {
  const value = `pv-${hex(16)}`;
  const res = await adminExpect("PUT", `/secrets/${name}`, { value }, 200);
  return { name, value, version: versionOf(res.json.id) };
}
async function newDeletedSecret() {
  const s = await newSecret();
  await adminExpect("DELETE", `/secrets/${s.name}`, undefined, 200);
  return s;
}
async function newPurgedSecretBackup() {
  const s = await newSecret();
  const b = await adminExpect("POST", `/secrets/${s.name}/backup`, undefined, 200);
  await adminExpect("DELETE", `/secrets/${s.name}`, undefined, 200);
  await adminExpect("DELETE", `/deletedsecrets/${s.name}`, undefined, 204);
  return { name: s.name, blob: b.json.value };
}
async function newVault() {
  const name = `pv${hex(4)}`;
  await manage(server, "PUT", `/management/vaults/${name}`, { body: {}, expect: 201 });
  return { vault: name };
}
async function vaultNames() {
  const res = await manage(server, "GET", "/management/vaults", { expect: 200 });
  return (res.json?.value ?? []).map((v) => v.name);
}
async function newTargetPrincipal() {
  const p = await createPrincipal(server, { displayName: `pm-target-${hex(3)}` });
  return { id: p.clientId, secret: p.clientSecret, displayName: p.displayName };
}
async function assignmentsOf(principalId) {
  const res = await manage(server, "GET", `/management/roleassignments?principalId=${encodeURIComponent(principalId)}`, { expect: 200 });
  return res.json?.value ?? [];
}
async function contacts() {
  const res = await admin("GET", "/certificates/contacts");
  return res.status === 200 ? (res.json?.contacts ?? []).map((c) => c.email) : [];
}
/** Polls fn() (which may throw to give up at once) until it returns a truthy value. */
const waitFor = (fn, what, timeoutMs = 20_000) => pollUntil(fn, { timeoutMs, intervalMs: 150, what });
async function versionCount(name) {
  const res = await adminExpect("GET", `/certificates/${name}/versions`, undefined, 200);
  return res.json?.value?.length ?? 0;
}
async function jobsOf(name) {
  const res = await adminExpect("GET", `/jobs?certificate=${encodeURIComponent(name)}`, undefined, 200);
  return (res.json?.value ?? []).filter((j) => j.certificate === name);
}
async function jobOf(id) {
  return (await adminExpect("GET", `/jobs/${id}`, undefined, 200)).json;
}
/** The only job of certificate `name` once pred(job) holds; throws at once when it ends otherwise. */
async function waitJobOf(name, pred, what) {
  return waitFor(async () => {
    const jobs = await jobsOf(name);
    const j = jobs.find(pred);
    if (!j && jobs.some((x) => ["succeeded", "failed", "cancelled"].includes(x.status))) {
      throw new Error(`fixture: ${what}: the job of ${name} ended ${JSON.stringify(jobs.map((x) => [x.status, x.last_error]))}`);
    }
    return j;
  }, `fixture: ${what} (${name})`);
}
async function newIssuer(provider = "internal", settings) {
  const issuer = uniqueName("pi");
  await adminExpect("PUT", `/certificates/issuers/${issuer}`, { provider, ...(settings ? { settings } : {}) }, 200);
  return { issuer };
}
const issuerGone = (issuer) => admin("DELETE", `/certificates/issuers/${issuer}`);
/** A certificate issued by the shared `internal` issuer (the built-in CA): {name, version, serial}. */
async function newInternalCert() {
  const name = uniqueName(OTHER_CERT);
  await adminExpect("POST", `/certificates/${name}/create`, { policy: selfPolicy(name, shared.issuer.issuer) }, 202);
  await waitFor(async () => {
    const p = await admin("GET", `/certificates/${name}/pending`);
    if (p.json?.status !== "completed" && p.json?.status !== "inProgress") throw new Error(`fixture: ${name}'s operation: ${p.text.slice(0, 300)}`);
    return p.json.status === "completed";
  }, `fixture: ${name} issued by the internal issuer`);
  const got = await adminExpect("GET", `/certificates/${name}`, undefined, 200);
  assert.ok(got.json?.cer, `fixture: ${name} has a cer`);
  return { name, version: versionOf(got.json.id), serial: new crypto.X509Certificate(Buffer.from(got.json.cer, "base64")).serialNumber };
}
const normSerial = (s) => String(s).toUpperCase().replace(/[^0-9A-F]/g, "").replace(/^0+/, "");
/** The serial numbers in the built-in CA's CRL (public: no token). */
async function crlSerials() {
  const res = await request(server, { path: "/pki/default/crl", host: MANAGEMENT_HOST });
  assert.equal(res.status, 200, `GET /pki/default/crl: HTTP ${res.status} ${res.text.slice(0, 200)}`);
  const file = await pki.write(`crl-${hex(6)}.der`, res.body);
  const text = (await openssl(["crl", "-inform", "DER", "-in", file, "-noout", "-text"])).toString();
  return new Set([...text.matchAll(/Serial Number:\s*([0-9A-Fa-f:]+)/g)].map((m) => normSerial(m[1])));
}
/** A renewal job (Self issuer, done) of a certificate of its own: {id, certificate}. */
async function newDoneJob() {
  const c = await newCert();
  const res = await adminExpect("POST", `/certificates/${c.name}/renew`, {}, 202);
  assert.ok(res.json?.job_id, `fixture: renew answers a job: ${res.text.slice(0, 300)}`);
  await waitJobOf(c.name, (j) => j.job_id === res.json.job_id && j.status === "succeeded", "renewal job succeeded");
  return { id: res.json.job_id, certificate: c.name };
}
/**
 * A job that failed for good: an internal issuer whose template refuses the certificate's name
 * (CertificateRequestRefused). The template is widened afterwards, so a retry succeeds; the failed
 * job itself is never retried by the server. {issuer, certificate, id, attempts}
 */
async function newFailedJob() {
  const { issuer } = await newIssuer("internal", { templates: { t: { dns_names: ["*.ok.test"] } }, default_template: "t" });
  const name = uniqueName(OTHER_CERT);
  const policy = selfPolicy(name, issuer);
  policy.x509_props = { subject: "CN=bad.example", sans: { dns_names: ["bad.example"] } };
  await adminExpect("POST", `/certificates/${name}/create`, { policy }, 202);
  const job = await waitJobOf(name, (j) => j.status === "failed", "job refused by the template");
  await adminExpect("PATCH", `/certificates/issuers/${issuer}`, { settings: { templates: { t: {} }, default_template: "t" } }, 200);
  return { issuer, certificate: name, id: job.job_id, attempts: job.attempts?.length ?? 0 };
}
/**
 * A job waiting for a remote worker (a `worker` issuer of its own), leased by WORKER when
 * lease is true (then csr is its PEM request). {issuer, certificate, id, status, leaseOwner, csr}
 */
async function newWorkerJob({ lease = false } = {}) {
  const { issuer } = await newIssuer("worker");
  const name = uniqueName(OTHER_CERT);
  await adminExpect("POST", `/certificates/${name}/create`, { policy: selfPolicy(name, issuer) }, 202);
  const job = await waitJobOf(name, (j) => j.status === "waiting", "job waiting for a worker");
  let csr;
  if (lease) {
    const l = await adminExpect("POST", "/jobs/lease", { issuer, worker: WORKER, wait: 0 }, 200);
    assert.equal(l.json?.job_id, job.job_id, `fixture: the lease is the job of ${name}: ${l.text.slice(0, 300)}`);
    assert.match(String(l.json?.csr), /-----BEGIN CERTIFICATE REQUEST-----/, "fixture: the lease carries the CSR");
    csr = l.json.csr;
  }
  const now = await jobOf(job.job_id);
  return { issuer, certificate: name, id: job.job_id, status: now.status, leaseOwner: now.lease_owner, csr };
}
/** newWorkerJob({lease: true}) plus a chain signed for its CSR by the test CA: {..., chainPem, leafB64}. */
async function newSignedWorkerJob() {
  const j = await newWorkerJob({ lease: true });
  const signed = await pki.signCsr(ca, Buffer.from(j.csr), { name: `worker-${j.certificate}` });
  return { ...j, chainPem: signed.certPem + ca.certPem, leafB64: signed.certDer.toString("base64") };
}
/** The job has not moved since the fixture made it (status and lease owner). */
const jobUnchanged = async (fx) => {
  const j = await jobOf(fx.id);
  return j.status === fx.status && j.lease_owner === fx.leaseOwner ? null : `the job changed: ${fx.status}/${fx.leaseOwner} -> ${j.status}/${j.lease_owner}`;
};
/** The server's lifecycle clock offset, read with an admin advance of PT0S (which does not move it). */
async function clockOffset() {
  const res = await manage(server, "POST", "/management/clock", { body: { advance: "PT0S" }, expect: 200 });
  assert.equal(typeof res.json?.offset_seconds, "number", `fixture: clock offset: ${res.text.slice(0, 200)}`);
  return res.json.offset_seconds;
}

// ---- checks ----
const isList = (fx, res) => (Array.isArray(res.json?.value) ? null : `no "value" array: ${res.text.slice(0, 200)}`);
const stillThere = (p) => async () => {
  const res = await admin("GET", p);
  return res.status === 200 ? null : `${p} is gone (admin GET: HTTP ${res.status})`;
};
const absent = (...paths) => async () => {
  for (const p of paths) {
    const res = await admin("GET", p);
    if (res.status !== 404) return `${p} exists (admin GET: HTTP ${res.status})`;
  }
  return null;
};
const certT = (fx) => certificateScope(V, fx.name);
const secretT = (fx) => secretScope(V, fx.name);
const sharedCertT = () => certificateScope(V, shared.cert.name);
const sharedSecretT = () => secretScope(V, shared.secret.name);
const jobCertT = (fx) => certificateScope(V, fx.certificate); // a job's certificate: never enough (vault rows)
const ver = (fx, cell) => (VERSIONED_KINDS.has(cell.kind) ? `/${fx.version}` : "");

// One builder per operation of the matrix. route must equal the table's request cell.
// fixture(): the object(s) the request needs; readOnly: one fixture for all cells;
// target(fx): the object scope of cell kind "object"; request(fx, cell): {method, path, body};
// status: the documented success status; check(fx, res, cell): effect of an allowed request
// (null when fine); unchanged(fx, cell): null when a denied request changed nothing;
// cleanup(fx): after an allowed request; finalize(fx): the shared denied fixture, at the end;
// freshFixtures: a new fixture for every cell, denied ones too.
const B = {
  // ------------------------------------------------------------------ certificates
  "certificates.list": {
    route: "GET /certificates", readOnly: true, fixture: async () => ({}), target: sharedCertT,
    request: () => ({ method: "GET", path: "/certificates" }), status: 200, check: isList,
  },
  "certificates.create": {
    route: "POST /certificates/{name}/create", fixture: async () => ({ name: uniqueName(OTHER_CERT) }), target: certT,
    request: (fx) => ({ method: "POST", path: `/certificates/${fx.name}/create`, body: { policy: selfPolicy(fx.name) } }),
    status: 202,
    check: async (fx) => {
      const g = await admin("GET", `/certificates/${fx.name}`);
      return g.status === 200 && g.json?.cer ? null : `admin GET after create: HTTP ${g.status}`;
    },
    unchanged: (fx) => absent(`/certificates/${fx.name}`, `/certificates/${fx.name}/pending`)(),
  },
  "certificates.import": {
    route: "POST /certificates/{name}/import", fixture: async () => ({ name: uniqueName(OTHER_CERT) }), target: certT,
    request: (fx) => ({ method: "POST", path: `/certificates/${fx.name}/import`, body: { value: importPem } }),
    status: 200,
    check: async (fx) => {
      const g = await admin("GET", `/certificates/${fx.name}`);
      return g.status === 200 && g.json?.cer ? null : `admin GET after import: HTTP ${g.status}`;
    },
    unchanged: (fx) => absent(`/certificates/${fx.name}`)(),
  },
  "certificates.get": {
    route: "GET /certificates/{name}[/{version}]", readOnly: true, fixture: async () => shared.cert, target: certT,
    request: (fx, cell) => ({ method: "GET", path: `/certificates/${fx.name}${ver(fx, cell)}` }),
    status: 200,
    check: (fx, res) => (res.json?.cer && String(res.json.id).includes(`/certificates/${fx.name}/`) ? null : `not the certificate: ${res.text.slice(0, 200)}`),
  },
  "certificates.update": {
    route: "PATCH /certificates/{name}[/{version}]", fixture: () => newCert(), target: certT,
    request: (fx, cell) => ({ method: "PATCH", path: `/certificates/${fx.name}${ver(fx, cell)}`, body: { tags: { cell: cell.tag } } }),
    status: 200,
    check: (fx, res, cell) => (res.json?.tags?.cell === cell.tag ? null : `tags not updated: ${res.text.slice(0, 200)}`),
    unchanged: async (fx) => {
      const g = await admin("GET", `/certificates/${fx.name}`);
      return g.json?.tags?.cell === undefined ? null : `tags changed to ${JSON.stringify(g.json.tags)}`;
    },
  },
  "certificates.listversions": {
    route: "GET /certificates/{name}/versions", readOnly: true, fixture: async () => shared.cert, target: certT,
    request: (fx) => ({ method: "GET", path: `/certificates/${fx.name}/versions` }),
    status: 200, check: (fx, res) => (res.json?.value?.length >= 1 ? null : `no versions: ${res.text.slice(0, 200)}`),
  },
  "certificates.getpolicy": {
    route: "GET /certificates/{name}/policy", readOnly: true, fixture: async () => shared.cert, target: certT,
    request: (fx) => ({ method: "GET", path: `/certificates/${fx.name}/policy` }),
    status: 200, check: (fx, res) => (String(res.json?.id).endsWith(`/certificates/${fx.name}/policy`) ? null : `not the policy: ${res.text.slice(0, 200)}`),
  },
  "certificates.updatepolicy": {
    route: "PATCH /certificates/{name}/policy", fixture: () => newCert(), target: certT,
    request: (fx) => ({ method: "PATCH", path: `/certificates/${fx.name}/policy`, body: { x509_props: { validity_months: 7 } } }),
    status: 200,
    check: (fx, res) => (res.json?.x509_props?.validity_months === 7 ? null : `policy not updated: ${res.text.slice(0, 200)}`),
    unchanged: async (fx) => {
      const g = await admin("GET", `/certificates/${fx.name}/policy`);
      return g.status === 200 && g.json?.x509_props?.validity_months !== 7 ? null : `policy changed (HTTP ${g.status}, ${g.text.slice(0, 120)})`;
    },
  },
  "certificates.getpending": {
    route: "GET /certificates/{name}/pending", readOnly: true, fixture: async () => shared.pending, target: certT,
    request: (fx) => ({ method: "GET", path: `/certificates/${fx.name}/pending` }),
    status: 200, check: (fx, res) => (res.json?.status === "inProgress" && res.json?.csr ? null : `not the pending operation: ${res.text.slice(0, 200)}`),
  },
  "certificates.updatepending": {
    route: "PATCH /certificates/{name}/pending", fixture: () => newPending(), target: certT,
    request: (fx) => ({ method: "PATCH", path: `/certificates/${fx.name}/pending`, body: { cancellation_requested: true } }),
    status: 200,
    check: (fx, res) => (res.json?.cancellation_requested === true ? null : `not cancelled: ${res.text.slice(0, 200)}`),
    unchanged: async (fx) => {
      const g = await admin("GET", `/certificates/${fx.name}/pending`);
      return g.json?.status === "inProgress" && g.json?.cancellation_requested !== true ? null : `operation changed: HTTP ${g.status} ${g.text.slice(0, 160)}`;
    },
  },
  "certificates.deletepending": {
    route: "DELETE /certificates/{name}/pending", fixture: () => newPending(), target: certT,
    request: (fx) => ({ method: "DELETE", path: `/certificates/${fx.name}/pending` }),
    status: 200,
    check: (fx) => absent(`/certificates/${fx.name}/pending`)(),
    unchanged: async (fx) => {
      const g = await admin("GET", `/certificates/${fx.name}/pending`);
      return g.json?.status === "inProgress" ? null : `operation changed: HTTP ${g.status} ${g.text.slice(0, 160)}`;
    },
  },
  "certificates.merge": {
    route: "POST /certificates/{name}/pending/merge", fixture: () => newSignedPending(), target: certT,
    request: (fx) => ({ method: "POST", path: `/certificates/${fx.name}/pending/merge`, body: { x5c: fx.x5c } }),
    status: 201,
    check: async (fx, res) => {
      if (res.json?.cer !== fx.x5c[0]) return `the merged version is not the signed certificate: ${res.text.slice(0, 160)}`;
      const g = await admin("GET", `/certificates/${fx.name}/pending`);
      return g.json?.status === "completed" ? null : `operation not completed: ${g.text.slice(0, 160)}`;
    },
    unchanged: async (fx) => {
      const g = await admin("GET", `/certificates/${fx.name}/pending`);
      return g.json?.status === "inProgress" ? null : `operation changed: HTTP ${g.status} ${g.text.slice(0, 160)}`;
    },
  },
  "certificates.delete": {
    route: "DELETE /certificates/{name}", fixture: () => newCert(), target: certT,
    request: (fx) => ({ method: "DELETE", path: `/certificates/${fx.name}` }),
    status: 200,
    check: async (fx) => (await absent(`/certificates/${fx.name}`)()) ?? (await stillThere(`/deletedcertificates/${fx.name}`)()),
    unchanged: (fx) => stillThere(`/certificates/${fx.name}`)(),
  },
  "certificates.backup": {
    route: "POST /certificates/{name}/backup", readOnly: true, fixture: async () => shared.cert, target: certT,
    request: (fx) => ({ method: "POST", path: `/certificates/${fx.name}/backup` }),
    status: 200, check: (fx, res) => (typeof res.json?.value === "string" && res.json.value.length > 0 ? null : `no blob: ${res.text.slice(0, 200)}`),
  },
  "certificates.restore": {
    route: "POST /certificates/restore", fixture: () => newPurgedCertBackup(), target: certT,
    request: (fx) => ({ method: "POST", path: "/certificates/restore", body: { value: fx.blob } }),
    status: 200,
    check: (fx) => stillThere(`/certificates/${fx.name}`)(),
    unchanged: (fx) => absent(`/certificates/${fx.name}`, `/deletedcertificates/${fx.name}`)(),
  },
  "certificates.getcontacts": {
    route: "GET /certificates/contacts", readOnly: true, group: "contacts", target: sharedCertT,
    fixture: async () => {
      await adminExpect("PUT", "/certificates/contacts", { contacts: [{ email: "get@example.test" }] }, 200);
      return {};
    },
    request: () => ({ method: "GET", path: "/certificates/contacts" }),
    status: 200, check: (fx, res) => (Array.isArray(res.json?.contacts) && res.json.contacts.length > 0 ? null : `no contacts: ${res.text.slice(0, 200)}`),
  },
  "certificates.setcontacts": {
    route: "PUT /certificates/contacts", group: "contacts", fixture: async () => ({}), target: sharedCertT,
    request: (fx, cell) => ({ method: "PUT", path: "/certificates/contacts", body: { contacts: [{ email: `${cell.tag}@example.test` }] } }),
    status: 200,
    check: async (fx, res, cell) => ((await contacts()).includes(`${cell.tag}@example.test`) ? null : "contacts not set"),
    unchanged: async (fx, cell) => ((await contacts()).includes(`${cell.tag}@example.test`) ? "contacts were set" : null),
  },
  "certificates.deletecontacts": {
    // The vault's contacts are one object: an allowed cell deletes what a shared denied fixture
    // set, so every cell sets its own.
    route: "DELETE /certificates/contacts", group: "contacts", target: sharedCertT, freshFixtures: true,
    fixture: async () => {
      const email = `del-${hex(3)}@example.test`;
      await adminExpect("PUT", "/certificates/contacts", { contacts: [{ email }] }, 200);
      return { email };
    },
    request: () => ({ method: "DELETE", path: "/certificates/contacts" }),
    status: 200,
    check: () => absent("/certificates/contacts")(),
    unchanged: async (fx) => ((await contacts()).includes(fx.email) ? null : "contacts were deleted"),
  },
  "certificates.renew": {
    route: "POST /certificates/{name}/renew", target: certT,
    fixture: async () => {
      const c = await newCert();
      return { ...c, jobs: (await jobsOf(c.name)).map((j) => j.job_id), versions: await versionCount(c.name) };
    },
    request: (fx) => ({ method: "POST", path: `/certificates/${fx.name}/renew`, body: {} }),
    status: 202,
    check: async (fx, res) => {
      const id = res.json?.job_id;
      if (!id || res.json?.certificate !== fx.name || res.json?.trigger !== "manual") return `not a manual job for ${fx.name}: ${res.text.slice(0, 200)}`;
      try {
        await waitFor(async () => {
          const j = await jobOf(id);
          if (j.status === "failed" || j.status === "cancelled") throw new Error(`the job ${j.status}: ${j.last_error ?? ""}`);
          return j.status === "succeeded";
        }, `renewal job ${id} succeeded`);
      } catch (e) {
        return e.message.slice(0, 200);
      }
      const n = await versionCount(fx.name);
      return n === fx.versions + 1 ? null : `${n} versions after the renewal (${fx.versions} before)`;
    },
    unchanged: async (fx) => {
      const jobs = (await jobsOf(fx.name)).map((j) => j.job_id).filter((id) => !fx.jobs.includes(id));
      if (jobs.length) return `a job was made: ${jobs.join(",")}`;
      const n = await versionCount(fx.name);
      return n === fx.versions ? null : `${n} versions (${fx.versions} before)`;
    },
  },
  "certificates.revoke": {
    route: "POST /certificates/{name}/{version}/revoke", fixture: () => newInternalCert(), target: certT,
    request: (fx) => ({ method: "POST", path: `/certificates/${fx.name}/${fx.version}/revoke`, body: { reason: "keyCompromise" } }),
    status: 200,
    check: async (fx, res) => {
      if (res.json?.revoked !== true || !String(res.json?.id).endsWith(`/certificates/${fx.name}/${fx.version}`)) return `not the revoked version: ${res.text.slice(0, 200)}`;
      try {
        await waitFor(async () => (await crlSerials()).has(normSerial(fx.serial)), `serial ${fx.serial} in the CRL`, 10_000);
        return null;
      } catch (e) {
        return e.message.slice(0, 200);
      }
    },
    unchanged: async (fx) => ((await crlSerials()).has(normSerial(fx.serial)) ? `serial ${fx.serial} is in the CRL` : null),
  },
  // ------------------------------------------------------------------ issuers (vault objects, not in RBAC scopes)
  "issuers.list": {
    route: "GET /certificates/issuers", readOnly: true, fixture: async () => shared.issuer, target: sharedCertT,
    request: () => ({ method: "GET", path: "/certificates/issuers" }),
    status: 200,
    check: (fx, res) => (res.json?.value?.some?.((i) => String(i.id).endsWith(`/certificates/issuers/${fx.issuer}`)) ? null : `${fx.issuer} is not listed: ${res.text.slice(0, 200)}`),
  },
  "issuers.get": {
    route: "GET /certificates/issuers/{issuer}", readOnly: true, fixture: async () => shared.issuer, target: sharedCertT,
    request: (fx) => ({ method: "GET", path: `/certificates/issuers/${fx.issuer}` }),
    status: 200,
    check: (fx, res) => (String(res.json?.id).endsWith(`/certificates/issuers/${fx.issuer}`) && res.json?.provider === "internal" ? null : `not the issuer: ${res.text.slice(0, 200)}`),
  },
  "issuers.set": {
    route: "PUT /certificates/issuers/{issuer}", fixture: async () => ({ issuer: uniqueName("pi") }), target: sharedCertT,
    request: (fx) => ({ method: "PUT", path: `/certificates/issuers/${fx.issuer}`, body: { provider: "internal" } }),
    status: 200,
    check: async (fx) => {
      const g = await admin("GET", `/certificates/issuers/${fx.issuer}`);
      return g.status === 200 && g.json?.provider === "internal" ? null : `admin GET after set: HTTP ${g.status} ${g.text.slice(0, 160)}`;
    },
    unchanged: (fx) => absent(`/certificates/issuers/${fx.issuer}`)(),
    cleanup: (fx) => issuerGone(fx.issuer),
  },
  "issuers.update": {
    route: "PATCH /certificates/issuers/{issuer}", fixture: () => newIssuer(), target: sharedCertT,
    request: (fx) => ({ method: "PATCH", path: `/certificates/issuers/${fx.issuer}`, body: { attributes: { enabled: false } } }),
    status: 200,
    check: async (fx, res) => {
      if (res.json?.attributes?.enabled !== false) return `not disabled: ${res.text.slice(0, 200)}`;
      const g = await admin("GET", `/certificates/issuers/${fx.issuer}`);
      return g.json?.attributes?.enabled === false ? null : `admin GET after update: HTTP ${g.status} ${g.text.slice(0, 160)}`;
    },
    unchanged: async (fx) => {
      const g = await admin("GET", `/certificates/issuers/${fx.issuer}`);
      return g.status === 200 && g.json?.attributes?.enabled === true ? null : `the issuer changed: HTTP ${g.status} ${g.text.slice(0, 160)}`;
    },
    cleanup: (fx) => issuerGone(fx.issuer),
    finalize: (fx) => issuerGone(fx.issuer),
  },
  "issuers.delete": {
    route: "DELETE /certificates/issuers/{issuer}", fixture: () => newIssuer(), target: sharedCertT,
    request: (fx) => ({ method: "DELETE", path: `/certificates/issuers/${fx.issuer}` }),
    status: 200,
    check: async (fx, res) => {
      if (!String(res.json?.id).endsWith(`/certificates/issuers/${fx.issuer}`)) return `not the deleted issuer: ${res.text.slice(0, 200)}`;
      const g = await admin("GET", `/certificates/issuers/${fx.issuer}`);
      return g.status === 404 && g.json?.error?.code === "CertificateIssuerNotFound" ? null : `the issuer is still there: HTTP ${g.status} ${g.text.slice(0, 160)}`;
    },
    unchanged: (fx) => stillThere(`/certificates/issuers/${fx.issuer}`)(),
    finalize: (fx) => issuerGone(fx.issuer),
  },
  // ------------------------------------------------------------------ jobs (vault objects; the object
  // cells hold a role on the job's own certificate, which must not be enough)
  "jobs.list": {
    route: "GET /jobs", readOnly: true, fixture: async () => shared.job, target: jobCertT,
    request: (fx) => ({ method: "GET", path: `/jobs?certificate=${fx.certificate}` }),
    status: 200,
    check: (fx, res) => (res.json?.value?.some?.((j) => j.job_id === fx.id) ? null : `job ${fx.id} is not listed: ${res.text.slice(0, 200)}`),
  },
  "jobs.get": {
    route: "GET /jobs/{id}", readOnly: true, fixture: async () => shared.job, target: jobCertT,
    request: (fx) => ({ method: "GET", path: `/jobs/${fx.id}` }),
    status: 200,
    check: (fx, res) => (res.json?.job_id === fx.id && res.json?.certificate === fx.certificate ? null : `not the job: ${res.text.slice(0, 200)}`),
  },
  "jobs.retry": {
    route: "POST /jobs/{id}/retry", fixture: () => newFailedJob(), target: jobCertT,
    request: (fx) => ({ method: "POST", path: `/jobs/${fx.id}/retry`, body: {} }),
    status: 200,
    check: async (fx, res) => {
      if (res.json?.job_id !== fx.id || res.json?.status !== "queued") return `not the queued job: ${res.text.slice(0, 200)}`;
      try {
        await waitFor(async () => {
          const j = await jobOf(fx.id);
          if ((j.status === "failed" || j.status === "cancelled") && (j.attempts?.length ?? 0) > fx.attempts) throw new Error(`the retried job ${j.status}: ${j.last_error ?? ""}`);
          return j.status === "succeeded";
        }, `retried job ${fx.id} succeeded`);
      } catch (e) {
        return e.message.slice(0, 200);
      }
      const g = await admin("GET", `/certificates/${fx.certificate}`);
      return g.json?.cer ? null : `no certificate after the retry: HTTP ${g.status}`;
    },
    unchanged: async (fx) => {
      const j = await jobOf(fx.id);
      return j.status === "failed" && (j.attempts?.length ?? 0) === fx.attempts ? null : `the job changed: ${j.status}, ${j.attempts?.length} attempts (${fx.attempts} before)`;
    },
  },
  "jobs.lease": {
    route: "POST /jobs/lease", fixture: () => newWorkerJob(), target: jobCertT,
    request: (fx) => ({ method: "POST", path: "/jobs/lease", body: { issuer: fx.issuer, worker: WORKER, wait: 0 } }),
    status: 200,
    check: async (fx, res) => {
      if (res.json?.job_id !== fx.id || !/-----BEGIN CERTIFICATE REQUEST-----/.test(String(res.json?.csr))) return `not the job with its CSR: ${res.text.slice(0, 200)}`;
      // A leased job stays "waiting"; its lease_owner names the worker ("worker:NAME").
      const j = await jobOf(fx.id);
      return String(j.lease_owner ?? "").replace(/^worker:/, "") === WORKER ? null : `the job is not leased by ${WORKER}: ${j.status}/${j.lease_owner}`;
    },
    unchanged: jobUnchanged,
  },
  "jobs.complete": {
    route: "POST /jobs/{id}/complete", fixture: () => newSignedWorkerJob(), target: jobCertT,
    request: (fx) => ({ method: "POST", path: `/jobs/${fx.id}/complete`, body: { worker: WORKER, certificate: fx.chainPem } }),
    status: 200,
    check: async (fx, res) => {
      if (res.json?.job_id !== fx.id || res.json?.status !== "succeeded") return `the job did not succeed: ${res.text.slice(0, 200)}`;
      const g = await admin("GET", `/certificates/${fx.certificate}`);
      return g.json?.cer === fx.leafB64 ? null : `the certificate is not the signed one: HTTP ${g.status} ${g.text.slice(0, 120)}`;
    },
    unchanged: async (fx) => {
      const changed = await jobUnchanged(fx);
      if (changed) return changed;
      const g = await admin("GET", `/certificates/${fx.certificate}`);
      return g.json?.cer ? "the certificate got a version" : null;
    },
  },
  "jobs.fail": {
    route: "POST /jobs/{id}/fail", fixture: () => newWorkerJob({ lease: true }), target: jobCertT,
    request: (fx) => ({ method: "POST", path: `/jobs/${fx.id}/fail`, body: { worker: WORKER, error: "boom", retryable: false } }),
    status: 200,
    check: async (fx, res) => {
      if (res.json?.job_id !== fx.id || res.json?.status !== "failed") return `the job did not fail: ${res.text.slice(0, 200)}`;
      const j = await jobOf(fx.id);
      return j.status === "failed" ? null : `admin GET: the job is ${j.status}`;
    },
    unchanged: jobUnchanged,
  },
  "deletedcertificates.list": {
    route: "GET /deletedcertificates", readOnly: true, fixture: async () => ({}), target: sharedCertT,
    request: () => ({ method: "GET", path: "/deletedcertificates" }), status: 200, check: isList,
  },
  "deletedcertificates.get": {
    route: "GET /deletedcertificates/{name}", readOnly: true, fixture: async () => shared.deletedCert, target: certT,
    request: (fx) => ({ method: "GET", path: `/deletedcertificates/${fx.name}` }),
    status: 200, check: (fx, res) => (String(res.json?.recoveryId).endsWith(`/deletedcertificates/${fx.name}`) ? null : `not the deleted certificate: ${res.text.slice(0, 200)}`),
  },
  "deletedcertificates.recover": {
    route: "POST /deletedcertificates/{name}/recover", fixture: () => newDeletedCert(), target: certT,
    request: (fx) => ({ method: "POST", path: `/deletedcertificates/${fx.name}/recover` }),
    status: 200,
    check: (fx) => stillThere(`/certificates/${fx.name}`)(),
    unchanged: async (fx) => (await stillThere(`/deletedcertificates/${fx.name}`)()) ?? (await absent(`/certificates/${fx.name}`)()),
  },
  "deletedcertificates.purge": {
    route: "DELETE /deletedcertificates/{name}", fixture: () => newDeletedCert(), target: certT,
    request: (fx) => ({ method: "DELETE", path: `/deletedcertificates/${fx.name}` }),
    status: 204,
    check: (fx) => absent(`/deletedcertificates/${fx.name}`, `/certificates/${fx.name}`)(),
    unchanged: (fx) => stillThere(`/deletedcertificates/${fx.name}`)(),
  },
  // ------------------------------------------------------------------ secrets
  "secrets.list": {
    route: "GET /secrets", readOnly: true, fixture: async () => ({}), target: sharedSecretT,
    request: () => ({ method: "GET", path: "/secrets" }), status: 200, check: isList,
  },
  "secrets.set": {
    route: "PUT /secrets/{name}", fixture: async () => ({ name: uniqueName(OTHER_SECRET) }), target: secretT,
    request: (fx, cell) => ({ method: "PUT", path: `/secrets/${fx.name}`, body: { value: `set-${cell.tag}` } }),
    status: 200,
    check: async (fx, res, cell) => {
      const g = await admin("GET", `/secrets/${fx.name}`);
      return g.json?.value === `set-${cell.tag}` ? null : `admin GET after set: HTTP ${g.status}`;
    },
    unchanged: (fx) => absent(`/secrets/${fx.name}`)(),
  },
  "secrets.get": {
    route: "GET /secrets/{name}[/{version}]", readOnly: true, fixture: async () => shared.secret, target: secretT,
    request: (fx, cell) => ({ method: "GET", path: `/secrets/${fx.name}${ver(fx, cell)}` }),
    status: 200, check: (fx, res) => (res.json?.value === fx.value ? null : `not the secret's value: ${res.text.slice(0, 120)}`),
  },
  "secrets.update": {
    route: "PATCH /secrets/{name}[/{version}]", fixture: () => newSecret(), target: secretT,
    request: (fx, cell) => ({ method: "PATCH", path: `/secrets/${fx.name}${ver(fx, cell)}`, body: { tags: { cell: cell.tag } } }),
    status: 200,
    check: (fx, res, cell) => (res.json?.tags?.cell === cell.tag ? null : `tags not updated: ${res.text.slice(0, 200)}`),
    unchanged: async (fx) => {
      const g = await admin("GET", `/secrets/${fx.name}`);
      return g.json?.tags?.cell === undefined ? null : `tags changed to ${JSON.stringify(g.json.tags)}`;
    },
  },
  "secrets.listversions": {
    route: "GET /secrets/{name}/versions", readOnly: true, fixture: async () => shared.secret, target: secretT,
    request: (fx) => ({ method: "GET", path: `/secrets/${fx.name}/versions` }),
    status: 200,
    check: (fx, res) => {
      if (!(res.json?.value?.length >= 1)) return `no versions: ${res.text.slice(0, 200)}`;
      return res.text.includes(fx.value) ? "a version list carries the value" : null;
    },
  },
  "secrets.delete": {
    route: "DELETE /secrets/{name}", fixture: () => newSecret(), target: secretT,
    request: (fx) => ({ method: "DELETE", path: `/secrets/${fx.name}` }),
    status: 200,
    check: async (fx) => (await absent(`/secrets/${fx.name}`)()) ?? (await stillThere(`/deletedsecrets/${fx.name}`)()),
    unchanged: (fx) => stillThere(`/secrets/${fx.name}`)(),
  },
  "secrets.backup": {
    route: "POST /secrets/{name}/backup", readOnly: true, fixture: async () => shared.secret, target: secretT,
    request: (fx) => ({ method: "POST", path: `/secrets/${fx.name}/backup` }),
    status: 200, check: (fx, res) => (typeof res.json?.value === "string" && res.json.value.length > 0 ? null : `no blob: ${res.text.slice(0, 200)}`),
  },
  "secrets.restore": {
    route: "POST /secrets/restore", fixture: () => newPurgedSecretBackup(), target: secretT,
    request: (fx) => ({ method: "POST", path: "/secrets/restore", body: { value: fx.blob } }),
    status: 200,
    check: (fx) => stillThere(`/secrets/${fx.name}`)(),
    unchanged: (fx) => absent(`/secrets/${fx.name}`, `/deletedsecrets/${fx.name}`)(),
  },
  "deletedsecrets.list": {
    route: "GET /deletedsecrets", readOnly: true, fixture: async () => ({}), target: sharedSecretT,
    request: () => ({ method: "GET", path: "/deletedsecrets" }), status: 200, check: isList,
  },
  "deletedsecrets.get": {
    route: "GET /deletedsecrets/{name}", readOnly: true, fixture: async () => shared.deletedSecret, target: secretT,
    request: (fx) => ({ method: "GET", path: `/deletedsecrets/${fx.name}` }),
    status: 200,
    check: (fx, res) => {
      if (!String(res.json?.recoveryId).endsWith(`/deletedsecrets/${fx.name}`)) return `not the deleted secret: ${res.text.slice(0, 200)}`;
      return res.text.includes(fx.value) ? "the deleted secret carries its value" : null;
    },
  },
  "deletedsecrets.recover": {
    route: "POST /deletedsecrets/{name}/recover", fixture: () => newDeletedSecret(), target: secretT,
    request: (fx) => ({ method: "POST", path: `/deletedsecrets/${fx.name}/recover` }),
    status: 200,
    check: (fx) => stillThere(`/secrets/${fx.name}`)(),
    unchanged: async (fx) => (await stillThere(`/deletedsecrets/${fx.name}`)()) ?? (await absent(`/secrets/${fx.name}`)()),
  },
  "deletedsecrets.purge": {
    route: "DELETE /deletedsecrets/{name}", fixture: () => newDeletedSecret(), target: secretT,
    request: (fx) => ({ method: "DELETE", path: `/deletedsecrets/${fx.name}` }),
    status: 204,
    check: (fx) => absent(`/deletedsecrets/${fx.name}`, `/secrets/${fx.name}`)(),
    unchanged: (fx) => stillThere(`/deletedsecrets/${fx.name}`)(),
  },
  // ------------------------------------------------------------------ management
  "vaults.list": {
    route: "GET /management/vaults", management: true, readOnly: true, fixture: async () => ({}), target: sharedCertT,
    request: () => ({ method: "GET", path: "/management/vaults" }),
    status: 200, check: (fx, res) => (res.json?.value?.some?.((v) => v.name === V) ? null : `the vault list lacks ${V}: ${res.text.slice(0, 200)}`),
  },
  "vaults.create": {
    route: "PUT /management/vaults/{vault}", management: true, target: sharedCertT,
    fixture: async () => ({ vault: `pv${hex(4)}` }),
    request: (fx) => ({ method: "PUT", path: `/management/vaults/${fx.vault}`, body: {} }),
    status: 201,
    check: async (fx) => ((await vaultNames()).includes(fx.vault) ? null : "the vault is not listed"),
    unchanged: async (fx) => ((await vaultNames()).includes(fx.vault) ? "the vault was created" : null),
    cleanup: (fx) => manage(server, "DELETE", `/management/vaults/${fx.vault}`, { expect: 200 }),
  },
  "vaults.delete": {
    route: "DELETE /management/vaults/{vault}", management: true, target: sharedCertT, fixture: () => newVault(),
    request: (fx) => ({ method: "DELETE", path: `/management/vaults/${fx.vault}` }),
    status: 200,
    check: async (fx) => ((await vaultNames()).includes(fx.vault) ? "the vault is still listed" : null),
    unchanged: async (fx) => ((await vaultNames()).includes(fx.vault) ? null : "the vault was deleted"),
    finalize: (fx) => manage(server, "DELETE", `/management/vaults/${fx.vault}`, { expect: 200 }),
  },
  "principals.list": {
    route: "GET /management/principals", management: true, readOnly: true, fixture: async () => ({}), target: sharedCertT,
    request: () => ({ method: "GET", path: "/management/principals" }),
    status: 200,
    check: (fx, res) => {
      if (!res.json?.value?.some?.((p) => p.clientId === server.admin.client_id)) return `the admin is not listed: ${res.text.slice(0, 200)}`;
      return /clientSecret/.test(res.text) ? "the list carries clientSecret" : null;
    },
  },
  "principals.create": {
    route: "POST /management/principals", management: true, target: sharedCertT,
    fixture: async () => ({ displayName: `pm-created-${hex(4)}` }),
    request: (fx) => ({ method: "POST", path: "/management/principals", body: { displayName: fx.displayName } }),
    status: 201,
    check: (fx, res) => {
      fx.id = res.json?.clientId;
      return res.json?.displayName === fx.displayName && typeof res.json?.clientSecret === "string" ? null : `not the new principal: ${res.text.slice(0, 200)}`;
    },
    unchanged: async (fx) => {
      const res = await manage(server, "GET", "/management/principals", { expect: 200 });
      return res.json?.value?.some?.((p) => p.displayName === fx.displayName) ? "the principal was created" : null;
    },
    cleanup: async (fx) => fx.id && manage(server, "DELETE", `/management/principals/${fx.id}`, { expect: 200 }),
  },
  "principals.get": {
    route: "GET /management/principals/{id}", management: true, readOnly: true, fixture: () => newTargetPrincipal(), target: sharedCertT,
    request: (fx) => ({ method: "GET", path: `/management/principals/${fx.id}` }),
    status: 200,
    check: (fx, res) => (res.json?.clientId === fx.id && !/clientSecret/.test(res.text) ? null : `not the principal (or it carries clientSecret): ${res.text.slice(0, 200)}`),
  },
  "principals.update": {
    route: "PATCH /management/principals/{id}", management: true, fixture: () => newTargetPrincipal(), target: sharedCertT,
    request: (fx, cell) => ({ method: "PATCH", path: `/management/principals/${fx.id}`, body: { displayName: `renamed-${cell.tag}` } }),
    status: 200,
    check: (fx, res, cell) => (res.json?.displayName === `renamed-${cell.tag}` ? null : `not renamed: ${res.text.slice(0, 200)}`),
    unchanged: async (fx) => {
      const res = await manage(server, "GET", `/management/principals/${fx.id}`, { expect: 200 });
      return res.json?.displayName === fx.displayName && res.json?.enabled === true ? null : `the principal changed: ${res.text.slice(0, 200)}`;
    },
  },
  "principals.delete": {
    route: "DELETE /management/principals/{id}", management: true, fixture: () => newTargetPrincipal(), target: sharedCertT,
    request: (fx) => ({ method: "DELETE", path: `/management/principals/${fx.id}` }),
    status: 200,
    check: async (fx) => {
      const res = await manage(server, "GET", `/management/principals/${fx.id}`);
      return res.status === 404 ? null : `the principal still exists (HTTP ${res.status})`;
    },
    unchanged: async (fx) => {
      const res = await manage(server, "GET", `/management/principals/${fx.id}`);
      return res.status === 200 ? null : `the principal is gone (HTTP ${res.status})`;
    },
  },
  "principals.rotatesecret": {
    route: "POST /management/principals/{id}/rotate-secret", management: true, fixture: () => newTargetPrincipal(), target: sharedCertT,
    request: (fx) => ({ method: "POST", path: `/management/principals/${fx.id}/rotate-secret` }),
    status: 200,
    check: (fx, res) => (typeof res.json?.clientSecret === "string" && res.json.clientSecret !== fx.secret ? null : `no new secret: ${res.text.slice(0, 200)}`),
    unchanged: async (fx) => {
      try {
        await principalToken(server, { clientId: fx.id, clientSecret: fx.secret }, { fresh: true });
        return null;
      } catch (e) {
        return `the old secret no longer works: ${e.message.slice(0, 200)}`;
      }
    },
  },
  "roleassignments.list": {
    route: "GET /management/roleassignments", management: true, readOnly: true, fixture: async () => ({}), target: sharedCertT,
    request: () => ({ method: "GET", path: "/management/roleassignments" }), status: 200, check: isList,
  },
  "roleassignments.create": {
    route: "POST /management/roleassignments", management: true, target: sharedCertT, fixture: () => newTargetPrincipal(),
    request: (fx) => ({ method: "POST", path: "/management/roleassignments", body: { principalId: fx.id, role: "Reader", scope: vaultScope(V) } }),
    status: 201,
    check: async (fx, res) => {
      if (res.json?.principalId !== fx.id || res.json?.role !== "Reader") return `not the assignment: ${res.text.slice(0, 200)}`;
      return (await assignmentsOf(fx.id)).some((a) => a.id === res.json.id) ? null : "the assignment is not listed";
    },
    unchanged: async (fx) => ((await assignmentsOf(fx.id)).length === 0 ? null : "an assignment was created"),
  },
  "roleassignments.delete": {
    route: "DELETE /management/roleassignments/{id}", management: true, target: sharedCertT,
    fixture: async () => {
      const p = await newTargetPrincipal();
      const a = await assignRole(server, p.id, "Reader", secretScope(V, uniqueName(OTHER_SECRET)));
      return { principal: p.id, id: a.id };
    },
    request: (fx) => ({ method: "DELETE", path: `/management/roleassignments/${fx.id}` }),
    status: 200,
    check: async (fx) => ((await assignmentsOf(fx.principal)).some((a) => a.id === fx.id) ? "the assignment is still listed" : null),
    unchanged: async (fx) => ((await assignmentsOf(fx.principal)).some((a) => a.id === fx.id) ? null : "the assignment was deleted"),
  },
  "audit.list": {
    route: "GET /management/audit", management: true, readOnly: true, fixture: async () => ({}), target: sharedCertT,
    request: () => ({ method: "GET", path: "/management/audit" }), status: 200, check: isList,
  },
  "tokenkeys.rotate": {
    route: "POST /management/tokenkeys/rotate", management: true, target: sharedCertT,
    fixture: async () => ({ kids: (await jwks(server)).keys.map((k) => k.kid).sort() }),
    request: () => ({ method: "POST", path: "/management/tokenkeys/rotate" }),
    status: 200,
    check: async (fx, res) => {
      const kids = (await jwks(server)).keys.map((k) => k.kid);
      return typeof res.json?.kid === "string" && kids.includes(res.json.kid) && !fx.kids.includes(res.json.kid) ? null : `no new key in the JWKS: ${res.text.slice(0, 200)}`;
    },
    unchanged: async (fx) => {
      const kids = (await jwks(server)).keys.map((k) => k.kid).sort();
      return kids.some((k) => !fx.kids.includes(k)) ? `a new key appeared: ${kids.join(",")}` : null;
    },
  },
  "events.list": {
    route: "GET /management/events", management: true, readOnly: true, fixture: async () => ({}), target: sharedCertT,
    request: () => ({ method: "GET", path: "/management/events?after=0&maxresults=10" }),
    status: 200,
    // before() made certificates in V: there are events, and at most the 10 asked for.
    check: (fx, res) => {
      const n = res.json?.value?.length;
      return n >= 1 && n <= 10 && res.json.value.every((e) => typeof e.type === "string") ? null : `not 1..10 events: ${res.text.slice(0, 200)}`;
    },
  },
  "clock.advance": {
    // The offset only grows: every cell reads it just before its request.
    route: "POST /management/clock", management: true, target: sharedCertT, freshFixtures: true,
    fixture: async () => ({ offset: await clockOffset() }),
    request: () => ({ method: "POST", path: "/management/clock", body: { advance: "PT1S" } }),
    status: 200,
    check: async (fx, res) => {
      if (!(res.json?.offset_seconds >= fx.offset + 1) || typeof res.json?.now !== "number") return `the clock did not move: ${res.text.slice(0, 200)}`;
      const now = await clockOffset();
      return now >= fx.offset + 1 ? null : `offset ${now} after the advance (${fx.offset} before)`;
    },
    unchanged: async (fx) => {
      const now = await clockOffset();
      return now === fx.offset ? null : `the clock moved: offset ${fx.offset} -> ${now}`;
    },
  },
};

/** The route of a builder written as the table's request cell. */
function tableRoute(row) {
  return `${row.method} ${row.path}`;
}

describe("the permission matrix table (docs/permissions.md)", () => {
  it("parses the matrix; every operation has a request builder for the documented route", () => {
    if (parseError) assert.fail(`docs/permissions.md: ${parseError.message}`);
    const problems = [];
    for (const row of matrix.rows) {
      const b = B[row.operation];
      if (!b) problems.push(`${row.operation}: no request builder in permissions.test.mjs`);
      else if (b.route !== tableRoute(row)) problems.push(`${row.operation}: the table says \`${tableRoute(row)}\`, the builder sends \`${b.route}\``);
    }
    const documented = new Set(matrix.rows.map((r) => r.operation));
    for (const op of Object.keys(B)) if (!documented.has(op)) problems.push(`${op}: a builder for an operation the table does not list`);
    assert.equal(matrix.roles.length, 6, `six roles: ${matrix.roles.join(", ")}`);
    assert.deepEqual(problems, [], problems.join("\n"));
  });
});

describe("permission matrix against the server", { timeout: 900_000 }, () => {
  before(async () => {
    if (parseError) return; // the first test reports it
    server = await startServer({ extraArgs: SERVER_ARGS });
    pki = await Pki.create();
    ca = await pki.makeCA("perm-ca");
    const leaf = await pki.makeLeaf(ca, "perm-import", { kind: "p256" });
    importPem = leaf.keyPem + leaf.certPem;

    await manage(server, "PUT", `/management/vaults/${V}`, { body: {}, expect: 201 });
    await manage(server, "PUT", `/management/vaults/${OTHER_VAULT}`, { body: {}, expect: 201 });
    // The "other" objects exist: an object-scope role on them is a role on a real, different object.
    await newCert(OTHER_CERT);
    await newSecret(OTHER_SECRET);
    // Shared, never-modified fixtures of the read-only rows.
    shared.cert = await newCert();
    shared.secret = await newSecret();
    shared.pending = await newPending();
    shared.deletedCert = await newDeletedCert();
    shared.deletedSecret = await newDeletedSecret();
    shared.issuer = await newIssuer("internal");
    shared.job = await newDoneJob();

    const roles = matrix.roles;
    const make = async (kind, role) => {
      const p = await createPrincipal(server, { displayName: `pm-${kind}-${role.replace(/\s+/g, "-").toLowerCase()}` });
      if (kind === "server") await assignRole(server, p.clientId, role, "/");
      if (kind === "vault") await assignRole(server, p.clientId, role, vaultScope(V));
      if (kind === "otherVault") await assignRole(server, p.clientId, role, vaultScope(OTHER_VAULT));
      if (kind === "otherObject") {
        await assignRole(server, p.clientId, role, certificateScope(V, OTHER_CERT));
        await assignRole(server, p.clientId, role, secretScope(V, OTHER_SECRET));
      }
      // "object": assigned per target, lazily (objectPrincipal()).
      await principalToken(server, p);
      return p;
    };
    for (const kind of KINDS) {
      principals[kind] = {};
      await Promise.all(roles.map(async (role) => (principals[kind][role] = await make(kind, role))));
    }
    principals.none = await createPrincipal(server, { displayName: "pm-none" });
    await principalToken(server, principals.none);
  });

  after(async () => {
    await server?.stop();
    await pki?.cleanup();
  });

  it("every cell of the matrix holds for every role at every scope", { timeout: 840_000 }, async () => {
    if (parseError) assert.fail(`docs/permissions.md: ${parseError.message}`);
    const missing = matrix.rows.filter((r) => !B[r.operation]).map((r) => r.operation);
    assert.deepEqual(missing, [], `operations without a request builder: ${missing.join(", ")}`);

    const mismatches = [];
    let cellsRun = 0;

    async function objectPrincipal(role, scope) {
      const p = principals.object[role];
      const key = `${p.clientId} ${scope}`;
      if (!objectAssigned.has(key)) objectAssigned.set(key, assignRole(server, p.clientId, role, scope));
      await objectAssigned.get(key);
      return p;
    }

    function scopeLabel(kind, b, fx) {
      switch (kind) {
        case "server": return "/";
        case "vault": return vaultScope(V);
        case "otherVault": return vaultScope(OTHER_VAULT);
        case "object": return b.target(fx);
        case "otherObject": return `${certificateScope(V, OTHER_CERT)} + ${secretScope(V, OTHER_SECRET)}`;
        default: return "(no role)";
      }
    }

    async function runRow(row) {
      const b = B[row.operation];
      const cells = [];
      for (const role of matrix.roles) for (const kind of KINDS) cells.push({ role, kind });
      cells.push({ role: null, kind: "none" });
      let readOnlyFx = null;
      let deniedFx = null;
      for (const cell of cells) {
        cell.tag = `c${hex(4)}`;
        const allowed = expectedAllowed(row, cell.role, cell.kind);
        const record = (got) =>
          mismatches.push({
            operation: row.operation,
            who: cell.role ? `${cell.role} @ ${cell.kind} (${scopeLabel(cell.kind, b, fx)})` : "no role",
            expected: allowed ? `allowed (HTTP ${b.status})` : "denied (403 ForbiddenByRbac)",
            got,
          });
        let fx;
        try {
          if (b.readOnly) fx = readOnlyFx ??= await b.fixture();
          else if (allowed || b.freshFixtures) fx = await b.fixture();
          else fx = deniedFx ??= await b.fixture();
        } catch (e) {
          // A fixture that cannot be made is a failure of its own (the admin is refused, ...).
          mismatches.push({ operation: row.operation, who: cell.role ?? "no role", expected: "fixture", got: `fixture failed: ${e.message.slice(0, 300)}` });
          return;
        }
        let principal;
        if (cell.kind === "none") principal = principals.none;
        else if (cell.kind === "object") principal = await objectPrincipal(cell.role, b.target(fx));
        else principal = principals[cell.kind][cell.role];

        const req = b.request(fx, cell);
        let res;
        try {
          const token = await principalToken(server, principal);
          res = await request(server, {
            method: req.method,
            path: b.management ? req.path : withApiVersion(req.path),
            ...(b.management ? { host: MANAGEMENT_HOST } : { vault: V }),
            body: req.body,
            token,
          });
        } catch (e) {
          record(`request failed: ${e.message.slice(0, 200)}`);
          continue;
        }
        cellsRun++;
        const got = `HTTP ${res.status} ${errorCode(res)}`.trim();
        if (allowed) {
          if (res.status !== b.status) {
            record(`${got} ${res.status >= 400 ? res.json?.error?.message ?? "" : ""}`.trim().slice(0, 300));
          } else {
            const problem = b.check ? await b.check(fx, res, cell) : null;
            if (problem) record(`${got}, but ${problem}`);
          }
          if (res.status >= 200 && res.status < 300 && b.cleanup) await b.cleanup(fx).catch(() => {});
        } else {
          const denied = isRbacDenied(res);
          const changed = !b.readOnly && b.unchanged ? await b.unchanged(fx, cell) : null;
          if (!denied || changed) record(`${got}${changed ? `; and ${changed}` : ""}`);
          if (!denied || changed) {
            if (res.status >= 200 && res.status < 300 && b.cleanup) await b.cleanup(fx).catch(() => {});
            deniedFx = null; // this fixture may have been used up: make a new one
          }
        }
      }
      if (deniedFx && b.finalize) await b.finalize(deniedFx).catch(() => {});
    }

    // Rows run a few at a time; the rows of one group (the vault's contacts) run one after another.
    const tasks = [];
    const groups = new Map();
    for (const row of matrix.rows) {
      const g = B[row.operation].group;
      if (!g) tasks.push(() => runRow(row));
      else if (!groups.has(g)) {
        const rows = [row];
        groups.set(g, rows);
        tasks.push(async () => {
          for (const r of rows) await runRow(r);
        });
      } else groups.get(g).push(row);
    }
    let next = 0;
    await Promise.all(
      Array.from({ length: ROW_CONCURRENCY }, async () => {
        while (next < tasks.length) await tasks[next++]();
      }),
    );

    const expectedCells = matrix.rows.length * (matrix.roles.length * KINDS.length + 1);
    if (mismatches.length) {
      const byOp = new Map();
      for (const m of mismatches) byOp.set(m.operation, (byOp.get(m.operation) ?? 0) + 1);
      const lines = mismatches
        .slice(0, MAX_LISTED)
        .map((m) => `  ${m.operation.padEnd(28)} ${m.who.padEnd(70)} expected ${m.expected.padEnd(28)} got ${m.got}`);
      const summary = [...byOp].map(([op, n]) => `${op}: ${n}`).join(", ");
      assert.fail(
        `${mismatches.length} of ${expectedCells} matrix cells do not hold (${cellsRun} requests answered).\n` +
          `Per operation: ${summary}\n${lines.join("\n")}` +
          (mismatches.length > MAX_LISTED ? `\n  ... and ${mismatches.length - MAX_LISTED} more` : ""),
      );
    }
    assert.equal(cellsRun, expectedCells, "every cell was run");
  });
});
