// Certificates through the unmodified @azure/keyvault-certificates client: create (Self issuer),
// get, versions, list with paging, policy, properties; plus the certvault validity_duration
// extension over plain REST.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, before, describe, it } from "node:test";
import { DefaultCertificatePolicy } from "@azure/keyvault-certificates";
import { certificateClient, done, FAST } from "./lib/clients.mjs";
import { certText, Pki } from "./lib/pki.mjs";
import { request, startServer, vaultUrl } from "./lib/server.mjs";
import { collect, HEX32, pollUntil, uniqueName } from "./lib/util.mjs";

const DAY = 86_400_000;

function x509Of(cert) {
  assert.ok(cert.cer && cert.cer.length > 0, `certificate ${cert.name} has no cer`);
  return new crypto.X509Certificate(Buffer.from(cert.cer));
}

describe("certificates", { timeout: 180_000 }, () => {
  let server;
  let client;
  let pki;

  before(async () => {
    server = await startServer();
    client = certificateClient(server);
    pki = await Pki.create();
  });

  after(async () => {
    await server?.stop();
    await pki?.cleanup();
  });

  function assertIdentifiers(cert, name) {
    const base = vaultUrl(server.port);
    assert.equal(cert.name, name);
    assert.match(cert.properties.version, HEX32, "version is 32 lower-case hex digits");
    assert.equal(cert.properties.id, `${base}/certificates/${name}/${cert.properties.version}`);
    assert.equal(cert.properties.vaultUrl, base);
    assert.equal(cert.keyId, `${base}/keys/${name}/${cert.properties.version}`);
    assert.equal(cert.secretId, `${base}/secrets/${name}/${cert.properties.version}`);
  }

  function assertMatchesX509(cert) {
    const x509 = x509Of(cert);
    const der = Buffer.from(cert.cer);
    assert.equal(
      cert.properties.x509ThumbprintString,
      crypto.createHash("sha1").update(der).digest("hex"),
      "x5t is the SHA-1 thumbprint of cer",
    );
    assert.ok(cert.properties.notBefore instanceof Date, "attributes.nbf present");
    assert.ok(cert.properties.expiresOn instanceof Date, "attributes.exp present");
    assert.equal(cert.properties.notBefore.getTime(), new Date(x509.validFrom).getTime(), "nbf = cert notBefore");
    assert.equal(cert.properties.expiresOn.getTime(), new Date(x509.validTo).getTime(), "exp = cert notAfter");
    assert.ok(cert.properties.createdOn instanceof Date && cert.properties.updatedOn instanceof Date);
    assert.equal(cert.properties.enabled, true);
    return x509;
  }

  it("creates a self-signed RSA 2048 certificate with the SDK's default policy", async () => {
    const name = uniqueName("default-policy");
    const poller = await client.beginCreateCertificate(name, DefaultCertificatePolicy, {
      ...FAST,
      tags: { purpose: "integration" },
    });
    const cert = await done(poller);
    assertIdentifiers(cert, name);
    const x509 = assertMatchesX509(cert);
    assert.equal(poller.isDone(), true);
    const op = (await client.getCertificateOperation(name)).getOperationState().certificateOperation;
    assert.equal(op.status, "completed", "a Self-issued certificate's operation stays readable as completed");
    assert.equal(op.issuerName, "Self");

    assert.equal(x509.publicKey.asymmetricKeyType, "rsa");
    assert.equal(x509.publicKey.asymmetricKeyDetails.modulusLength, 2048);
    assert.match(x509.subject, /^CN=MyCert$/i);
    assert.equal(x509.issuer, x509.subject, "self-signed: issuer = subject");
    assert.ok(x509.verify(x509.publicKey), "self-signed: signature verifies with its own key");
    const days = (new Date(x509.validTo) - new Date(x509.validFrom)) / DAY;
    assert.ok(days >= 364 && days <= 367, `default validity is 12 months, got ${days} days`);
    assert.deepEqual(cert.properties.tags, { purpose: "integration" });
    assert.match(String(cert.properties.recoveryLevel), /Recoverable/);

    assert.equal(cert.policy.issuerName, "Self");
    assert.equal(cert.policy.keyType, "RSA");
    assert.equal(cert.policy.keySize, 2048);
    assert.equal(cert.policy.contentType, "application/x-pkcs12");
    assert.match(cert.policy.subject, /^cn=MyCert$/i);
  });

  it("creates an EC P-256 certificate", async () => {
    const name = uniqueName("ec256");
    const cert = await done(
      await client.beginCreateCertificate(
        name,
        { issuerName: "Self", subject: "CN=ec.example.test", keyType: "EC", keyCurveName: "P-256" },
        FAST,
      ),
    );
    assertIdentifiers(cert, name);
    const x509 = assertMatchesX509(cert);
    assert.equal(x509.publicKey.asymmetricKeyType, "ec");
    assert.equal(x509.publicKey.asymmetricKeyDetails.namedCurve, "prime256v1");
    assert.ok(x509.verify(x509.publicKey));
    const policy = await client.getCertificatePolicy(name);
    assert.equal(policy.keyType, "EC");
    assert.equal(policy.keyCurveName, "P-256");
  });

  it("creates an RSA 3072 certificate with SANs, EKUs, key usage and validityInMonths", async () => {
    const name = uniqueName("rsa3072");
    const policy = {
      issuerName: "Self",
      subject: "CN=san.example.test, O=certvault tests",
      keyType: "RSA",
      keySize: 3072,
      subjectAlternativeNames: {
        dnsNames: ["san.example.test", "alt.example.test"],
        emails: ["ops@example.test"],
        userPrincipalNames: ["svc@example.test"],
        ipAddresses: ["192.0.2.10"],
      },
      enhancedKeyUsage: ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"],
      keyUsage: ["digitalSignature", "keyEncipherment"],
      validityInMonths: 3,
    };
    const cert = await done(await client.beginCreateCertificate(name, policy, FAST));
    const x509 = assertMatchesX509(cert);
    assert.equal(x509.publicKey.asymmetricKeyDetails.modulusLength, 3072);
    assert.match(x509.subject, /CN=san\.example\.test/);
    assert.match(x509.subject, /O=certvault tests/);
    const days = (new Date(x509.validTo) - new Date(x509.validFrom)) / DAY;
    assert.ok(days >= 89 && days <= 93, `validityInMonths 3 gives ~3 months, got ${days} days`);

    const text = await certText(pki, Buffer.from(cert.cer));
    const san = /X509v3 Subject Alternative Name:[^\n]*\n\s*([^\n]*)/.exec(text)?.[1] ?? "";
    assert.match(san, /DNS:san\.example\.test/, text);
    assert.match(san, /DNS:alt\.example\.test/);
    assert.match(san, /email:ops@example\.test/);
    assert.match(san, /IP Address:192\.0\.2\.10/);
    assert.match(san, /UPN[^,]*svc@example\.test/, `UPN otherName in SAN: ${san}`);
    const eku = /X509v3 Extended Key Usage:[^\n]*\n\s*([^\n]*)/.exec(text)?.[1] ?? "";
    assert.match(eku, /TLS Web Server Authentication/);
    assert.match(eku, /TLS Web Client Authentication/);
    const ku = /X509v3 Key Usage:[^\n]*\n\s*([^\n]*)/.exec(text)?.[1] ?? "";
    assert.match(ku, /Digital Signature/);
    assert.match(ku, /Key Encipherment/);
    assert.doesNotMatch(ku, /Certificate Sign/);

    const got = await client.getCertificatePolicy(name);
    assert.deepEqual([...got.subjectAlternativeNames.dnsNames].sort(), ["alt.example.test", "san.example.test"]);
    assert.deepEqual(got.subjectAlternativeNames.emails, ["ops@example.test"]);
    assert.deepEqual(got.subjectAlternativeNames.userPrincipalNames, ["svc@example.test"]);
    assert.deepEqual(got.subjectAlternativeNames.ipAddresses, ["192.0.2.10"]);
    assert.deepEqual([...got.enhancedKeyUsage].sort(), ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
    assert.deepEqual([...got.keyUsage].sort(), ["digitalSignature", "keyEncipherment"]);
    assert.equal(got.validityInMonths, 3);
    assert.equal(got.keySize, 3072);
  });

  it("honours the certvault policy extension x509_props.validity_duration (plain REST)", async () => {
    const name = uniqueName("duration");
    const res = await request(server, {
      method: "POST",
      path: `/certificates/${name}/create?api-version=7.5`,
      token: true,
      body: {
        policy: {
          x509_props: { subject: "CN=short", validity_duration: "PT10M" },
          issuer: { name: "Self" },
        },
      },
    });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.json.id, `${vaultUrl(server.port)}/certificates/${name}/pending`);
    assert.ok(["inProgress", "completed"].includes(res.json.status), res.text);

    await pollUntil(
      async () => {
        const op = await request(server, { path: `/certificates/${name}/pending?api-version=7.5`, token: true });
        assert.equal(op.status, 200, op.text);
        return op.json.status !== "inProgress" && op.json;
      },
      { what: "operation completed", timeoutMs: 30_000 },
    ).then((op) => assert.equal(op.status, "completed", JSON.stringify(op)));

    const got = await request(server, { path: `/certificates/${name}/?api-version=7.5`, token: true });
    assert.equal(got.status, 200, got.text);
    const x509 = new crypto.X509Certificate(Buffer.from(got.json.cer, "base64"));
    const seconds = (new Date(x509.validTo) - new Date(x509.validFrom)) / 1000;
    assert.ok(Math.abs(seconds - 600) <= 5, `exp - nbf = ${seconds} s, expected ~600 s (PT10M)`);
    assert.ok(Math.abs(got.json.attributes.exp - got.json.attributes.nbf - 600) <= 5, got.text);
    assert.ok(Number.isInteger(got.json.attributes.created), "times are Unix seconds (integers)");
    assert.ok(Math.abs(got.json.attributes.created - Date.now() / 1000) < 600, "created is Unix seconds, now");
    assert.equal(got.json.policy.x509_props.validity_duration, "PT10M", "the extension is kept in the policy");
  });

  it("gets the latest certificate and specific versions; lists versions", async () => {
    const name = uniqueName("versions");
    const policy = { issuerName: "Self", subject: "CN=versions", keyType: "EC", keyCurveName: "P-256" };
    const v1 = await done(await client.beginCreateCertificate(name, policy, FAST));
    const v2 = await done(await client.beginCreateCertificate(name, policy, FAST));
    assert.notEqual(v1.properties.version, v2.properties.version);

    const latest = await client.getCertificate(name); // GET /certificates/{name}/ (trailing slash)
    assert.equal(latest.properties.version, v2.properties.version);
    assert.deepEqual(Buffer.from(latest.cer), Buffer.from(v2.cer));
    assert.equal(latest.policy.subject, "CN=versions");

    const old = await client.getCertificateVersion(name, v1.properties.version);
    assert.equal(old.properties.id, v1.properties.id);
    assert.deepEqual(Buffer.from(old.cer), Buffer.from(v1.cer));

    const versions = await collect(client.listPropertiesOfCertificateVersions(name));
    assert.deepEqual(
      versions.map((v) => v.version).sort(),
      [v1.properties.version, v2.properties.version].sort(),
    );
    for (const v of versions) {
      assert.equal(v.name, name);
      assert.equal(v.id, `${vaultUrl(server.port)}/certificates/${name}/${v.version}`);
      assert.ok(v.x509ThumbprintString, "list items carry x5t");
    }

    // The SDK uses the trailing-slash form; plain REST clients use the other one: both work.
    for (const path of [`/certificates/${name}/?api-version=7.5`, `/certificates/${name}?api-version=7.6`]) {
      const res = await request(server, { path, token: true });
      assert.equal(res.status, 200, `${path}: ${res.text}`);
      assert.equal(res.json.id, v2.properties.id, path);
      assert.equal(res.json.cer, Buffer.from(v2.cer).toString("base64"), path);
      assert.match(res.headers["content-type"] ?? "", /^application\/json/);
    }
  });

  it("lists certificates with paging (maxresults, nextLink)", async () => {
    const prefix = uniqueName("page");
    const names = [];
    for (let i = 0; i < 5; i++) {
      const name = `${prefix}-${i}`;
      names.push(name);
      await done(
        await client.beginCreateCertificate(
          name,
          { issuerName: "Self", subject: `CN=${name}`, keyType: "EC", keyCurveName: "P-256" },
          FAST,
        ),
      );
    }
    const mine = (list) => list.filter((n) => n.startsWith(`${prefix}-`)).sort();

    // Plain REST: maxresults=2, following nextLink.
    const seen = [];
    let next = `/certificates?api-version=7.5&maxresults=2`;
    let firstNextLink;
    let pages = 0;
    while (next && pages < 100) {
      const res = await request(server, { path: next, token: true });
      assert.equal(res.status, 200, `${next}: ${res.text}`);
      assert.ok(Array.isArray(res.json.value), res.text);
      assert.ok(res.json.value.length <= 2, `page ${pages} has ${res.json.value.length} items > maxresults=2`);
      for (const item of res.json.value) {
        assert.match(item.id, new RegExp(`^${vaultUrl(server.port)}/certificates/[0-9a-zA-Z-]+$`), "list ids have no version");
        assert.ok(item.x5t, "list items carry x5t");
        assert.equal(typeof item.attributes?.enabled, "boolean");
        seen.push(item.id.split("/").pop());
      }
      next = res.json.nextLink ?? null;
      if (next) {
        assert.ok(next.startsWith(`${vaultUrl(server.port)}/certificates?`), `nextLink is an absolute URL of the vault: ${next}`);
        firstNextLink ??= next;
      }
      pages++;
    }
    assert.ok(pages >= 3, `5+ certificates with maxresults=2 need 3+ pages, got ${pages}`);
    assert.deepEqual(mine(seen), names, "pages cover every certificate exactly once");

    // SDK: whole listing (the SDK follows nextLink itself).
    const all = await collect(client.listPropertiesOfCertificates());
    assert.deepEqual(mine(all.map((p) => p.name)), names);

    // SDK: byPage, with maxPageSize (4.10 ignores it, newer versions send maxresults) and resuming
    // from the server's nextLink as a continuation token.
    const sdkPages = await collect(client.listPropertiesOfCertificates().byPage({ maxPageSize: 2 }));
    assert.deepEqual(mine(sdkPages.flat().map((p) => p.name)), names);
    const rest = await collect(client.listPropertiesOfCertificates().byPage({ continuationToken: firstNextLink }));
    assert.ok(rest.length >= 2, "resuming from page 2 yields 2+ pages of 2");
    for (const page of rest) assert.ok(page.length <= 2, `continued page has ${page.length} items`);
    const firstPage = (await request(server, { path: `/certificates?api-version=7.5&maxresults=2`, token: true })).json.value.map(
      (i) => i.id.split("/").pop(),
    );
    assert.deepEqual(mine([...firstPage, ...rest.flat().map((p) => p.name)]), names);
  });

  it("gets and updates the certificate policy", async () => {
    const name = uniqueName("policy");
    await done(
      await client.beginCreateCertificate(
        name,
        { issuerName: "Self", subject: "CN=before", keyType: "EC", keyCurveName: "P-256", validityInMonths: 12 },
        FAST,
      ),
    );
    const before = await client.getCertificatePolicy(name);
    assert.equal(before.subject, "CN=before");
    assert.equal(before.validityInMonths, 12);
    assert.equal(before.issuerName, "Self");

    await client.updateCertificatePolicy(name, {
      issuerName: "Self",
      subject: "CN=after",
      keyType: "EC",
      keyCurveName: "P-384",
      validityInMonths: 6,
      contentType: "application/x-pem-file",
    });
    const after = await client.getCertificatePolicy(name);
    assert.equal(after.subject, "CN=after");
    assert.equal(after.validityInMonths, 6);
    assert.equal(after.keyCurveName, "P-384");
    assert.equal(after.contentType, "application/x-pem-file");
    assert.equal((await client.getCertificate(name)).policy.subject, "CN=after");

    // A new version follows the updated policy.
    const v2 = await done(await client.beginCreateCertificate(name, after, FAST));
    const x509 = x509Of(v2);
    assert.match(x509.subject, /^CN=after$/);
    assert.equal(x509.publicKey.asymmetricKeyDetails.namedCurve, "secp384r1");
  });

  it("updates certificate properties (enabled, tags)", async () => {
    const name = uniqueName("props");
    const created = await done(
      await client.beginCreateCertificate(
        name,
        { issuerName: "Self", subject: "CN=props", keyType: "EC", keyCurveName: "P-256" },
        { ...FAST, tags: { a: "1" } },
      ),
    );
    const updated = await client.updateCertificateProperties(name, "", { enabled: false, tags: { b: "2" } });
    assert.equal(updated.properties.enabled, false);
    assert.deepEqual(updated.properties.tags, { b: "2" });
    assert.equal(updated.properties.version, created.properties.version);

    const got = await client.getCertificate(name);
    assert.equal(got.properties.enabled, false);
    assert.deepEqual(got.properties.tags, { b: "2" });
    assert.ok(got.properties.updatedOn >= created.properties.updatedOn);

    const again = await client.updateCertificateProperties(name, created.properties.version, { enabled: true });
    assert.equal(again.properties.enabled, true);
    assert.deepEqual(again.properties.tags, { b: "2" }, "tags not given are kept");
    assert.equal((await client.getCertificateVersion(name, created.properties.version)).properties.enabled, true);
  });
});
