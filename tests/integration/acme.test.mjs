// The `acme` issuer against a real pebble (Let's Encrypt's ACME test CA), driven with the unmodified
// SDK: create through an ACME order answered over http-01 by the server's own listener
// (--acme-http-listen), pebble's chain up to pebble's root, the key matching the secret; a pebble
// that requires External Account Binding (works with the issuer's credentials, fails with a clear
// error without them, before any order); a renewal resumed after kill -9 right after the order was
// placed and saved (one new version, no second order); AutoRenew at 80% through the test clock
// (one new version from one new order).
//
// One server and two pebbles (one plain, one requiring EAB); both validate against the server's
// http-01 port. pebble-challtestsrv is pebble's DNS server and answers 127.0.0.1 for every name.
// The tests run in order: each builds on the certificate the first one made. Skipped only when
// pebble is not installed.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { certificateClient, done, FAST, secretClient } from "./lib/clients.mjs";
import { EAB_HMAC_KEY, EAB_KID, freePort, ordersForSerial, pebbleMissing, startPebble } from "./lib/pebble.mjs";
import { keyMatchesCert, pemBlocks } from "./lib/pki.mjs";
import { request, startServer } from "./lib/server.mjs";
import { collect, pollUntil } from "./lib/util.mjs";

const API = "api-version=7.5";
const DAY = 86_400;
const VALIDITY_SECONDS = 90 * DAY; // pebble issues Let's Encrypt-like 90-day certificates
const NAME = "app";
const DNS_NAME = "app.example.test";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** An SDK policy for an EC P-256 certificate of `dns` from issuer `issuerName`, renewed at 80%. */
function acmePolicy(issuerName, dns) {
  return {
    issuerName,
    subject: `CN=${dns}`,
    subjectAlternativeNames: { dnsNames: [dns] },
    keyType: "EC",
    keyCurveName: "P-256",
    contentType: "application/x-pem-file",
    lifetimeActions: [{ action: "AutoRenew", lifetimePercentage: 80 }],
  };
}

const missing = pebbleMissing();

