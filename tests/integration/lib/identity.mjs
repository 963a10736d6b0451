// Identities and roles for the integration tests: service principals and role assignments made
// through the management API as the administrator, their tokens, raw requests made as them, JWT
// helpers, and the permission matrix read from docs/permissions.md.
//
//   import { createPrincipal, assignRole, principalWithRole, callAs } from "./lib/identity.mjs";
//   const reader = await principalWithRole(server, "Reader", "/vaults/default");
//   const res = await callAs(server, reader, { path: "/certificates?api-version=7.5" });
//
// Setup calls made here (create, assign, tokens) retry a 429 after its Retry-After, a bounded
// number of times, so that they also work against a server started with a tiny --rate-limit.
// Requests under test never retry: use callAs / request for those.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { adminToken, REPO_ROOT, request, tokenCredential } from "./server.mjs";

/** The host management requests are sent to (management answers on any host). */
export const MANAGEMENT_HOST = "localhost";

export const ROLES = Object.freeze([
  "Administrator",
  "Certificates Officer",
  "Certificate User",
  "Secrets Officer",
  "Secrets User",
  "Reader",
]);

export const vaultScope = (vault) => `/vaults/${vault}`;
export const certificateScope = (vault, name) => `/vaults/${vault}/certificates/${name}`;
export const secretScope = (vault, name) => `/vaults/${vault}/secrets/${name}`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * request() that waits out a 429 (Retry-After seconds, capped at 5 s) and tries again, at most
 * `attempts` times. For setup only: never for the request a test asserts on.
 */
export async function requestRetrying(server, req, { attempts = 8 } = {}) {
  let res;
  for (let i = 0; i < attempts; i++) {
    res = await request(server, req);
    if (res.status !== 429) return res;
    const wait = Math.min(5, Math.max(1, Number(res.headers["retry-after"]) || 1));
    await sleep(wait * 1000);
  }
  return res;
}

function describeRes(res) {
  return `HTTP ${res.status} ${res.text.slice(0, 400)}`;
}

/**
 * A management request as the administrator (host localhost), retried on 429. `expect`: a status
 * or a list of statuses the answer must have (asserted).
 */
export async function manage(server, method, p, { body, token, expect } = {}) {
  const tok = token ?? (await adminToken(server)).access_token;
  const res = await requestRetrying(server, { method, path: p, host: MANAGEMENT_HOST, body, token: tok });
  if (expect !== undefined) {
    const ok = Array.isArray(expect) ? expect.includes(res.status) : res.status === expect;
    assert.ok(ok, `${method} ${p}: expected HTTP ${expect}, got ${describeRes(res)}`);
  }
  return res;
}

/** POST /management/principals as the administrator: {clientId, clientSecret, displayName, ...}. */
export async function createPrincipal(server, { displayName, secretExpires } = {}) {
  const body = { displayName: displayName ?? `it-${crypto.randomBytes(4).toString("hex")}` };
  if (secretExpires !== undefined) body.secretExpires = secretExpires;
  const res = await manage(server, "POST", "/management/principals", { body, expect: 201 });
  const p = res.json;
  assert.equal(typeof p?.clientId, "string", `principal has a clientId: ${res.text}`);
  assert.equal(typeof p?.clientSecret, "string", `create answers the clientSecret: ${res.text}`);
  return p;
}

/** POST /management/roleassignments as the administrator; returns the assignment. */
export async function assignRole(server, principalId, role, scope) {
  const res = await manage(server, "POST", "/management/roleassignments", {
    body: { principalId, role, scope },
    expect: [200, 201],
  });
  assert.equal(typeof res.json?.id, "string", `assignment has an id: ${res.text}`);
  return res.json;
}

/** A new principal holding `role` at `scope` (no assignment when role is null). */
export async function principalWithRole(server, role, scope, { displayName } = {}) {
  const p = await createPrincipal(server, {
    displayName: displayName ?? `it-${(role ?? "none").replace(/\s+/g, "-").toLowerCase()}-${crypto.randomBytes(3).toString("hex")}`,
  });
  p.assignments = [];
  if (role) p.assignments.push(await assignRole(server, p.clientId, role, scope));
  return p;
}

/** The raw token endpoint answer for a client (never throws on an error status). */
export async function tokenResponse(server, { clientId, clientSecret, scope, tokenUrl, grantType = "client_credentials" } = {}) {
  const form = new URLSearchParams();
  if (grantType !== null) form.set("grant_type", grantType);
  if (clientId !== undefined) form.set("client_id", clientId);
  if (clientSecret !== undefined) form.set("client_secret", clientSecret);
  if (scope) form.set("scope", scope);
  return request(server, {
    method: "POST",
    path: tokenUrl ?? `/oauth2/token`,
    host: MANAGEMENT_HOST,
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: form.toString(),
  });
}

/**
 * An access token for a principal ({clientId, clientSecret}), cached on the object until a minute
 * before it expires (unless fresh: true). Throws when the token endpoint refuses.
 */
export async function principalToken(server, principal, { scope = "https://localhost/.default", fresh = false } = {}) {
  const cached = principal._token;
  if (!fresh && cached && cached.scope === scope && cached.expiresAt - 60_000 > Date.now()) return cached.access_token;
  let res;
  for (let i = 0; i < 8; i++) {
    res = await tokenResponse(server, { clientId: principal.clientId, clientSecret: principal.clientSecret, scope });
    if (res.status !== 429) break;
    await sleep(Math.min(5, Math.max(1, Number(res.headers["retry-after"]) || 1)) * 1000);
  }
  if (res.status !== 200 || !res.json?.access_token) {
    const err = new Error(`token request for ${principal.clientId} failed: ${describeRes(res)}`);
    err.response = res;
    throw err;
  }
  principal._token = {
    scope,
    access_token: res.json.access_token,
    expiresAt: Date.now() + Number(res.json.expires_in ?? 300) * 1000,
  };
  return res.json.access_token;
}

