#!/usr/bin/env bash
# Benchmark 3: 1,000 certificates fall due for renewal at the same moment, built-in CA: seconds
# until all are renewed.
#
# certvault: a server with --test-clock, an `internal` issuer (the server's own issuing CA) and
# N (default 1,000) EC P-256 certificates with validity P30D and AutoRenew at 80%, created in
# parallel through the API (setup, not measured). Measured: from POST /management/clock
# {"advance":"P25D"} (past 80% of every certificate at once) until every certificate has its new
# version, as seen in the event outbox (CertificateNewVersionCreated, written in the same
# transaction as the version). Each renewal is a durable job: a new key pair generated in the
# vault, a CSR, the CA's signature, the sealed key and the version committed to SQLite
# (synchronous=FULL, group commit) with its events.
#
# Peer: cfssl, as users script it today: a shell loop of `cfssl sign -ca ... CSR | cfssljson
# -bare NAME` over the very CSRs certvault's renewals made (read back from the pending
# operations), with an EC P-256 CA. cfssl sign keeps no store: it writes PEM files (no fsync, no
# database) and generates no keys (it signs CSRs made for it). Prints both times and the ratio
# peer time / certvault time (how many times faster certvault is).
#
# Diagnostic rows (BENCH_DIAG=1, the default): `cfssl serve`'s sign API driven by
# BENCH_RENEW_JOB_THREADS keep-alive connections (cfssl without the per-certificate process start),
# and a shell loop of `cfssl gencert` (a new key and CSR per certificate, like certvault does).
#
# Knobs: BENCH_RENEW_N (default 1000), BENCH_RENEW_JOB_THREADS (certvault --job-threads; default:
# the server's default), plus lib.sh's.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=bench/lib_pebble.sh
source "$(dirname "$0")/lib_pebble.sh"
require_tools cfssl cfssljson openssl curl python3

N="${BENCH_RENEW_N:-1000}"
JOB_THREADS="${BENCH_RENEW_JOB_THREADS:-}"
PREFIX=ri
header_renew "renew_internal: $N certificates due at once, built-in CA, seconds until all are renewed; certvault vs a shell loop of cfssl sign" "$0 $*"

# --- certvault ----------------------------------------------------------------------------------
CV_ARGS=(--test-clock)
[[ -n "$JOB_THREADS" ]] && CV_ARGS+=(--job-threads "$JOB_THREADS")
start_certvault "$BENCH_TMP/cv" "${CV_ARGS[@]}"
CV_TOKEN="$(certvault_token)"
echo "certvault: port $CV_PORT, data dir $BENCH_TMP/cv on $(fs_of "$BENCH_TMP") (write+fsync latency $(fsync_ms "$BENCH_TMP") ms), args: ${CV_ARGS[*]} --rate-limit 0"
code="$(cv_curl -o "$BENCH_TMP/issuer.json" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
  "https://$CV_HOST/certificates/issuers/int?api-version=7.5" -d '{"provider":"internal"}')"
[[ "$code" == 200 ]] || die "PUT issuer int: HTTP $code $(head -c 300 "$BENCH_TMP/issuer.json")"

echo "setup:    creating $N certificates (EC P-256, issuer internal, validity P30D, AutoRenew at 80%), 8 connections"
t0=$(date +%s.%N)
SEQ0="$(renew_tool seq)"
renew_tool create "$PREFIX" "$N" int P30D 8 >/dev/null
renew_tool wait "$PREFIX" "$N" "$SEQ0" 600 >/dev/null
echo "          all $N issued in $(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$(date +%s.%N)") s ($(renew_tool jobs create))"

echo "measure:  POST /management/clock {\"advance\":\"P25D\"} -> every certificate past 80% of its lifetime"
CPU0="$(cpu_ticks "$CV_PID")"
CV_S="$(renew_tool renew-clock "$PREFIX" "$N" P25D 900)"
CV_CPU_MS="$(cpu_ms_per_request "$CPU0" "$(cpu_ticks "$CV_PID")" "$N")"
echo "          all $N renewed in $CV_S s (server CPU $CV_CPU_MS ms per renewal)"

