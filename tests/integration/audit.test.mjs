// The audit trail: a scripted run of successes, 404s, 403s, 401s (no token, bad token), refused
// token requests and management calls, each response's x-ms-request-id noted with what the record
// must say; then GET /management/audit (paged through nextLink) must hold exactly one matching
// record per request; the CLI's `certvault audit export` must print them as JSON lines; and after
// the server stops, no secret value, client secret or access token may appear anywhere in
// audit.db, certvault.db (and their -wal files) or the server's output.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import {
  assignRole,
  createPrincipal,
  manage,
  MANAGEMENT_HOST,
  principalToken,
  tokenResponse,
  vaultScope,
} from "./lib/identity.mjs";
import { adminToken, certvaultBin, request, startServer } from "./lib/server.mjs";
import { uniqueName } from "./lib/util.mjs";

const RFC3339_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const PAGE = 7; // small pages, so the run spans several

/** "" for a field that says "nobody" / "no vault" however it is rendered (absent, null, ""). */
const norm = (v) => (v === undefined || v === null ? "" : v);

function runCli(args, timeout = 60_000) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("CERTVAULT_")));
  return new Promise((resolve) => {
    execFile(process.env.CERTVAULT_CLI_BIN || certvaultBin(), args, { env: { ...env, HOME: os.tmpdir() }, timeout, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

describe("audit trail", { timeout: 240_000 }, () => {
  let server;
  let dataDir;
  let runStart;
  let runEnd;
  const expected = []; // {what, requestId, status, outcome, operation, principal (string|string[]), vault, object?}
  const problems = []; // found while running the script
  const needles = new Map(); // secret text -> what it is
  let records = []; // every record, from the paged listing

  before(async () => {
    dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), "certvault-it-audit-"));
    server = await startServer({ dataDir });
  });

  after(async () => {
    await server?.stop();
    if (dataDir) await fsp.rm(dataDir, { recursive: true, force: true });
  });

  function secret(value, what) {
    needles.set(value, what);
    return value;
  }

  /** Notes one scripted response and what its audit record must say. */
  function step(what, res, exp) {
    const requestId = res.headers["x-ms-request-id"];
    if (res.status !== exp.status) problems.push(`${what}: expected HTTP ${exp.status}, got ${res.status} ${res.text.slice(0, 200)}`);
    if (!requestId) {
      problems.push(`${what}: the response (HTTP ${res.status}) has no x-ms-request-id`);
      return res;
    }
    expected.push({ what, requestId, ...exp });
    return res;
  }

  it("a scripted run: every request has exactly one record saying who, what, where and how it ended", async () => {
    runStart = Date.now();
    const adminId = server.admin.client_id;
    secret(server.admin.client_secret, "the administrator's client secret");
    const V2 = "auditv";

    // Token endpoint: a success, a wrong secret, an unknown client, a bad grant type.
    let res = await tokenResponse(server, { clientId: adminId, clientSecret: server.admin.client_secret, scope: "https://localhost/.default" });
    step("token for the administrator", res, { status: 200, outcome: "success", operation: "token.issue", principal: adminId, vault: "" });
    const adminTok = secret(res.json?.access_token ?? "", "an administrator token");
    const wrong = secret(`wrong-${crypto.randomBytes(24).toString("base64url")}`, "a wrong client secret");
    res = await tokenResponse(server, { clientId: adminId, clientSecret: wrong });
    // Ambiguous in the contract: a refused token request names nobody (not authenticated) or the
    // client id it claimed. Either is accepted.
    step("token with a wrong secret", res, { status: 401, outcome: "denied", operation: "token.issue", principal: ["", adminId], vault: "" });
    res = await tokenResponse(server, { clientId: "no-such-client", clientSecret: wrong });
    step("token for an unknown client", res, { status: 401, outcome: "denied", operation: "token.issue", principal: ["", "no-such-client"], vault: "" });
    res = await tokenResponse(server, { clientId: adminId, clientSecret: server.admin.client_secret, grantType: "password" });
    step("token with an unsupported grant type", res, { status: 400, outcome: "failed", operation: "token.issue", principal: ["", adminId], vault: "" });

    const asAdmin = (req) => request(server, { ...req, token: adminTok });
    // Management: principals, a role, a vault.
    res = await asAdmin({ method: "POST", host: MANAGEMENT_HOST, path: "/management/principals", body: { displayName: "audit-writer" } });
    step("create principal writer", res, { status: 201, outcome: "success", operation: "principals.create", principal: adminId, vault: "" });
    const writer = res.json;
    secret(writer.clientSecret, "writer's client secret");
    res = await asAdmin({ method: "POST", host: MANAGEMENT_HOST, path: "/management/roleassignments", body: { principalId: writer.clientId, role: "Secrets Officer", scope: vaultScope("default") } });
    step("assign Secrets Officer", res, { status: 201, outcome: "success", operation: "roleassignments.create", principal: adminId, vault: "" });
    res = await asAdmin({ method: "POST", host: MANAGEMENT_HOST, path: "/management/principals", body: { displayName: "audit-nobody" } });
    step("create principal nobody", res, { status: 201, outcome: "success", operation: "principals.create", principal: adminId, vault: "" });
    const nobody = res.json;
    secret(nobody.clientSecret, "nobody's client secret");
    res = await asAdmin({ method: "PUT", host: MANAGEMENT_HOST, path: `/management/vaults/${V2}`, body: {} });
    step("create vault", res, { status: 201, outcome: "success", operation: "vaults.create", principal: adminId, vault: "" });
    res = await asAdmin({ host: MANAGEMENT_HOST, path: "/management/vaults" });
    step("list vaults", res, { status: 200, outcome: "success", operation: "vaults.list", principal: adminId, vault: "" });

    // Writer's token through the endpoint, noted too.
    res = await tokenResponse(server, { clientId: writer.clientId, clientSecret: writer.clientSecret });
    step("token for writer", res, { status: 200, outcome: "success", operation: "token.issue", principal: writer.clientId, vault: "" });
    const writerTok = secret(res.json?.access_token ?? "", "writer's token");
    const nobodyTok = secret(await principalToken(server, nobody), "nobody's token");
    const asWriter = (req) => request(server, { ...req, token: writerTok });
    const asNobody = (req) => request(server, { ...req, token: nobodyTok });

    // Data plane: successes, a 404, 403s, 401s.
    const name = uniqueName("audited");
    const value = secret(`value-${crypto.randomBytes(24).toString("base64url")}`, "a secret value");
    res = await asWriter({ method: "PUT", path: `/secrets/${name}?api-version=7.5`, body: { value } });
    step("writer sets a secret", res, { status: 200, outcome: "success", operation: "secrets.set", principal: writer.clientId, vault: "default", object: name });
    res = await asWriter({ path: `/secrets/${name}?api-version=7.5` });
    step("writer reads it", res, { status: 200, outcome: "success", operation: "secrets.get", principal: writer.clientId, vault: "default", object: name });
    const value2 = secret(`value2-${crypto.randomBytes(24).toString("hex")}`, "a second secret value");
    res = await asWriter({ method: "PUT", path: `/secrets/${name}?api-version=7.5`, body: { value: value2, contentType: "text/plain" } });
    step("writer sets a second version", res, { status: 200, outcome: "success", operation: "secrets.set", principal: writer.clientId, vault: "default", object: name });
    res = await asWriter({ path: "/secrets/no-such-secret?api-version=7.5" });
    step("writer reads a missing secret", res, { status: 404, outcome: "failed", operation: "secrets.get", principal: writer.clientId, vault: "default", object: "no-such-secret" });
    res = await asWriter({ path: "/secrets?api-version=7.5" });
    step("writer lists secrets", res, { status: 200, outcome: "success", operation: "secrets.list", principal: writer.clientId, vault: "default" });
    res = await asWriter({ path: "/certificates?api-version=7.5" });
    step("writer lists certificates (no certificate role)", res, { status: 403, outcome: "denied", operation: "certificates.list", principal: writer.clientId, vault: "default" });
    res = await asNobody({ path: `/secrets/${name}?api-version=7.5` });
    step("nobody reads the secret", res, { status: 403, outcome: "denied", operation: "secrets.get", principal: nobody.clientId, vault: "default", object: name });
    res = await asNobody({ host: MANAGEMENT_HOST, path: "/management/principals" });
    step("nobody lists principals", res, { status: 403, outcome: "denied", operation: "principals.list", principal: nobody.clientId, vault: "" });
    res = await request(server, { path: "/secrets?api-version=7.5" });
    step("no token", res, { status: 401, outcome: "denied", operation: "secrets.list", principal: "", vault: "default" });
    res = await request(server, { path: `/secrets/${name}?api-version=7.5` });
    step("no token, a named secret", res, { status: 401, outcome: "denied", operation: "secrets.get", principal: "", vault: "default", object: name });
    const badTok = secret(`${Buffer.from('{"alg":"ES256"}').toString("base64url")}.${crypto.randomBytes(30).toString("base64url")}.${crypto.randomBytes(64).toString("base64url")}`, "a forged token");
    res = await request(server, { path: `/secrets/${name}?api-version=7.5`, token: badTok });
    step("a bad token", res, { status: 401, outcome: "denied", operation: "secrets.get", principal: "", vault: "default", object: name });

    // Another vault, certificates, more management.
    const v2value = secret(`v2-${crypto.randomBytes(24).toString("base64url")}`, "a secret value in another vault");
    res = await asAdmin({ method: "PUT", vault: V2, path: `/secrets/${name}?api-version=7.5`, body: { value: v2value } });
    step("admin sets a secret in another vault", res, { status: 200, outcome: "success", operation: "secrets.set", principal: adminId, vault: V2, object: name });
    res = await asAdmin({ vault: V2, path: "/certificates/no-such-cert?api-version=7.5" });
    step("admin reads a missing certificate in another vault", res, { status: 404, outcome: "failed", operation: "certificates.get", principal: adminId, vault: V2, object: "no-such-cert" });
    const cert = uniqueName("audit-cert");
    res = await asAdmin({ method: "POST", path: `/certificates/${cert}/create?api-version=7.5`, body: { policy: { key_props: { kty: "EC", crv: "P-256" }, x509_props: { subject: `CN=${cert}` }, secret_props: { contentType: "application/x-pem-file" } } } });
    step("admin creates a certificate", res, { status: 202, outcome: "success", operation: "certificates.create", principal: adminId, vault: "default", object: cert });
    res = await asAdmin({ path: `/secrets/${cert}?api-version=7.5` });
    step("admin reads the certificate's private key", res, { status: 200, outcome: "success", operation: "secrets.get", principal: adminId, vault: "default", object: cert });
    if (res.json?.value) secret(res.json.value, "a certificate's private key (PEM)");
    const keyBlock = /-----BEGIN PRIVATE KEY-----\r?\n([\s\S]*?)-----END PRIVATE KEY-----/.exec(res.json?.value ?? "");
    if (keyBlock) secret(keyBlock[1].replace(/\s+/g, ""), "a certificate's private key (base64 DER)");
    res = await asAdmin({ method: "POST", path: `/secrets/${name}/backup?api-version=7.5` });
    step("admin backs up the secret", res, { status: 200, outcome: "success", operation: "secrets.backup", principal: adminId, vault: "default", object: name });
    res = await asWriter({ method: "DELETE", path: `/secrets/${name}?api-version=7.5` });
    step("writer deletes the secret", res, { status: 200, outcome: "success", operation: "secrets.delete", principal: writer.clientId, vault: "default", object: name });
    res = await asAdmin({ method: "PATCH", host: MANAGEMENT_HOST, path: `/management/principals/${nobody.clientId}`, body: { displayName: "audit-nobody-2" } });
    step("rename nobody", res, { status: 200, outcome: "success", operation: "principals.update", principal: adminId, vault: "" });
    res = await asAdmin({ method: "POST", host: MANAGEMENT_HOST, path: `/management/principals/${nobody.clientId}/rotate-secret` });
    step("rotate nobody's secret", res, { status: 200, outcome: "success", operation: "principals.rotatesecret", principal: adminId, vault: "" });
    if (res.json?.clientSecret) secret(res.json.clientSecret, "nobody's rotated client secret");
    res = await asAdmin({ host: MANAGEMENT_HOST, path: "/management/principals/no-such-principal" });
    step("get a missing principal", res, { status: 404, outcome: "failed", operation: "principals.get", principal: adminId, vault: "" });
    res = await asAdmin({ host: MANAGEMENT_HOST, path: "/management/audit?maxresults=1" });
    step("read the audit", res, { status: 200, outcome: "success", operation: "audit.list", principal: adminId, vault: "" });
    runEnd = Date.now();

    // Everything the audit holds, oldest first, through nextLink.
    let url = `/management/audit?maxresults=${PAGE}`;
    let pages = 0;
    const pageProblems = [];
    for (; url && pages < 500; pages++) {
      const page = await request(server, { host: MANAGEMENT_HOST, path: url, token: adminTok });
      assert.equal(page.status, 200, `GET ${url}: ${page.text.slice(0, 300)}`);
      assert.ok(Array.isArray(page.json?.value), page.text.slice(0, 300));
      if (page.json.value.length > PAGE) pageProblems.push(`a page of ${page.json.value.length} records > maxresults ${PAGE}`);
      records.push(...page.json.value);
      url = page.json.nextLink ?? null;
      if (url) {
        if (!/^https:\/\//.test(url)) pageProblems.push(`nextLink is not absolute: ${url}`);
        if (!url.includes("$skiptoken") && !url.includes("%24skiptoken")) pageProblems.push(`nextLink has no $skiptoken: ${url}`);
      }
    }
    assert.ok(pages >= 2, `the run spans several pages of ${PAGE} (got ${pages})`);
    for (let i = 1; i < records.length; i++) {
      if (!(records[i].seq > records[i - 1].seq)) {
        pageProblems.push(`records out of order or repeated across pages: seq ${records[i - 1].seq} then ${records[i].seq}`);
        break;
      }
    }

    const seenIds = new Set();
    for (const e of expected) {
      if (seenIds.has(e.requestId)) problems.push(`${e.what}: x-ms-request-id ${e.requestId} was already used by another response`);
      seenIds.add(e.requestId);
      if (!/^[0-9a-f]{32}$/.test(e.requestId)) problems.push(`${e.what}: x-ms-request-id ${e.requestId} is not 32 hex digits`);
    }
    const byId = new Map();
    for (const r of records) byId.set(r.requestId, [...(byId.get(r.requestId) ?? []), r]);
    const lo = runStart - 2_000;
    const hi = Date.now() + 2_000;
    for (const e of expected) {
      const found = byId.get(e.requestId) ?? [];
      const where = `${e.what} (request ${e.requestId})`;
      if (found.length !== 1) {
        problems.push(`${where}: ${found.length} records, expected exactly one`);
        continue;
      }
      const r = found[0];
      const bad = [];
      if (r.outcome !== e.outcome) bad.push(`outcome ${r.outcome} != ${e.outcome}`);
      if (r.status !== e.status) bad.push(`status ${r.status} != ${e.status}`);
      if (r.operation !== e.operation) bad.push(`operation ${r.operation} != ${e.operation}`);
      const principals = Array.isArray(e.principal) ? e.principal : [e.principal];
      if (!principals.includes(norm(r.principal))) bad.push(`principal '${norm(r.principal)}' not ${principals.map((p) => `'${p}'`).join(" or ")}`);
      if (norm(r.vault) !== e.vault) bad.push(`vault '${norm(r.vault)}' != '${e.vault}'`);
      if (e.object && !String(r.object ?? "").toLowerCase().includes(e.object.toLowerCase())) bad.push(`object '${r.object}' does not name ${e.object}`);
      if (r.source !== "127.0.0.1") bad.push(`source ${r.source} != 127.0.0.1`);
      if (typeof r.durationMs !== "number" || !(r.durationMs >= 0 && r.durationMs < 30_000)) bad.push(`implausible durationMs ${r.durationMs}`);
      if (!RFC3339_MS.test(String(r.time))) bad.push(`time ${r.time} is not RFC 3339 UTC with milliseconds`);
      else if (!(Date.parse(r.time) >= lo && Date.parse(r.time) <= hi)) bad.push(`time ${r.time} outside the run`);
      if (typeof r.seq !== "number") bad.push(`seq ${r.seq} is not a number`);
      if (bad.length) problems.push(`${where}: ${bad.join("; ")}\n      record: ${JSON.stringify(r)}`);
    }
    const all = [...pageProblems, ...problems];
    assert.deepEqual(all, [], `${all.length} audit problems:\n  ${all.join("\n  ")}`);
    assert.ok(expected.length >= 25, "the script ran");
  });

  it("filters: principal, outcome, operation, object, from/to; maxresults bounds", async () => {
    assert.ok(expected.length > 0, "the scripted run came first");
    const tok = (await adminToken(server)).access_token;
    const get = async (query) => {
      const out = [];
      let url = `/management/audit?${query}`;
      for (let i = 0; url && i < 200; i++) {
        const res = await request(server, { host: MANAGEMENT_HOST, path: url, token: tok });
        assert.equal(res.status, 200, `${url}: ${res.text.slice(0, 300)}`);
        out.push(...res.json.value);
        url = res.json.nextLink ?? null;
      }
      return out;
    };
    const ids = (rs) => new Set(rs.map((r) => r.requestId));
    const nobodyDenied = expected.filter((e) => e.what.startsWith("nobody "));
    const nobodyId = nobodyDenied[0].principal;
    const byPrincipal = await get(`principal=${encodeURIComponent(nobodyId)}`);
    assert.ok(byPrincipal.every((r) => r.principal === nobodyId), "principal filter");
    for (const e of nobodyDenied) assert.ok(ids(byPrincipal).has(e.requestId), `principal filter finds ${e.what}`);

    const denied = await get("outcome=denied&maxresults=1000");
    assert.ok(denied.every((r) => r.outcome === "denied"), "outcome filter");
    for (const e of expected.filter((x) => x.outcome === "denied")) assert.ok(ids(denied).has(e.requestId), `outcome filter finds ${e.what}`);

    const gets = await get("operation=secrets.get&maxresults=1000");
    assert.ok(gets.length > 0 && gets.every((r) => r.operation === "secrets.get"), "operation filter");

    const setRecord = records.find((r) => r.requestId === expected.find((e) => e.what === "writer sets a secret").requestId);
    assert.ok(setRecord?.object, "the secret's record names its object");
    const exact = await get(`object=${encodeURIComponent(setRecord.object)}`);
    assert.ok(exact.length >= 1 && exact.every((r) => r.object === setRecord.object), `object filter (exact ${setRecord.object})`);
    const prefix = setRecord.object.slice(0, setRecord.object.indexOf("/") + 1);
    const byPrefix = await get(`object=${encodeURIComponent(`${prefix}*`)}&maxresults=1000`);
    assert.ok(byPrefix.length >= exact.length && byPrefix.every((r) => String(r.object).startsWith(prefix)), `object filter (prefix ${prefix}*)`);

    const from = Math.floor(runStart / 1000);
    const to = Math.ceil(runEnd / 1000) + 1;
    const window = await get(`from=${from}&to=${to}&maxresults=1000`);
    assert.ok(window.every((r) => Date.parse(r.time) >= from * 1000 && Date.parse(r.time) < to * 1000), "from/to (Unix seconds)");
    for (const e of expected) assert.ok(ids(window).has(e.requestId), `from/to finds ${e.what}`);
    const iso = await get(`from=${encodeURIComponent(new Date(from * 1000).toISOString())}&to=${encodeURIComponent(new Date(to * 1000).toISOString())}&maxresults=1000`);
    assert.ok(iso.every((r) => Date.parse(r.time) >= from * 1000 && Date.parse(r.time) < to * 1000), "from/to (RFC 3339)");
    for (const e of expected) assert.ok(ids(iso).has(e.requestId), `RFC 3339 from/to finds ${e.what}`);
    const none = await get(`to=${from - 3600}`);
    assert.ok(none.every((r) => Date.parse(r.time) < (from - 3600) * 1000), "to is exclusive of later records");

    for (const bad of ["maxresults=0", "maxresults=1001", "maxresults=x"]) {
      const res = await request(server, { host: MANAGEMENT_HOST, path: `/management/audit?${bad}`, token: tok });
      assert.equal(res.status, 400, `${bad}: ${res.text.slice(0, 200)}`);
      assert.equal(res.json?.error?.code, "BadParameter", bad);
    }
  });

  it("the CLI exports the run as JSON lines (certvault audit export / list)", async (t) => {
    assert.ok(expected.length > 0, "the scripted run came first");
    const help = await runCli(["audit", "export", "--help"]);
    if (help.code !== 0 || !/export/i.test(help.stdout) || !/Usage:.*audit export/i.test(help.stdout)) {
      t.skip("`certvault audit export` does not exist in this build yet (the CLI is being written): tell the lead");
      return;
    }
    const conn = ["--server", server.url, "--credentials", server.adminPath, "--ca-file", server.caPath];
    const out = await runCli(["audit", "export", ...conn]);
    assert.equal(out.code, 0, `audit export failed (${out.code}): ${out.stderr}`);
    const lines = out.stdout.split("\n").filter((l) => l.length > 0);
    const parsed = lines.map((l, i) => {
      try {
        return JSON.parse(l);
      } catch {
        assert.fail(`line ${i + 1} is not JSON: ${l.slice(0, 200)}`);
      }
    });
    const exported = new Set(parsed.map((r) => r.requestId));
    const missing = expected.filter((e) => !exported.has(e.requestId)).map((e) => e.what);
    assert.deepEqual(missing, [], `records of the run missing from the export: ${missing.join(", ")}`);
    for (const r of parsed) assert.ok(r.operation && r.outcome && r.requestId, `a full record: ${JSON.stringify(r)}`);

    const file = path.join(dataDir, "..", `audit-export-${crypto.randomBytes(4).toString("hex")}.jsonl`);
    try {
      const toFile = await runCli(["audit", "export", "--outcome", "denied", "--file", file, ...conn]);
      assert.equal(toFile.code, 0, `audit export --file failed: ${toFile.stderr}`);
      assert.equal(fs.statSync(file).mode & 0o077, 0, "the export file is 0600");
      const deniedLines = fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
      assert.ok(deniedLines.length > 0 && deniedLines.every((r) => r.outcome === "denied"));
      for (const e of expected.filter((x) => x.outcome === "denied")) assert.ok(deniedLines.some((r) => r.requestId === e.requestId), `--outcome denied exports ${e.what}`);
    } finally {
      await fsp.rm(file, { force: true });
    }

    const list = await runCli(["audit", "list", "--max", "1000", "-o", "json", ...conn]);
    assert.equal(list.code, 0, `audit list failed: ${list.stderr}`);
    const listed = new Set(JSON.parse(list.stdout).map((r) => r.requestId));
    const notListed = expected.filter((e) => !listed.has(e.requestId)).map((e) => e.what);
    assert.deepEqual(notListed, [], `records missing from audit list: ${notListed.join(", ")}`);
  });

  it("after the server stops, no secret value, client secret or token is in audit.db, certvault.db or the log", async () => {
    assert.ok(needles.size >= 8, "the scripted run came first");
    // Tokens the helpers fetched along the way are used tokens too.
    if (server._adminToken?.access_token) secret(server._adminToken.access_token, "an administrator token (helpers)");
    const exit = await server.stop();
    assert.equal(exit.graceful, true, "stopped on SIGTERM");
    const log = server.log();
    assert.ok(log.length < 256 * 1024, "the whole log was kept (under the helper's 256 KiB cap)");

    const files = ["audit.db", "audit.db-wal", "certvault.db", "certvault.db-wal"].map((f) => path.join(dataDir, f));
    assert.ok(fs.existsSync(files[0]), "the audit trail is DATA_DIR/audit.db");
    const haystacks = [["server output", Buffer.from(log, "utf8")]];
    for (const f of files) if (fs.existsSync(f)) haystacks.push([path.basename(f), fs.readFileSync(f)]);
    // The audit really holds the run (so an empty file cannot pass): its request ids are in it.
    const auditBytes = Buffer.concat(haystacks.filter(([n]) => n.startsWith("audit.db")).map(([, b]) => b));
    const someId = expected[expected.length - 1].requestId;
    assert.ok(auditBytes.includes(Buffer.from(someId)), `audit.db holds request ${someId}`);

    const found = [];
    for (const [value, what] of needles) {
      if (!value || value.length < 16) continue;
      const forms = {
        raw: Buffer.from(value, "utf8"),
        base64: Buffer.from(Buffer.from(value, "utf8").toString("base64")),
        base64url: Buffer.from(Buffer.from(value, "utf8").toString("base64url")),
        hex: Buffer.from(Buffer.from(value, "utf8").toString("hex")),
      };
      // A token's signature alone is as good as the token to someone who also has its claims.
      if (what.includes("token") && value.split(".").length === 3) forms["signature part"] = Buffer.from(value.split(".")[2]);
      for (const [name, hay] of haystacks) {
        for (const [form, needle] of Object.entries(forms)) {
          if (needle.length >= 16 && hay.includes(needle)) found.push(`${what} (${form}) in ${name}`);
        }
      }
    }
    assert.deepEqual(found, [], `secrets found at rest or in the log:\n  ${found.join("\n  ")}`);
  });
});

describe("audit retention", { timeout: 60_000 }, () => {
  let server;
  before(async () => {
    server = await startServer({ extraArgs: ["--audit-retention", "PT3S"] });
  });
  after(async () => {
    await server?.stop();
  });

  it("records older than --audit-retention are deleted while the server runs", async () => {
    const old = await request(server, { path: "/secrets?api-version=7.5", token: true });
    assert.equal(old.status, 200);
    const oldId = old.headers["x-ms-request-id"];
    const ids = async () => {
      const res = await request(server, { host: MANAGEMENT_HOST, path: "/management/audit?maxresults=1000", token: true });
      assert.equal(res.status, 200, res.text);
      return res.json.value.map((r) => r.requestId);
    };
    assert.ok((await ids()).includes(oldId));
    // Retention runs every tenth of it (at least every second): within 3 s + 2 s the record goes.
    let gone = false;
    for (let i = 0; i < 30 && !gone; i++) {
      await new Promise((r) => setTimeout(r, 250));
      gone = !(await ids()).includes(oldId);
    }
    assert.ok(gone, "the old record must be deleted after --audit-retention");
    const recent = await ids();
    assert.ok(recent.length > 0, "records of the last seconds stay");
  });
});
