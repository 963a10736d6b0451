// Renewal: lifetime actions acted on by the server's own clock (moved forward with the test clock,
// `--test-clock` and POST /management/clock): AutoRenew by lifetime percentage (events, exactly
// one job per version), EmailContacts by days before expiry (an event, no job) and expiry; manual
// renewal (POST /certificates/{name}/renew) with a validity and while an operation is in progress;
// reuse_key; a renewal in flight seen by the unmodified SDK.
//
// The clock only moves forward and is shared by every test here: each test looks only at its own
// certificates, and "nothing happens" is checked over a few scheduler ticks (1 s each).
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fsp from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { certificateClient, done, FAST, secretClient } from "./lib/clients.mjs";
import {
  advanceClock, certificateEvents, currentCertificate, getJob, installCommand, jobsOf, lastEventSeq,
  LIFECYCLE_ARGS, managementApi, pendingOperation, putIssuer, recordedCalls, recordedEnv, signingScript,
  vaultApi, versionsOf, waitForJob, waitForOperation,
} from "./lib/lifecycle.mjs";
import { keyMatchesCert, pemBlocks, Pki } from "./lib/pki.mjs";
import { assertRbacDenied, callAs, principalWithRole } from "./lib/identity.mjs";
import { request, startServer } from "./lib/server.mjs";
import { assertErrorEnvelope, HEX32, pollUntil, uniqueName } from "./lib/util.mjs";

const DAY_S = 86_400;
const NEAR_EXPIRY = "Microsoft.KeyVault.CertificateNearExpiry";
const NEW_VERSION = "Microsoft.KeyVault.CertificateNewVersionCreated";
const EXPIRED = "Microsoft.KeyVault.CertificateExpired";
/** Long enough for the scheduler (1 s tick, woken by the clock) to have acted on anything due. */
const QUIET_MS = 2_500;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const spki = (x509) => x509.publicKey.export({ type: "spki", format: "der" });
const versionOf = (cert) => cert.id.split("/").pop();

