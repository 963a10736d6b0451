// Token attacks and token lifecycle: forged, confused, foreign, expired, tampered and malformed
// tokens are 401 on the data plane; disabling, deleting and re-keying principals takes effect
// within two seconds; signing-key rotation keeps old tokens valid; and @azure/identity's
// ClientSecretCredential signs in a NON-admin principal for the unmodified SDK clients.
// (errors.test.mjs covers a missing token and a crude tampering; vaults.test.mjs covers
// ClientSecretCredential for the administrator.)
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, before, describe, it } from "node:test";
import { ClientSecretCredential } from "@azure/identity";
import { CertificateClient } from "@azure/keyvault-certificates";
import { SecretClient } from "@azure/keyvault-secrets";
import { done, FAST } from "./lib/clients.mjs";
import {
  b64url,
  createPrincipal,
  decodeJwt,
  jwks,
  manage,
  principalToken,
  principalWithRole,
  tokenResponse,
  vaultScope,
} from "./lib/identity.mjs";
import { pemBlocks } from "./lib/pki.mjs";
import { clientOptions, request, requestToken, startServer, vaultUrl } from "./lib/server.mjs";
import { expectRestError, uniqueName } from "./lib/util.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const PROBE = "/secrets?api-version=7.5";

/** ES256 over header.payload with a key of ours (JOSE r||s signature). */
function es256(headerB64, payloadB64, privateKey) {
  const sig = crypto.sign("sha256", Buffer.from(`${headerB64}.${payloadB64}`), { key: privateKey, dsaEncoding: "ieee-p1363" });
  return `${headerB64}.${payloadB64}.${sig.toString("base64url")}`;
}

