#!/usr/bin/env node
// Runs the integration suite: `node lib/run.mjs [file.test.mjs ...]` from tests/integration
// (CTest's sdk_integration does exactly this). Without arguments it runs every *.test.mjs here.
// It checks the prerequisites first and fails loudly when one is missing.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { certvaultBin } from "./server.mjs";

const DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const problems = [];

const major = Number(process.versions.node.split(".")[0]);
if (major < 20) problems.push(`Node.js >= 20 is required, this is ${process.version}`);

for (const pkg of ["@azure/keyvault-certificates", "@azure/keyvault-secrets", "@azure/identity", "@azure/core-auth"]) {
  if (!fs.existsSync(path.join(DIR, "node_modules", pkg, "package.json"))) {
    problems.push(`${pkg} is not installed in tests/integration/node_modules: run scripts/install-deps.sh (it runs npm ci there)`);
  }
}
const bin = certvaultBin();
if (!fs.existsSync(bin)) problems.push(`the certvault binary is missing at ${bin}: build it (make build) or set CERTVAULT_BIN`);
if (spawnSync("openssl", ["version"]).status !== 0) problems.push("the openssl command is missing: run scripts/install-deps.sh");

if (problems.length) {
  for (const p of problems) console.error(`sdk_integration: FAIL: ${p}`);
  process.exit(1);
}

let files = process.argv.slice(2);
if (files.length === 0) files = fs.readdirSync(DIR).filter((f) => f.endsWith(".test.mjs")).sort();
if (files.length === 0) {
  console.error("sdk_integration: FAIL: no *.test.mjs files found");
  process.exit(1);
}

const args = ["--import", "./lib/setup.mjs", "--test", "--test-reporter=spec", "--test-timeout=300000"];
if (process.env.CERTVAULT_IT_CONCURRENCY) args.push(`--test-concurrency=${process.env.CERTVAULT_IT_CONCURRENCY}`);
console.log(`sdk_integration: certvault=${bin} node=${process.version} files=${files.join(" ")}`);
const res = spawnSync(process.execPath, [...args, ...files], { cwd: DIR, stdio: "inherit", env: { ...process.env, CERTVAULT_BIN: bin } });
if (res.error) {
  console.error(`sdk_integration: FAIL: ${res.error.message}`);
  process.exit(1);
}
process.exit(res.status ?? 1);
