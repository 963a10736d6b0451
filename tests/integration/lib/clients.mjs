// SDK clients (the unmodified npm packages) pointed at a test server.
import { CertificateClient } from "@azure/keyvault-certificates";
import { SecretClient } from "@azure/keyvault-secrets";
import { clientOptions, tokenCredential, vaultUrl } from "./server.mjs";

export function certificateClient(server, vault = "default", extra = {}) {
  return new CertificateClient(vaultUrl(server.port, vault), tokenCredential(server), clientOptions(server, extra));
}

export function secretClient(server, vault = "default", extra = {}) {
  return new SecretClient(vaultUrl(server.port, vault), tokenCredential(server), clientOptions(server, extra));
}

/** Fast polling for the SDK's long-running operations (create, delete, recover). */
export const FAST = { intervalInMs: 50 };

/** Waits for a poller with a bound (the poller is aborted when the bound passes). */
export async function done(poller, timeoutMs = 60_000) {
  return poller.pollUntilDone({ abortSignal: AbortSignal.timeout(timeoutMs) });
}
