// Vaults addressed by host name, the management API, tokens, and @azure/identity's
// ClientSecretCredential against the server's Entra-style endpoints.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { isTokenCredential } from "@azure/core-auth";
import { ClientSecretCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { certificateClient, done, FAST, secretClient } from "./lib/clients.mjs";
import { adminToken, clientOptions, request, requestToken, startServer, tokenCredential, vaultUrl } from "./lib/server.mjs";
import { collect, expectRestError, uniqueName } from "./lib/util.mjs";

describe("vaults and tokens", { timeout: 120_000 }, () => {
  let server;

  before(async () => {
    server = await startServer();
  });

  after(async () => {
    await server?.stop();
  });

  /** The tenant the server names in its challenge: authorization="https://host/{tenant}". */
  async function challengeTenant() {
    const challenge = (await request(server, { path: "/secrets?api-version=7.5" })).headers["www-authenticate"] ?? "";
    const authorization = /authorization="([^"]+)"/.exec(challenge)?.[1];
    assert.ok(authorization, `challenge has an authorization URL: ${challenge}`);
    const tenant = new URL(authorization).pathname.replace(/^\/+|\/+$/g, "");
    assert.ok(tenant, `the authorization URL names a tenant: ${authorization}`);
    return tenant;
  }

  it("writes admin.json and ca.pem into the data dir, and the ready line points at them", async () => {
    const fs = await import("node:fs");
    assert.ok(server.caPath.startsWith(server.dataDir), server.caPath);
    assert.ok(server.adminPath.startsWith(server.dataDir), server.adminPath);
    assert.equal(fs.statSync(server.adminPath).mode & 0o077, 0, "admin.json is 0600");
    assert.equal(fs.statSync(`${server.dataDir}/kek`).mode & 0o077, 0, "kek is 0600");
    assert.match(server.ca, /-----BEGIN CERTIFICATE-----/);
    assert.equal(typeof server.admin.client_id, "string");
    assert.equal(typeof server.admin.client_secret, "string");
    assert.equal(server.url, `https://localhost:${server.port}`);
    assert.ok(server.admin.token_url.startsWith(`https://localhost:${server.port}/`), server.admin.token_url);
  });

  it("issues bearer tokens (client credentials)", async () => {
    const t = await requestToken(server, { scope: "https://localhost/.default" });
    assert.equal(t.token_type, "Bearer");
    assert.ok(Number(t.expires_in) > 60, `expires_in ${t.expires_in}`);
    assert.equal(t.access_token.split(".").length, 3, "a JWT");
    const claims = JSON.parse(Buffer.from(t.access_token.split(".")[1], "base64url"));
    assert.ok(claims.exp > Date.now() / 1000, "exp in the future");
    const noScope = await requestToken(server);
    assert.ok(noScope.access_token);
    assert.ok(isTokenCredential(tokenCredential(server)), "lib's credential is a TokenCredential");
  });

  it("serves /oauth2/token on the Entra-style tenant path too", async () => {
    const t = await requestToken(server, {
      tokenUrl: `https://localhost:${server.port}/${await challengeTenant()}/oauth2/v2.0/token`,
      scope: "https://localhost/.default",
    });
    assert.ok(t.access_token);
    const res = await request(server, { path: "/secrets?api-version=7.5", token: t.access_token });
    assert.equal(res.status, 200, res.text);
  });

  it("bare localhost and 127.0.0.1 address the default vault", async () => {
    const name = uniqueName("host");
    await secretClient(server).setSecret(name, "via-default");
    for (const host of ["localhost", "127.0.0.1", "default.localhost"]) {
      const res = await request(server, { host, path: `/secrets/${name}?api-version=7.5`, token: true });
      assert.equal(res.status, 200, `${host}: ${res.text}`);
      assert.equal(res.json.value, "via-default", host);
    }
  });

  it("creates a second vault through the management API; its objects are separate", async () => {
    const created = await request(server, { method: "PUT", path: "/management/vaults/other", token: true, body: {} });
    assert.ok([200, 201].includes(created.status), created.text);
    const list = await request(server, { path: "/management/vaults", token: true });
    assert.equal(list.status, 200, list.text);
    const names = JSON.stringify(list.json);
    assert.match(names, /"default"/);
    assert.match(names, /"other"/);
    const noToken = await request(server, { path: "/management/vaults" });
    assert.equal(noToken.status, 401, "management needs a token");

    const other = secretClient(server, "other");
    const def = secretClient(server, "default");
    const name = uniqueName("isolated");
    const s = await other.setSecret(name, "only-in-other");
    assert.equal(s.properties.id, `${vaultUrl(server.port, "other")}/secrets/${name}/${s.properties.version}`);
    assert.equal(s.properties.vaultUrl, vaultUrl(server.port, "other"));
    assert.equal((await other.getSecret(name)).value, "only-in-other");
    await expectRestError(def.getSecret(name), { statusCode: 404, code: "SecretNotFound" }, "not visible from default");
    assert.ok(!(await collect(def.listPropertiesOfSecrets())).some((p) => p.name === name), "not listed in default");

    const otherCerts = certificateClient(server, "other");
    const cname = uniqueName("isolated-cert");
    const cert = await done(
      await otherCerts.beginCreateCertificate(cname, { issuerName: "Self", subject: "CN=other", keyType: "EC", keyCurveName: "P-256" }, FAST),
    );
    assert.ok(cert.properties.id.startsWith(`${vaultUrl(server.port, "other")}/certificates/${cname}/`));
    await expectRestError(certificateClient(server).getCertificate(cname), { statusCode: 404, code: "CertificateNotFound" });

    // The same name in both vaults holds different values.
    await def.setSecret(name, "only-in-default");
    assert.equal((await other.getSecret(name)).value, "only-in-other");
    assert.equal((await def.getSecret(name)).value, "only-in-default");

    const del = await request(server, { method: "DELETE", path: "/management/vaults/other", token: true });
    assert.ok([200, 202, 204].includes(del.status), del.text);
    await expectRestError(other.getSecret(name), { statusCode: 404, code: "VaultNotFound" }, "deleted vault");
    assert.equal((await def.getSecret(name)).value, "only-in-default", "default is untouched");
  });

  it("works with @azure/identity's ClientSecretCredential (authorityHost = the server)", async () => {
    // The tenant is the one the server names in its challenge.
    const tenantId = await challengeTenant();
    const credential = new ClientSecretCredential(tenantId, server.admin.client_id, server.admin.client_secret, {
      authorityHost: `https://localhost:${server.port}`,
      disableInstanceDiscovery: true,
      additionallyAllowedTenants: ["*"],
      agent: server.agent,
      retryOptions: { maxRetries: 0 },
    });
    const token = await credential.getToken("https://localhost/.default");
    assert.ok(token?.token, "ClientSecretCredential got a token");

    const client = new SecretClient(vaultUrl(server.port), credential, clientOptions(server));
    const name = uniqueName("identity");
    await client.setSecret(name, "via-identity");
    assert.equal((await client.getSecret(name)).value, "via-identity");
  });

  it("stops on SIGTERM and keeps its data, CA and admin client across a restart", async () => {
    const fs = await import("node:fs/promises");
    const os = await import("node:os");
    const path = await import("node:path");
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "certvault-it-restart-"));
    try {
      const first = await startServer({ dataDir: dir });
      const name = uniqueName("persist");
      let cert;
      try {
        await secretClient(first).setSecret(name, "survives");
        cert = await done(
          await certificateClient(first).beginCreateCertificate(
            `${name}-cert`, { issuerName: "Self", subject: "CN=persist", keyType: "EC", keyCurveName: "P-256" }, FAST),
        );
      } finally {
        const exit = await first.stop();
        assert.equal(exit.graceful, true, "exits within 10 s of SIGTERM");
        assert.ok(exit.code === 0 || exit.signal === "SIGTERM", `exit after SIGTERM: ${JSON.stringify(exit)}`);
      }
      const second = await startServer({ dataDir: dir });
      try {
        assert.equal(second.ca, first.ca, "the CA is kept");
        assert.deepEqual(second.admin.client_id, first.admin.client_id, "the admin client is kept");
        assert.equal((await secretClient(second).getSecret(name)).value, "survives");
        const again = await certificateClient(second).getCertificate(`${name}-cert`);
        assert.deepEqual(Buffer.from(again.cer), Buffer.from(cert.cer));
      } finally {
        await second.stop();
      }
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("the SDK refuses a vault URL whose host does not match the challenge resource", async () => {
    // https://localhost is not a subdomain of the resource https://localhost: the SDK's own check.
    const client = new SecretClient(`https://localhost:${server.port}`, tokenCredential(server), clientOptions(server));
    await assert.rejects(client.getSecret("x"), /challenge resource/i);
    const t = await adminToken(server);
    assert.ok(t.access_token);
  });
});