# Verification: one AutoRenew job per certificate, all succeeded; two versions each.
JOBS="$(renew_tool jobs AutoRenew)"
VERSIONS="$(renew_tool versions "$PREFIX" "$N")"
echo "verify:   AutoRenew jobs: $JOBS; versions per certificate: $VERSIONS"
[[ "$JOBS" == "succeeded=$N" ]] || die "expected succeeded=$N AutoRenew jobs, got: $JOBS"
[[ "$VERSIONS" == "2_versions=$N" ]] || die "expected 2 versions for each of $N certificates, got: $VERSIONS"

# The renewals' CSRs for the peer (the completed pending operations keep them).
CSR_DIR="$BENCH_TMP/csr"
mkdir -p "$CSR_DIR"
renew_tool csrs "$PREFIX" "$N" "$CSR_DIR" 4
[[ "$(find "$CSR_DIR" -name '*.csr' | wc -l)" == "$N" ]] || die "could not read $N CSRs back"
kill -TERM "$CV_PID" 2>/dev/null || true # the peer gets the machine to itself

# --- cfssl ---------------------------------------------------------------------------------------
CF="$BENCH_TMP/cfssl"
mkdir -p "$CF/out"
echo '{"CN":"certvault bench renewal CA","key":{"algo":"ecdsa","size":256},"names":[{"O":"certvault bench"}]}' >"$CF/ca-csr.json"
(cd "$CF" && cfssl gencert -initca ca-csr.json 2>/dev/null | cfssljson -bare ca) || die "cfssl gencert -initca failed"
cat >"$CF/config.json" <<'EOF'
{"signing": {"default": {"expiry": "720h"},
 "profiles": {"renew": {"expiry": "720h", "usages": ["digital signature", "server auth", "client auth"]}}}}
