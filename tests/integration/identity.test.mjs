// Service principals and role assignments through the management API, and what roles mean to
// the unmodified SDK clients: a Secrets User on one certificate reads exactly that certificate's
// private key; a Reader sees metadata but never a secret value or a backup. The full matrix is in
// permissions.test.mjs.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, before, describe, it } from "node:test";
import { CertificateClient } from "@azure/keyvault-certificates";
import { SecretClient } from "@azure/keyvault-secrets";
import { certificateClient, done, FAST, secretClient } from "./lib/clients.mjs";
import {
  assertRbacDenied,
  assignRole,
  callAs,
  certificateScope,
  createPrincipal,
  manage,
  principalCredential,
  principalToken,
  principalWithRole,
  secretScope,
  tokenResponse,
  vaultScope,
} from "./lib/identity.mjs";
import { pemBlocks } from "./lib/pki.mjs";
import { adminToken, clientOptions, request, startServer, vaultUrl } from "./lib/server.mjs";
import { assertErrorEnvelope, collect, expectRestError, uniqueName } from "./lib/util.mjs";

const V = "idvault";

describe("identities and roles", { timeout: 240_000 }, () => {
  let server;
  let certs; // admin's clients on vault V
  let secrets;

  before(async () => {
    server = await startServer();
    await manage(server, "PUT", `/management/vaults/${V}`, { body: {}, expect: 201 });
    certs = certificateClient(server, V);
    secrets = secretClient(server, V);
  });

  after(async () => {
    await server?.stop();
  });

  const asCerts = (p, vault = V) => new CertificateClient(vaultUrl(server.port, vault), principalCredential(server, p), clientOptions(server));
  const asSecrets = (p, vault = V) => new SecretClient(vaultUrl(server.port, vault), principalCredential(server, p), clientOptions(server));

  async function pemCert(name) {
    return done(
      await certs.beginCreateCertificate(
        name,
        { issuerName: "Self", subject: `CN=${name}`, keyType: "EC", keyCurveName: "P-256", contentType: "application/x-pem-file" },
        FAST,
      ),
    );
  }

  /** A 403 from RBAC through the SDK: RestError 403 Forbidden, and the raw body says ForbiddenByRbac. */
  async function sdkDenied(promise, what, raw) {
    const err = await expectRestError(promise, { statusCode: 403, code: "Forbidden" }, what);
    // The SDK deserializes the envelope into err.details (innererror becomes innerError), except
    // in its pagers, which keep no body: those cases pass the same request raw.
    if (err.details || !raw) {
      const inner = err.details?.error?.innerError?.code ?? err.details?.error?.innererror?.code;
      assert.equal(inner, "ForbiddenByRbac", `${what}: innererror: ${JSON.stringify(err.details)}`);
    } else {
      assertRbacDenied(await raw(), `${what} (raw)`);
    }
    return err;
  }

  describe("management API", () => {
    it("creates, reads, lists, renames and deletes a principal; the secret is shown once", async () => {
      const before = Math.floor(Date.now() / 1000) - 5;
      const created = await manage(server, "POST", "/management/principals", { body: { displayName: "app one" }, expect: 201 });
      const p = created.json;
      assert.equal(p.displayName, "app one");
      assert.equal(p.enabled, true);
      assert.match(p.clientId, /\S{8,}/);
      assert.equal(typeof p.clientSecret, "string");
      assert.ok(p.clientSecret.length >= 32, "a long random secret");
      assert.ok(p.created >= before && p.created <= before + 120, `created is Unix seconds: ${p.created}`);
      assert.equal(p.secretExpires, undefined, "secretExpires only when the secret expires");

      const got = await manage(server, "GET", `/management/principals/${p.clientId}`, { expect: 200 });
      assert.equal(got.json.clientId, p.clientId);
      assert.equal(got.json.displayName, "app one");
      assert.ok(!("clientSecret" in got.json), "GET never shows the secret");
      assert.ok(!got.text.includes(p.clientSecret), "nor any trace of it");

      const list = await manage(server, "GET", "/management/principals", { expect: 200 });
      assert.ok(list.json.value.some((x) => x.clientId === p.clientId), "listed");
      assert.ok(list.json.value.some((x) => x.clientId === server.admin.client_id), "the administrator is listed");
      assert.ok(!list.text.includes(p.clientSecret) && !list.text.includes(server.admin.client_secret), "no secrets in the list");
      assert.ok(!/clientSecret|secret_hash|pbkdf2/i.test(list.text), "no secret fields or hashes in the list");

      const renamed = await manage(server, "PATCH", `/management/principals/${p.clientId}`, { body: { displayName: "app uno" }, expect: 200 });
      assert.equal(renamed.json.displayName, "app uno");
      assert.equal(renamed.json.enabled, true, "a rename keeps enabled");

      const a = await assignRole(server, p.clientId, "Reader", vaultScope(V));
      const removed = await manage(server, "DELETE", `/management/principals/${p.clientId}`, { expect: 200 });
      assert.equal(removed.json.clientId, p.clientId);
      const gone = await manage(server, "GET", `/management/principals/${p.clientId}`);
      assertErrorEnvelope(gone, 404, "PrincipalNotFound");
      const left = await manage(server, "GET", `/management/roleassignments?principalId=${p.clientId}`, { expect: 200 });
      assert.deepEqual(left.json.value, [], "its role assignments went with it");
      const delA = await manage(server, "DELETE", `/management/roleassignments/${a.id}`);
      assertErrorEnvelope(delA, 404, "RoleAssignmentNotFound");
    });

    it("role assignments: create (201, then 200 for the same triple), list filtered, delete; bad input refused", async () => {
      const p = await createPrincipal(server);
      const scope = certificateScope(V, "web");
      const first = await manage(server, "POST", "/management/roleassignments", { body: { principalId: p.clientId, role: "Secrets User", scope }, expect: 201 });
      assert.match(first.json.id, /^\S+$/);
      assert.equal(first.json.principalId, p.clientId);
      assert.equal(first.json.role, "Secrets User");
      assert.equal(first.json.scope, scope);
      assert.equal(typeof first.json.created, "number");
      const again = await manage(server, "POST", "/management/roleassignments", { body: { principalId: p.clientId, role: "Secrets User", scope }, expect: 200 });
      assert.equal(again.json.id, first.json.id, "the same triple answers the existing assignment");
      const second = await assignRole(server, p.clientId, "Reader", "/");

      const byPrincipal = await manage(server, "GET", `/management/roleassignments?principalId=${p.clientId}`, { expect: 200 });
      assert.deepEqual(byPrincipal.json.value.map((x) => x.id).sort(), [first.json.id, second.id].sort());
      const byScope = await manage(server, "GET", `/management/roleassignments?scope=${encodeURIComponent(scope)}`, { expect: 200 });
      assert.deepEqual(byScope.json.value.map((x) => x.id), [first.json.id]);
      const all = await manage(server, "GET", "/management/roleassignments", { expect: 200 });
      assert.ok(all.json.value.length >= 2);

      for (const [what, body, status, code] of [
        ["unknown role", { principalId: p.clientId, role: "Superuser", scope: "/" }, 400, "BadParameter"],
        ["role name in the wrong form", { principalId: p.clientId, role: "SecretsUser", scope: "/" }, 400, "BadParameter"],
        ["scope without a leading slash", { principalId: p.clientId, role: "Reader", scope: "vaults/x" }, 400, "BadParameter"],
        ["scope /vaults", { principalId: p.clientId, role: "Reader", scope: "/vaults" }, 400, "BadParameter"],
        ["scope of a key", { principalId: p.clientId, role: "Reader", scope: `/vaults/${V}/keys/k` }, 400, "BadParameter"],
        ["scope with an empty name", { principalId: p.clientId, role: "Reader", scope: `/vaults/${V}/certificates/` }, 400, "BadParameter"],
        ["scope too deep", { principalId: p.clientId, role: "Reader", scope: `/vaults/${V}/certificates/a/b` }, 400, "BadParameter"],
        ["scope with an invalid object name", { principalId: p.clientId, role: "Reader", scope: `/vaults/${V}/secrets/a_b` }, 400, "BadParameter"],
        ["missing scope", { principalId: p.clientId, role: "Reader" }, 400, "BadParameter"],
        ["unknown principal", { principalId: "00000000-0000-0000-0000-000000000000", role: "Reader", scope: "/" }, 404, "PrincipalNotFound"],
      ]) {
        const res = await manage(server, "POST", "/management/roleassignments", { body });
        assertErrorEnvelope(res, status, code, what);
      }
      const del = await manage(server, "DELETE", `/management/roleassignments/${first.json.id}`, { expect: 200 });
      assert.equal(del.json.id, first.json.id);
      assertErrorEnvelope(await manage(server, "DELETE", `/management/roleassignments/${first.json.id}`), 404, "RoleAssignmentNotFound");
    });

    it("a principal cannot disable or delete itself (409); secretExpires must be in the future", async () => {
      const self = server.admin.client_id;
      assertErrorEnvelope(await manage(server, "PATCH", `/management/principals/${self}`, { body: { enabled: false } }), 409, "Conflict", "disable self");
      assertErrorEnvelope(await manage(server, "DELETE", `/management/principals/${self}`), 409, "Conflict", "delete self");
      const stillAdmin = await request(server, { path: "/management/principals", host: "localhost", token: (await adminToken(server)).access_token });
      assert.equal(stillAdmin.status, 200, "the administrator still works");

      const past = Math.floor(Date.now() / 1000) - 60;
      assertErrorEnvelope(
        await manage(server, "POST", "/management/principals", { body: { displayName: "expired", secretExpires: past } }),
        400, "BadParameter", "secretExpires in the past",
      );
      const future = Math.floor(Date.now() / 1000) + 3600;
      const p = await manage(server, "POST", "/management/principals", { body: { displayName: "expiring", secretExpires: future }, expect: 201 });
      assert.equal(p.json.secretExpires, future);
      assertErrorEnvelope(await manage(server, "GET", "/management/principals/nosuchprincipal"), 404, "PrincipalNotFound");
    });

    it("a new principal can do nothing until a role is assigned; the role takes effect at once", async () => {
      const p = await createPrincipal(server);
      const name = uniqueName("fresh");
      await secrets.setSecret(name, "fresh-value");
      const denied = await callAs(server, p, { vault: V, path: `/secrets/${name}?api-version=7.5` });
      assertRbacDenied(denied, "no role yet");
      assertRbacDenied(await callAs(server, p, { host: "localhost", path: "/management/vaults" }), "no role: management");
      await assignRole(server, p.clientId, "Secrets User", vaultScope(V));
      const ok = await callAs(server, p, { vault: V, path: `/secrets/${name}?api-version=7.5` });
      assert.equal(ok.status, 200, `same token, right after the assignment: ${ok.text}`);
      assert.equal(ok.json.value, "fresh-value");
    });
  });

  it("a Secrets User on ONE certificate reads that certificate's private key with SecretClient, and nothing else", async () => {
    const mine = uniqueName("mine");
    const other = uniqueName("other");
    const cert = await pemCert(mine);
    await pemCert(other);
    await secrets.setSecret(uniqueName("plain"), "plain-value");
    const p = await principalWithRole(server, "Secrets User", certificateScope(V, mine));

    const client = asSecrets(p);
    const secret = await client.getSecret(mine);
    assert.equal(secret.properties.id, cert.secretId);
    const blocks = pemBlocks(secret.value);
    assert.equal(blocks[0]?.type, "PRIVATE KEY", "PEM: the PKCS#8 key first");
    const key = crypto.createPrivateKey(blocks[0].pem);
    assert.ok(new crypto.X509Certificate(Buffer.from(cert.cer)).checkPrivateKey(key), "the key belongs to the certificate");
    assert.deepEqual(blocks[1].der, Buffer.from(cert.cer), "then the certificate itself");
    const byVersion = await client.getSecret(mine, { version: cert.properties.version });
    assert.equal(byVersion.value, secret.value, "the versioned read too");

    await sdkDenied(client.getSecret(other), "another certificate's secret");
    await sdkDenied(collect(client.listPropertiesOfSecrets()), "listing secrets (needs vault scope)", () =>
      callAs(server, p, { vault: V, path: "/secrets?api-version=7.5" }));
    await sdkDenied(asCerts(p).getCertificate(mine), "getCertificate (Secrets User is not a certificate role)");
    await sdkDenied(client.setSecret(uniqueName("new"), "x"), "setting a secret");
  });

  it("a Reader sees certificate metadata and policies, never a secret value or a backup", async () => {
    const name = uniqueName("readme");
    const cert = await pemCert(name);
    const plain = uniqueName("plain");
    const s = await secrets.setSecret(plain, "reader-must-not-see");
    const p = await principalWithRole(server, "Reader", vaultScope(V));
    const rc = asCerts(p);
    const rs = asSecrets(p);

    const got = await rc.getCertificate(name);
    assert.deepEqual(Buffer.from(got.cer), Buffer.from(cert.cer));
    assert.equal((await rc.getCertificateVersion(name, cert.properties.version)).properties.version, cert.properties.version);
    const policy = await rc.getCertificatePolicy(name);
    assert.equal(policy.subject, `CN=${name}`);
    assert.ok((await collect(rc.listPropertiesOfCertificates())).some((c) => c.name === name), "listed");
    assert.ok((await collect(rc.listPropertiesOfCertificateVersions(name))).length >= 1);
    const props = await collect(rs.listPropertiesOfSecrets());
    assert.ok(props.some((x) => x.name === plain), "secret properties are listed");
    assert.ok(props.every((x) => x.value === undefined));

    await sdkDenied(rs.getSecret(name), "the certificate's secret (its private key)");
    await sdkDenied(rs.getSecret(name, { version: cert.properties.version }), "the certificate's secret, by version");
    await sdkDenied(rs.getSecret(plain), "a plain secret");
    await sdkDenied(rs.getSecret(plain, { version: s.properties.version }), "a plain secret, by version");
    await sdkDenied(rc.backupCertificate(name), "backupCertificate");
    await sdkDenied(rs.backupSecret(plain), "backupSecret");
    await sdkDenied(rs.setSecret(plain, "overwrite"), "setSecret");
    await sdkDenied(rc.updateCertificateProperties(name, "", { tags: { r: "1" } }), "updateCertificateProperties");
    assert.equal((await secrets.getSecret(plain)).value, "reader-must-not-see", "unchanged");
  });

  it("denies before looking anything up: 403, not 404, for objects and vaults that do not exist", async () => {
    const none = await createPrincipal(server);
    assertRbacDenied(await callAs(server, none, { vault: V, path: "/certificates/does-not-exist?api-version=7.5" }), "no role, missing certificate");
    assertRbacDenied(await callAs(server, none, { vault: V, path: "/secrets/does-not-exist?api-version=7.5" }), "no role, missing secret");
    const reader = await principalWithRole(server, "Reader", vaultScope(V));
    assertRbacDenied(await callAs(server, reader, { vault: "nosuchvault", path: "/certificates?api-version=7.5" }), "a Reader of another vault asks for a vault that does not exist");
    // With the right role, a missing object is the ordinary 404.
    const officer = await principalWithRole(server, "Certificates Officer", certificateScope(V, "not-yet"));
    const missing = await callAs(server, officer, { vault: V, path: "/certificates/not-yet?api-version=7.5" });
    assertErrorEnvelope(missing, 404, "CertificateNotFound");
    // And the assignment on a name that does not exist yet lets it create exactly that certificate.
    const created = await callAs(server, officer, {
      method: "POST",
      vault: V,
      path: "/certificates/not-yet/create?api-version=7.5",
      body: { policy: { key_props: { kty: "EC", crv: "P-256" }, x509_props: { subject: "CN=not-yet" }, issuer: { name: "Self" } } },
    });
    assert.equal(created.status, 202, created.text);
    const elsewhere = await callAs(server, officer, {
      method: "POST",
      vault: V,
      path: "/certificates/not-yet-2/create?api-version=7.5",
      body: { policy: { x509_props: { subject: "CN=x" } } },
    });
    assertRbacDenied(elsewhere, "a name outside the assignment");
  });

  it("an object-scope role cannot be stretched to another object by path tricks", async () => {
    const a = uniqueName("mine");
    const b = uniqueName("theirs");
    const certA = await pemCert(a);
    const certB = await pemCert(b);
    const cerB = Buffer.from(certB.cer).toString("base64");
    const p = await principalWithRole(server, "Certificates Officer", certificateScope(V, a));
    const su = await principalWithRole(server, "Secrets User", certificateScope(V, a));
    const ok = await callAs(server, p, { vault: V, path: `/certificates/${a}/?api-version=7.5` });
    assert.equal(ok.status, 200, `its own certificate (trailing slash): ${ok.text.slice(0, 200)}`);
    const pct = [...b].map((ch) => `%${ch.charCodeAt(0).toString(16).padStart(2, "0")}`).join("");
    const attempts = [
      [p, "GET", `/certificates/${a}/../${b}`],
      [p, "GET", `/certificates/${a}/..%2F${b}`],
      [p, "GET", `/certificates/${a}/%2E%2E/${b}`],
      [p, "GET", `/certificates/./${b}`],
      [p, "GET", `/certificates/${b}/`],
      [p, "GET", `//certificates//${b}//`],
      [p, "GET", `/certificates/${pct}`],
      [p, "GET", `/certificates/${b}?name=${a}`],
      [p, "GET", `/certificates/${b}/${certA.properties.version}`],
      [p, "GET", `/certificates/${b}%00${a}`],
      [p, "GET", `/certificates/${b.toUpperCase()}`],
      [p, "DELETE", `/certificates/${a}/../${b}`],
      [p, "POST", `/certificates/${a}/../${b}/backup`],
      [su, "GET", `/secrets/${a}/../${b}`],
      [su, "GET", `/secrets/${b}/`],
      [su, "GET", `/secrets/${pct}`],
    ];
    const leaks = [];
    for (const [who, method, path] of attempts) {
      const sep = path.includes("?") ? "&" : "?";
      const res = await callAs(server, who, { method, vault: V, path: `${path}${sep}api-version=7.5` });
      const versionedId = new RegExp(`/(certificates|secrets)/${b}/[0-9a-f]{32}`, "i");
      if ((res.status >= 200 && res.status < 300) || res.text.includes(cerB) || versionedId.test(res.text)) {
        leaks.push(`${method} ${path}: HTTP ${res.status} ${res.text.slice(0, 160)}`);
      }
    }
    assert.deepEqual(leaks, [], `another certificate reached through the path:\n${leaks.join("\n")}`);
    const still = await certs.getCertificate(b);
    assert.equal(still.properties.version, certB.properties.version, "the other certificate is untouched");
  });

  it("a certificate-scope role covers that certificate's secret, not a plain secret of the same name", async () => {
    // permissions.md: certificate scope covers "its secret (/secrets/{name}, the private key)".
    // Names are shared by certificates and secrets, so a plain secret can hold the name of a
    // certificate that does not exist (yet, or any more): it is not that certificate's secret.
    const name = uniqueName("not-a-cert");
    await secrets.setSecret(name, "plain-secret-value");
    const p = await principalWithRole(server, "Secrets User", certificateScope(V, name));
    const res = await callAs(server, p, { vault: V, path: `/secrets/${name}?api-version=7.5` });
    assert.ok(!res.text.includes("plain-secret-value"), `a certificate-scope Secrets User read a plain secret: HTTP ${res.status}`);
    assertRbacDenied(res, "a plain secret under a certificate-scope role");
  });

  it("removing a role assignment takes effect for the tokens already issued", async () => {
    const name = uniqueName("revoke");
    await secrets.setSecret(name, "revocable");
    const p = await createPrincipal(server);
    const a = await assignRole(server, p.clientId, "Secrets User", vaultScope(V));
    const get = () => callAs(server, p, { vault: V, path: `/secrets/${name}?api-version=7.5` });
    assert.equal((await get()).status, 200);
    const t0 = Date.now();
    await manage(server, "DELETE", `/management/roleassignments/${a.id}`, { expect: 200 });
    let res;
    for (let i = 0; i < 15; i++) {
      res = await get();
      if (res.status !== 200) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assertRbacDenied(res, "after the assignment is removed");
    assert.ok(Date.now() - t0 <= 2_500, `the removal took effect within 2 s (${Date.now() - t0} ms)`);
  });

  it("names in scopes compare as the API compares them: object names and vault hosts are case-insensitive", async () => {
    const name = uniqueName("CaseName");
    await pemCert(name);
    const upper = await principalWithRole(server, "Certificate User", certificateScope(V, name.toUpperCase()));
    const res1 = await callAs(server, upper, { vault: V, path: `/certificates/${name.toLowerCase()}?api-version=7.5` });
    assert.equal(res1.status, 200, `scope in upper case, request in lower case: ${res1.text.slice(0, 300)}`);
    const lower = await principalWithRole(server, "Certificate User", certificateScope(V, name.toLowerCase()));
    const res2 = await callAs(server, lower, { vault: V, path: `/certificates/${name.toUpperCase()}?api-version=7.5` });
    assert.equal(res2.status, 200, `scope in lower case, request in upper case: ${res2.text.slice(0, 300)}`);
    const vaultReader = await principalWithRole(server, "Reader", vaultScope(V));
    const res3 = await callAs(server, vaultReader, {
      vault: V,
      headers: { host: `${V.toUpperCase()}.localhost:${server.port}` },
      path: "/certificates?api-version=7.5",
    });
    assert.equal(res3.status, 200, `vault host in upper case: ${res3.text.slice(0, 300)}`);
    // A certificate-scope role covers that certificate's secret, but a secret-scope role on the
    // same name does not cover the certificate.
    const secretOnly = await principalWithRole(server, "Reader", secretScope(V, name));
    assertRbacDenied(await callAs(server, secretOnly, { vault: V, path: `/certificates/${name}?api-version=7.5` }), "secret scope does not cover the certificate");
  });

  it("the token endpoint does not issue tokens to unknown clients or wrong secrets, and says nothing about which", async () => {
    const p = await createPrincipal(server);
    const wrongSecret = await tokenResponse(server, { clientId: p.clientId, clientSecret: `${p.clientSecret}x` });
    const unknown = await tokenResponse(server, { clientId: "no-such-client", clientSecret: p.clientSecret });
    for (const [what, res] of [["wrong secret", wrongSecret], ["unknown client", unknown]]) {
      assert.equal(res.status, 401, `${what}: ${res.text}`);
      assert.equal(res.json?.error, "invalid_client", `${what}: ${res.text}`);
      assert.ok(!res.json?.access_token);
    }
    assert.equal(wrongSecret.json.error_description, unknown.json.error_description, "the same description for both");
    assert.ok(await principalToken(server, p), "the right secret works");
  });

  it("deleting a vault removes its role assignments: a vault made again under the name starts bare", async () => {
    const vault = `gone${crypto.randomBytes(3).toString("hex")}`;
    await manage(server, "PUT", `/management/vaults/${vault}`, { expect: 201 });
    const p = await principalWithRole(server, "Reader", vaultScope(vault));
    const list = { host: `${vault}.localhost`, path: "/certificates?api-version=7.5" };
    assert.equal((await callAs(server, p, list)).status, 200);
    await manage(server, "DELETE", `/management/vaults/${vault}`, { expect: 200 });
    await manage(server, "PUT", `/management/vaults/${vault}`, { expect: 201 });
    assertRbacDenied(await callAs(server, p, list), "the old Reader role must not survive the vault");
    const left = await manage(server, "GET", `/management/roleassignments?principalId=${p.clientId}`, { expect: 200 });
    assert.deepEqual(left.json.value, []);
  });
});
