// Secrets through the unmodified @azure/keyvault-secrets client: a certificate's (managed) secret
// in both content types, and plain secrets through their whole lifecycle.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, before, describe, it } from "node:test";
import { certificateClient, done, FAST, secretClient } from "./lib/clients.mjs";
import { keyMatchesCert, pemBlocks, Pki } from "./lib/pki.mjs";
import { request, startServer, vaultUrl } from "./lib/server.mjs";
import { collect, expectRestError, HEX32, pollUntil, uniqueName } from "./lib/util.mjs";

describe("secrets", { timeout: 180_000 }, () => {
  let server;
  let certs;
  let client;
  let pki;

  before(async () => {
    server = await startServer();
    certs = certificateClient(server);
    client = secretClient(server);
    pki = await Pki.create();
  });

  after(async () => {
    await server?.stop();
    await pki?.cleanup();
  });

  async function purgeSecret(name) {
    let status;
    await client.purgeDeletedSecret(name, { onResponse: (r) => (status = r.status) });
    assert.equal(status, 204, "purge answers 204");
    await pollUntil(
      async () => {
        try {
          await client.getDeletedSecret(name);
          return false;
        } catch (e) {
          if (e.statusCode === 404) return true;
          throw e;
        }
      },
      { what: `${name} purged`, timeoutMs: 10_000 },
    );
  }

  describe("a certificate's secret", () => {
    it("is PEM (PKCS#8 key, then leaf, then chain) for application/x-pem-file", async () => {
      const name = uniqueName("cert-pem");
      const cert = await done(
        await certs.beginCreateCertificate(
          name,
          { issuerName: "Self", subject: "CN=pem", keyType: "EC", keyCurveName: "P-256", contentType: "application/x-pem-file" },
          FAST,
        ),
      );
      const secret = await client.getSecret(name);
      assert.equal(secret.properties.id, cert.secretId, "the secret id is the certificate's sid");
      assert.equal(secret.properties.version, cert.properties.version);
      assert.equal(secret.properties.contentType, "application/x-pem-file");
      assert.equal(secret.properties.managed, true);
      assert.equal(secret.properties.certificateKeyId, cert.keyId, "kid is the certificate's key id");
      assert.equal(secret.properties.certificateKeyId, `${vaultUrl(server.port)}/keys/${name}/${cert.properties.version}`);

      const blocks = pemBlocks(secret.value);
      assert.ok(blocks.length >= 2, secret.value);
      assert.equal(blocks[0].type, "PRIVATE KEY", "PKCS#8 private key first (BEGIN PRIVATE KEY)");
      assert.equal(blocks[1].type, "CERTIFICATE");
      assert.deepEqual(blocks[1].der, Buffer.from(cert.cer), "then the leaf certificate");
      for (const b of blocks.slice(2)) assert.equal(b.type, "CERTIFICATE", "then the chain");
      const key = crypto.createPrivateKey(blocks[0].pem);
      assert.equal(key.asymmetricKeyType, "ec");
      assert.ok(new crypto.X509Certificate(Buffer.from(cert.cer)).checkPrivateKey(key), "the key matches the certificate");

      // A specific version reads the same.
      const byVersion = await client.getSecret(name, { version: cert.properties.version });
      assert.equal(byVersion.value, secret.value);
    });

    it("is a base64 PFX with an empty password for application/x-pkcs12", async () => {
      const name = uniqueName("cert-pfx");
      const cert = await done(
        await certs.beginCreateCertificate(name, { issuerName: "Self", subject: "CN=pfx", keyType: "RSA", keySize: 2048 }, FAST),
      );
      const secret = await client.getSecret(name);
      assert.equal(secret.properties.contentType, "application/x-pkcs12");
      assert.equal(secret.properties.managed, true);
      assert.equal(secret.properties.certificateKeyId, cert.keyId);
      assert.match(secret.value, /^[A-Za-z0-9+/]+={0,2}$/, "the value is base64");
      const { keyPem, leafPem } = await pki.readPkcs12(Buffer.from(secret.value, "base64"), "");
      assert.deepEqual(pemBlocks(leafPem)[0].der, Buffer.from(cert.cer));
      assert.ok(keyMatchesCert(keyPem, Buffer.from(cert.cer)), "the PFX key matches the certificate");
    });

    it("cannot be changed through the secrets API", async () => {
      const name = uniqueName("cert-managed");
      const cert = await done(
        await certs.beginCreateCertificate(name, { issuerName: "Self", subject: "CN=m", keyType: "EC", keyCurveName: "P-256", contentType: "application/x-pem-file" }, FAST),
      );
      const before = await client.getSecret(name);
      // Key Vault refuses both; the exact status (403 or 409) is not pinned down here.
      for (const [what, call] of [
        ["setSecret on a managed secret", () => client.setSecret(name, "overwrite")],
        ["delete a managed secret", () => client.beginDeleteSecret(name)],
      ]) {
        await assert.rejects(call(), (e) => {
          assert.ok([403, 409].includes(e.statusCode), `${what}: got ${e.statusCode} ${e.code} ${e.message}`);
          return true;
        });
      }
      const afterwards = await client.getSecret(name);
      assert.equal(afterwards.value, before.value, "the managed secret is unchanged");
      assert.equal(afterwards.properties.version, cert.properties.version);
      assert.equal((await certs.getCertificate(name)).properties.version, cert.properties.version);
    });
  });

  describe("plain secrets", () => {
    it("sets, gets versions, lists versions and updates properties", async () => {
      const name = uniqueName("plain");
      const v1 = await client.setSecret(name, "value-1", { contentType: "text/plain", tags: { a: "1" } });
      assert.equal(v1.name, name);
      assert.equal(v1.value, "value-1");
      assert.match(v1.properties.version, HEX32);
      assert.equal(v1.properties.id, `${vaultUrl(server.port)}/secrets/${name}/${v1.properties.version}`);
      assert.equal(v1.properties.vaultUrl, vaultUrl(server.port));
      assert.equal(v1.properties.contentType, "text/plain");
      assert.deepEqual(v1.properties.tags, { a: "1" });
      assert.equal(v1.properties.enabled, true);
      assert.ok(v1.properties.createdOn instanceof Date);
      assert.ok(!v1.properties.managed, "a plain secret is not managed");

      const v2 = await client.setSecret(name, "value-2 ünïcødé");
      assert.notEqual(v2.properties.version, v1.properties.version);
      assert.equal((await client.getSecret(name)).value, "value-2 ünïcødé", "latest version");
      assert.equal((await client.getSecret(name, { version: v1.properties.version })).value, "value-1");

      const versions = await collect(client.listPropertiesOfSecretVersions(name));
      assert.deepEqual(versions.map((v) => v.version).sort(), [v1.properties.version, v2.properties.version].sort());
      for (const v of versions) assert.equal(v.value, undefined, "listings carry no values");

      const updated = await client.updateSecretProperties(name, v1.properties.version, {
        contentType: "application/json",
        tags: { b: "2" },
      });
      assert.equal(updated.contentType, "application/json");
      assert.deepEqual(updated.tags, { b: "2" });
      assert.equal(updated.version, v1.properties.version);
      const reread = await client.getSecret(name, { version: v1.properties.version });
      assert.equal(reread.properties.contentType, "application/json");
      assert.equal(reread.value, "value-1", "updating properties keeps the value");
    });

    it("lists secrets with paging (byPage maxPageSize)", async () => {
      const prefix = uniqueName("list");
      const names = [];
      for (let i = 0; i < 5; i++) {
        names.push(`${prefix}-${i}`);
        await client.setSecret(`${prefix}-${i}`, `v${i}`);
      }
      const pages = await collect(client.listPropertiesOfSecrets().byPage({ maxPageSize: 2 }));
      assert.ok(pages.length >= 3, `5+ secrets in pages of 2 need 3+ pages, got ${pages.length}`);
      for (const page of pages) assert.ok(page.length <= 2, `page of ${page.length} > maxPageSize 2`);
      const mine = pages.flat().map((p) => p.name).filter((n) => n.startsWith(`${prefix}-`)).sort();
      assert.deepEqual(mine, names, "pages cover every secret exactly once");
      for (const p of pages.flat()) assert.equal(p.value, undefined, "listings carry no values");

      const all = await collect(client.listPropertiesOfSecrets());
      assert.deepEqual(all.map((p) => p.name).filter((n) => n.startsWith(`${prefix}-`)).sort(), names);
    });

    it("does not serve a disabled secret (403 Forbidden, SecretDisabled)", async () => {
      const name = uniqueName("disabled");
      const s = await client.setSecret(name, "hidden-value");
      await client.updateSecretProperties(name, s.properties.version, { enabled: false });
      const err = await expectRestError(client.getSecret(name), { statusCode: 403, code: "Forbidden" });
      assert.ok(!JSON.stringify(err.details ?? {}).includes("hidden-value"));
      const raw = await request(server, { path: `/secrets/${name}/?api-version=7.5`, token: true });
      assert.equal(raw.status, 403, raw.text);
      assert.equal(raw.json?.error?.code, "Forbidden", raw.text);
      assert.equal(raw.json?.error?.innererror?.code, "SecretDisabled", raw.text);
      assert.ok(!raw.text.includes("hidden-value"), "the value is not leaked in the error");
      // Its properties are still listed, and enabling it makes it readable again.
      const props = (await collect(client.listPropertiesOfSecretVersions(name)))[0];
      assert.equal(props.enabled, false);
      await client.updateSecretProperties(name, s.properties.version, { enabled: true });
      assert.equal((await client.getSecret(name)).value, "hidden-value");
    });

    it("does not serve a secret before its nbf (403 Forbidden)", async () => {
      const name = uniqueName("notyet");
      await client.setSecret(name, "future-value", { notBefore: new Date(Date.now() + 3_600_000) });
      await expectRestError(client.getSecret(name), { statusCode: 403, code: "Forbidden" });
      const raw = await request(server, { path: `/secrets/${name}/?api-version=7.5`, token: true });
      assert.equal(raw.status, 403, raw.text);
      assert.ok(!raw.text.includes("future-value"), "the value is not leaked in the error");
    });

    it("soft-deletes, recovers, deletes again and purges a secret", async () => {
      const name = uniqueName("del");
      const s = await client.setSecret(name, "keep-me", { tags: { t: "x" } });
      const deleted = await (await client.beginDeleteSecret(name, FAST)).pollUntilDone({ abortSignal: AbortSignal.timeout(30_000) });
      assert.equal(deleted.name, name);
      assert.equal(deleted.recoveryId, `${vaultUrl(server.port)}/deletedsecrets/${name}`);
      assert.ok(deleted.deletedOn instanceof Date);
      assert.ok(deleted.scheduledPurgeDate instanceof Date);
      await expectRestError(client.getSecret(name), { statusCode: 404, code: "SecretNotFound" });

      const got = await client.getDeletedSecret(name);
      assert.equal(got.properties.id, s.properties.id);
      assert.equal(got.recoveryId, deleted.recoveryId);
      assert.deepEqual(got.properties.tags, { t: "x" });
      const listed = await collect(client.listDeletedSecrets());
      assert.ok(listed.some((d) => d.name === name), "listDeletedSecrets includes it");

      await expectRestError(client.setSecret(name, "other"), { statusCode: 409, code: "Conflict" }, "set over a soft-deleted secret");

      await (await client.beginRecoverDeletedSecret(name, FAST)).pollUntilDone({ abortSignal: AbortSignal.timeout(30_000) });
      const back = await client.getSecret(name);
      assert.equal(back.value, "keep-me");
      assert.equal(back.properties.version, s.properties.version);

      await (await client.beginDeleteSecret(name, FAST)).pollUntilDone({ abortSignal: AbortSignal.timeout(30_000) });
      await purgeSecret(name);
      await expectRestError(client.getSecret(name), { statusCode: 404, code: "SecretNotFound" });
      const fresh = await client.setSecret(name, "new-life");
      assert.notEqual(fresh.properties.version, s.properties.version);
    });

    it("backs up, purges and restores a secret", async () => {
      const name = uniqueName("bak");
      const v1 = await client.setSecret(name, "first");
      const v2 = await client.setSecret(name, "second", { contentType: "text/plain" });
      const blob = await client.backupSecret(name);
      assert.ok(blob instanceof Uint8Array && blob.length > 0);
      assert.ok(!Buffer.from(blob).toString("latin1").includes("second"), "the backup blob is not plain text");

      await expectRestError(client.restoreSecretBackup(blob), { statusCode: 409, code: "Conflict" }, "restore over existing");
      await (await client.beginDeleteSecret(name, FAST)).pollUntilDone({ abortSignal: AbortSignal.timeout(30_000) });
      await purgeSecret(name);

      const restored = await client.restoreSecretBackup(blob);
      assert.equal(restored.name, name);
      assert.equal(restored.version, v2.properties.version);
      assert.equal((await client.getSecret(name)).value, "second");
      assert.equal((await client.getSecret(name, { version: v1.properties.version })).value, "first");
      assert.equal((await client.getSecret(name)).properties.contentType, "text/plain");
    });
  });
});
