// The command-line client against the real server: `certvault vault|cert|secret ...` run as a
// subprocess with --server, --credentials and --ca-file, files checked with the openssl command.
//
// The client binary is $CERTVAULT_CLI_BIN, else the server binary ($CERTVAULT_BIN or build/certvault).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { REPO_ROOT, certvaultBin, startServer } from "./lib/server.mjs";
import { openssl, pemBlocks } from "./lib/pki.mjs";

const CLI_TIMEOUT_MS = 60_000;

let server;
let work; // scratch dir for files the client writes and reads

/** Runs the client; resolves {code, stdout, stderr} (never rejects on a non-zero exit). */
function cli(args, { env = {}, connection = true, timeout = CLI_TIMEOUT_MS } = {}) {
  const conn = connection
    ? ["--server", server.url, "--credentials", server.adminPath, "--ca-file", server.caPath]
    : [];
  // A clean environment: no CERTVAULT_* settings and no ~/.config file leak in from the caller.
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("CERTVAULT_")),
  );
  return new Promise((resolve) => {
    execFile(
      process.env.CERTVAULT_CLI_BIN || certvaultBin(),
      [...args, ...conn],
      { env: { ...base, HOME: work, ...env }, timeout, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Runs the client and expects success; returns stdout (parsed when it ran with -o json). */
async function ok(args, opts) {
  const r = await cli(args, opts);
  assert.equal(r.code, 0, `certvault ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return args.includes("json") ? JSON.parse(r.stdout) : r.stdout;
}

async function publicKeyOf(args) {
  return (await openssl(args)).toString();
}

function mode(file) {
  return fs.statSync(file).mode & 0o777;
}

before(async () => {
  server = await startServer();
  work = await fsp.mkdtemp(path.join(os.tmpdir(), "certvault-cli-"));
});

after(async () => {
  await server?.stop();
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

describe("vaults", () => {
  test("vault create and list through the management API", async () => {
    const created = await ok(["vault", "create", "cli-team", "-o", "json"]);
    assert.equal(created.name, "cli-team");
    const vaults = await ok(["vault", "list", "-o", "json"]);
    const names = vaults.map((v) => v.name);
    assert.ok(names.includes("default") && names.includes("cli-team"), names.join(","));
    const table = await ok(["vault", "list"]);
    assert.match(table, /^NAME\s+CREATED\s+URL$/m);
    assert.match(table, /^cli-team\s/m);
  });

  test("--vault addresses the vault by host name; vaults are isolated", async () => {
    await ok(["secret", "set", "only-in-team", "--value", "t", "--vault", "cli-team"]);
    const team = await ok(["secret", "list", "--vault", "cli-team", "-o", "json"]);
    assert.deepEqual(team.map((s) => s.id.split("/")[4]), ["only-in-team"]);
    assert.match(team[0].id, /^https:\/\/cli-team\.localhost:\d+\/secrets\/only-in-team$/);
    const def = await ok(["secret", "list", "-o", "json"]);
    assert.ok(!def.some((s) => s.id.includes("only-in-team")));
  });
});

describe("certificates", () => {
  test("create (Self, EC) -> show -> list -> versions", async () => {
    const cert = await ok([
      "cert", "create", "cli-web", "--kty", "EC", "--curve", "P-256",
      "--dns", "web.example.com,www.example.com", "--validity-months", "3",
      "--tags", "env=test", "-o", "json",
    ]);
    assert.match(cert.id, /\/certificates\/cli-web\/[0-9a-f]{32}$/);
    assert.equal(cert.policy.key_props.kty, "EC");
    assert.equal(cert.policy.key_props.crv, "P-256");
    assert.equal(cert.tags.env, "test");
    assert.ok(cert.cer, "the certificate is issued, not pending");

    const shown = await ok(["cert", "show", "cli-web"]);
    assert.match(shown, /^name\s+cli-web$/m);
    assert.match(shown, /^subject\s+CN=cli-web$/m);
    assert.match(shown, /^sans\s+web\.example\.com, www\.example\.com$/m);
    assert.match(shown, /^thumbprint\s+[0-9A-F]{40}$/m);
    assert.match(shown, /^expires\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m);

    const byVersion = await ok(["cert", "show", "cli-web", "--version", cert.id.split("/").pop(), "-o", "json"]);
    assert.equal(byVersion.id, cert.id);

    const list = await ok(["cert", "list", "-o", "json"]);
    assert.ok(list.some((c) => c.id.endsWith("/certificates/cli-web")));
    const table = await ok(["cert", "list"]);
    assert.match(table, /^NAME\s+ENABLED\s+EXPIRES\s+THUMBPRINT$/m);
    assert.match(table, /^cli-web\s+true\s+\d{4}-\d\d-\d\d\s+[0-9A-F]{40}$/m);

    const versions = await ok(["cert", "versions", "cli-web", "-o", "json"]);
    assert.equal(versions.length, 1);
    assert.equal(versions[0].id, cert.id);
  });

  test("--validity sends validity_duration", async () => {
    const cert = await ok(["cert", "create", "cli-short", "--kty", "EC", "--validity", "PT10M", "-o", "json"]);
    assert.equal(cert.attributes.exp - cert.attributes.nbf, 600);
  });

  test("download pem, pfx and cer; the key matches; private files are 0600", async () => {
    const pem = path.join(work, "web.pem");
    const pfx = path.join(work, "web.pfx");
    const cer = path.join(work, "web.crt");
    await ok(["cert", "download", "cli-web", "--format", "pem", "--out", pem]);
    await ok(["cert", "download", "cli-web", "--format", "pfx", "--out", pfx]);
    await ok(["cert", "download", "cli-web", "--format", "cer", "--out", cer]);
    assert.equal(mode(pem), 0o600);
    assert.equal(mode(pfx), 0o600);
    assert.equal(mode(cer), 0o644);

    const blocks = pemBlocks(await fsp.readFile(pem, "utf8"));
    assert.equal(blocks[0].type, "PRIVATE KEY");
    assert.equal(blocks[1].type, "CERTIFICATE");
    const certPub = await publicKeyOf(["x509", "-in", cer, "-noout", "-pubkey"]);
    assert.equal(await publicKeyOf(["pkey", "-in", pem, "-pubout"]), certPub, "key matches cert");
    const subject = (await openssl(["x509", "-in", cer, "-noout", "-subject"])).toString();
    assert.match(subject, /CN\s*=\s*cli-web/);

    // The PFX opens with the empty password and holds the same key.
    const fromPfx = path.join(work, "from-pfx.pem");
    await openssl(["pkcs12", "-in", pfx, "-passin", "pass:", "-nodes", "-out", fromPfx]);
    assert.equal(await publicKeyOf(["pkey", "-in", fromPfx, "-pubout"]), certPub);
  });

  test("import a PEM made with openssl", async () => {
    const key = path.join(work, "imp.key");
    const crt = path.join(work, "imp.crt");
    await openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
      "-subj", "/CN=cli-imported", "-days", "30"]);
    const bundle = path.join(work, "imp.pem");
    await fsp.writeFile(bundle, (await fsp.readFile(key, "utf8")) + (await fsp.readFile(crt, "utf8")));
    const cert = await ok(["cert", "import", "cli-imp", "--file", bundle, "-o", "json"]);
    assert.equal(cert.policy.secret_props.contentType, "application/x-pem-file");
    const out = path.join(work, "imp-back.crt");
    await ok(["cert", "download", "cli-imp", "--format", "cer", "--out", out]);
    const fp = async (f) => (await openssl(["x509", "-in", f, "-noout", "-fingerprint", "-sha256"])).toString();
    assert.equal(await fp(out), await fp(crt));
  });

  test("import a PFX with a password file", async () => {
    const key = path.join(work, "p12.key");
    const crt = path.join(work, "p12.crt");
    const p12 = path.join(work, "p12.pfx");
    const pass = path.join(work, "p12.pass");
    await openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
      "-keyout", key, "-out", crt, "-subj", "/CN=cli-pfx", "-days", "30"]);
    await fsp.writeFile(pass, "s3cret\n");
    await openssl(["pkcs12", "-export", "-inkey", key, "-in", crt, "-out", p12, "-passout", "pass:s3cret"]);
    const cert = await ok(["cert", "import", "cli-pfx", "--file", p12, "--password-file", pass, "-o", "json"]);
    assert.equal(cert.policy.secret_props.contentType, "application/x-pkcs12");
    assert.equal(cert.policy.key_props.kty, "EC");
  });

  test("Unknown issuer: CSR -> openssl CA signs -> merge", async () => {
    const created = await cli(["cert", "create", "cli-ext", "--issuer", "Unknown", "--subject", "CN=ext.example.com"]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^status\s+inProgress$/m);
    assert.match(created.stdout, /-----BEGIN CERTIFICATE REQUEST-----/);

    const op = await ok(["cert", "pending", "cli-ext", "-o", "json"]);
    assert.equal(op.issuer.name, "Unknown");
    assert.equal(op.status, "inProgress");

    const csr = path.join(work, "ext.csr");
    await ok(["cert", "pending", "cli-ext", "--csr-out", csr]);
    const subject = (await openssl(["req", "-in", csr, "-noout", "-verify", "-subject"])).toString();
    assert.match(subject, /CN\s*=\s*ext\.example\.com/);

    const caKey = path.join(work, "ca.key");
    const caCrt = path.join(work, "ca.crt");
    await openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
      "-keyout", caKey, "-out", caCrt, "-subj", "/CN=CLI Test CA", "-days", "30",
      "-addext", "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    const leaf = path.join(work, "ext.crt");
    await openssl(["x509", "-req", "-in", csr, "-CA", caCrt, "-CAkey", caKey, "-CAcreateserial",
      "-out", leaf, "-days", "10"], { cwd: work });
    const chain = path.join(work, "ext-chain.pem");
    await fsp.writeFile(chain, (await fsp.readFile(leaf, "utf8")) + (await fsp.readFile(caCrt, "utf8")));

    const merged = await ok(["cert", "merge", "cli-ext", "--file", chain, "-o", "json"]);
    assert.match(merged.id, /\/certificates\/cli-ext\/[0-9a-f]{32}$/);
    const shown = await ok(["cert", "show", "cli-ext"]);
    assert.match(shown, /^issuer\s+CN=CLI Test CA$/m);
  });

  test("pending --cancel and --delete", async () => {
    await ok(["cert", "create", "cli-cancel", "--issuer", "Unknown", "-o", "json"]);
    const cancelled = await ok(["cert", "pending", "cli-cancel", "--cancel", "-o", "json"]);
    assert.equal(cancelled.cancellation_requested, true);
    await ok(["cert", "pending", "cli-cancel", "--delete"]);
    const gone = await cli(["cert", "pending", "cli-cancel"]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^error: \w*NotFound: /m);
  });

  test("delete -> recover -> delete -> purge", async () => {
    await ok(["cert", "create", "cli-del", "--kty", "EC"]);
    const deleted = await ok(["cert", "delete", "cli-del", "-o", "json"]);
    assert.match(deleted.recoveryId, /\/deletedcertificates\/cli-del$/);
    const gone = await cli(["cert", "show", "cli-del"]);
    assert.equal(gone.code, 1);

    const recovered = await ok(["cert", "recover", "cli-del", "-o", "json"]);
    assert.match(recovered.id, /\/certificates\/cli-del\//);
    await ok(["cert", "show", "cli-del"]);

    await ok(["cert", "delete", "cli-del"]);
    const purged = await ok(["cert", "purge", "cli-del"]);
    assert.match(purged, /purged cli-del/);
    const recoverAgain = await cli(["cert", "recover", "cli-del"]);
    assert.equal(recoverAgain.code, 1);
    assert.match(recoverAgain.stderr, /^error: \w+: /);
  });
});

describe("secrets", () => {
  test("set -> show -> list -> delete", async () => {
    const set = await ok(["secret", "set", "cli-db", "--value", "hunter2", "--content-type", "text/plain"]);
    assert.ok(!set.includes("hunter2"), "set does not echo the value");
    assert.equal(await ok(["secret", "show", "cli-db"]), "hunter2\n");

    const file = path.join(work, "multi.txt");
    await fsp.writeFile(file, "line one\nline two\n");
    await ok(["secret", "set", "cli-file", "--file", file]);
    const shown = await ok(["secret", "show", "cli-file", "-o", "json"]);
    assert.equal(shown.value, "line one\nline two\n");

    const list = await ok(["secret", "list", "-o", "json"]);
    const names = list.map((s) => s.id.split("/")[4]);
    assert.ok(names.includes("cli-db") && names.includes("cli-file"), names.join(","));
    assert.ok(list.every((s) => s.value === undefined), "list carries no values");

    const deleted = await ok(["secret", "delete", "cli-db", "-o", "json"]);
    assert.match(deleted.recoveryId, /\/deletedsecrets\/cli-db$/);
    const gone = await cli(["secret", "show", "cli-db"]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^error: SecretNotFound: /m);
  });

  test("list follows nextLink across pages", async () => {
    const n = 30; // more than one page of 25
    for (let i = 0; i < n; i++) {
      await ok(["secret", "set", `page-${String(i).padStart(2, "0")}`, "--value", `v${i}`, "--vault", "cli-team"]);
    }
    const list = await ok(["secret", "list", "--vault", "cli-team", "-o", "json"]);
    const pages = list.filter((s) => /\/secrets\/page-\d\d$/.test(s.id));
    assert.equal(pages.length, n);
    const limited = await ok(["cert", "list", "--max", "2", "-o", "json"]);
    assert.equal(limited.length, 2);
  });
});

describe("errors and settings", () => {
  test("a missing certificate: exit 1, the server's code on stderr", async () => {
    const r = await cli(["cert", "show", "no-such-cert"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: CertificateNotFound: .+/m);
    assert.equal(r.stdout, "");
  });

  test("an unknown vault: VaultNotFound", async () => {
    const r = await cli(["cert", "list", "--vault", "no-such-vault"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: VaultNotFound: /m);
  });

  test("a wrong client secret fails at the token endpoint", async () => {
    const r = await cli(["cert", "list", "--server", server.url, "--ca-file", server.caPath,
      "--client-id", server.admin.client_id, "--client-secret", "wrong"], { connection: false });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: \w+: getting a token/m);
    assert.ok(!r.stderr.includes("wrong"), "the secret is not echoed");
  });

  test("no server or credentials: usage error, exit 2", async () => {
    const r = await cli(["cert", "list"], { connection: false });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: no server/m);
  });

  test("a usage error from the parser exits non-zero", async () => {
    const r = await cli(["cert", "create"], { connection: false });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /name is required/);
  });

  test("TLS is verified: without --ca-file the connection fails, naming the URL", async () => {
    const r = await cli(["cert", "list", "--server", server.url, "--credentials", server.adminPath],
      { connection: false });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: cannot reach https:\/\/localhost:\d+\/oauth2\/token: /m);
  });

  test("connection refused names the URL", async () => {
    const r = await cli(["vault", "list", "--server", "https://localhost:1", "--credentials",
      server.adminPath, "--ca-file", server.caPath], { connection: false });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot reach https:\/\/localhost:1\//);
  });

  test("config file and environment; flags beat env beat file", async () => {
    const config = path.join(work, "config.json");
    await fsp.writeFile(config, JSON.stringify({
      server: server.url, credentials: server.adminPath, ca_file: server.caPath, vault: "no-such-vault",
    }));
    // The file's vault does not exist; the env's does; the flag's wins over both.
    const fromFile = await cli(["cert", "list"], { connection: false, env: { CERTVAULT_CONFIG: config } });
    assert.match(fromFile.stderr, /VaultNotFound/);
    const fromEnv = await cli(["secret", "list", "-o", "json"], {
      connection: false, env: { CERTVAULT_CONFIG: config, CERTVAULT_VAULT: "cli-team" },
    });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    assert.ok(JSON.parse(fromEnv.stdout).some((s) => s.id.endsWith("/only-in-team")));
    const fromFlag = await cli(["secret", "list", "-o", "json", "--vault", "default", "--config", config], {
      connection: false, env: { CERTVAULT_VAULT: "cli-team" },
    });
    assert.equal(fromFlag.code, 0, fromFlag.stderr);
    assert.ok(!JSON.parse(fromFlag.stdout).some((s) => s.id.endsWith("/only-in-team")));

    // The default config location, ~/.config/certvault/config.json.
    await fsp.mkdir(path.join(work, ".config", "certvault"), { recursive: true });
    await fsp.copyFile(config, path.join(work, ".config", "certvault", "config.json"));
    const fromHome = await cli(["vault", "list", "-o", "json"], { connection: false });
    assert.equal(fromHome.code, 0, fromHome.stderr);
    await fsp.rm(path.join(work, ".config"), { recursive: true });
  });

  test("the server is derived from the credentials' token_url", async () => {
    const r = await cli(["vault", "list", "--credentials", server.adminPath, "--ca-file", server.caPath],
      { connection: false });
    assert.equal(r.code, 0, r.stderr);
  });

  test("every command has help with examples", async () => {
    for (const cmd of [["cert", "create"], ["cert", "download"], ["cert", "pending"], ["secret", "set"], ["vault", "create"]]) {
      const r = await cli([...cmd, "--help"], { connection: false });
      assert.equal(r.code, 0);
      assert.match(r.stdout, /Examples?:\n\s+certvault /, cmd.join(" "));
      assert.match(r.stdout, /--server/);
    }
  });
});

describe("service principals, roles and the audit trail", () => {
  /** Runs the client as another principal (its own credentials file). */
  function cliAs(credentials, args) {
    return cli([...args, "--server", server.url, "--credentials", credentials, "--ca-file", server.caPath],
      { connection: false });
  }

  async function writeCredentials(file, clientId, clientSecret) {
    await fsp.writeFile(file, JSON.stringify({
      client_id: clientId, client_secret: clientSecret, token_url: `${server.url}/oauth2/token`,
    }), { mode: 0o600 });
  }

  test("sp create, role assign, use, disable, rotate-secret, role remove, sp delete", async () => {
    const sp = await ok(["sp", "create", "--name", "ci-bot", "-o", "json"]);
    assert.match(sp.clientId, /^[0-9a-f]{32}$/);
    assert.ok(sp.clientSecret.length >= 40);
    const table = await cli(["sp", "show", sp.clientId]);
    assert.equal(table.code, 0, table.stderr);
    assert.ok(!table.stdout.includes(sp.clientSecret), "sp show never prints the secret");
    const creds = path.join(work, "ci-bot.json");
    await writeCredentials(creds, sp.clientId, sp.clientSecret);

    await ok(["secret", "set", "cli-sp-secret", "--value", "for the bot"]);
    await ok(["secret", "set", "cli-sp-other", "--value", "not for the bot"]);
    // Deny by default: a new principal can read nothing.
    const before = await cliAs(creds, ["secret", "show", "cli-sp-secret"]);
    assert.notEqual(before.code, 0);
    assert.match(before.stderr, /Forbidden|ForbiddenByRbac|403/);

    const assignment = await ok(["role", "assign", "--principal", sp.clientId, "--role", "secrets-user",
      "--scope", "/vaults/default/secrets/cli-sp-secret", "-o", "json"]);
    assert.equal(assignment.role, "Secrets User");
    const listed = await ok(["role", "list", "--principal", sp.clientId, "-o", "json"]);
    assert.deepEqual(listed.map((a) => a.id), [assignment.id]);

    const shown = await cliAs(creds, ["secret", "show", "cli-sp-secret"]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /for the bot/);
    const other = await cliAs(creds, ["secret", "show", "cli-sp-other"]);
    assert.notEqual(other.code, 0);
    assert.ok(!other.stdout.includes("not for the bot"));
    const list = await cliAs(creds, ["secret", "list"]);
    assert.notEqual(list.code, 0, "listing needs a role at vault scope");

    // Disabled: refused within two seconds (bounded poll), enabled again: works.
    await ok(["sp", "disable", sp.clientId]);
    let refused = false;
    for (let i = 0; i < 15 && !refused; i++) {
      refused = (await cliAs(creds, ["secret", "show", "cli-sp-secret"])).code !== 0;
      if (!refused) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(refused, "a disabled principal must be refused");
    await ok(["sp", "enable", sp.clientId]);
    assert.equal((await cliAs(creds, ["secret", "show", "cli-sp-secret"])).code, 0);

    // A rotated secret replaces the old one.
    const rotated = await ok(["sp", "rotate-secret", sp.clientId, "-o", "json"]);
    assert.notEqual(rotated.clientSecret, sp.clientSecret);
    assert.notEqual((await cliAs(creds, ["secret", "show", "cli-sp-secret"])).code, 0);
    await writeCredentials(creds, sp.clientId, rotated.clientSecret);
    assert.equal((await cliAs(creds, ["secret", "show", "cli-sp-secret"])).code, 0);

    // The trail names the bot for what it did and what it was refused.
    const records = await ok(["audit", "list", "--principal", sp.clientId, "--max", "1000", "-o", "json"]);
    const outcomes = new Set(records.filter((r) => r.operation === "secrets.get").map((r) => r.outcome));
    assert.ok(outcomes.has("success") && outcomes.has("denied"), [...outcomes].join(","));

    await ok(["role", "remove", assignment.id]);
    assert.deepEqual(await ok(["role", "list", "--principal", sp.clientId, "-o", "json"]), []);
    await ok(["sp", "delete", sp.clientId]);
    const principals = await ok(["sp", "list", "-o", "json"]);
    assert.ok(!principals.some((p) => p.clientId === sp.clientId));
  });

  test("a principal cannot delete itself, and bad input is refused with a clear message", async () => {
    const admin = JSON.parse(await fsp.readFile(server.adminPath, "utf8"));
    const self = await cli(["sp", "delete", admin.client_id]);
    assert.notEqual(self.code, 0);
    assert.match(self.stderr, /itself/);
    const badRole = await cli(["role", "assign", "--principal", admin.client_id, "--role", "Owner", "--scope", "/"]);
    assert.notEqual(badRole.code, 0);
    assert.match(badRole.stderr, /role/i);
    const badScope = await cli(["role", "assign", "--principal", admin.client_id, "--role", "Reader",
      "--scope", "/vaults/default/keys/k"]);
    assert.notEqual(badScope.code, 0);
    assert.match(badScope.stderr, /scope/i);
  });

  test("the new command groups have help with examples", async () => {
    for (const cmd of [["sp", "create"], ["role", "assign"], ["audit", "list"], ["audit", "export"], ["token", "rotate-key"]]) {
      const r = await cli([...cmd, "--help"], { connection: false });
      assert.equal(r.code, 0, cmd.join(" "));
      assert.match(r.stdout, /Examples?:\n\s+certvault /, cmd.join(" "));
    }
  });
});

describe("examples", () => {
  test("examples/least-privilege.sh runs against the server", async () => {
    const script = path.join(REPO_ROOT, "examples", "least-privilege.sh");
    const r = await new Promise((resolve) => {
      execFile("bash", [script, server.dataDir], {
        env: { ...process.env, CERTVAULT_BIN: process.env.CERTVAULT_CLI_BIN || certvaultBin() },
        timeout: CLI_TIMEOUT_MS,
      }, (err, stdout, stderr) => resolve({ code: err ? err.code ?? -1 : 0, stdout, stderr }));
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /key: ok/);
    assert.match(r.stdout, /secrets\.get .* denied +403/);
  });
});
