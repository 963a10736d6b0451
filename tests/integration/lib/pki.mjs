// Test PKI made with the `openssl` command: CAs, leaf certificates, CSR signing, PKCS#12 files.
// Everything lives in a temp dir owned by a Pki instance; call cleanup() in after().
import { execFile } from "node:child_process";
import crypto from "node:crypto";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const execFileP = promisify(execFile);

/** Runs `openssl ...args` in cwd; throws with openssl's stderr on failure. Returns stdout (Buffer). */
export async function openssl(args, { cwd, timeout = 60_000 } = {}) {
  try {
    const { stdout } = await execFileP("openssl", args, {
      cwd,
      timeout,
      encoding: "buffer",
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const stderr = err.stderr ? err.stderr.toString() : "";
    throw new Error(`openssl ${args.join(" ")} failed: ${stderr || err.message}`);
  }
}

/** Splits PEM text into its blocks: [{type: "CERTIFICATE", der: Buffer, pem: string}, ...] in order. */
export function pemBlocks(text) {
  const re = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;
  const out = [];
  let m;
  while ((m = re.exec(text)) !== null) {
    out.push({ type: m[1], der: Buffer.from(m[2].replace(/\s+/g, ""), "base64"), pem: m[0] + "\n" });
  }
  return out;
}

/** DER certificate -> PEM text. */
export function derToPem(der, type = "CERTIFICATE") {
  const b64 = Buffer.from(der).toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
  return `-----BEGIN ${type}-----\n${b64}\n-----END ${type}-----\n`;
}

/** True if the private key (KeyObject or PEM) belongs to the certificate (DER, PEM or X509Certificate). */
export function keyMatchesCert(key, cert) {
  const x509 = cert instanceof crypto.X509Certificate ? cert : new crypto.X509Certificate(cert);
  const keyObj = key instanceof crypto.KeyObject ? key : crypto.createPrivateKey(key);
  return x509.checkPrivateKey(keyObj);
}

/** `openssl x509 -text` of a DER or PEM certificate. */
export async function certText(pki, cert) {
  const file = await pki.write(`text-${crypto.randomBytes(4).toString("hex")}.pem`,
    Buffer.isBuffer(cert) || cert instanceof Uint8Array ? derToPem(cert) : cert);
  return (await openssl(["x509", "-in", file, "-noout", "-text"])).toString();
}

export class Pki {
  static async create() {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "certvault-it-pki-"));
    return new Pki(dir);
  }

  constructor(dir) {
    this.dir = dir;
    this.serial = 1;
  }

  async cleanup() {
    await fsp.rm(this.dir, { recursive: true, force: true });
  }

  p(name) {
    return path.join(this.dir, name);
  }

  async write(name, data) {
    await fsp.writeFile(this.p(name), data);
    return this.p(name);
  }

  async read(name) {
    return fsp.readFile(this.p(name));
  }

  /** A new private key (PKCS#8 PEM file). kind: "rsa2048", "rsa3072", "p256", "p384". */
  async newKey(name, kind = "p256") {
    const args = ["genpkey", "-out", this.p(`${name}.key`)];
    if (kind.startsWith("rsa")) {
      args.push("-algorithm", "RSA", "-pkeyopt", `rsa_keygen_bits:${kind.slice(3)}`);
    } else {
      const curve = { p256: "P-256", p384: "P-384", p521: "P-521" }[kind];
      if (!curve) throw new Error(`unknown key kind ${kind}`);
      args.push("-algorithm", "EC", "-pkeyopt", `ec_paramgen_curve:${curve}`);
    }
    await openssl(args, { cwd: this.dir });
    return this.p(`${name}.key`);
  }

  /** A self-signed CA: {name, keyPath, certPath, certPem, certDer}. */
  async makeCA(name = "ca", { cn = `certvault test CA ${name}`, kind = "p256", days = 30 } = {}) {
    const keyPath = await this.newKey(name, kind);
    const certPath = this.p(`${name}.pem`);
    await openssl(
      [
        "req", "-x509", "-new", "-key", keyPath, "-out", certPath, "-subj", `/CN=${cn}`,
        "-days", String(days), "-sha256",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-addext", "subjectKeyIdentifier=hash",
      ],
      { cwd: this.dir },
    );
    return this.#certInfo(name, keyPath, certPath);
  }

  async #certInfo(name, keyPath, certPath) {
    const certPem = (await fsp.readFile(certPath)).toString();
    const keyPem = keyPath ? (await fsp.readFile(keyPath)).toString() : undefined;
    return {
      name,
      keyPath,
      certPath,
      keyPem,
      certPem,
      certDer: pemBlocks(certPem)[0].der,
      x509: new crypto.X509Certificate(certPem),
    };
  }

  /**
   * Signs a CSR (DER or PEM Buffer) with the CA; extensions of the CSR are copied.
   * Returns {certPath, certPem, certDer, x509}.
   */
  async signCsr(ca, csr, { name = `signed${this.serial}`, days = 30, ext } = {}) {
    const isPem = Buffer.from(csr).subarray(0, 11).toString() === "-----BEGIN ";
    const csrPath = await this.write(`${name}.csr`, Buffer.from(csr));
    const certPath = this.p(`${name}.pem`);
    const args = [
      "x509", "-req", "-in", csrPath, "-inform", isPem ? "PEM" : "DER",
      "-CA", ca.certPath, "-CAkey", ca.keyPath, "-set_serial", String(1000 + this.serial++),
      "-days", String(days), "-sha256", "-out", certPath, "-copy_extensions", "copyall",
    ];
    if (ext) {
      const extPath = await this.write(`${name}.ext`, `[v3]\n${ext}\n`);
      args.push("-extfile", extPath, "-extensions", "v3");
    }
    await openssl(args, { cwd: this.dir });
    return this.#certInfo(name, undefined, certPath);
  }

  /**
   * A leaf certificate with a fresh key, signed by ca: {keyPath, keyPem, certPath, certPem, certDer, x509}.
   * sans: e.g. "DNS:a.example.test,IP:192.0.2.1".
   */
  async makeLeaf(ca, name, { cn = name, kind = "p256", sans = `DNS:${name}.example.test`, days = 30 } = {}) {
    const keyPath = await this.newKey(name, kind);
    const csrPath = this.p(`${name}.csr`);
    await openssl(["req", "-new", "-key", keyPath, "-subj", `/CN=${cn}`, "-out", csrPath], { cwd: this.dir });
    const ext = [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth,clientAuth",
      sans ? `subjectAltName=${sans}` : "",
    ].filter(Boolean).join("\n");
    const signed = await this.signCsr(ca, await fsp.readFile(csrPath), { name, days, ext });
    return { ...signed, keyPath, keyPem: (await fsp.readFile(keyPath)).toString() };
  }

  /** A PKCS#12 file of key + cert (+ chain PEM paths); password "" means an empty password. */
  async pkcs12(name, { keyPath, certPath, chainPaths = [], password = "" }) {
    const out = this.p(`${name}.pfx`);
    const args = ["pkcs12", "-export", "-inkey", keyPath, "-in", certPath, "-out", out, "-passout", `pass:${password}`];
    if (chainPaths.length) {
      const chain = await this.write(`${name}.chain.pem`,
        (await Promise.all(chainPaths.map((p) => fsp.readFile(p)))).map(String).join(""));
      args.push("-certfile", chain);
    }
    await openssl(args, { cwd: this.dir });
    return fsp.readFile(out);
  }

  /**
   * Reads a PKCS#12 (Buffer) with `openssl pkcs12`: {keyPem, leafPem, certsPem (all certs, in file order)}.
   */
  async readPkcs12(pfx, password = "") {
    const file = await this.write(`read-${crypto.randomBytes(4).toString("hex")}.pfx`, pfx);
    const keyPem = (await openssl(["pkcs12", "-in", file, "-passin", `pass:${password}`, "-nocerts", "-nodes"])).toString();
    const leafPem = (await openssl(["pkcs12", "-in", file, "-passin", `pass:${password}`, "-nokeys", "-clcerts"])).toString();
    const certsPem = (await openssl(["pkcs12", "-in", file, "-passin", `pass:${password}`, "-nokeys"])).toString();
    return { keyPem, leafPem, certsPem };
  }
}