/** request() as a principal (its cached token); `principal` null sends no token. */
export async function callAs(server, principal, req) {
  const token = principal ? await principalToken(server, principal) : undefined;
  return request(server, { ...req, token });
}

/** A TokenCredential for the SDK clients that signs in as this principal. */
export function principalCredential(server, principal) {
  return tokenCredential(server, { clientId: principal.clientId, clientSecret: principal.clientSecret });
}

/** True when a raw response is the RBAC denial: 403 Forbidden with innererror ForbiddenByRbac. */
export function isRbacDenied(res) {
  return res.status === 403 && res.json?.error?.code === "Forbidden" && res.json?.error?.innererror?.code === "ForbiddenByRbac";
}

/** Asserts the RBAC denial envelope. */
export function assertRbacDenied(res, what = "") {
  assert.ok(isRbacDenied(res), `${what ? what + ": " : ""}expected 403 Forbidden/ForbiddenByRbac, got ${describeRes(res)}`);
  assert.equal(typeof res.json.error.message, "string");
}

/** "code/innererror" of an error envelope, for messages. */
export function errorCode(res) {
  const e = res.json?.error;
  if (!e) return typeof res.json?.error === "string" ? res.json.error : "";
  return e.innererror?.code ? `${e.code}/${e.innererror.code}` : `${e.code ?? ""}`;
}

// ---------------------------------------------------------------------------------------------
// JWTs

export const b64url = (x) => Buffer.from(typeof x === "string" ? x : JSON.stringify(x)).toString("base64url");

/** {header, payload, signature (Buffer), parts} of a JWT (no verification). */
export function decodeJwt(token) {
  const parts = token.split(".");
  assert.equal(parts.length, 3, "a JWT has three parts");
  return {
    header: JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8")),
    payload: JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8")),
    signature: Buffer.from(parts[2], "base64url"),
    parts,
  };
}

/** The server's JWKS ({keys: [...]}). */
export async function jwks(server) {
  const res = await request(server, { path: "/.well-known/jwks.json", host: MANAGEMENT_HOST });
  assert.equal(res.status, 200, `JWKS: ${describeRes(res)}`);
  assert.ok(Array.isArray(res.json?.keys), `JWKS has keys: ${res.text}`);
  return res.json;
}

// ---------------------------------------------------------------------------------------------
// The permission matrix of docs/permissions.md

export const PERMISSIONS_DOC = path.join(REPO_ROOT, "docs", "permissions.md");

/**
 * Parses the permission matrix table of docs/permissions.md (the table whose header starts with
 * `| operation | request | scope |`). Returns {roles: [name...], rows: [{operation, method, path,
 * request, scope, allowed: {role: bool}}]}. Throws when the table is missing or malformed.
 */
export function parsePermissionMatrix(markdown) {
  const lines = markdown.split(/\r?\n/);
  const start = lines.findIndex((l) => /^\|\s*operation\s*\|\s*request\s*\|\s*scope\s*\|/.test(l));
  if (start < 0) throw new Error("permissions.md: no table whose header is | operation | request | scope | ...");
  const cells = (line) => {
    const t = line.trim();
    if (!t.startsWith("|") || !t.endsWith("|")) throw new Error(`permissions.md: not a table row: ${line}`);
    return t.slice(1, -1).split("|").map((c) => c.trim());
  };
  const header = cells(lines[start]);
  const roles = header.slice(3);
  if (roles.length === 0) throw new Error("permissions.md: the matrix names no roles");
  if (!/^\|(\s*:?-+:?\s*\|)+$/.test(lines[start + 1]?.trim() ?? "")) {
    throw new Error(`permissions.md: the matrix header is not followed by a separator row: ${lines[start + 1]}`);
  }
  const rows = [];
  for (let i = start + 2; i < lines.length && lines[i].trim().startsWith("|"); i++) {
    const c = cells(lines[i]);
    if (c.length !== header.length) {
      throw new Error(`permissions.md line ${i + 1}: ${c.length} cells, the header has ${header.length}: ${lines[i]}`);
    }
    const [operation, requestCell, scope, ...grants] = c;
    if (!/^[a-z]+\.[a-z]+$/.test(operation)) throw new Error(`permissions.md line ${i + 1}: bad operation name '${operation}'`);
    const m = /^`([A-Z]+) ([^`]+)`$/.exec(requestCell);
    if (!m) throw new Error(`permissions.md line ${i + 1}: request cell is not \`METHOD /path\`: ${requestCell}`);
    if (!["server", "vault", "object"].includes(scope)) {
      throw new Error(`permissions.md line ${i + 1}: scope '${scope}' is not server, vault or object`);
    }
    const allowed = {};
    grants.forEach((g, k) => {
      if (g !== "yes" && g !== "no") throw new Error(`permissions.md line ${i + 1}: cell '${g}' for ${roles[k]} is not yes or no`);
      allowed[roles[k]] = g === "yes";
    });
    rows.push({ operation, method: m[1], path: m[2], request: `${m[1]} ${m[2]}`, scope, allowed });
  }
  if (rows.length === 0) throw new Error("permissions.md: the matrix has no rows");
  const seen = new Set();
  for (const r of rows) {
    if (seen.has(r.operation)) throw new Error(`permissions.md: operation ${r.operation} appears twice`);
    seen.add(r.operation);
  }
  return { roles, rows };
}

/** The parsed matrix of docs/permissions.md. */
export function permissionMatrix(file = PERMISSIONS_DOC) {
  return parsePermissionMatrix(fs.readFileSync(file, "utf8"));
}