describe("acme issuer against pebble", { timeout: 150_000, skip: missing || false }, () => {
  let httpPort;
  let pebble;
  let pebbleEab;
  let dataDir;
  let serverArgs;
  let server;
  let client;
  let secrets;
  let rootPem;

  async function connect() {
    server = await startServer({ dataDir, extraArgs: serverArgs });
    client = certificateClient(server);
    secrets = secretClient(server);
  }

  async function call(method, p, { body, host, expect } = {}) {
    const res = await request(server, { method, path: p, body, host, token: true });
    if (expect !== undefined) {
      assert.equal(res.status, expect, `${method} ${p}: ${res.text.slice(0, 600)}`);
    }
    return res;
  }

  /** PUT /certificates/issuers/{name} with certvault's acme settings (the SDK cannot send them). */
  async function putAcmeIssuer(name, peb, credentials) {
    const body = {
      provider: "acme",
      settings: {
        directory_url: peb.directoryUrl,
        ca_bundle: peb.caPath,
        challenge: "http-01",
        poll_interval: "PT1S",
        max_wait: "PT15S",
      },
      ...(credentials ? { credentials } : {}),
    };
    return call("PUT", `/certificates/issuers/${name}?${API}`, { body, expect: 200 });
  }

  async function versionsOf(name) {
    return collect(client.listPropertiesOfCertificateVersions(name), 1000);
  }

  /** Asserts cerDer is a leaf for dns issued by pebble's intermediate, chained to rootPem; returns it. */
  async function assertPebbleCertificate(name, cerDer, dns, root) {
    const leaf = new crypto.X509Certificate(Buffer.from(cerDer));
    assert.match(leaf.issuer, /Pebble Intermediate CA/, `${name}: issued by pebble, got issuer ${leaf.issuer}`);
    assert.match(leaf.subjectAltName ?? "", new RegExp(`DNS:${dns.replace(/\./g, "\\.")}`));
    // The secret: the vault-generated key, the leaf and pebble's chain.
    const secret = await secrets.getSecret(name);
    assert.equal(secret.properties.contentType, "application/x-pem-file");
    const blocks = pemBlocks(secret.value);
    assert.deepEqual(blocks.map((b) => b.type), ["PRIVATE KEY", "CERTIFICATE", "CERTIFICATE"], `${name}: key, leaf, pebble's intermediate`);
    assert.deepEqual(blocks[1].der, Buffer.from(cerDer), `${name}: the secret's leaf is the certificate's cer`);
    assert.ok(keyMatchesCert(blocks[0].pem, leaf), `${name}: the secret's private key matches the certificate`);
    const intermediate = new crypto.X509Certificate(blocks[2].der);
    assert.ok(leaf.checkIssued(intermediate) && leaf.verify(intermediate.publicKey), `${name}: leaf signed by the chain's intermediate`);
    const rootCert = new crypto.X509Certificate(root);
    assert.ok(intermediate.verify(rootCert.publicKey), `${name}: intermediate signed by pebble's root (${rootCert.subject})`);
    return leaf;
  }

  before(async () => {
    httpPort = await freePort();
    [pebble, pebbleEab] = await Promise.all([
      startPebble({ httpPort, validitySeconds: VALIDITY_SECONDS }),
      startPebble({ httpPort, eab: true }),
    ]);
    rootPem = await pebble.rootPem();
    dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), "certvault-it-acme-"));
    serverArgs = [
      "--test-clock",
      "--acme-http-listen", `127.0.0.1:${httpPort}`,
      "--retry-initial", "PT1S",
      // A job held by a killed server is taken up again after its lease: short, so that the
      // restart test does not wait two minutes. Long enough for one ACME order (about 2 s).
      "--job-lease", "PT12S",
    ];
    await connect();
    await putAcmeIssuer("le", pebble);
  });

  after(async () => {
    await server?.stop();
    if (dataDir) await fsp.rm(dataDir, { recursive: true, force: true });
    await pebble?.stop();
    await pebbleEab?.stop();
  });

  it("creates a certificate from pebble with the SDK: inProgress, then completed, pebble's chain, key matches", async () => {
    const issuer = await client.getIssuer("le");
    assert.equal(issuer.provider, "acme");

    const poller = await client.beginCreateCertificate(NAME, acmePolicy("le", DNS_NAME), FAST);
    // The order takes a validation round trip: the operation is in progress at first. (The create
    // poller's state has no certificateOperation; getCertificateOperation reads it.)
    assert.equal(poller.isDone(), false);
    const first = (await client.getCertificateOperation(NAME)).getOperationState().certificateOperation;
    assert.equal(first?.status, "inProgress", `first state: ${JSON.stringify(first)}`);
    assert.equal(first.issuerName, "le");
    assert.equal(first.target, `${server.url.replace("//localhost", "//default.localhost")}/certificates/${NAME}`);

    const cert = await done(poller, 45_000);
    assert.ok(cert.cer?.length > 0, "the completed certificate has its cer");
    const op = (await client.getCertificateOperation(NAME)).getOperationState().certificateOperation;
    assert.equal(op.status, "completed", JSON.stringify(op));
    assert.equal(cert.policy.issuerName, "le");
    assert.deepEqual(
      cert.policy.lifetimeActions.map(({ action, lifetimePercentage }) => ({ action, lifetimePercentage })),
      [{ action: "AutoRenew", lifetimePercentage: 80 }],
    );

    const leaf = await assertPebbleCertificate(NAME, cert.cer, DNS_NAME, rootPem);
    const days = (new Date(leaf.validTo) - new Date(leaf.validFrom)) / 1000 / DAY;
    assert.ok(Math.abs(days - 90) < 1, `pebble's validity (90 days), got ${days}`);
    assert.equal(cert.properties.expiresOn.getTime(), new Date(leaf.validTo).getTime());

    // pebble issued it from exactly one order, and it is pebble's certificate (its serial).
    const serial = leaf.serialNumber.toLowerCase();
    const from = ordersForSerial(pebble.log(), serial);
    assert.ok(from, `pebble's log has no issuance of serial ${serial}`);
    assert.equal(from.orders.length, 1, `orders placed for it: ${from.orders}`);
    assert.equal(pebble.ordersPlaced().length, 1);

    const jobs = await call("GET", `/jobs?certificate=${NAME}&${API}`, { expect: 200 });
    assert.equal(jobs.json.value.length, 1, jobs.text);
    assert.equal(jobs.json.value[0].status, "succeeded");
    assert.equal(jobs.json.value[0].trigger, "create");
  });

  it("EAB-requiring pebble: issues with the issuer's credentials; without them the operation fails clearly, before any order", async () => {
    await putAcmeIssuer("le-eab", pebbleEab, { account_id: EAB_KID, pwd: EAB_HMAC_KEY });
    const got = await call("GET", `/certificates/issuers/le-eab?${API}`, { expect: 200 });
    assert.equal(got.json.credentials?.account_id, EAB_KID);
    assert.ok(!got.text.includes(EAB_HMAC_KEY), "the EAB HMAC key is never returned");
    const sdkIssuer = await client.getIssuer("le-eab");
    assert.equal(sdkIssuer.accountId, EAB_KID);

    const eabRoot = await pebbleEab.rootPem();
    const withEab = await done(await client.beginCreateCertificate("eab-app", acmePolicy("le-eab", "eab.example.test"), FAST), 45_000);
    await assertPebbleCertificate("eab-app", withEab.cer, "eab.example.test", eabRoot);
    assert.equal(pebbleEab.ordersPlaced().length, 1);

    // The same CA without credentials.
    await putAcmeIssuer("le-noeab", pebbleEab);
    const ordersBefore = pebbleEab.ordersPlaced().length;
    // The failure may come before beginCreateCertificate's own first poll returns: either way
    // the SDK rejects with it.
    const createAndWait = async () =>
      done(await client.beginCreateCertificate("noeab-app", acmePolicy("le-noeab", "noeab.example.test"), FAST), 30_000);
    await assert.rejects(createAndWait(), (err) => {
      assert.match(err.message, /External Account Binding/, `the poller's error: ${err.message}`);
      return true;
    });
    // The SDK's getCertificateOperation throws the operation's error too; the operation itself:
    await assert.rejects(client.getCertificateOperation("noeab-app"), /External Account Binding/);
    const op = (await call("GET", `/certificates/noeab-app/pending?${API}`, { expect: 200 })).json;
    assert.equal(op.status, "failed", JSON.stringify(op));
    assert.match(op.error?.message ?? "", /External Account Binding.*credentials/s, JSON.stringify(op.error));
    const jobs = await call("GET", `/jobs?certificate=noeab-app&${API}`, { expect: 200 });
    assert.equal(jobs.json.value.length, 1, jobs.text);
    assert.equal(jobs.json.value[0].status, "failed", "a refusal is not retried");
    assert.equal(jobs.json.value[0].attempts.length, 1, jobs.text);
    assert.match(jobs.json.value[0].last_error ?? "", /External Account Binding/);
    assert.equal(pebbleEab.ordersPlaced().length, ordersBefore, "no order is placed without an account");
    assert.equal((await versionsOf("noeab-app")).filter((v) => v.expiresOn).length, 0, "no issued version");
  });

  it("a renewal killed (SIGKILL) right after its order was placed resumes after a restart: one new version, one order", async () => {
    const before = await versionsOf(NAME);
    assert.equal(before.length, 1);
    const ordersBefore = pebble.ordersPlaced().length;
    const logFrom = server.log().length;

    const renew = await call("POST", `/certificates/${NAME}/renew?${API}`, { body: {}, expect: 202 });
    const jobId = renew.json.job_id;
    assert.match(jobId, /^[0-9a-f]{32}$/, renew.text);

    // The issuer saves the order's URL in the job before it logs the order as placed: kill then.
    const placed = await pollUntil(() => /ACME order (\S+) placed for default\/app/i.exec(server.log().slice(logFrom)), {
      timeoutMs: 20_000,
      intervalMs: 5,
      what: "the ACME order placed for the renewal",
    });
    process.kill(server.pid, "SIGKILL");
    await server.stop();
    const orderUrl = placed[1];
    const placedIds = pebble.ordersPlaced().slice(ordersBefore);
    assert.equal(placedIds.length, 1, `orders placed before the kill: ${placedIds}`);
    assert.ok(orderUrl.endsWith(placedIds[0]), `the logged order ${orderUrl} is pebble's ${placedIds[0]}`);

    await connect();
    const job = await pollUntil(
      async () => {
        const res = await call("GET", `/jobs/${jobId}?${API}`, { expect: 200 });
        return ["succeeded", "failed", "cancelled"].includes(res.json.status) && res.json;
      },
      { timeoutMs: 45_000, intervalMs: 250, what: `job ${jobId} finished after the restart` },
    );
    assert.equal(job.status, "succeeded", JSON.stringify(job));
    assert.ok(job.attempts.length >= 2, JSON.stringify(job.attempts));
    assert.match(job.attempts[0].error ?? "", /interrupted/, `the killed attempt: ${JSON.stringify(job.attempts[0])}`);

    const after = await versionsOf(NAME);
    assert.equal(after.length, 2, `exactly one new version: ${after.map((v) => v.version)}`);
    const cert = await client.getCertificate(NAME);
    assert.notEqual(cert.properties.version, before[0].version);
    const leaf = await assertPebbleCertificate(NAME, cert.cer, DNS_NAME, rootPem);
    // Issued from the order placed before the kill: the restart resumed it, placed no other.
    const from = ordersForSerial(pebble.log(), leaf.serialNumber);
    assert.ok(from, `pebble's log has no issuance of serial ${leaf.serialNumber}`);
    assert.equal(from.order, placedIds[0], "issued from the order placed before the kill");
    assert.deepEqual(pebble.ordersPlaced().slice(ordersBefore), placedIds, "no second order");
    const pending = (await client.getCertificateOperation(NAME)).getOperationState().certificateOperation;
    assert.equal(pending.status, "completed");
  });

  it("AutoRenew at 80% (test clock): a new version from pebble, from one new ACME order", async () => {
    const current = await client.getCertificate(NAME);
    const versionsBefore = (await versionsOf(NAME)).length;
    const ordersBefore = pebble.ordersPlaced().length;
    const nbf = current.properties.notBefore.getTime() / 1000;
    const exp = current.properties.expiresOn.getTime() / 1000;
    const days = Math.ceil((nbf + 0.8 * (exp - nbf) - Date.now() / 1000) / DAY) + 1; // just past 80%
    const clock = await call("POST", `/management/clock?${API}`, { host: "localhost", body: { advance: `P${days}D` }, expect: 200 });
    const advancedTo = clock.json.now;

    // The first version created after the advance is the renewal of `current`.
    const renewed = await pollUntil(
      async () => {
        const created = (await versionsOf(NAME)).filter((v) => v.createdOn.getTime() / 1000 >= advancedTo);
        created.sort((a, b) => a.createdOn - b.createdOn);
        return created[0];
      },
      { timeoutMs: 30_000, intervalMs: 200, what: "a version created by the AutoRenew job" },
    );
    const version = await client.getCertificateVersion(NAME, renewed.version);
    const leaf = await assertPebbleCertificate(NAME, version.cer, DNS_NAME, rootPem);
    assert.ok((await versionsOf(NAME)).length >= versionsBefore + 1);
    const from = ordersForSerial(pebble.log(), leaf.serialNumber);
    assert.ok(from, `pebble's log has no issuance of serial ${leaf.serialNumber}`);
    assert.equal(from.orders.length, 1, `one order for the renewal: ${from.orders}`);
    assert.equal(pebble.ordersPlaced()[ordersBefore], from.order, "the first order after the advance issued it");

    const jobs = await call("GET", `/jobs?certificate=${NAME}&status=succeeded&${API}`, { expect: 200 });
    const job = jobs.json.value.find((j) => j.source_version === current.properties.version);
    assert.ok(job, `a succeeded job renewed ${current.properties.version}: ${jobs.text.slice(0, 800)}`);
    assert.match(job.trigger, /^AutoRenew \(lifetime_percentage=80\)$/);
  });

  // A version already due when its CA issued it (a lifetime shorter than the lifetime action
  // allows for, or a real-time CA under the advanced test clock) is not renewed again: that
  // would loop, one CA order every few seconds.
  it("the renewed version is not renewed again at once under the test clock (no renewal loop)", async () => {
    const ordersAt = pebble.ordersPlaced().length;
    const versionsAt = (await versionsOf(NAME)).length;
    await sleep(6_000);
    const versionsLater = (await versionsOf(NAME)).length;
    assert.equal(versionsLater, versionsAt, `versions ${versionsAt} -> ${versionsLater} in 6 s`);
    assert.equal(pebble.ordersPlaced().length, ordersAt, "orders placed in 6 s");
  });

  it("days_before_expiry longer than the CA's 90 days does not renew in a loop", async () => {
    // Key Vault accepts the policy (100 days < 12 months); the CA decides the lifetime.
    const name = "short-lived";
    const policy = {
      ...acmePolicy("le", "short.example.test"),
      validityInMonths: 12,
      lifetimeActions: [{ action: "AutoRenew", daysBeforeExpiry: 100 }],
    };
    await done(await client.beginCreateCertificate(name, policy, FAST), 45_000);
    await sleep(8_000);
    const versions = await versionsOf(name);
    assert.equal(versions.length, 1, `${versions.length} versions 8 s after the create`);
  });
});
