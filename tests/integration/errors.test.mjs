// Errors as the SDK sees them (RestError statusCode and the envelope's code), and what plain HTTP
// clients get for bad requests and missing or bad tokens.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { certificateClient, FAST, secretClient } from "./lib/clients.mjs";
import { adminToken, request, startServer } from "./lib/server.mjs";
import { assertErrorEnvelope, expectRestError, uniqueName } from "./lib/util.mjs";

describe("errors", { timeout: 120_000 }, () => {
  let server;
  let certs;
  let secrets;

  before(async () => {
    server = await startServer();
    certs = certificateClient(server);
    secrets = secretClient(server);
  });

  after(async () => {
    await server?.stop();
  });

  it("CertificateNotFound", async () => {
    const name = uniqueName("missing");
    await expectRestError(certs.getCertificate(name), { statusCode: 404, code: "CertificateNotFound" }, "getCertificate");
    await expectRestError(
      certs.getCertificateVersion(name, "0123456789abcdef0123456789abcdef"),
      { statusCode: 404, code: "CertificateNotFound" },
      "getCertificateVersion",
    );
    await expectRestError(certs.getCertificatePolicy(name), { statusCode: 404, code: "CertificateNotFound" }, "getCertificatePolicy");
    await expectRestError(
      certs.updateCertificateProperties(name, "", { enabled: false }),
      { statusCode: 404, code: "CertificateNotFound" },
      "updateCertificateProperties",
    );
    await expectRestError(certs.beginDeleteCertificate(name), { statusCode: 404, code: "CertificateNotFound" }, "delete");
    await expectRestError(certs.backupCertificate(name), { statusCode: 404, code: "CertificateNotFound" }, "backup");
    await expectRestError(certs.getDeletedCertificate(name), { statusCode: 404 }, "getDeletedCertificate");
  });

  it("a wrong version of an existing certificate is CertificateNotFound", async () => {
    const name = uniqueName("ver");
    await (await certs.beginCreateCertificate(name, { issuerName: "Self", subject: "CN=v", keyType: "EC", keyCurveName: "P-256" }, FAST)).pollUntilDone({
      abortSignal: AbortSignal.timeout(30_000),
    });
    await expectRestError(
      certs.getCertificateVersion(name, "0123456789abcdef0123456789abcdef"),
      { statusCode: 404, code: "CertificateNotFound" },
    );
  });

  it("SecretNotFound", async () => {
    const name = uniqueName("missing");
    await expectRestError(secrets.getSecret(name), { statusCode: 404, code: "SecretNotFound" }, "getSecret");
    await expectRestError(
      secrets.getSecret(name, { version: "0123456789abcdef0123456789abcdef" }),
      { statusCode: 404, code: "SecretNotFound" },
      "getSecret version",
    );
    await expectRestError(
      secrets.updateSecretProperties(name, "0123456789abcdef0123456789abcdef", { enabled: false }),
      { statusCode: 404, code: "SecretNotFound" },
      "updateSecretProperties",
    );
    await expectRestError(secrets.beginDeleteSecret(name), { statusCode: 404, code: "SecretNotFound" }, "delete");
    await expectRestError(secrets.backupSecret(name), { statusCode: 404, code: "SecretNotFound" }, "backup");
    await expectRestError(secrets.getDeletedSecret(name), { statusCode: 404, code: "SecretNotFound" }, "getDeletedSecret");
  });

  it("PendingCertificateNotFound", async () => {
    const name = uniqueName("nopending");
    const res = await request(server, { path: `/certificates/${name}/pending?api-version=7.5`, token: true });
    assert.equal(res.status, 404, res.text);
    assert.ok(["PendingCertificateNotFound", "CertificateNotFound"].includes(res.json?.error?.code), res.text);
    await expectRestError(certs.deleteCertificateOperation(name), { statusCode: 404 }, "deleteCertificateOperation");
  });

  it("invalid object names are 400 BadParameter", async () => {
    for (const bad of ["bad_name", "dots.not.allowed", "x".repeat(128)]) {
      await expectRestError(secrets.setSecret(bad, "v"), { statusCode: 400, code: "BadParameter" }, `setSecret ${bad}`);
      await expectRestError(
        certs.beginCreateCertificate(bad, { issuerName: "Self", subject: "CN=x" }, FAST),
        { statusCode: 400, code: "BadParameter" },
        `create ${bad}`,
      );
    }
    // The longest valid name (127 characters) is fine.
    const longest = `a${uniqueName("b")}`.padEnd(127, "c");
    const ok = await secrets.setSecret(longest, "v");
    assert.equal(ok.name, longest);
  });

  it("invalid policies are 400 BadParameter", async () => {
    const cases = [
      ["RSA key size 1000", { issuerName: "Self", subject: "CN=x", keyType: "RSA", keySize: 1000 }],
      ["unknown curve", { issuerName: "Self", subject: "CN=x", keyType: "EC", keyCurveName: "P-1000" }],
      ["bad subject", { issuerName: "Self", subject: "this is not a DN" }],
    ];
    for (const [what, policy] of cases) {
      const name = uniqueName("badpolicy");
      await expectRestError(certs.beginCreateCertificate(name, policy, FAST), { statusCode: 400, code: "BadParameter" }, what);
      await expectRestError(certs.getCertificate(name), { statusCode: 404, code: "CertificateNotFound" }, `${what}: nothing created`);
    }
  });

  it("a malformed JSON body is 400 BadParameter", async () => {
    const name = uniqueName("badjson");
    for (const body of ['{"value": ', "not json", "[1,2,3]", '{"value": 42}']) {
      const res = await request(server, {
        method: "PUT",
        path: `/secrets/${name}?api-version=7.5`,
        token: true,
        headers: { "content-type": "application/json" },
        body,
      });
      assertErrorEnvelope(res, 400, "BadParameter", `body ${body}`);
    }
    const create = await request(server, {
      method: "POST",
      path: `/certificates/${name}/create?api-version=7.5`,
      token: true,
      headers: { "content-type": "application/json" },
      body: '{"policy": {"x509_props": ',
    });
    assertErrorEnvelope(create, 400, "BadParameter", "create with truncated JSON");
    await expectRestError(secrets.getSecret(name), { statusCode: 404, code: "SecretNotFound" });
  });

  it("a body over 1 MiB is 413", async () => {
    const name = uniqueName("big");
    const body = JSON.stringify({ value: "x".repeat(1024 * 1024 + 4096) });
    let res;
    try {
      res = await request(server, { method: "PUT", path: `/secrets/${name}?api-version=7.5`, token: true, body });
    } catch (e) {
      assert.fail(`the server must answer 413, not drop the connection: ${e.code ?? ""} ${e.message}`);
    }
    assert.equal(res.status, 413, res.text.slice(0, 300));
    if (res.json) assert.equal(typeof res.json.error?.code, "string", "413 uses the error envelope");
    await expectRestError(secrets.getSecret(name), { statusCode: 404, code: "SecretNotFound" });
    // The server is still fine afterwards.
    assert.equal((await secrets.setSecret(name, "small")).value, "small");
  });

  it("an unknown vault host is 404 VaultNotFound (routing by Host)", async () => {
    // TLS to default.localhost (a name the server certificate has), HTTP Host of an unknown vault.
    const raw = await request(server, {
      host: "default.localhost",
      servername: "default.localhost",
      headers: { host: `nosuchvault.localhost:${server.port}` },
      path: "/secrets/x?api-version=7.5",
      token: true,
    });
    assertErrorEnvelope(raw, 404, "VaultNotFound", "GET with Host: nosuchvault.localhost");
  });

  it("the SDK gets 404 VaultNotFound for an unknown vault (TLS valid for any vault host)", async () => {
    // What a user with a mistyped vault name sees. This needs a server certificate that is valid
    // for https://nosuchvault.localhost (Node and OpenSSL refuse a `*.localhost` wildcard).
    const raw = await request(server, { vault: "nosuchvault", path: "/secrets/x?api-version=7.5", token: true });
    assertErrorEnvelope(raw, 404, "VaultNotFound", "raw GET on nosuchvault.localhost");
    const other = secretClient(server, "nosuchvault");
    await expectRestError(other.getSecret("x"), { statusCode: 404, code: "VaultNotFound" }, "SDK on nosuchvault");
    await expectRestError(other.setSecret("x", "v"), { statusCode: 404, code: "VaultNotFound" }, "SDK set on nosuchvault");
  });

  it("no token: 401 with a Bearer challenge the SDK accepts", async () => {
    const res = await request(server, { path: "/secrets/anything?api-version=7.5" });
    assert.equal(res.status, 401, res.text);
    const challenge = res.headers["www-authenticate"];
    assert.ok(challenge, "WWW-Authenticate header present");
    assert.match(challenge, /^Bearer authorization="https?:\/\/[^"]+", resource="https:\/\/localhost"$/, challenge);

    // The SDK's first request: no token and no body, even for a POST.
    const post = await request(server, { method: "POST", path: `/certificates/${uniqueName("c")}/create?api-version=7.5` });
    assert.equal(post.status, 401, post.text);
    assert.match(post.headers["www-authenticate"] ?? "", /^Bearer /);
    const put = await request(server, { method: "PUT", path: `/secrets/${uniqueName("s")}?api-version=7.5` });
    assert.equal(put.status, 401, put.text);
    // ... and with a body as well: no token is no access.
    const withBody = await request(server, { method: "PUT", path: `/secrets/${uniqueName("s")}?api-version=7.5`, body: { value: "v" } });
    assert.equal(withBody.status, 401, withBody.text);
  });

  it("a garbage or tampered token is 401", async () => {
    const good = (await request(server, { path: "/secrets?api-version=7.5", token: true })).status;
    assert.equal(good, 200, "a valid token works");
    const { access_token: token } = await adminToken(server);
    const parts = token.split(".");
    const tampered = parts.length === 3
      ? [parts[0], Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(parts[1], "base64url")), sub: "attacker" })).toString("base64url"), parts[2]].join(".")
      : `${token}x`;
    for (const bad of ["garbage", "a.b.c", tampered, `${parts[0]}.${parts[1]}.`]) {
      const res = await request(server, { path: "/secrets?api-version=7.5", token: bad });
      assert.equal(res.status, 401, `token ${bad.slice(0, 40)}: ${res.text}`);
      assert.match(res.headers["www-authenticate"] ?? "", /^Bearer /);
    }
  });

  it("the token endpoint refuses a wrong client secret", async () => {
    const form = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: server.admin.client_id,
      client_secret: "definitely-wrong",
    });
    const res = await request(server, {
      method: "POST",
      path: server.admin.token_url,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form.toString(),
    });
    assert.ok(res.status === 400 || res.status === 401, `HTTP ${res.status} ${res.text}`);
    assert.equal(res.json?.error, "invalid_client", res.text);
    assert.ok(!res.json?.access_token);
  });
});
