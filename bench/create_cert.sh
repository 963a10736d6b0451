#!/usr/bin/env bash
# Benchmark 2: create-certificate throughput, EC P-256, self-issued, each durably committed.
#
# certvault: POST /certificates/{unique name}/create (EC P-256, issuer Self). The 202 comes after
# the key is generated, the certificate issued and the version (sealed key, certificate, pending
# operation) committed to SQLite with synchronous=FULL. The peer is `cfssl serve`'s newcert
# endpoint (POST /api/v1/cfssl/newcert: generate an ECDSA P-256 key, build the CSR, sign it with
# an EC P-256 CA), over TLS like certvault. Both are loaded by the same wrk command line; each
# request carries a unique name (per-thread random prefix + counter). Prints certificates/s of
# both and the ratio certvault/cfssl. Target: ratio >= 1.0 (see BENCHMARKS.md).
#
# The briefed peer keeps nothing (plain cfssl serve has no database), so it does strictly less
# work than certvault. Diagnostic rows (BENCH_DIAG=1, the default) add cfssl with its SQLite
# certificate database (-db-config: each issued certificate inserted and fsynced), certvault
# with its data dir on tmpfs (fsync ~free: how much of the cost is durability), and the fsync
# latency of the data dir's filesystem.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
require_tools wrk cfssl cfssljson openssl curl python3

TARGET=1.0
print_header "create_cert: create EC P-256 certificate (Self), durably committed, certvault vs cfssl serve newcert" "$0 $*"

# wrk Lua: unique names per request. Each wrk thread draws a random prefix (kernel uuid), so the
# warm-up and the measured run never reuse a name.
make_lua() { # make_lua FILE KIND(certvault|cfssl) [TOKEN HOST]
  cat >"$1" <<EOF
local kind, token, host = "$2", "${3:-}", "${4:-}"
local prefix, counter = nil, 0
function init(args)
  local f = io.open("/proc/sys/kernel/random/uuid", "r")
  prefix = "b" .. f:read("*l"):sub(1, 8)
  f:close()
end
function request()
  counter = counter + 1
  local name = prefix .. "-" .. counter
  if kind == "certvault" then
    local body = '{"policy":{"key_props":{"kty":"EC","crv":"P-256"},"x509_props":{"subject":"CN=' .. name ..
      '"},"issuer":{"name":"Self"},"secret_props":{"contentType":"application/x-pem-file"}}}'
    return wrk.format("POST", "/certificates/" .. name .. "/create?api-version=7.5",
      {["Host"] = host, ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
  else
    local body = '{"request":{"CN":"' .. name .. '","hosts":["' .. name .. '"],"key":{"algo":"ecdsa","size":256}}}'
    return wrk.format("POST", "/api/v1/cfssl/newcert", {["Content-Type"] = "application/json"}, body)
  end
end
EOF
}

# count_certificates: pages through GET /certificates on one keep-alive connection.
count_certificates() {
  python3 - "$CV_PORT" "$CV_CA" "$CV_TOKEN" <<'PY'
import http.client, json, socket, ssl, sys, urllib.parse
port, ca, token = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
conn = http.client.HTTPSConnection("default.localhost", port, context=ctx, timeout=30)
conn.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30),
                            server_hostname="default.localhost")
path, total, pages = "/certificates?api-version=7.5&maxresults=25", 0, 0
while path and pages < 100000:
    conn.request("GET", path, headers={"Host": "default.localhost:%d" % port,
                                       "Authorization": "Bearer " + token})
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        sys.exit("GET %s: %d %s" % (path, r.status, body[:200]))
    d = json.loads(body)
    total += len(d["value"])
    pages += 1
    nxt = d.get("nextLink")
    path = None
    if nxt:
        u = urllib.parse.urlsplit(nxt)
        path = u.path + "?" + u.query
print(total)
PY
}

# --- certvault ----------------------------------------------------------------------------------
start_certvault "$BENCH_TMP/cv"
CV_TOKEN="$(certvault_token)"
FSYNC_BEFORE="$(fsync_ms "$BENCH_TMP")"
echo "data dir: $BENCH_TMP/cv on $(fs_of "$BENCH_TMP") (write+fsync latency $FSYNC_BEFORE ms)"
code="$(cv_curl -o "$BENCH_TMP/probe.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  "https://$CV_HOST/certificates/probe/create?api-version=7.5" \
  -d '{"policy":{"key_props":{"kty":"EC","crv":"P-256"},"x509_props":{"subject":"CN=probe"},"issuer":{"name":"Self"},"secret_props":{"contentType":"application/x-pem-file"}}}')"
[[ "$code" == 202 ]] && grep -q '"status":"completed"' "$BENCH_TMP/probe.json" ||
  die "certvault create probe: HTTP $code $(head -c 300 "$BENCH_TMP/probe.json")"

