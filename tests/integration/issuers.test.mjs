// Certificate issuers: the Key Vault issuers API through the unmodified SDK (create, get, update,
// list, delete) and over plain REST (certvault's `settings`, refused input that changes nothing);
// the built-in CA (templates that accept and refuse, the chain to the server's root, revocation
// and the CRL it publishes); the `command` provider driving a real openssl CA through a script
// (environment, refusal with exit 65, a CA that is down for a while and comes back).
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fsp from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { certificateClient, done, FAST, secretClient } from "./lib/clients.mjs";
import {
  commandsDir, currentCertificate, getIssuerRaw, installCommand, jobsOf, opensslRun,
  pendingOperation, putIssuer, recordedCalls, recordedEnv, responseRecorder, signingScript,
  vaultApi, versionsOf, waitForJob,
} from "./lib/lifecycle.mjs";
import { certText, derToPem, keyMatchesCert, openssl, pemBlocks, Pki } from "./lib/pki.mjs";
import { request, startServer, vaultUrl } from "./lib/server.mjs";
import { assertErrorEnvelope, collect, expectRestError, pollUntil, uniqueName } from "./lib/util.mjs";

const DAY = 86_400_000;
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The template settings of the built-in CA used below: *.corp.test only, 30 days at most. */
const WEB_SETTINGS = Object.freeze({
  templates: {
    web: {
      key_types: ["EC-P256", "RSA-2048"],
      key_usage: ["digitalSignature"],
      ekus: [SERVER_AUTH],
      max_validity: "P30D",
      dns_names: ["*.corp.test"],
      allow_wildcards: false,
      san_kinds: ["dns"],
      subject_required: false,
    },
  },
  default_template: "web",
});

function x509Of(cert) {
  assert.ok(cert.cer && cert.cer.length > 0, `certificate ${cert.name} has no cer`);
  return new crypto.X509Certificate(Buffer.from(cert.cer));
}

const spki = (x509) => x509.publicKey.export({ type: "spki", format: "der" });