describe("tokens", { timeout: 240_000 }, () => {
  let server;
  let adminTok; // a fresh administrator token (kid of the key current at start)

  before(async () => {
    server = await startServer();
    adminTok = (await requestToken(server, { scope: "https://localhost/.default" })).access_token;
  });

  after(async () => {
    await server?.stop();
  });

  const probe = (token, extra = {}) => request(server, { path: PROBE, token, ...extra });

  /** Asserts a data-plane 401 with the challenge and without the token echoed back. */
  async function expect401(token, what) {
    const res = await request(server, { path: PROBE, headers: { authorization: `Bearer ${token}` } });
    const ctx = `${what}: HTTP ${res.status} ${res.text.slice(0, 300)}`;
    assert.equal(res.status, 401, ctx);
    assert.match(res.headers["www-authenticate"] ?? "", /^Bearer authorization="[^"]+", resource="https:\/\/localhost"/, `${what}: the challenge`);
    assert.equal(res.json?.error?.code, "Unauthorized", ctx);
    if (token.length >= 16) assert.ok(!res.text.includes(token), `${what}: the error does not echo the token`);
    return res;
  }

  it("the baseline: the administrator's token is an ES256 JWT whose kid is in the JWKS, and it works", async () => {
    const { header, payload } = decodeJwt(adminTok);
    assert.equal(header.alg, "ES256");
    const keys = (await jwks(server)).keys;
    assert.ok(keys.some((k) => k.kid === header.kid), `kid ${header.kid} is published`);
    for (const k of keys) {
      assert.equal(k.kty, "EC");
      assert.equal(k.crv, "P-256");
      assert.equal(k.d, undefined, "the JWKS carries no private key");
    }
    assert.equal(payload.aud, "https://localhost");
    assert.equal(payload.sub, server.admin.client_id);
    const raw = await tokenResponse(server, { clientId: server.admin.client_id, clientSecret: server.admin.client_secret });
    assert.equal(raw.status, 200);
    assert.match(raw.headers["cache-control"] ?? "", /no-store/, "token responses are not cached");
    assert.equal((await probe(adminTok)).status, 200);
  });

  it("refuses a token re-signed with another P-256 key under the server's kid (and with an embedded jwk)", async () => {
    const { parts, header } = decodeJwt(adminTok);
    const { privateKey, publicKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
    await expect401(es256(parts[0], parts[1], privateKey), "own key, same header");
    const embedded = b64url({ ...header, jwk: publicKey.export({ format: "jwk" }) });
    await expect401(es256(embedded, parts[1], privateKey), "own key announced in the header's jwk");
    const jku = b64url({ ...header, jku: `https://localhost:${server.port}/.well-known/jwks.json` });
    await expect401(es256(jku, parts[1], privateKey), "own key with a jku header");
    const unknownKid = b64url({ ...header, kid: "attacker-key" });
    await expect401(es256(unknownKid, parts[1], privateKey), "own key under an unknown kid");
    await expect401(`${unknownKid}.${parts[1]}.${parts[2]}`, "unknown kid with the original signature");
  });

  it('refuses alg "none" (empty signature, no signature, original signature)', async () => {
    const { parts, header } = decodeJwt(adminTok);
    for (const alg of ["none", "None", "NONE"]) {
      const h = b64url({ ...header, alg });
      await expect401(`${h}.${parts[1]}.`, `alg ${alg}, empty signature`);
      await expect401(`${h}.${parts[1]}`, `alg ${alg}, no signature part`);
      await expect401(`${h}.${parts[1]}.${parts[2]}`, `alg ${alg}, the original signature`);
    }
    const noAlg = { ...header };
    delete noAlg.alg;
    await expect401(`${b64url(noAlg)}.${parts[1]}.${parts[2]}`, "no alg at all");
  });

  it("refuses HS256 signed with the JWKS public key as the HMAC secret (algorithm confusion)", async () => {
    const { parts, header } = decodeJwt(adminTok);
    const jwk = (await jwks(server)).keys.find((k) => k.kid === header.kid);
    assert.ok(jwk, "the token's key is in the JWKS");
    const pub = crypto.createPublicKey({ key: jwk, format: "jwk" });
    const x = Buffer.from(jwk.x, "base64url");
    const y = Buffer.from(jwk.y, "base64url");
    const secrets = {
      "SPKI PEM": pub.export({ type: "spki", format: "pem" }),
      "SPKI DER": pub.export({ type: "spki", format: "der" }),
      "JWK JSON": JSON.stringify(jwk),
      "uncompressed point": Buffer.concat([Buffer.from([4]), x, y]),
      "x||y": Buffer.concat([x, y]),
    };
    for (const alg of ["HS256", "HS384", "HS512"]) {
      const h = b64url({ ...header, alg });
      for (const [what, secret] of Object.entries(secrets)) {
        const digest = { HS256: "sha256", HS384: "sha384", HS512: "sha512" }[alg];
        const sig = crypto.createHmac(digest, secret).update(`${h}.${parts[1]}`).digest("base64url");
        await expect401(`${h}.${parts[1]}.${sig}`, `${alg} keyed with the ${what}`);
      }
    }
    // RS256 / PS256 / ES384 headers with the original ES256 signature.
    for (const alg of ["RS256", "PS256", "ES384", "ES512", "EdDSA"]) {
      await expect401(`${b64url({ ...header, alg })}.${parts[1]}.${parts[2]}`, `alg ${alg}`);
    }
  });

  it("honours scope: a token for https://elsewhere/.default has that audience and the vault refuses it", async () => {
    const res = await tokenResponse(server, {
      clientId: server.admin.client_id,
      clientSecret: server.admin.client_secret,
      scope: "https://elsewhere/.default",
    });
    assert.equal(res.status, 200, `the token endpoint issues it: ${res.text}`);
    const foreign = res.json.access_token;
    assert.equal(decodeJwt(foreign).payload.aud, "https://elsewhere", "aud is the scope minus /.default");
    await expect401(foreign, "a token for another audience");
    // ... on management routes too.
    const m = await request(server, { host: "localhost", path: "/management/vaults", token: foreign });
    assert.equal(m.status, 401, `management with a foreign token: ${m.text}`);
    // The vault's own scope yields its audience.
    const own = await tokenResponse(server, { clientId: server.admin.client_id, clientSecret: server.admin.client_secret, scope: "https://localhost/.default" });
    assert.equal(decodeJwt(own.json.access_token).payload.aud, "https://localhost");
    assert.equal((await probe(own.json.access_token)).status, 200);
  });

  it("refuses a tampered payload (sub/appid/oid changed to the administrator's) under the original signature", async () => {
    const p = await principalWithRole(server, "Reader", vaultScope("default"));
    const token = await principalToken(server, p);
    assert.equal((await probe(token)).status, 200, "the principal's own token works");
    const { parts, payload } = decodeJwt(token);
    const admin = server.admin.client_id;
    const forged = { ...payload, sub: admin, appid: admin, oid: admin, azp: admin };
    await expect401(`${parts[0]}.${b64url(forged)}.${parts[2]}`, "sub/appid/oid of the administrator");
    await expect401(`${parts[0]}.${b64url({ ...payload, sub: admin })}.${parts[2]}`, "sub alone");
    // The administrator's own token with a later exp, or another audience.
    const a = decodeJwt(adminTok);
    await expect401(`${a.parts[0]}.${b64url({ ...a.payload, exp: a.payload.exp + 86400 })}.${a.parts[2]}`, "exp extended");
    await expect401(`${a.parts[0]}.${b64url({ ...a.payload, aud: "https://localhost", extra: 1 })}.${a.parts[2]}`, "an added claim");
    // Header and payload of one token, signature of another.
    await expect401(`${a.parts[0]}.${a.parts[1]}.${parts[2]}`, "another token's signature");
  });

  it("refuses malformed tokens", async () => {
    const { parts } = decodeJwt(adminTok);
    const cases = {
      garbage: "this-is-not-a-token-at-all-0123456789",
      "one part": parts[0],
      "two parts": `${parts[0]}.${parts[1]}`,
      "four parts": `${adminTok}.${parts[2]}`,
      "empty parts": "..",
      "bad base64 in the payload": `${parts[0]}.${parts[1].slice(0, 10)}!*%${parts[1].slice(10)}.${parts[2]}`,
      "bad base64 in the signature": `${parts[0]}.${parts[1]}.${parts[2].slice(0, 20)}$$$${parts[2].slice(20)}`,
      "standard base64 padding": `${parts[0]}.${parts[1]}==.${parts[2]}`,
      "header is not JSON": `${b64url("not json")}.${parts[1]}.${parts[2]}`,
      "header is a JSON array": `${b64url("[]")}.${parts[1]}.${parts[2]}`,
      "payload is not JSON": `${parts[0]}.${b64url("{nope")}.${parts[2]}`,
      "truncated signature": `${parts[0]}.${parts[1]}.${parts[2].slice(0, 40)}`,
      "signature with extra bytes": `${parts[0]}.${parts[1]}.${Buffer.concat([Buffer.from(parts[2], "base64url"), Buffer.alloc(8)]).toString("base64url")}`,
      "10 KB token": `${parts[0]}.${b64url({ ...decodeJwt(adminTok).payload, pad: "A".repeat(10_000) })}.${parts[2]}`,
      "10 KB of garbage after a valid token": `${adminTok}${"A".repeat(10_000)}`,
    };
    for (const [what, token] of Object.entries(cases)) await expect401(token, what);
    // Not a bearer token at all.
    for (const authorization of ["Basic YWRtaW46YWRtaW4=", `Bearer`, `Bearer  `, `${adminTok}`, `Token ${adminTok}`]) {
      const res = await request(server, { path: PROBE, headers: { authorization } });
      assert.equal(res.status, 401, `Authorization: ${authorization.slice(0, 30)}: ${res.text}`);
    }
  });

  /** Polls a token on the data plane every 200 ms until 401 (at most 3 s); returns ms until then. */
  async function msUntilRefused(token, since) {
    const deadline = since + 3_000;
    for (let i = 0; i < 100 && Date.now() < deadline; i++) {
      const sent = Date.now();
      const res = await probe(token);
      if (res.status === 401) return sent - since;
      assert.equal(res.status, 200, `before it is refused the token still works: ${res.text}`);
      await sleep(200);
    }
    assert.fail("the token was still accepted 3 s later");
  }

  it("a disabled principal's token stops working within 2 s and it gets no new token; enabling restores it", async () => {
    const p = await principalWithRole(server, "Secrets User", vaultScope("default"));
    const token = await principalToken(server, p);
    assert.equal((await probe(token)).status, 200);
    const t0 = Date.now();
    const disabled = await manage(server, "PATCH", `/management/principals/${p.clientId}`, { body: { enabled: false }, expect: 200 });
    assert.equal(disabled.json.enabled, false);
    const ms = await msUntilRefused(token, t0);
    assert.ok(ms <= 2_000, `refused ${ms} ms after the PATCH; the contract says within 2 s`);
    for (let i = 0; i < 3; i++) assert.equal((await probe(token)).status, 401, "and stays refused");
    const again = await tokenResponse(server, { clientId: p.clientId, clientSecret: p.clientSecret });
    assert.equal(again.status, 401, `a disabled principal gets no token: ${again.text}`);
    assert.equal(again.json?.error, "invalid_client");

    await manage(server, "PATCH", `/management/principals/${p.clientId}`, { body: { enabled: true }, expect: 200 });
    const fresh = await principalToken(server, p, { fresh: true });
    assert.equal((await probe(fresh)).status, 200, "enabled again: a new token works");
  });

  it("a deleted principal's token stops working within 2 s and it gets no new token", async () => {
    const p = await principalWithRole(server, "Secrets User", vaultScope("default"));
    const token = await principalToken(server, p);
    assert.equal((await probe(token)).status, 200);
    const t0 = Date.now();
    await manage(server, "DELETE", `/management/principals/${p.clientId}`, { expect: 200 });
    const ms = await msUntilRefused(token, t0);
    assert.ok(ms <= 2_000, `refused ${ms} ms after the DELETE; the contract says within 2 s`);
    const again = await tokenResponse(server, { clientId: p.clientId, clientSecret: p.clientSecret });
    assert.equal(again.status, 401, again.text);
    assert.equal(again.json?.error, "invalid_client");
    // A new principal cannot inherit anything from the deleted one.
    const list = await manage(server, "GET", `/management/roleassignments?principalId=${p.clientId}`, { expect: 200 });
    assert.deepEqual(list.json.value, []);
  });

  it("rotate-secret: the old secret is refused at the token endpoint, the new one works", async () => {
    const p = await principalWithRole(server, "Secrets User", vaultScope("default"));
    await principalToken(server, p);
    const rotated = await manage(server, "POST", `/management/principals/${p.clientId}/rotate-secret`, { expect: 200 });
    assert.equal(rotated.json.clientId, p.clientId);
    assert.equal(typeof rotated.json.clientSecret, "string");
    assert.notEqual(rotated.json.clientSecret, p.clientSecret);
    const old = await tokenResponse(server, { clientId: p.clientId, clientSecret: p.clientSecret });
    assert.equal(old.status, 401, `the old secret: ${old.text}`);
    assert.equal(old.json?.error, "invalid_client");
    const fresh = await tokenResponse(server, { clientId: p.clientId, clientSecret: rotated.json.clientSecret });
    assert.equal(fresh.status, 200, `the new secret: ${fresh.text}`);
    assert.equal((await probe(fresh.json.access_token)).status, 200);
    const shown = await manage(server, "GET", `/management/principals/${p.clientId}`, { expect: 200 });
    assert.ok(!shown.text.includes(rotated.json.clientSecret), "GET does not show the new secret");

    // rotate-secret with an expiry.
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const withExp = await manage(server, "POST", `/management/principals/${p.clientId}/rotate-secret`, { body: { secretExpires: exp }, expect: 200 });
    assert.equal(withExp.json.secretExpires, exp);
  });

  it("an expiring client secret: tokens before secretExpires, invalid_client after", async () => {
    const expires = Math.floor(Date.now() / 1000) + 3;
    const p = await createPrincipal(server, { secretExpires: expires });
    assert.equal(p.secretExpires, expires);
    await manage(server, "POST", "/management/roleassignments", { body: { principalId: p.clientId, role: "Secrets User", scope: vaultScope("default") }, expect: 201 });
    const before = await tokenResponse(server, { clientId: p.clientId, clientSecret: p.clientSecret });
    assert.equal(before.status, 200, `before expiry: ${before.text}`);
    assert.equal((await probe(before.json.access_token)).status, 200);
    const wait = expires * 1000 + 1_200 - Date.now();
    assert.ok(wait < 6_000, "bounded wait");
    await sleep(Math.max(0, wait));
    const afterwards = await tokenResponse(server, { clientId: p.clientId, clientSecret: p.clientSecret });
    assert.equal(afterwards.status, 401, `after expiry: ${afterwards.text}`);
    assert.equal(afterwards.json?.error, "invalid_client");
  });

  it("signing key rotation: both kids in the JWKS, old tokens still work, new tokens carry the new kid", async () => {
    const oldTok = (await requestToken(server)).access_token;
    const oldKid = decodeJwt(oldTok).header.kid;
    const rotated = await manage(server, "POST", "/management/tokenkeys/rotate", { expect: 200 });
    const newKid = rotated.json.kid;
    assert.equal(typeof newKid, "string");
    assert.notEqual(newKid, oldKid);
    const listed = rotated.json.keys;
    assert.ok(Array.isArray(listed), rotated.text);
    assert.deepEqual(listed.filter((k) => k.current).map((k) => k.kid), [newKid], "exactly the new key is current");
    assert.ok(listed.some((k) => k.kid === oldKid && !k.current), "the old key is still listed");
    for (const k of listed) assert.equal(typeof k.created, "number");
    const kids = (await jwks(server)).keys.map((k) => k.kid);
    assert.ok(kids.includes(oldKid) && kids.includes(newKid), `JWKS has both: ${kids.join(", ")}`);

    assert.equal((await probe(oldTok)).status, 200, "a token from before the rotation still works");
    assert.equal((await probe(adminTok)).status, 200, "so does the one from the start");
    const newTok = (await requestToken(server)).access_token;
    assert.equal(decodeJwt(newTok).header.kid, newKid, "new tokens are signed by the new key");
    assert.equal((await probe(newTok)).status, 200);
    // A forged token under the new kid is still refused.
    const { privateKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
    const d = decodeJwt(newTok);
    await expect401(es256(d.parts[0], d.parts[1], privateKey), "own key under the new kid");
  });

  it("@azure/identity ClientSecretCredential signs in a non-admin principal for CertificateClient and SecretClient", async () => {
    const p = await createPrincipal(server, { displayName: "identity-app" });
    for (const role of ["Certificates Officer", "Secrets User"]) {
      await manage(server, "POST", "/management/roleassignments", { body: { principalId: p.clientId, role, scope: vaultScope("default") }, expect: 201 });
    }
    const credential = new ClientSecretCredential("certvault", p.clientId, p.clientSecret, {
      authorityHost: `https://localhost:${server.port}`,
      disableInstanceDiscovery: true,
      additionallyAllowedTenants: ["*"],
      agent: server.agent,
      retryOptions: { maxRetries: 0 },
    });
    const t = await credential.getToken("https://localhost/.default");
    const claims = decodeJwt(t.token).payload;
    assert.equal(claims.sub, p.clientId, "the token is the principal's");
    assert.equal(claims.aud, "https://localhost");

    const certs = new CertificateClient(vaultUrl(server.port), credential, clientOptions(server));
    const secrets = new SecretClient(vaultUrl(server.port), credential, clientOptions(server));
    const name = uniqueName("identity-cert");
    const cert = await done(
      await certs.beginCreateCertificate(
        name,
        { issuerName: "Self", subject: `CN=${name}`, keyType: "EC", keyCurveName: "P-256", contentType: "application/x-pem-file" },
        FAST,
      ),
    );
    assert.ok(cert.cer?.length > 0, "created through the poller");
    const secret = await secrets.getSecret(name);
    const blocks = pemBlocks(secret.value);
    assert.equal(blocks[0]?.type, "PRIVATE KEY");
    assert.ok(new crypto.X509Certificate(Buffer.from(cert.cer)).checkPrivateKey(crypto.createPrivateKey(blocks[0].pem)), "its key matches");
    // Neither role may set a secret.
    await expectRestError(secrets.setSecret(uniqueName("nope"), "x"), { statusCode: 403, code: "Forbidden" }, "setSecret");
  });
});

describe("token expiry (--token-lifetime PT2S --token-clock-skew PT0S)", { timeout: 60_000 }, () => {
  let server;

  before(async () => {
    server = await startServer({ extraArgs: ["--token-lifetime", "PT2S", "--token-clock-skew", "PT0S"] });
  });

  after(async () => {
    await server?.stop();
  });

  it("a token works until exp and is refused after it", async () => {
    const t = await requestToken(server);
    assert.equal(Number(t.expires_in), 2, `expires_in: ${t.expires_in}`);
    const { payload } = decodeJwt(t.access_token);
    assert.equal(payload.exp - payload.iat, 2, "exp is iat + 2 s");
    const ok = await request(server, { path: PROBE, token: t.access_token });
    assert.equal(ok.status, 200, ok.text);
    const wait = payload.exp * 1000 + 1_000 - Date.now();
    assert.ok(wait < 4_000, `bounded wait (${wait} ms)`);
    await sleep(Math.max(0, wait));
    const res = await request(server, { path: PROBE, token: t.access_token });
    assert.equal(res.status, 401, `expired: ${res.text}`);
    assert.match(res.json?.error?.message ?? "", /expire/i, "the message says why");
    assert.match(res.headers["www-authenticate"] ?? "", /^Bearer /);
    assert.ok(!res.text.includes(t.access_token));
    // A new token works again.
    assert.equal((await request(server, { path: PROBE, token: (await requestToken(server)).access_token })).status, 200);
  });
});
