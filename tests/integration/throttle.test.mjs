// Rate limiting per principal per vault (--rate-limit 2 --rate-burst 3): a burst gets 429 with
// Retry-After and the Throttled envelope; other principals and other vaults are not affected; the
// unmodified SecretClient rides through a 429 with its own retry policy; the 429s are audited as
// "throttled".
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SecretClient } from "@azure/keyvault-secrets";
import {
  manage,
  MANAGEMENT_HOST,
  principalCredential,
  principalToken,
  principalWithRole,
  requestRetrying,
} from "./lib/identity.mjs";
import { adminToken, request, startServer, vaultUrl } from "./lib/server.mjs";

const RATE = 2;
const BURST = 3;
const SECRET = "throttled-secret";
const VALUE = "the-value-behind-the-limit";
const OTHER = "othervault";

describe(`throttling (--rate-limit ${RATE} --rate-burst ${BURST})`, { timeout: 120_000 }, () => {
  let server;
  let a;
  let b;
  let c;
  let w;
  const throttledIds = []; // x-ms-request-id of every 429 seen in the burst

  before(async () => {
    server = await startServer({ extraArgs: ["--rate-limit", String(RATE), "--rate-burst", String(BURST)] });
    // Setup retries its own 429s (lib/identity.mjs); nothing under test does.
    await manage(server, "PUT", `/management/vaults/${OTHER}`, { body: {}, expect: 201 });
    const put = await requestRetrying(server, { method: "PUT", path: `/secrets/${SECRET}?api-version=7.5`, body: { value: VALUE }, token: (await adminToken(server)).access_token });
    assert.equal(put.status, 200, put.text);
    a = await principalWithRole(server, "Secrets User", "/");
    b = await principalWithRole(server, "Secrets User", "/");
    c = await principalWithRole(server, "Secrets User", "/");
    w = await principalWithRole(server, "Secrets Officer", "/");
    for (const p of [a, b, c, w]) await principalToken(server, p);
    // Let every bucket refill (BURST / RATE seconds) before the tests spend them.
    await new Promise((r) => setTimeout(r, Math.ceil((BURST / RATE) * 1000) + 300));
  });

  after(async () => {
    await server?.stop();
  });

  const get = (p, vault = "default") => request(server, { vault, path: `/secrets/${SECRET}?api-version=7.5`, token: p._token.access_token });

  it("a burst by one principal on one vault gets 429 with Retry-After and the Throttled envelope", async () => {
    const n = 12;
    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: n }, () => get(a)));
    const elapsed = (Date.now() - t0) / 1000;
    const ok = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    const other = results.filter((r) => r.status !== 200 && r.status !== 429);
    assert.deepEqual(other.map((r) => `${r.status} ${r.text.slice(0, 120)}`), [], "only 200s and 429s");
    assert.ok(limited.length >= 1, `some of ${n} requests are throttled (got ${limited.length})`);
    assert.ok(ok.length >= BURST, `a full bucket lets the first ${BURST} through (got ${ok.length})`);
    const allowance = BURST + Math.ceil(RATE * elapsed) + 1;
    assert.ok(ok.length <= allowance, `${ok.length} succeeded in ${elapsed.toFixed(2)} s; at most ${allowance} may`);
    for (const r of ok) assert.equal(r.json?.value, VALUE);
    for (const r of limited) {
      const ra = r.headers["retry-after"];
      assert.match(String(ra), /^\d+$/, `Retry-After is an integer number of seconds: ${ra}`);
      assert.ok(Number(ra) >= 1 && Number(ra) <= 60, `Retry-After ${ra} is at least 1 (and sane)`);
      assert.equal(r.json?.error?.code, "Throttled", r.text);
      assert.equal(typeof r.json?.error?.message, "string");
      assert.ok(r.json.error.message.length > 0);
      assert.ok(!r.text.includes(VALUE), "a 429 does not carry the value");
      assert.ok(r.headers["x-ms-request-id"], "a 429 has a request id");
      throttledIds.push(r.headers["x-ms-request-id"]);
    }
    // Still throttled right after the burst.
    const again = await get(a);
    assert.equal(again.status, 429, `right after the burst: ${again.status}`);
    throttledIds.push(again.headers["x-ms-request-id"]);
  });

  it("another principal, and the same principal on another vault, are not throttled by that burst", async () => {
    assert.ok(throttledIds.length > 0, "the burst ran first");
    for (let i = 0; i < BURST; i++) {
      const r = await get(b);
      assert.equal(r.status, 200, `principal B request ${i + 1}: ${r.status} ${r.text.slice(0, 160)}`);
    }
    const otherVault = await request(server, { vault: OTHER, path: "/secrets?api-version=7.5", token: a._token.access_token });
    assert.equal(otherVault.status, 200, `A on another vault: ${otherVault.status} ${otherVault.text.slice(0, 160)}`);
  });

  it("a throttled write changes nothing", async () => {
    const names = Array.from({ length: BURST + 5 }, (_, i) => `throttled-write-${i}`);
    const results = await Promise.all(
      names.map((name) => request(server, { method: "PUT", path: `/secrets/${name}?api-version=7.5`, body: { value: `w-${name}` }, token: w._token.access_token })),
    );
    assert.ok(results.some((r) => r.status === 429), "some writes were throttled");
    const tok = (await adminToken(server)).access_token;
    for (const [i, r] of results.entries()) {
      assert.ok(r.status === 200 || r.status === 429, `${names[i]}: ${r.status} ${r.text.slice(0, 120)}`);
      const check = await requestRetrying(server, { path: `/secrets/${names[i]}?api-version=7.5`, token: tok });
      assert.equal(check.status, r.status === 200 ? 200 : 404, `${names[i]} was answered ${r.status}; admin GET: ${check.status}`);
    }
  });

  it("the unmodified SecretClient's getSecret succeeds during throttling (its retry policy honours Retry-After)", async () => {
    const statuses = [];
    const recorder = {
      name: "record-statuses",
      async sendRequest(req, next) {
        const res = await next(req);
        statuses.push(res.status);
        return res;
      },
    };
    // The SDK's default retry options (no maxRetries: 0 here, unlike lib/clients.mjs).
    const client = new SecretClient(vaultUrl(server.port), principalCredential(server, c), {
      agent: server.agent,
      additionalPolicies: [{ policy: recorder, position: "perRetry" }],
    });
    // Warm up: the challenge and the token, so that the measured call starts with the data request.
    assert.equal((await client.getSecret(SECRET, { abortSignal: AbortSignal.timeout(20_000) })).value, VALUE);
    // Empty C's bucket.
    const burst = await Promise.all(Array.from({ length: BURST + 3 }, () => get(c)));
    assert.ok(burst.some((r) => r.status === 429), "C's bucket is empty");
    statuses.length = 0;
    const t0 = Date.now();
    const secret = await client.getSecret(SECRET, { abortSignal: AbortSignal.timeout(15_000) });
    const ms = Date.now() - t0;
    assert.equal(secret.value, VALUE);
    assert.equal(statuses[0], 429, `the first attempt is throttled: ${statuses.join(",")}`);
    assert.equal(statuses.at(-1), 200, `the last attempt succeeds: ${statuses.join(",")}`);
    assert.ok(ms >= 900, `the client waited for Retry-After (${ms} ms)`);
    assert.ok(ms < 15_000, `bounded (${ms} ms)`);
  });

  it("the 429s are in the audit with outcome throttled", async () => {
    assert.ok(throttledIds.length > 0, "the burst ran first");
    const tok = (await adminToken(server)).access_token;
    const seen = new Map();
    let url = "/management/audit?outcome=throttled&maxresults=1000";
    for (let i = 0; url && i < 50; i++) {
      const res = await requestRetrying(server, { host: MANAGEMENT_HOST, path: url, token: tok });
      assert.equal(res.status, 200, res.text.slice(0, 300));
      for (const r of res.json.value) seen.set(r.requestId, r);
      url = res.json.nextLink ?? null;
    }
    for (const id of throttledIds) {
      const r = seen.get(id);
      assert.ok(r, `429 ${id} is audited as throttled`);
      assert.equal(r.outcome, "throttled");
      assert.equal(r.status, 429);
      assert.equal(r.principal, a.clientId);
      assert.equal(r.operation, "secrets.get");
      assert.equal(r.vault, "default");
    }
    for (const r of seen.values()) assert.equal(r.outcome, "throttled");
  });
});