# --- cfssl serve ---------------------------------------------------------------------------------
CF="$BENCH_TMP/cfssl"
mkdir -p "$CF"
echo '{"CN":"certvault bench CA","key":{"algo":"ecdsa","size":256},"names":[{"O":"certvault bench"}]}' >"$CF/ca-csr.json"
(cd "$CF" && cfssl gencert -initca ca-csr.json 2>/dev/null | cfssljson -bare ca) || die "cfssl gencert -initca failed"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost" -keyout "$CF/tls-key.pem" -out "$CF/tls.pem" 2>/dev/null

# start_cfssl PORT [EXTRA_ARGS...]: sets CF_PID; waits until newcert answers success:true.
start_cfssl() {
  local port="$1"
  shift
  cfssl serve -address 127.0.0.1 -port "$port" -ca "$CF/ca.pem" -ca-key "$CF/ca-key.pem" \
    -tls-cert "$CF/tls.pem" -tls-key "$CF/tls-key.pem" -loglevel 2 "$@" >"$CF/serve-$port.log" 2>&1 &
  CF_PID=$!
  bench_track "$CF_PID"
  cf_probe() {
    curl -sk --fail --max-time 5 -X POST "https://127.0.0.1:$port/api/v1/cfssl/newcert" \
      -d '{"request":{"CN":"probe","hosts":["probe"],"key":{"algo":"ecdsa","size":256}}}' |
      python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["success"] is True and "BEGIN CERTIFICATE" in d["result"]["certificate"] else 1)'
  }
  wait_for "cfssl serve on port $port (newcert answering 200 with success true)" 150 cf_probe
}
CF_PORT="$(free_port)"
start_cfssl "$CF_PORT"
CF_MAIN_PID="$CF_PID"
echo "cfssl:    $(cfssl version | tr '\n' ' '), port $CF_PORT, TLS (EC P-256), newcert probe OK"
echo "tls:      certvault $(tls_summary 127.0.0.1 "$CV_PORT" default.localhost) | cfssl $(tls_summary 127.0.0.1 "$CF_PORT" localhost)"

# --- load ----------------------------------------------------------------------------------------
make_lua "$BENCH_TMP/create_certvault.lua" certvault "$CV_TOKEN" "$CV_HOST"
make_lua "$BENCH_TMP/create_cfssl.lua" cfssl

echo "certvault:"
run_wrk "$BENCH_TMP/wrk-cv.txt" "https://127.0.0.1:$CV_PORT/" "$BENCH_TMP/create_certvault.lua" "$CV_PID"
CV_CPU="$RUN_CPU_MS"
FSYNC_AFTER="$(fsync_ms "$BENCH_TMP")"
echo "cfssl:"
run_wrk "$BENCH_TMP/wrk-cf.txt" "https://127.0.0.1:$CF_PORT/" "$BENCH_TMP/create_cfssl.lua" "$CF_MAIN_PID"
CF_CPU="$RUN_CPU_MS"

# --- verification: every response 2xx, and certvault holds what wrk was told it created ----------
for f in cv cf; do
  n="$(wrk_non2xx "$BENCH_TMP/wrk-$f.txt")"
  e="$(wrk_socket_errors "$BENCH_TMP/wrk-$f.txt")"
  [[ "$n" == 0 ]] || die "$f: $n non-2xx responses: $(cat "$BENCH_TMP/wrk-$f.txt")"
  [[ "$e" == 0 ]] || echo "warning: $f: $e socket errors (timeouts or resets): $(grep 'Socket errors' "$BENCH_TMP/wrk-$f.txt")"
done
sleep 1 # let requests that were in flight when wrk stopped finish
COUNTED="$(count_certificates)"
ACKED=$(($(wrk_requests "$BENCH_TMP/wrk-cv.txt") + $(wrk_requests "$BENCH_TMP/wrk-cv.txt.warmup" 2>/dev/null || echo 0) + 1))
INFLIGHT=$((COUNTED - ACKED))
if ((INFLIGHT < 0 || INFLIGHT > 2 * BENCH_CONNECTIONS)); then
  die "certvault lists $COUNTED certificates but wrk got $ACKED 2xx responses (warm-up + run + probe)"
fi
echo "verify:   certvault lists $COUNTED certificates; wrk got $ACKED 2xx responses (warm-up + measured + 1 probe), 0 non-2xx;"
echo "          $INFLIGHT more were created by requests in flight when wrk stopped (bound: 2 runs x $BENCH_CONNECTIONS connections)"

# --- diagnostics ---------------------------------------------------------------------------------
diag_rows=()
if [[ "$BENCH_DIAG" == 1 ]]; then
  echo "diagnostics (shorter runs, $BENCH_DIAG_DURATION each, not the headline):"
  # cfssl with its certificate database (SQLite, rollback journal, synchronous=FULL default).
  sqlite3_schema='CREATE TABLE certificates (serial_number blob NOT NULL, authority_key_identifier blob NOT NULL, ca_label blob, status blob NOT NULL, reason int, expiry timestamp, revoked_at timestamp, pem blob NOT NULL, PRIMARY KEY(serial_number, authority_key_identifier));
