// Small helpers shared by the test files.
import assert from "node:assert/strict";
import crypto from "node:crypto";

/** A fresh object name (Key Vault names: ^[0-9a-zA-Z-]{1,127}$). */
export function uniqueName(prefix) {
  return `${prefix}-${crypto.randomBytes(4).toString("hex")}`;
}

/**
 * Awaits `promise`, which must reject with a RestError of this HTTP status and (if given) this
 * error code from the Key Vault envelope {"error":{"code","message"}}. Returns the error.
 */
export async function expectRestError(promise, { statusCode, code }, what = "") {
  let err;
  try {
    const value = await promise;
    assert.fail(`${what ? what + ": " : ""}expected HTTP ${statusCode}${code ? ` (${code})` : ""}, but the call succeeded with ${safeJson(value)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    err = e;
  }
  const ctx = `${what ? what + ": " : ""}got ${err.name} statusCode=${err.statusCode} code=${err.code} message=${JSON.stringify(err.message)}`;
  assert.equal(err.name, "RestError", ctx);
  assert.equal(err.statusCode, statusCode, ctx);
  if (code !== undefined) assert.equal(err.code, code, ctx);
  assert.ok(typeof err.message === "string" && err.message.length > 0, `${ctx}: the error envelope has no message`);
  return err;
}

/** Asserts a raw response is the Key Vault error envelope with this status and code. */
export function assertErrorEnvelope(res, statusCode, code, what = "") {
  const ctx = `${what ? what + ": " : ""}HTTP ${res.status} ${res.text.slice(0, 400)}`;
  assert.equal(res.status, statusCode, ctx);
  assert.ok(res.json && typeof res.json.error === "object", `${ctx}: not a {"error":{...}} envelope`);
  if (code !== undefined) assert.equal(res.json.error.code, code, ctx);
  assert.equal(typeof res.json.error.message, "string", `${ctx}: error.message missing`);
  assert.ok(res.json.error.message.length > 0, `${ctx}: error.message empty`);
  return res.json.error;
}

function safeJson(v) {
  try {
    return JSON.stringify(v)?.slice(0, 300);
  } catch {
    return String(v);
  }
}

/** Rejects if `promise` does not settle within ms. */
export async function within(ms, promise, what = "operation") {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls fn() every intervalMs until it returns a truthy value, at most timeoutMs. */
export async function pollUntil(fn, { timeoutMs = 20_000, intervalMs = 100, what = "condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (let i = 0; Date.now() < deadline && i < 100_000; i++) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms (last: ${safeJson(last)})`);
}

/** Collects an async iterable into an array (bounded). */
export async function collect(iterable, limit = 10_000) {
  const out = [];
  for await (const x of iterable) {
    out.push(x);
    if (out.length > limit) throw new Error(`more than ${limit} items`);
  }
  return out;
}

export const HEX32 = /^[0-9a-f]{32}$/;