EOF
echo "peer:     cfssl $(cfssl version | head -1 | sed 's/Version: //'): for f in csr/*.csr; do cfssl sign -ca ca.pem -ca-key ca-key.pem -config config.json -profile renew \$f | cfssljson -bare out/NAME; done"
cf_loop() {
  local f
  for f in "$CSR_DIR"/*.csr; do
    cfssl sign -loglevel 2 -ca "$CF/ca.pem" -ca-key "$CF/ca-key.pem" -config "$CF/config.json" -profile renew "$f" |
      cfssljson -bare "$CF/out/$(basename "$f" .csr)" || return 1
  done
}
t0=$(date +%s.%N)
cf_loop || die "cfssl sign loop failed"
CF_S="$(python3 -c "import sys; print('%.3f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$(date +%s.%N)")"
SIGNED="$(find "$CF/out" -name '*.pem' ! -name '*-key.pem' | wc -l)"
[[ "$SIGNED" == "$N" ]] || die "cfssl wrote $SIGNED certificates, expected $N"
openssl x509 -in "$(find "$CF/out" -name '*.pem' | head -1)" -noout -issuer >/dev/null || die "cfssl output is not a certificate"
echo "          $N certificates signed in $CF_S s"

# --- diagnostics ---------------------------------------------------------------------------------
diag_rows=()
if [[ "$BENCH_DIAG" == 1 ]]; then
  CONC="${JOB_THREADS:-4}"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$CF/tls-key.pem" -out "$CF/tls.pem" 2>/dev/null
  CF_PORT="$(free_port)"
  cfssl serve -address 127.0.0.1 -port "$CF_PORT" -ca "$CF/ca.pem" -ca-key "$CF/ca-key.pem" -config "$CF/config.json" \
    -tls-cert "$CF/tls.pem" -tls-key "$CF/tls-key.pem" -loglevel 2 >"$CF/serve.log" 2>&1 &
  CF_PID=$!
  bench_track "$CF_PID"
  wait_for "cfssl serve on port $CF_PORT" 150 tcp_accepts "$CF_PORT"
  CF_SERVE_S="$(python3 - "$CF_PORT" "$CF/tls.pem" "$CSR_DIR" "$CONC" <<'PY'
import http.client, json, os, ssl, sys, threading, time
port, ca, d, conc = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
files = sorted(os.path.join(d, f) for f in os.listdir(d))
lock, it, errors = threading.Lock(), iter(files), []
def worker():
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ssl.create_default_context(cafile=ca), timeout=60)
    while not errors:
        with lock:
            f = next(it, None)
        if f is None:
            return
        c.request("POST", "/api/v1/cfssl/sign", body=json.dumps({"certificate_request": open(f).read(), "profile": "renew"}),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        body = json.loads(r.read())
        if r.status != 200 or not body.get("success") or "BEGIN CERTIFICATE" not in body["result"]["certificate"]:
            errors.append("%s: %d %s" % (f, r.status, str(body)[:200]))
t0 = time.monotonic()
ts = [threading.Thread(target=worker) for _ in range(conc)]
[t.start() for t in ts]
[t.join() for t in ts]
if errors:
    sys.exit(errors[0])
print("%.3f" % (time.monotonic() - t0))
PY
)" || die "cfssl serve sign run failed"
  kill -TERM "$CF_PID" 2>/dev/null || true
  diag_rows+=("cfssl serve /api/v1/cfssl/sign, $CONC keep-alive connections (no files written)|$CF_SERVE_S")

  mkdir -p "$CF/gen"
  gen_loop() {
    local i
    for ((i = 0; i < N; i++)); do
      echo "{\"CN\":\"$PREFIX-$i.example.test\",\"hosts\":[\"$PREFIX-$i.example.test\"],\"key\":{\"algo\":\"ecdsa\",\"size\":256}}" |
        cfssl gencert -loglevel 2 -ca "$CF/ca.pem" -ca-key "$CF/ca-key.pem" -config "$CF/config.json" -profile renew - |
        cfssljson -bare "$CF/gen/$PREFIX-$i" || return 1
    done
  }
  t0=$(date +%s.%N)
  gen_loop || die "cfssl gencert loop failed"
  GEN_S="$(python3 -c "import sys; print('%.3f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$(date +%s.%N)")"
  [[ "$(find "$CF/gen" -name '*-key.pem' | wc -l)" == "$N" ]] || die "cfssl gencert loop wrote the wrong number of keys"
  diag_rows+=("shell loop of cfssl gencert (new key + CSR + signature each, files)|$GEN_S")
fi

# --- report --------------------------------------------------------------------------------------
R="$(ratio "$CF_S" "$CV_S")"
echo
printf '%-78s %10s %12s\n' "renewing $N certificates" "seconds" "per second"
printf '%-78s %10s %12s\n' "certvault: AutoRenew jobs, internal CA, durable (SQLite, fsync), new keys" "$CV_S" "$(python3 -c "print('%.0f' % ($N / $CV_S))")"
printf '%-78s %10s %12s\n' "cfssl: shell loop of cfssl sign | cfssljson (no store, no fsync, no keygen)" "$CF_S" "$(python3 -c "print('%.0f' % ($N / $CF_S))")"
for row in "${diag_rows[@]}"; do
  IFS='|' read -r label secs <<<"$row"
  printf '%-78s %10s %12s\n' "diag: $label" "$secs" "$(python3 -c "print('%.0f' % ($N / $secs))")"
done
echo "note: durable commits: certvault yes (every version, its sealed key and its events in SQLite, synchronous=FULL);"
echo "      cfssl sign has no store: it prints the certificate and cfssljson writes PEM files without fsync."
echo "      certvault also generates each renewal's key pair and CSR; cfssl sign signs CSRs made for it."
echo "certvault: $CV_S s, peer: $CF_S s, ratio: $R (peer time / certvault time)"
echo "RESULT renew_internal n=$N certvault_s=$CV_S cfssl_sign_loop_s=$CF_S ratio=$R certvault_cpu_ms_per_renewal=$CV_CPU_MS"
