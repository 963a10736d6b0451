// Creates a certificate in a certvault vault with the unmodified Azure Key Vault SDK for
// JavaScript, then reads the certificate's secret (private key + certificate, PEM) and checks
// that the key belongs to the certificate. See README.md for how to run it.
//
// Environment:
//   CERTVAULT_DATA_DIR     the server's data directory (default ../../data, where `make run` puts it);
//                          admin.json is read from it
//   CERTVAULT_CREDENTIALS  path of a credentials file {client_id, client_secret, token_url}
//                          (default $CERTVAULT_DATA_DIR/admin.json)
//   CERTVAULT_VAULT        vault name (default "default")
//   CERTVAULT_VAULT_URL    vault URL (default https://{vault}.{host of token_url}:{port of token_url})
//   NODE_EXTRA_CA_CERTS    must name the server's ca.pem (Node reads it at start-up)
// Argument: the certificate name (default node-example-<unix time>).
import { isTokenCredential } from "@azure/core-auth";
import { CertificateClient } from "@azure/keyvault-certificates";
import { SecretClient } from "@azure/keyvault-secrets";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * A TokenCredential that asks certvault's token endpoint for a token with the OAuth2
 * client-credentials grant. The SDK asks for the scope "https://localhost/.default" (from the
 * server's challenge); certvault issues one audience, so the scope is informational.
 * @implements {import("@azure/core-auth").TokenCredential}
 */
class CertvaultCredential {
  constructor({ client_id, client_secret, token_url }) {
    this.clientId = client_id;
    this.clientSecret = client_secret;
    this.tokenUrl = token_url;
  }

  async getToken(scopes, options = {}) {
    const form = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: this.clientId,
      client_secret: this.clientSecret,
      scope: [].concat(scopes).join(" "),
    });
    const res = await fetch(this.tokenUrl, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: form,
      signal: options.abortSignal,
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok || typeof body.access_token !== "string") {
      throw new Error(`token request to ${this.tokenUrl} failed: HTTP ${res.status} ${body.error ?? ""} ${body.error_description ?? ""}`);
    }
    return {
      token: body.access_token,
      expiresOnTimestamp: Date.now() + Number(body.expires_in) * 1000,
      tokenType: "Bearer",
    };
  }
}

function fail(message) {
  console.error(`error: ${message}`);
  process.exit(1);
}

const dataDir = process.env.CERTVAULT_DATA_DIR || path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../data");
const credentialsPath = process.env.CERTVAULT_CREDENTIALS || path.join(dataDir, "admin.json");
let credentials;
try {
  credentials = JSON.parse(readFileSync(credentialsPath, "utf8"));
} catch (e) {
  fail(`cannot read ${credentialsPath} (set CERTVAULT_DATA_DIR or CERTVAULT_CREDENTIALS): ${e.message}`);
}
// Node trusts its built-in roots plus the one file NODE_EXTRA_CA_CERTS names, read at start-up.
const caPath = path.join(dataDir, "ca.pem");
if (!process.env.NODE_EXTRA_CA_CERTS) {
  fail(`set NODE_EXTRA_CA_CERTS to the server's ca.pem (e.g. ${caPath}) so Node trusts it`);
}
try {
  const ca = readFileSync(caPath, "utf8").trim();
  if (!readFileSync(process.env.NODE_EXTRA_CA_CERTS, "utf8").includes(ca)) {
    console.warn(`warning: NODE_EXTRA_CA_CERTS (${process.env.NODE_EXTRA_CA_CERTS}) does not contain ${caPath}; TLS will fail`);
  }
} catch {
  // No ca.pem next to the credentials, or an unreadable NODE_EXTRA_CA_CERTS: let TLS decide.
}
const vault = process.env.CERTVAULT_VAULT || "default";
const tokenUrl = new URL(credentials.token_url);
const vaultUrl = process.env.CERTVAULT_VAULT_URL || `https://${vault}.${tokenUrl.host}`;
const name = process.argv[2] || `node-example-${Math.floor(Date.now() / 1000)}`;

const credential = new CertvaultCredential(credentials);
if (!isTokenCredential(credential)) fail("CertvaultCredential is not a TokenCredential");
const certificates = new CertificateClient(vaultUrl, credential);
const secrets = new SecretClient(vaultUrl, credential);

console.log(`vault ${vaultUrl}: creating certificate ${name}`);
const poller = await certificates.beginCreateCertificate(
  name,
  {
    issuerName: "Self",
    subject: `CN=${name}.example.com`,
    subjectAlternativeNames: { dnsNames: [`${name}.example.com`] },
    keyType: "EC",
    keyCurveName: "P-256",
    contentType: "application/x-pem-file",
    validityInMonths: 12,
  },
  { intervalInMs: 500 },
);
const certificate = await poller.pollUntilDone({ abortSignal: AbortSignal.timeout(60_000) });
console.log(`created ${certificate.properties.id}`);
console.log(`  expires ${certificate.properties.expiresOn?.toISOString()}`);

// The certificate's secret has the certificate's name: key and chain as PEM (the policy's
// contentType), or base64 PKCS#12 for application/x-pkcs12.
const secret = await secrets.getSecret(name);
const pem = secret.value ?? "";
const certPem = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0];
if (!certPem || !pem.includes("PRIVATE KEY-----")) fail("the secret does not hold a PEM key and certificate");
const x509 = new X509Certificate(certPem);
const key = createPrivateKey(pem);
console.log(`secret ${secret.properties.id} (${secret.properties.contentType}, managed: ${secret.properties.managed})`);
console.log(`  subject ${x509.subject.replace(/\n/g, ", ")}, SANs ${x509.subjectAltName}`);
if (!x509.checkPrivateKey(key)) fail("the private key does not match the certificate");
console.log(`  the ${key.asymmetricKeyType.toUpperCase()} private key matches the certificate`);