CREATE TABLE ocsp_responses (serial_number blob NOT NULL, authority_key_identifier blob NOT NULL, body blob NOT NULL, expiry timestamp, PRIMARY KEY(serial_number, authority_key_identifier));'
  if python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()' \
    "$CF/certs.db" "$sqlite3_schema"; then
    echo "{\"driver\":\"sqlite3\",\"data_source\":\"$CF/certs.db\"}" >"$CF/db.json"
    CFDB_PORT="$(free_port)"
    start_cfssl "$CFDB_PORT" -db-config "$CF/db.json"
    echo "cfssl + SQLite certdb:"
    RUN_DURATION="$BENCH_DIAG_DURATION" RUN_WARMUP=1s run_wrk "$BENCH_TMP/wrk-cfdb.txt" \
      "https://127.0.0.1:$CFDB_PORT/" "$BENCH_TMP/create_cfssl.lua" "$CF_PID"
    CFDB_CPU="$RUN_CPU_MS"
    stored="$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from certificates").fetchone()[0])' "$CF/certs.db")"
    echo "          cfssl certdb holds $stored certificates; wrk got $(wrk_requests "$BENCH_TMP/wrk-cfdb.txt") responses in the measured run, $(wrk_non2xx "$BENCH_TMP/wrk-cfdb.txt") non-2xx"
    diag_rows+=("cfssl + SQLite certdb (durable)|$(wrk_rps "$BENCH_TMP/wrk-cfdb.txt")|$(wrk_p99_ms "$BENCH_TMP/wrk-cfdb.txt")|$CFDB_CPU")
    kill -TERM "$CF_PID" 2>/dev/null || true
  fi
  # certvault with its data dir on tmpfs: same code, fsync nearly free.
  kill -TERM "$CV_PID" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$CV_PID" 2>/dev/null || break; sleep 0.1; done
  bench_tmpfs_dir
  start_certvault "$TMPFS_DIR/cv"
  CV_TOKEN="$(certvault_token)"
  make_lua "$BENCH_TMP/create_certvault_tmpfs.lua" certvault "$CV_TOKEN" "$CV_HOST"
  echo "certvault, data dir on $(fs_of "$TMPFS_DIR") (write+fsync latency $(fsync_ms "$TMPFS_DIR") ms):"
  RUN_DURATION="$BENCH_DIAG_DURATION" RUN_WARMUP=1s run_wrk "$BENCH_TMP/wrk-cvtmpfs.txt" \
    "https://127.0.0.1:$CV_PORT/" "$BENCH_TMP/create_certvault_tmpfs.lua" "$CV_PID"
  [[ "$(wrk_non2xx "$BENCH_TMP/wrk-cvtmpfs.txt")" == 0 ]] || die "certvault on tmpfs: non-2xx responses"
  diag_rows+=("certvault, data dir on tmpfs|$(wrk_rps "$BENCH_TMP/wrk-cvtmpfs.txt")|$(wrk_p99_ms "$BENCH_TMP/wrk-cvtmpfs.txt")|$RUN_CPU_MS")
fi

# --- report --------------------------------------------------------------------------------------
CV_RPS="$(wrk_rps "$BENCH_TMP/wrk-cv.txt")"
CF_RPS="$(wrk_rps "$BENCH_TMP/wrk-cf.txt")"
CV_P99="$(wrk_p99_ms "$BENCH_TMP/wrk-cv.txt")"
CF_P99="$(wrk_p99_ms "$BENCH_TMP/wrk-cf.txt")"
R="$(ratio "$CV_RPS" "$CF_RPS")"
MET="$(python3 -c "print('met' if $R >= $TARGET else 'MISSED')")"
echo
printf '%-40s %14s %10s %18s\n' "server" "certificates/s" "p99 ms" "server CPU ms/cert"
printf '%-40s %14s %10s %18s\n' "certvault (SQLite, fsync per commit)" "$CV_RPS" "$CV_P99" "$CV_CPU"
printf '%-40s %14s %10s %18s\n' "cfssl serve newcert (no database)" "$CF_RPS" "$CF_P99" "$CF_CPU"
for row in "${diag_rows[@]}"; do
  IFS='|' read -r label rps p99 cpu <<<"$row"
  printf '%-40s %14s %10s %18s\n' "diag: $label" "$rps" "$p99" "$cpu"
done
echo "ratio certvault/cfssl (certificates/s): $R  target >= $TARGET: $MET"
echo "note: write+fsync latency of the data dir was $FSYNC_BEFORE ms before and $FSYNC_AFTER ms after certvault's run;"
echo "      certvault commits one transaction (and fsync) at a time, so at those latencies it is bounded by roughly"
echo "      $(python3 -c "print(int(1000/max($FSYNC_BEFORE,$FSYNC_AFTER,0.001)))")-$(python3 -c "print(int(1000/max(min($FSYNC_BEFORE,$FSYNC_AFTER),0.001)))") commits/s (indicative: the shared disk's latency changes from second to second)"
echo "RESULT create_cert certvault_cps=$CV_RPS certvault_p99_ms=$CV_P99 cfssl_cps=$CF_RPS cfssl_p99_ms=$CF_P99 ratio=$R target=$TARGET $MET"