describe("issuers", { timeout: 180_000 }, () => {
  let server;
  let client;
  let secrets;
  let pki;
  let testCa; // the CA behind the command issuer
  let script; // its signing script, inside the server's commands directory
  let root; // the server's root CA (ca.pem)

  before(async () => {
    server = await startServer({ extraArgs: ["--retry-initial", "PT1S", "--retry-max", "PT4S"] });
    client = certificateClient(server);
    secrets = secretClient(server);
    pki = await Pki.create();
    testCa = await pki.makeCA("ca", { cn: "certvault command issuer test CA" });
    script = await installCommand(server, "openssl-ca.sh", signingScript());
    const roots = pemBlocks(server.ca).filter((b) => b.type === "CERTIFICATE");
    assert.ok(roots.length >= 1, "ca.pem holds the root");
    root = new crypto.X509Certificate(roots[0].der);
  });

  after(async () => {
    await server?.stop();
    await pki?.cleanup();
  });

  /** A new built-in CA issuer with the web template; returns its name. */
  async function corpIssuer() {
    const name = uniqueName("corp");
    const res = await putIssuer(server, name, { provider: "internal", settings: WEB_SETTINGS });
    assert.equal(res.status, 200, res.text);
    return name;
  }

  /** A command issuer running the signing script with its own control dir; {name, ctl}. */
  async function commandIssuer({ timeout = "PT30S" } = {}) {
    const name = uniqueName("cmd");
    const ctl = await fsp.mkdtemp(path.join(pki.dir, "ctl-"));
    const res = await putIssuer(server, name, {
      provider: "command",
      settings: { command: script, args: [], timeout, env: { IT_CA: pki.dir, IT_CTL: ctl } },
    });
    assert.equal(res.status, 200, res.text);
    return { name, ctl };
  }

  /** The issuing CA of the built-in CA (GET /pki/default/ca, no token). */
  async function issuingCa() {
    const res = await request(server, { path: "/pki/default/ca", host: "localhost" });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers["content-type"], "application/pkix-cert");
    return new crypto.X509Certificate(res.body);
  }

  // -------------------------------------------------------------------------------------------
  // The issuers API

  it("SDK: creates, gets, updates, lists and deletes an issuer", async () => {
    const name = uniqueName("sdk-issuer");
    const admins = [{ firstName: "Ada", lastName: "Admin", email: "ada@example.test", phone: "+1 555 0100" }];
    const created = await client.createIssuer(name, "internal", {
      accountId: "acct-1",
      password: "issuer-s3cret-pw",
      organizationId: "org-1",
      administratorContacts: admins,
      enabled: false,
    });
    const id = `${vaultUrl(server.port)}/certificates/issuers/${name}`;
    assert.equal(created.id, id);
    assert.equal(created.provider, "internal");
    assert.equal(created.accountId, "acct-1");
    assert.equal(created.password, undefined, "the password is never answered");
    assert.equal(created.enabled, false);
    assert.equal(created.organizationId, "org-1");
    assert.deepEqual(created.administratorContacts, admins);
    assert.ok(created.createdOn instanceof Date && created.updatedOn instanceof Date);
    assert.ok(Math.abs(created.createdOn.getTime() - Date.now()) < 600_000, "created is now (Unix seconds)");

    const got = await client.getIssuer(name);
    assert.equal(got.id, id);
    assert.equal(got.enabled, false);
    assert.equal(got.accountId, "acct-1");
    assert.deepEqual(got.administratorContacts, admins);
    const raw = await vaultApi(server, "GET", `/certificates/issuers/${name}`, { expect: 200 });
    assert.doesNotMatch(raw.text, /issuer-s3cret-pw/, "the password is not in the answer");
    assert.equal(raw.json.credentials.pwd, undefined);

    // The SDK's updateIssuer sends attributes only when `enabled` is truthy: it can enable.
    const updated = await client.updateIssuer(name, { enabled: true, organizationId: "org-2" });
    assert.equal(updated.enabled, true);
    assert.equal(updated.organizationId, "org-2");
    assert.equal(updated.accountId, "acct-1", "an update keeps what it does not name");
    assert.equal(updated.provider, "internal");
    assert.equal(updated.createdOn.getTime(), created.createdOn.getTime());
    assert.ok(updated.updatedOn.getTime() >= created.updatedOn.getTime());
    assert.equal((await client.getIssuer(name)).enabled, true);

    // ...and disabling goes over REST (PATCH attributes.enabled=false), visible to the SDK.
    await vaultApi(server, "PATCH", `/certificates/issuers/${name}`, { body: { attributes: { enabled: false } }, expect: 200 });
    const disabled = await client.getIssuer(name);
    assert.equal(disabled.enabled, false);
    assert.equal(disabled.organizationId, "org-2");
    assert.equal(disabled.accountId, "acct-1");

    const listed = await collect(client.listPropertiesOfIssuers());
    const mine = listed.filter((i) => i.id === id);
    assert.equal(mine.length, 1, `listed once: ${JSON.stringify(listed)}`);
    assert.equal(mine[0].provider, "internal");

    const deleted = await client.deleteIssuer(name);
    assert.equal(deleted.id, id);
    assert.equal(deleted.provider, "internal");
    await expectRestError(client.getIssuer(name), { statusCode: 404, code: "CertificateIssuerNotFound" }, "get after delete");
    await expectRestError(client.deleteIssuer(name), { statusCode: 404, code: "CertificateIssuerNotFound" }, "delete again");
    assert.ok(!(await collect(client.listPropertiesOfIssuers())).some((i) => i.id === id), "no longer listed");
  });

  it("REST: settings round-trip; refused input changes nothing", async () => {
    const name = uniqueName("rest-issuer");
    const put = await putIssuer(server, name, {
      provider: "internal",
      credentials: { account_id: "ops" },
      attributes: { enabled: true },
      settings: WEB_SETTINGS,
    });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json.id, `${vaultUrl(server.port)}/certificates/issuers/${name}`);
    assert.equal(put.json.provider, "internal");
    assert.deepEqual(put.json.settings, WEB_SETTINGS);
    const before = await getIssuerRaw(server, name);
    assert.deepEqual(before.settings, WEB_SETTINGS, "GET answers the settings as set");
    assert.equal(before.credentials.account_id, "ops");

    const missing = uniqueName("never");
    const badTemplate = (tmpl) => ({ provider: "internal", settings: { templates: { web: tmpl } } });
    const cases = [
      { what: "malformed JSON", body: '{"provider": "internal", "settings": {', message: /JSON/ },
      { what: "JSON that is not an object", body: "[1,2]" },
      { what: "unknown provider", body: { provider: "digicertish" }, message: /digicertish.*known: acme, command, internal, worker/ },
      { what: "unknown template member", body: badTemplate({ bogus: 1 }), message: /settings\.templates\.web\.bogus/ },
      { what: "bad max_validity", body: badTemplate({ max_validity: "a while" }), message: /settings\.templates\.web\.max_validity/ },
      { what: "unknown key type", body: badTemplate({ key_types: ["DSA-1024"] }), message: /settings\.templates\.web\.key_types/ },
      { what: "bad DNS pattern", body: badTemplate({ dns_names: ["exa mple.test"] }), message: /settings\.templates\.web\.dns_names/ },
      { what: "CA key usage in a template", body: badTemplate({ key_usage: ["keyCertSign"] }), message: /settings\.templates\.web\.key_usage/ },
      { what: "unknown settings member", body: { provider: "internal", settings: { templatez: {} } }, message: /settings\.templatez/ },
      { what: "settings not an object", body: { provider: "internal", settings: "web" }, message: /settings/ },
      { what: "enabled not a boolean", body: { provider: "internal", attributes: { enabled: "yes" } }, message: /enabled/ },
      { what: "command outside the commands dir", body: { provider: "command", settings: { command: "/bin/sh" } }, message: /commands directory/ },
      { what: "command escaping the commands dir", body: { provider: "command", settings: { command: `${commandsDir(server)}/../kek` } }, message: /commands directory/ },
      { what: "relative command", body: { provider: "command", settings: { command: "openssl-ca.sh" } }, message: /absolute/ },
      { what: "command with no command", body: { provider: "command", settings: { args: [] } }, message: /settings\.command/ },
      { what: "command env with the reserved prefix", body: { provider: "command", settings: { command: script, env: { CERTVAULT_VAULT: "x" } } }, message: /CERTVAULT_/ },
      { what: "command timeout out of range", body: { provider: "command", settings: { command: script, timeout: "P2D" } }, message: /timeout/ },
    ];
    for (const c of cases) {
      for (const [target, method] of [[name, "PUT"], [name, "PATCH"], [missing, "PUT"]]) {
        const res = await vaultApi(server, method, `/certificates/issuers/${target}`, { body: c.body });
        const err = assertErrorEnvelope(res, 400, "BadParameter", `${c.what} (${method} ${target === name ? "existing" : "new"})`);
        if (c.message) assert.match(err.message, c.message, c.what);
      }
    }
    assert.deepEqual(await getIssuerRaw(server, name), before, "the existing issuer is unchanged");
    assert.equal(await getIssuerRaw(server, missing), null, "no issuer was created");

    // PATCH of an issuer that does not exist creates nothing.
    const patched = await vaultApi(server, "PATCH", `/certificates/issuers/${missing}`, { body: { provider: "internal" } });
    assertErrorEnvelope(patched, 404, "CertificateIssuerNotFound", "PATCH of a missing issuer");
    assert.equal(await getIssuerRaw(server, missing), null);

    // Reserved and invalid names.
    for (const bad of ["Self", "Unknown", "self", "UNKNOWN"]) {
      const res = await putIssuer(server, bad, { provider: "internal" });
      const err = assertErrorEnvelope(res, 400, "BadParameter", `reserved name ${bad}`);
      assert.match(err.message, /reserved/);
    }
    for (const bad of ["bad_name", "a.b", "x".repeat(128)]) {
      const res = await putIssuer(server, bad, { provider: "internal" });
      const err = assertErrorEnvelope(res, 400, "BadParameter", `invalid name ${bad}`);
      assert.match(err.message, /issuer name/);
    }
    const listed = (await vaultApi(server, "GET", "/certificates/issuers", { expect: 200 })).json.value.map((i) => i.id.split("/").pop());
    for (const n of ["Self", "Unknown", "self", "UNKNOWN", "bad_name", missing]) {
      assert.ok(!listed.some((l) => l.toLowerCase() === n.toLowerCase()), `${n} is not listed: ${listed}`);
    }
    assert.ok(listed.includes(name), `${name} is listed`);

    // A PATCH that is valid replaces only what it names.
    const narrowed = { templates: { web: { ...WEB_SETTINGS.templates.web, max_validity: "P7D" } }, default_template: "web" };
    const ok = await vaultApi(server, "PATCH", `/certificates/issuers/${name}`, { body: { settings: narrowed }, expect: 200 });
    assert.deepEqual(ok.json.settings, narrowed);
    assert.equal(ok.json.credentials.account_id, "ops");
    assert.equal(ok.json.provider, "internal");
  });

  // -------------------------------------------------------------------------------------------
  // The built-in CA

  it("built-in CA: the SDK sees inProgress then completed; chain to the root, EKU and validity per template", async () => {
    const issuerName = await corpIssuer();
    const name = uniqueName("web");
    const rec = responseRecorder();
    const recording = certificateClient(server, "default", rec.options);
    const poller = await recording.beginCreateCertificate(
      name,
      {
        issuerName,
        certificateType: "web",
        subject: "CN=app.corp.test",
        subjectAlternativeNames: { dnsNames: ["app.corp.test", "api.corp.test"] },
        keyType: "EC",
        keyCurveName: "P-256",
        validityInMonths: 12, // more than the template's 30 days
        enhancedKeyUsage: [SERVER_AUTH, CLIENT_AUTH], // more than the template's serverAuth
        contentType: "application/x-pem-file",
      },
      FAST,
    );
    const cert = await done(poller);

    // What the SDK saw of the operation: the 202 of the create (inProgress), then the pending
    // operation until it left inProgress (completed).
    const seen = rec.log.filter((r) => /\/certificates\/[^/]+\/(create|pending)$/.test(r.path));
    assert.equal(seen[0].path, `/certificates/${name}/create`);
    assert.equal(seen[0].httpStatus, 202);
    assert.equal(seen[0].status, "inProgress", `the create answers inProgress: ${JSON.stringify(seen)}`);
    assert.equal(seen.at(-1).status, "completed", JSON.stringify(seen));
    const statuses = seen.map((r) => r.status);
    assert.ok(statuses.every((s) => s === "inProgress" || s === "completed"), JSON.stringify(statuses));
    assert.equal(statuses.indexOf("completed"), statuses.length - 1, `inProgress until completed: ${statuses}`);
    const op = (await client.getCertificateOperation(name)).getOperationState().certificateOperation;
    assert.equal(op.status, "completed");
    assert.equal(op.issuerName, issuerName);
    assert.equal(op.certificateType, "web");

    // The chain: leaf <- issuing CA (GET /pki/default/ca) <- the server's root (ca.pem).
    const leaf = x509Of(cert);
    const intermediate = await issuingCa();
    assert.ok(leaf.checkIssued(intermediate), `leaf issuer ${leaf.issuer} is the issuing CA ${intermediate.subject}`);
    assert.ok(leaf.verify(intermediate.publicKey), "the issuing CA signed the leaf");
    assert.ok(intermediate.ca, "the issuing CA is a CA");
    assert.ok(intermediate.checkIssued(root) && intermediate.verify(root.publicKey), "the root signed the issuing CA");
    assert.notEqual(intermediate.fingerprint256, root.fingerprint256, "an intermediate, not the root itself");
    const leafFile = await pki.write(`${name}.pem`, derToPem(cert.cer));
    const intFile = await pki.write(`${name}-int.pem`, intermediate.toString());
    const verified = await opensslRun(["verify", "-CAfile", server.caPath, "-untrusted", intFile, leafFile]);
    assert.equal(verified.code, 0, `openssl verify: ${verified.stdout}${verified.stderr}`);
    assert.match(verified.stdout, /: OK/);
    const alone = await opensslRun(["verify", "-CAfile", server.caPath, leafFile]);
    assert.notEqual(alone.code, 0, "without the intermediate the leaf does not verify (it is not signed by the root)");

    // The template decides: serverAuth only, digitalSignature only, 30 days at most, DNS names kept.
    assert.deepEqual(leaf.keyUsage, [SERVER_AUTH], "EKUs are the template's");
    const days = (new Date(leaf.validTo) - new Date(leaf.validFrom)) / DAY;
    assert.ok(days > 29.9 && days <= 30.001, `validity capped at the template's 30 days, got ${days}`);
    assert.ok(Math.abs(new Date(leaf.validFrom).getTime() - Date.now()) < 600_000, "valid from now");
    assert.equal(cert.properties.expiresOn.getTime(), new Date(leaf.validTo).getTime());
    assert.match(leaf.subjectAltName, /DNS:app\.corp\.test/);
    assert.match(leaf.subjectAltName, /DNS:api\.corp\.test/);
    assert.equal(leaf.publicKey.asymmetricKeyDetails.namedCurve, "prime256v1");
    const text = await certText(pki, Buffer.from(cert.cer));
    assert.match(/X509v3 Key Usage:[^\n]*\n\s*([^\n]*)/.exec(text)?.[1] ?? "", /^Digital Signature$/, text);
    assert.match(text, new RegExp(`URI:https://localhost:${server.port}/pki/default/crl`), "CRL distribution point");
    assert.match(text, new RegExp(`CA Issuers - URI:https://localhost:${server.port}/pki/default/ca`), "AIA caIssuers");

    // The secret: key + leaf + issuing CA, and the key is the leaf's.
    const secret = await secrets.getSecret(name);
    assert.equal(secret.properties.contentType, "application/x-pem-file");
    const blocks = pemBlocks(secret.value);
    const key = blocks.find((b) => b.type === "PRIVATE KEY");
    assert.ok(key, "the secret holds the private key");
    assert.ok(keyMatchesCert(key.pem, leaf), "the key matches the certificate");
    const certs = blocks.filter((b) => b.type === "CERTIFICATE");
    assert.deepEqual(certs[0].der, Buffer.from(cert.cer), "the leaf comes first");
    assert.ok(certs.some((b) => b.der.equals(intermediate.raw)), "the chain includes the issuing CA");

    // One job, for the create, done in one attempt.
    const jobs = await jobsOf(server, name);
    assert.equal(jobs.length, 1, JSON.stringify(jobs));
    assert.equal(jobs[0].trigger, "create");
    assert.equal(jobs[0].issuer, issuerName);
    assert.equal(jobs[0].status, "succeeded");
    assert.equal(jobs[0].attempts.length, 1);
    assert.equal(jobs[0].attempts[0].outcome, "succeeded");
    assert.equal(jobs[0].request_id, op.requestId);
    assert.deepEqual(await versionsOf(server, name), [cert.properties.version], "exactly one version");
  });

  it("built-in CA: a name the template does not allow fails the operation with the reason", async () => {
    const issuerName = await corpIssuer();
    const name = uniqueName("evil");
    const reason = "template web: DNS name evil.com is not allowed (allowed: *.corp.test)";
    // The refusal can come so fast that beginCreateCertificate's own first poll sees it: either
    // way the SDK must reject with the CA's reason.
    const createAndWait = async () => {
      const poller = await client.beginCreateCertificate(
        name,
        { issuerName, certificateType: "web", subject: "CN=evil.com", subjectAlternativeNames: { dnsNames: ["evil.com"] }, keyType: "EC", keyCurveName: "P-256" },
        FAST,
      );
      return done(poller);
    };
    await assert.rejects(createAndWait(), (err) => {
      assert.equal(err.message, reason);
      return true;
    });
    // The SDK's getCertificateOperation rejects with the operation's error message when it failed.
    await assert.rejects(client.getCertificateOperation(name), (err) => {
      assert.equal(err.message, reason);
      return true;
    });
    const op = await pendingOperation(server, name);
    assert.equal(op.status, "failed");
    assert.deepEqual(op.error, { code: "CertificateRequestRefused", message: reason });

    const jobs = await jobsOf(server, name);
    assert.equal(jobs.length, 1, JSON.stringify(jobs));
    assert.equal(jobs[0].status, "failed");
    assert.equal(jobs[0].last_error, reason);
    assert.equal(jobs[0].attempts.length, 1, "a refusal is not retried");
    assert.equal(jobs[0].attempts[0].outcome, "failed");
    assert.equal(jobs[0].attempts[0].error, reason);
    assert.deepEqual(await versionsOf(server, name), [], "no version was made");
  });

  it("built-in CA: a revoked version is in the CRL its certificates point to, signed by the issuing CA", async () => {
    const issuerName = await corpIssuer();
    const name = uniqueName("revoked");
    const policy = { issuerName, certificateType: "web", subject: "CN=old.corp.test", subjectAlternativeNames: { dnsNames: ["old.corp.test"] }, keyType: "EC", keyCurveName: "P-256" };
    const v1 = await done(await client.beginCreateCertificate(name, policy, FAST));
    const v2 = await done(await client.beginCreateCertificate(name, policy, FAST));
    const leaf1 = x509Of(v1);
    const leaf2 = x509Of(v2);

    const revoked = await vaultApi(server, "POST", `/certificates/${name}/${v1.properties.version}/revoke`, {
      body: { reason: "keyCompromise" },
      expect: 200,
    });
    assert.equal(revoked.json.revoked, true, revoked.text);
    assert.equal(revoked.json.reason, "keyCompromise");

    // The CRL distribution point of the certificate, fetched without a token.
    const text = await certText(pki, Buffer.from(v1.cer));
    const crlUrl = /URI:(https:\/\/\S+\/crl)\b/.exec(text)?.[1];
    assert.ok(crlUrl, `the certificate names a CRL: ${text}`);
    const crl = await request(server, { path: crlUrl });
    assert.equal(crl.status, 200, crl.text);
    assert.equal(crl.headers["content-type"], "application/pkix-crl");
    const crlFile = await pki.write(`${name}.crl`, crl.body);
    const crlText = (await openssl(["crl", "-inform", "DER", "-in", crlFile, "-text", "-noout"])).toString();
    assert.match(crlText, new RegExp(`Serial Number: ${leaf1.serialNumber}\\b`, "i"), `serial ${leaf1.serialNumber} listed: ${crlText}`);
    assert.match(crlText, /Key Compromise/);
    assert.doesNotMatch(crlText, new RegExp(`Serial Number: ${leaf2.serialNumber}\\b`, "i"), "the other version is not revoked");
    assert.match(crlText, new RegExp(`Issuer: .*${leaf1.issuer.split("\n")[0].replace(/^CN=/, "")}`), "issued by the issuing CA");

    // Signed by the issuing CA (AIA URL, fetched without a token).
    const aiaUrl = /CA Issuers - URI:(\S+)/.exec(text)?.[1];
    const ca = await request(server, { path: aiaUrl });
    assert.equal(ca.status, 200);
    const caFile = await pki.write(`${name}-ca.pem`, derToPem(ca.body));
    const check = await opensslRun(["crl", "-inform", "DER", "-in", crlFile, "-CAfile", caFile, "-noout"]);
    assert.equal(check.code, 0, check.stderr);
    assert.match(`${check.stdout}${check.stderr}`, /verify OK/);
    const wrong = await opensslRun(["crl", "-inform", "DER", "-in", crlFile, "-CAfile", testCa.certPath, "-noout"]);
    assert.doesNotMatch(`${wrong.stdout}${wrong.stderr}`, /verify OK/, "control: another CA does not verify it");

    // Revoking needs an issuer that can revoke, and a version that exists.
    const self = uniqueName("self");
    const selfCert = await done(await client.beginCreateCertificate(self, { issuerName: "Self", subject: "CN=self" }, FAST));
    const refused = await vaultApi(server, "POST", `/certificates/${self}/${selfCert.properties.version}/revoke`, { body: { reason: "keyCompromise" } });
    assertErrorEnvelope(refused, 400, "BadParameter", "revoke of a Self-issued version");
    const none = await vaultApi(server, "POST", `/certificates/${name}/${"0".repeat(32)}/revoke`, { body: { reason: "keyCompromise" } });
    assert.equal(none.status, 404, none.text);
  });

  it("a disabled issuer: new requests are refused, requests in flight wait until the SDK enables it", async () => {
    // An `internal` issuer made with the SDK (no settings: the permissive default template).
    const issuerName = uniqueName("off");
    await client.createIssuer(issuerName, "internal", { enabled: false });
    const name = uniqueName("off-cert");
    const policy = { issuerName, subject: "CN=held.example.test", keyType: "EC", keyCurveName: "P-256", validityInMonths: 1 };
    const refused = await expectRestError(client.beginCreateCertificate(name, policy, FAST), { statusCode: 400, code: "BadParameter" }, "create with a disabled issuer");
    assert.match(refused.message, new RegExp(`issuer '${issuerName}' is disabled`));
    await expectRestError(client.getCertificate(name), { statusCode: 404, code: "CertificateNotFound" }, "nothing was created");

    await client.updateIssuer(issuerName, { enabled: true });
    const cert = await done(await client.beginCreateCertificate(name, policy, FAST));
    const leaf = x509Of(cert);
    assert.ok(leaf.verify((await issuingCa()).publicKey), "issued by the built-in CA");
    const days = (new Date(leaf.validTo) - new Date(leaf.validFrom)) / DAY;
    assert.ok(days >= 28 && days <= 31, `the permissive template keeps the requested month: ${days}`);

    // Disabled while a request is in flight (its CA down): the job keeps waiting, without running
    // the command, until the issuer is enabled again.
    const { name: cmdIssuer, ctl } = await commandIssuer();
    const down = path.join(ctl, "down");
    await fsp.writeFile(down, "");
    const held = uniqueName("held-cert");
    const poller = await client.beginCreateCertificate(held, { issuerName: cmdIssuer, subject: "CN=held.example.test", keyType: "EC", keyCurveName: "P-256" }, FAST);
    const [first] = await pollUntil(async () => {
      const jobs = await jobsOf(server, held);
      return jobs[0]?.attempts.length >= 1 && jobs[0].status === "queued" ? jobs : null;
    }, { timeoutMs: 20_000, intervalMs: 100, what: "a failed attempt" });
    await vaultApi(server, "PATCH", `/certificates/issuers/${cmdIssuer}`, { body: { attributes: { enabled: false } }, expect: 200 });
    const disabled = await waitForJob(server, first.job_id, (j) => j.status === "queued" && /is disabled/.test(j.last_error ?? ""), {
      timeoutMs: 20_000,
      what: "an attempt refused because the issuer is disabled",
    });
    assert.match(disabled.last_error, new RegExp(`issuer ${cmdIssuer} is disabled`));
    assert.equal(disabled.attempts.at(-1).outcome, "retry");
    // The CA is back, but the issuer is still disabled: the next attempt does not run the command.
    await fsp.rm(down);
    const runs = (await recordedCalls(ctl)).length;
    const again = await waitForJob(server, first.job_id, (j) => j.status === "queued" && j.attempts.length > disabled.attempts.length, {
      timeoutMs: 20_000,
      what: "one more attempt while disabled",
    });
    assert.match(again.last_error, /is disabled/);
    assert.equal((await recordedCalls(ctl)).length, runs, "the command does not run while the issuer is disabled");
    assert.equal((await pendingOperation(server, held)).status, "inProgress");
    assert.deepEqual(await versionsOf(server, held), []);

    await client.updateIssuer(cmdIssuer, { enabled: true });
    const issued = await done(poller);
    assert.ok(x509Of(issued).verify(testCa.x509.publicKey));
    assert.equal((await waitForJob(server, first.job_id, (j) => j.status === "succeeded")).attempts.at(-1).outcome, "succeeded");
    assert.deepEqual(await versionsOf(server, held), [issued.properties.version]);
  });

  // -------------------------------------------------------------------------------------------
  // The command provider

  it("command: a script signs the CSR with an openssl CA; the CERTVAULT_* environment arrives", async () => {
    const { name: issuerName, ctl } = await commandIssuer();
    const name = uniqueName("cmd");
    const cert = await done(
      await client.beginCreateCertificate(
        name,
        {
          issuerName,
          certificateType: "tls-server",
          subject: "CN=svc.example.test",
          subjectAlternativeNames: { dnsNames: ["svc.example.test"] },
          keyType: "EC",
          keyCurveName: "P-256",
          validityInMonths: 2,
          contentType: "application/x-pem-file",
        },
        FAST,
      ),
    );
    const leaf = x509Of(cert);
    assert.ok(leaf.checkIssued(testCa.x509) && leaf.verify(testCa.x509.publicKey), "signed by the test CA");
    assert.match(leaf.subjectAltName, /DNS:svc\.example\.test/, "the CSR's extensions were copied");
    const secret = await secrets.getSecret(name);
    const blocks = pemBlocks(secret.value);
    assert.ok(keyMatchesCert(blocks.find((b) => b.type === "PRIVATE KEY").pem, leaf));
    const chain = blocks.filter((b) => b.type === "CERTIFICATE");
    assert.deepEqual(chain[0].der, Buffer.from(cert.cer));
    assert.ok(chain.some((b) => b.der.equals(testCa.certDer)), "the chain contains the test CA");

    const op = (await client.getCertificateOperation(name)).getOperationState().certificateOperation;
    assert.equal(op.status, "completed");
    const [job] = await jobsOf(server, name);
    assert.equal(job.status, "succeeded");
    const calls = await recordedCalls(ctl);
    assert.deepEqual(calls, [op.requestId], "the command ran once, for this request");
    const env = await recordedEnv(ctl, op.requestId);
    assert.equal(env.CERTVAULT_VAULT, "default");
    assert.equal(env.CERTVAULT_CERTIFICATE, name);
    assert.equal(env.CERTVAULT_ISSUER, issuerName);
    assert.equal(env.CERTVAULT_TEMPLATE, "tls-server");
    assert.equal(env.CERTVAULT_REQUEST_ID, op.requestId);
    assert.equal(env.CERTVAULT_JOB_ID, job.job_id);
    const nbf = Number(env.CERTVAULT_NOT_BEFORE);
    const naf = Number(env.CERTVAULT_NOT_AFTER);
    assert.ok(Math.abs(nbf - Date.now() / 1000) < 600, `CERTVAULT_NOT_BEFORE is now: ${nbf}`);
    const requested = (naf - nbf) / 86400;
    assert.ok(requested >= 59 && requested <= 62, `CERTVAULT_NOT_AFTER is 2 months later: ${requested} days`);
    assert.equal(Number(env.CERTVAULT_VALIDITY_DAYS), Math.ceil((naf - nbf) / 86400));
    const days = (new Date(leaf.validTo) - new Date(leaf.validFrom)) / DAY;
    assert.ok(Math.abs(days - Number(env.CERTVAULT_VALIDITY_DAYS)) < 0.01, `the CA used CERTVAULT_VALIDITY_DAYS: ${days}`);
    // The CSR the command got is the operation's, for the key now in the vault.
    const csr = await fsp.readFile(path.join(ctl, `csr.${op.requestId}`), "utf8");
    assert.equal(pemBlocks(csr)[0].der.toString("base64"), Buffer.from(op.csr).toString("base64"));
    const csrKey = (await openssl(["req", "-in", path.join(ctl, `csr.${op.requestId}`), "-pubkey", "-noout"])).toString();
    assert.deepEqual(crypto.createPublicKey(csrKey).export({ type: "spki", format: "der" }), spki(leaf));
  });

  it("command: exit 65 is a refusal: the operation fails with the CA's words, no retry", async () => {
    const { name: issuerName, ctl } = await commandIssuer();
    await fsp.writeFile(path.join(ctl, "refuse"), "");
    const name = uniqueName("cmd-refused");
    const poller = await client.beginCreateCertificate(name, { issuerName, subject: "CN=no.example.test", keyType: "EC", keyCurveName: "P-256" }, FAST);
    await assert.rejects(done(poller), (err) => {
      assert.match(err.message, /refused by policy/);
      return true;
    });
    await assert.rejects(client.getCertificateOperation(name), /refused by policy/);
    const op = await pendingOperation(server, name);
    assert.equal(op.status, "failed");
    assert.equal(op.error?.code, "CertificateRequestRefused");
    assert.match(op.error?.message ?? "", /exited with status 65.*refused by policy/);
    const [job] = await jobsOf(server, name);
    assert.equal(job.status, "failed");
    assert.match(job.last_error, /refused by policy/);
    await sleep(2_500); // longer than --retry-initial: a retry would have run by now
    assert.equal((await recordedCalls(ctl)).length, 1, "a refusal is not retried");
    assert.equal((await jobsOf(server, name))[0].attempts.length, 1);
    assert.deepEqual(await versionsOf(server, name), []);
  });

  it("command: a CA that is down is retried with backoff; when it is back, exactly one version", async () => {
    const { name: issuerName, ctl } = await commandIssuer();
    const down = path.join(ctl, "down");
    await fsp.writeFile(down, "");
    const name = uniqueName("cmd-down");
    const poller = await client.beginCreateCertificate(name, { issuerName, subject: "CN=later.example.test", keyType: "EC", keyCurveName: "P-256" }, FAST);

    const [queued] = await pollUntil(async () => {
      const jobs = await jobsOf(server, name);
      return jobs.length === 1 && jobs[0].status === "queued" && jobs[0].attempts.length >= 2 ? jobs : null;
    }, { timeoutMs: 30_000, intervalMs: 200, what: "two failed attempts" });
    assert.match(queued.last_error, /CA unavailable/);
    assert.match(queued.last_error, /exited with status 1/);
    assert.ok(queued.attempts.every((a) => a.outcome === "retry" && /CA unavailable/.test(a.error)), JSON.stringify(queued.attempts));
    assert.ok(queued.next_attempt >= queued.attempts.at(-1).finished, "a next attempt is scheduled");
    const op = (await client.getCertificateOperation(name)).getOperationState().certificateOperation;
    assert.equal(op.status, "inProgress", "the operation stays in progress while the CA is down");
    assert.equal(poller.isDone(), false);
    assert.deepEqual(await versionsOf(server, name), []);

    await fsp.rm(down);
    const cert = await done(poller);
    assert.ok(x509Of(cert).verify(testCa.x509.publicKey));
    const job = await waitForJob(server, queued.job_id, (j) => j.status === "succeeded");
    assert.equal(job.attempts.at(-1).outcome, "succeeded");
    assert.ok(job.attempts.slice(0, -1).every((a) => a.outcome === "retry"));
    const calls = await recordedCalls(ctl);
    assert.equal(calls.length, job.attempts.length, "one run per attempt");
    assert.ok(calls.every((c) => c === op.requestId), "every attempt sent the same request (same CSR)");
    assert.deepEqual(await versionsOf(server, name), [cert.properties.version], "exactly one new version");
    assert.equal((await currentCertificate(server, name)).id.split("/").pop(), cert.properties.version);
    assert.equal((await jobsOf(server, name)).length, 1);
  });

  it("without --test-clock the server's clock cannot be moved", async () => {
    const res = await request(server, { method: "POST", path: "/management/clock", host: "localhost", token: true, body: { advance: "P30D" } });
    const err = assertErrorEnvelope(res, 404, "NotFound", "POST /management/clock");
    assert.match(err.message, /--test-clock/);
  });
});