describe("renewal", { timeout: 180_000 }, () => {
  let server;
  let client;
  let secrets;
  let pki;
  let testCa;
  let script;

  before(async () => {
    server = await startServer({ extraArgs: LIFECYCLE_ARGS });
    client = certificateClient(server);
    secrets = secretClient(server);
    pki = await Pki.create();
    testCa = await pki.makeCA("ca", { cn: "certvault renewal test CA", days: 3650 });
    // The CA signs for the dates the server asks (CERTVAULT_NOT_BEFORE/AFTER follow its clock).
    script = await installCommand(server, "openssl-ca.sh", signingScript({ window: true }));
  });

  after(async () => {
    await server?.stop();
    await pki?.cleanup();
  });

  /** POST /certificates/{name}/create with a raw policy; waits for the operation; returns the current version's JSON. */
  async function createRaw(name, policy) {
    const res = await vaultApi(server, "POST", `/certificates/${name}/create`, { body: { policy } });
    assert.equal(res.status, 202, res.text);
    const op = await waitForOperation(server, name);
    assert.equal(op.status, "completed", JSON.stringify(op));
    return currentCertificate(server, name);
  }

  function selfPolicy(subject, lifetimeActions, extra = {}) {
    return {
      key_props: { kty: "EC", crv: "P-256", ...(extra.key_props ?? {}) },
      x509_props: { subject, validity_duration: "P10D", ...(extra.x509_props ?? {}) },
      issuer: { name: "Self" },
      lifetime_actions: lifetimeActions,
    };
  }

  /** A command issuer running the signing script with its own control dir; {name, ctl}. */
  async function commandIssuer() {
    const name = uniqueName("cmd");
    const ctl = await fsp.mkdtemp(path.join(pki.dir, "ctl-"));
    const res = await putIssuer(server, name, {
      provider: "command",
      settings: { command: script, timeout: "PT30S", env: { IT_CA: pki.dir, IT_CTL: ctl } },
    });
    assert.equal(res.status, 200, res.text);
    return { name, ctl };
  }

  async function renew(name, body = {}) {
    return vaultApi(server, "POST", `/certificates/${name}/renew`, { body });
  }

  it("the test clock: administrators only, forward only", async () => {
    const before = await advanceClock(server, "PT0S");
    assert.ok(Math.abs(before.now - (Date.now() / 1000 + before.offset_seconds)) < 60, JSON.stringify(before));
    assert.equal(before.time, new Date(before.now * 1000).toISOString());
    for (const body of [{ advance: "soon" }, { advance: "-P1D" }, { advance: 86400 }, {}]) {
      const res = await managementApi(server, "POST", "/management/clock", { body });
      assertErrorEnvelope(res, 400, "BadParameter", JSON.stringify(body));
    }
    const anonymous = await request(server, { method: "POST", path: "/management/clock", host: "localhost", body: { advance: "P1D" } });
    assert.equal(anonymous.status, 401);
    const officer = await principalWithRole(server, "Certificates Officer", "/");
    assertRbacDenied(await callAs(server, officer, { method: "POST", path: "/management/clock", host: "localhost", body: { advance: "P1D" } }), "clock as an officer");
    assertRbacDenied(await callAs(server, officer, { path: "/management/events", host: "localhost" }), "events as an officer");
    const afterAll = await advanceClock(server, "PT0S");
    assert.equal(afterAll.offset_seconds, before.offset_seconds, "refused requests did not move the clock");
    const moved = await advanceClock(server, "PT1H");
    assert.equal(moved.offset_seconds, before.offset_seconds + 3600);
  });

  it("AutoRenew at 80% of the lifetime: events, exactly one renewal job per version", async () => {
    const name = uniqueName("auto80");
    const seq0 = await lastEventSeq(server);
    const v1 = await createRaw(name, selfPolicy("CN=auto80.example.test", [
      { trigger: { lifetime_percentage: 80 }, action: { action_type: "AutoRenew" } },
    ]));
    assert.equal(v1.attributes.exp - v1.attributes.nbf, 10 * DAY_S, "validity_duration P10D");
    const id1 = versionOf(v1);

    // 70% of the lifetime: nothing is due.
    await advanceClock(server, "P7D");
    await sleep(QUIET_MS);
    assert.deepEqual(await versionsOf(server, name), [id1]);
    assert.deepEqual(await jobsOf(server, name), []);
    assert.deepEqual((await certificateEvents(server, name, { after: seq0 })).map((e) => e.type), [NEW_VERSION]);

    // 90%: one NearExpiry (AutoRenew), one renewal job, one new version that becomes current.
    const t = await advanceClock(server, "P2D");
    const versions = await pollUntil(async () => {
      const v = await versionsOf(server, name);
      return v.length >= 2 ? v : null;
    }, { timeoutMs: 20_000, intervalMs: 200, what: "the renewed version" });
    assert.equal(versions.length, 2, versions.join(","));
    const v2 = await currentCertificate(server, name);
    const id2 = versionOf(v2);
    assert.notEqual(id2, id1, "the new version is current");
    assert.ok(Math.abs(v2.attributes.nbf - t.now) <= 60, `renewed at the server's time: nbf ${v2.attributes.nbf}, now ${t.now}`);
    assert.equal(v2.attributes.exp - v2.attributes.nbf, 10 * DAY_S, "the policy's validity again");
    assert.equal(v2.policy.x509_props.subject, "CN=auto80.example.test");

    const [job] = await pollUntil(async () => {
      const jobs = await jobsOf(server, name);
      return jobs.length === 1 && jobs[0].status === "succeeded" ? jobs : null;
    }, { timeoutMs: 10_000, what: "the renewal job succeeded" });
    assert.equal(job.trigger, "AutoRenew (lifetime_percentage=80)");
    assert.equal(job.source_version, id1);
    assert.equal(job.issuer, "Self");
    assert.match(job.job_id, HEX32);
    assert.equal(job.deadline, v1.attributes.exp, "a renewal must be done before the version expires");

    const evs = await certificateEvents(server, name, { after: seq0 });
    const near = evs.filter((e) => e.type === NEAR_EXPIRY);
    assert.equal(near.length, 1, JSON.stringify(evs));
    assert.equal(near[0].version, id1);
    assert.deepEqual(near[0].detail, { action: "AutoRenew", trigger: "lifetime_percentage=80" });
    assert.equal(near[0].vault, "default");
    assert.equal(near[0].nbf, v1.attributes.nbf);
    assert.equal(near[0].exp, v1.attributes.exp);
    const created = evs.filter((e) => e.type === NEW_VERSION);
    assert.deepEqual(created.map((e) => e.version), [id1, id2], "one NewVersionCreated per version");
    assert.ok(near[0].seq < created[1].seq, "NearExpiry comes before the renewed version");
    assert.ok(!evs.some((e) => e.type === EXPIRED), "nothing expired");

    // Later, but before the new version's own 80%: no second renewal of either version.
    await advanceClock(server, "PT12H");
    await sleep(QUIET_MS);
    assert.equal((await versionsOf(server, name)).length, 2);
    assert.equal((await jobsOf(server, name)).length, 1);
    assert.equal((await certificateEvents(server, name, { after: seq0 })).filter((e) => e.type === NEAR_EXPIRY).length, 1);

    // The new version's 80%: exactly one more renewal, of that version.
    await advanceClock(server, "P8D");
    const jobs = await pollUntil(async () => {
      const j = await jobsOf(server, name);
      return j.length >= 2 && j.every((x) => x.status === "succeeded") ? j : null;
    }, { timeoutMs: 20_000, intervalMs: 200, what: "the second renewal" });
    await sleep(QUIET_MS);
    const finalJobs = await jobsOf(server, name);
    assert.equal(finalJobs.length, 2, JSON.stringify(jobs));
    assert.deepEqual(finalJobs.map((j) => j.source_version).sort(), [id1, id2].sort(), "one renewal per version");
    const all = await versionsOf(server, name);
    assert.equal(all.length, 3, all.join(","));
    const id3 = versionOf(await currentCertificate(server, name));
    assert.ok(![id1, id2].includes(id3));
    const nearAll = (await certificateEvents(server, name, { after: seq0 })).filter((e) => e.type === NEAR_EXPIRY);
    assert.deepEqual(nearAll.map((e) => e.version), [id1, id2]);
  });

  it("AutoRenew that the CA refuses: RenewalFailed event, the version stays current, no second job", async () => {
    const { name: issuerName, ctl } = await commandIssuer();
    const name = uniqueName("auto-refused");
    const seq0 = await lastEventSeq(server);
    const v1 = await createRaw(name, {
      key_props: { kty: "EC", crv: "P-256" },
      x509_props: { subject: "CN=refused.example.test", validity_duration: "P10D" },
      issuer: { name: issuerName },
      lifetime_actions: [{ trigger: { lifetime_percentage: 80 }, action: { action_type: "AutoRenew" } }],
    });
    const id1 = versionOf(v1);
    assert.equal(v1.attributes.exp - v1.attributes.nbf, 10 * DAY_S, "the CA signed the requested 10 days");
    await fsp.writeFile(path.join(ctl, "refuse"), "");

    await advanceClock(server, "P9D");
    const [job] = await pollUntil(async () => {
      const jobs = (await jobsOf(server, name)).filter((j) => j.trigger !== "create");
      return jobs.length && jobs[0].status === "failed" ? jobs : null;
    }, { timeoutMs: 20_000, intervalMs: 200, what: "the refused renewal" });
    assert.equal(job.trigger, "AutoRenew (lifetime_percentage=80)");
    assert.equal(job.source_version, id1);
    assert.match(job.last_error, /refused by policy/);
    assert.equal(job.attempts.length, 1, "a refusal is final");

    const failed = await pollUntil(async () => {
      const e = (await certificateEvents(server, name, { after: seq0 })).filter((x) => x.type === "CertVault.CertificateRenewalFailed");
      return e.length ? e : null;
    }, { timeoutMs: 10_000, what: "the RenewalFailed event" });
    assert.equal(failed.length, 1);
    assert.equal(failed[0].detail.code, "CertificateRequestRefused");
    assert.equal(failed[0].detail.issuer, issuerName);
    assert.equal(failed[0].detail.job, job.job_id);
    assert.match(failed[0].detail.message, /refused by policy/);
    const op = await pendingOperation(server, name);
    assert.equal(op.status, "failed");
    assert.equal(op.error.code, "CertificateRequestRefused");
    assert.equal(versionOf(await currentCertificate(server, name)), id1, "the old version stays current");
    assert.deepEqual(await versionsOf(server, name), [id1]);

    // Still before expiry: the version was renewed (and refused) once; it is not tried again.
    await advanceClock(server, "PT12H");
    await sleep(QUIET_MS);
    assert.equal((await jobsOf(server, name)).filter((j) => j.trigger !== "create").length, 1);
    const types = (await certificateEvents(server, name, { after: seq0 })).map((e) => e.type);
    assert.deepEqual(types, [NEW_VERSION, NEAR_EXPIRY, "CertVault.CertificateRenewalFailed"]);
    assert.equal((await recordedCalls(ctl)).length, 2, "the create and the one refused renewal");
  });

  it("a Self-issued renewal job records its attempt as finished",
    async () => {
      const name = uniqueName("self-job");
      await createRaw(name, selfPolicy("CN=self-job.example.test", []));
      const res = await renew(name);
      assert.equal(res.status, 202, res.text);
      const job = await waitForJob(server, res.json.job_id, (j) => j.status === "succeeded");
      assert.equal(job.attempts.length, 1, JSON.stringify(job));
      assert.equal(job.attempts[0].outcome, "succeeded", JSON.stringify(job));
      assert.ok(job.attempts[0].finished >= job.attempts[0].started, JSON.stringify(job));
      assert.equal(job.lease_owner, undefined, `a finished job holds no lease: ${JSON.stringify(job)}`);
    });

  it("EmailContacts N days before expiry: an event and no job; expiry recorded once", async () => {
    const name = uniqueName("email3");
    const seq0 = await lastEventSeq(server);
    const v1 = await createRaw(name, selfPolicy("CN=email3.example.test", [
      { trigger: { days_before_expiry: 3 }, action: { action_type: "EmailContacts" } },
    ]));
    const id1 = versionOf(v1);
    const types = async () => (await certificateEvents(server, name, { after: seq0 })).map((e) => e.type);

    await advanceClock(server, "P6D"); // 4 days before expiry
    await sleep(QUIET_MS);
    assert.deepEqual(await types(), [NEW_VERSION]);

    await advanceClock(server, "P1DT1H"); // less than 3 days before expiry
    const near = await pollUntil(async () => {
      const e = (await certificateEvents(server, name, { after: seq0 })).filter((x) => x.type === NEAR_EXPIRY);
      return e.length ? e : null;
    }, { timeoutMs: 20_000, intervalMs: 200, what: "the NearExpiry event" });
    assert.equal(near.length, 1);
    assert.equal(near[0].version, id1);
    assert.deepEqual(near[0].detail, { action: "EmailContacts", trigger: "days_before_expiry=3" });
    assert.equal(near[0].exp, v1.attributes.exp);
    await sleep(QUIET_MS);
    assert.deepEqual(await jobsOf(server, name), [], "EmailContacts queues no job");
    assert.deepEqual(await versionsOf(server, name), [id1]);
    assert.deepEqual(await types(), [NEW_VERSION, NEAR_EXPIRY]);

    await advanceClock(server, "P3D"); // past expiry
    const expired = await pollUntil(async () => {
      const e = (await certificateEvents(server, name, { after: seq0 })).filter((x) => x.type === EXPIRED);
      return e.length ? e : null;
    }, { timeoutMs: 20_000, intervalMs: 200, what: "the Expired event" });
    assert.equal(expired[0].version, id1);
    assert.equal(expired[0].exp, v1.attributes.exp);
    assert.equal(expired[0].nbf, v1.attributes.nbf);

    await advanceClock(server, "P1D");
    await sleep(QUIET_MS);
    assert.deepEqual(await types(), [NEW_VERSION, NEAR_EXPIRY, EXPIRED], "nothing is recorded twice");
    assert.deepEqual(await jobsOf(server, name), []);
    assert.deepEqual(await versionsOf(server, name), [id1]);
  });

  it("manual renewal: POST /renew with a validity; 409 while an operation is in progress", async () => {
    const name = uniqueName("manual");
    const v1 = await createRaw(name, selfPolicy("CN=manual.example.test", [], { x509_props: { validity_duration: undefined, validity_months: 12 } }));
    const id1 = versionOf(v1);
    const seq0 = await lastEventSeq(server);

    const res = await renew(name, { validity: "P3D" });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.json.trigger, "manual");
    assert.equal(res.json.validity, "P3D");
    assert.equal(res.json.source_version, id1);
    assert.equal(res.json.certificate, name);
    assert.ok(["queued", "running", "succeeded"].includes(res.json.status), res.text);
    const job = await waitForJob(server, res.json.job_id, (j) => j.status === "succeeded");
    const v2 = await currentCertificate(server, name);
    const id2 = versionOf(v2);
    assert.notEqual(id2, id1);
    assert.deepEqual((await versionsOf(server, name)).sort(), [id1, id2].sort());
    assert.equal(v2.attributes.exp - v2.attributes.nbf, 3 * DAY_S, "the renewal's validity, P3D");
    const x509 = new crypto.X509Certificate(Buffer.from(v2.cer, "base64"));
    assert.equal((new Date(x509.validTo) - new Date(x509.validFrom)) / 1000, 3 * DAY_S);
    assert.equal(v2.policy.x509_props.validity_months, 12, "the policy keeps its validity");
    const evs = await certificateEvents(server, name, { after: seq0 });
    assert.deepEqual(evs.map((e) => [e.type, e.version]), [[NEW_VERSION, id2]]);
    assert.equal(job.source_version, id1);

    // Refused renewals change nothing.
    assertErrorEnvelope(await renew(name, { validity: "three days" }), 400, "BadParameter", "bad validity");
    assertErrorEnvelope(await renew(uniqueName("missing")), 404, "CertificateNotFound", "missing certificate");

    // While a renewal is in progress with a slow CA: 409, and no second job.
    const { name: issuerName, ctl } = await commandIssuer();
    const slow = uniqueName("manual-slow");
    const first = await done(await client.beginCreateCertificate(slow, { issuerName, subject: "CN=slow.example.test", keyType: "EC", keyCurveName: "P-256", validityInMonths: 1 }, FAST));
    await fsp.writeFile(path.join(ctl, "delay"), "3");
    const started = await renew(slow);
    assert.equal(started.status, 202, started.text);
    const op = await pollUntil(async () => {
      const o = await pendingOperation(server, slow);
      const j = await getJob(server, started.json.job_id);
      return o?.status === "inProgress" && j.request_id && o.request_id === j.request_id ? o : null;
    }, { timeoutMs: 20_000, intervalMs: 100, what: "the renewal's operation in progress" });
    const conflict = await renew(slow, { validity: "P3D" });
    assertErrorEnvelope(conflict, 409, "Conflict", "renew while an operation is in progress");
    assert.equal((await jobsOf(server, slow)).length, 2, "create + one renewal, no job for the refused renewal");
    await fsp.rm(path.join(ctl, "delay"));
    await waitForJob(server, started.json.job_id, (j) => j.status === "succeeded");
    const renewed = await currentCertificate(server, slow);
    assert.notEqual(versionOf(renewed), first.properties.version);
    assert.equal((await versionsOf(server, slow)).length, 2, "exactly one renewed version");
    assert.equal((await pendingOperation(server, slow)).request_id, op.request_id);
  });

  /**
   * Creates a certificate with the SDK (reuseKey as given) from Self and from a built-in CA issuer,
   * renews it over REST, and returns whether v1 and v2 have the same public key, per issuer.
   */
  async function renewedKeys(reuseKey) {
    const ca = uniqueName("ca"); // an `internal` issuer made with the SDK: the permissive template
    await client.createIssuer(ca, "internal");
    const out = [];
    for (const issuerName of ["Self", ca]) {
      const name = uniqueName(`reuse-${reuseKey}`);
      const v1 = await done(await client.beginCreateCertificate(name, {
        issuerName, subject: `CN=${name}.example.test`, keyType: "EC", keyCurveName: "P-256", reuseKey,
        validityInMonths: 1, contentType: "application/x-pem-file", lifetimeActions: [],
      }, FAST));
      const res = await renew(name);
      assert.equal(res.status, 202, res.text);
      await waitForJob(server, res.json.job_id, (j) => j.status === "succeeded");
      const v2 = await client.getCertificate(name);
      assert.notEqual(v2.properties.version, v1.properties.version);
      assert.equal(v2.policy.reuseKey, reuseKey, "the policy keeps reuse_key");
      // Whatever the key, each version's secret holds that version's key.
      const secret = await secrets.getSecret(name);
      assert.ok(keyMatchesCert(pemBlocks(secret.value).find((b) => b.type === "PRIVATE KEY").pem, Buffer.from(v2.cer)));
      const old = await secrets.getSecret(name, { version: v1.properties.version });
      assert.ok(keyMatchesCert(pemBlocks(old.value).find((b) => b.type === "PRIVATE KEY").pem, Buffer.from(v1.cer)));
      const k1 = spki(new crypto.X509Certificate(Buffer.from(v1.cer)));
      const k2 = spki(new crypto.X509Certificate(Buffer.from(v2.cer)));
      out.push({ issuerName, same: k1.equals(k2) });
    }
    return out;
  }

  it("renewal without reuse_key makes a new key (Self and the built-in CA)", async () => {
    for (const { issuerName, same } of await renewedKeys(false)) {
      assert.equal(same, false, `${issuerName}: a new key`);
    }
  });

  it("renewal with reuse_key keeps the key (Self and the built-in CA)",
    async () => {
      for (const { issuerName, same } of await renewedKeys(true)) {
        assert.equal(same, true, `${issuerName}: the same key`);
      }
    });

  it("a renewal in flight is visible to the SDK: inProgress, then completed", async () => {
    const { name: issuerName, ctl } = await commandIssuer();
    const name = uniqueName("inflight");
    const v1 = await done(await client.beginCreateCertificate(name, {
      issuerName, subject: "CN=inflight.example.test", keyType: "EC", keyCurveName: "P-256", validityInMonths: 1,
    }, FAST));
    await fsp.writeFile(path.join(ctl, "delay"), "2"); // the CA takes 2 s
    const res = await renew(name);
    assert.equal(res.status, 202, res.text);
    await pollUntil(async () => {
      const o = await pendingOperation(server, name);
      return o?.status === "inProgress" ? o : null;
    }, { timeoutMs: 10_000, intervalMs: 50, what: "the renewal's operation" });

    const poller = await client.getCertificateOperation(name, { intervalInMs: 50 });
    const during = poller.getOperationState().certificateOperation;
    assert.equal(during.status, "inProgress", JSON.stringify(during));
    assert.equal(during.issuerName, issuerName);
    assert.ok(during.csr && during.csr.length > 0, "the operation carries its CSR");
    assert.equal((await client.getCertificate(name)).properties.version, v1.properties.version, "still the old version meanwhile");

    const renewed = await done(poller, 30_000);
    const final = poller.getOperationState().certificateOperation;
    assert.equal(final.status, "completed");
    assert.equal(final.requestId, during.requestId);
    assert.notEqual(renewed.properties.version, v1.properties.version);
    assert.equal((await client.getCertificate(name)).properties.version, renewed.properties.version);
    const jobs = await jobsOf(server, name);
    assert.deepEqual(jobs.map((j) => j.trigger).sort(), ["create", "manual"]);
    const job = jobs.find((j) => j.trigger === "manual");
    assert.equal(job.trigger, "manual");
    assert.equal(job.status, "succeeded");
    assert.equal(job.request_id, during.requestId);

    // The CA signed for the dates the server asked for.
    const env = await recordedEnv(ctl, during.requestId);
    const leaf = new crypto.X509Certificate(Buffer.from(renewed.cer));
    assert.ok(leaf.verify(testCa.x509.publicKey));
    assert.equal(new Date(leaf.validFrom).getTime() / 1000, Number(env.CERTVAULT_NOT_BEFORE));
    assert.equal(new Date(leaf.validTo).getTime() / 1000, Number(env.CERTVAULT_NOT_AFTER));
    assert.equal((await recordedCalls(ctl)).length, 2, "the create and the renewal");
  });
});
