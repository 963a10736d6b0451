#!/usr/bin/env bash
# Benchmark 1: authenticated GET of a certificate's secret over HTTPS keep-alive.
#
# certvault serves GET /secrets/NAME (bearer token checked, vault chosen by Host, the secret
# value rendered from the store or its cache). The peer is nginx serving THE SAME BYTES: the
# exact JSON body certvault returned, saved to a file and served as a static file over TLS with
# an EC P-256 certificate (certvault's TLS key is EC P-256 too), with as many worker processes as
# certvault has I/O threads (one per core), keep-alive on, access_log off. Both are loaded by
# the same wrk command line and the same Lua script (same request bytes: method, path, Host and
# Authorization headers). Prints requests/s and p99 of both and the ratio certvault/nginx.
# Target: ratio >= 0.5 (see BENCHMARKS.md).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
require_tools wrk nginx openssl curl python3

TARGET=0.5
NAME=bench-secret
CORES="$(nproc)"
print_header "secret_get: authenticated GET /secrets/{name} over HTTPS keep-alive, certvault vs nginx (same bytes)" "$0 $*"

# --- certvault ----------------------------------------------------------------------------------
start_certvault "$BENCH_TMP/cv"
CV_TOKEN="$(certvault_token)"
cv_curl --fail -o /dev/null -X POST -H 'Content-Type: application/json' \
  "https://$CV_HOST/certificates/$NAME/create?api-version=7.5" \
  -d "{\"policy\":{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\"},\"x509_props\":{\"subject\":\"CN=$NAME\"},\"issuer\":{\"name\":\"Self\"},\"secret_props\":{\"contentType\":\"application/x-pem-file\"}}}" ||
  die "creating the certificate failed"
BODY="$BENCH_TMP/secret.json"
cv_curl --fail -o "$BODY" "https://$CV_HOST/secrets/$NAME?api-version=7.5" || die "GET secret failed"
grep -q '"value":"-----BEGIN PRIVATE KEY-----' "$BODY" || die "unexpected secret body: $(head -c 200 "$BODY")"
echo "body:     $(wc -c <"$BODY") bytes (the exact JSON certvault returns for GET /secrets/$NAME)"

# --- nginx, serving the same bytes ------------------------------------------------------------
NG="$BENCH_TMP/nginx"
mkdir -p "$NG/html" "$NG/logs"
cp "$BODY" "$NG/html/secret.json"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=default.localhost" -addext "subjectAltName=DNS:default.localhost,DNS:localhost" \
  -keyout "$NG/key.pem" -out "$NG/cert.pem" 2>/dev/null
NG_PORT="$(free_port)"
NG_USER=""
[[ "$(id -u)" == 0 ]] && NG_USER="user root;" # the temp dir is 0700; workers must read it
cat >"$NG/nginx.conf" <<EOF
$NG_USER
worker_processes $CORES;
daemon off;
pid $NG/nginx.pid;
error_log $NG/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  default_type "application/json; charset=utf-8";
  keepalive_timeout 65s;
  keepalive_requests 1000000;
  server_tokens off;
  server {
    listen 127.0.0.1:$NG_PORT ssl;
    server_name _;
    ssl_certificate $NG/cert.pem;
    ssl_certificate_key $NG/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / { root $NG/html; try_files /secret.json =404; }
  }
}
EOF
nginx -p "$NG" -c "$NG/nginx.conf" -e "$NG/logs/error.log" >"$NG/logs/stdout.log" 2>&1 &
NG_PID=$!
bench_track "$NG_PID"
wait_for "nginx on port $NG_PORT" 100 curl -sk --fail -o /dev/null "https://127.0.0.1:$NG_PORT/"
curl -sk --fail -o "$BENCH_TMP/nginx-body.json" -H "Authorization: Bearer $CV_TOKEN" \
  "https://127.0.0.1:$NG_PORT/secrets/$NAME?api-version=7.5"
cmp -s "$BODY" "$BENCH_TMP/nginx-body.json" || die "nginx does not serve the same bytes"
echo "nginx:    $(nginx -v 2>&1 | sed 's/.*version: //'), $CORES worker processes, port $NG_PORT, body identical (cmp)"
echo "tls:      certvault $(tls_summary 127.0.0.1 "$CV_PORT" default.localhost) | nginx $(tls_summary 127.0.0.1 "$NG_PORT" default.localhost)"

# --- load ----------------------------------------------------------------------------------------
LUA="$BENCH_TMP/secret_get.lua"
cat >"$LUA" <<EOF
-- Same request bytes for both servers (nginx ignores the headers).
wrk.method = "GET"
wrk.headers["Host"] = "$CV_HOST"
wrk.headers["Authorization"] = "Bearer $CV_TOKEN"
EOF
PATH_Q="/secrets/$NAME?api-version=7.5"

echo "certvault:"
run_wrk "$BENCH_TMP/wrk-cv.txt" "https://127.0.0.1:$CV_PORT$PATH_Q" "$LUA" "$CV_PID"
CV_CPU="$RUN_CPU_MS"
echo "nginx:"
run_wrk "$BENCH_TMP/wrk-ng.txt" "https://127.0.0.1:$NG_PORT$PATH_Q" "$LUA" "$NG_PID"
NG_CPU="$RUN_CPU_MS"
runs=(cv ng)

# Diagnostic (not the headline): a plain secret holding the same PEM value. Same auth, same
# handler and store reads, same response size, but the value is only AES-GCM-opened, not
# re-rendered from the certificate version (key DER decode + certificate parse + PEM encode).
if [[ "$BENCH_DIAG" == 1 ]]; then
  python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); print(json.dumps({"value":b["value"],"contentType":b["contentType"]}))' \
    "$BODY" >"$BENCH_TMP/plain.json"
  cv_curl --fail -o /dev/null -X PUT -H 'Content-Type: application/json' \
    "https://$CV_HOST/secrets/$NAME-plain?api-version=7.5" -d @"$BENCH_TMP/plain.json" ||
    die "creating the plain secret failed"
  echo "certvault, diagnostic: plain secret with the same value ($(cv_curl --fail "https://$CV_HOST/secrets/$NAME-plain?api-version=7.5" | wc -c) bytes):"
  RUN_DURATION="$BENCH_DIAG_DURATION" RUN_WARMUP=1s run_wrk "$BENCH_TMP/wrk-pl.txt" "https://127.0.0.1:$CV_PORT/secrets/$NAME-plain?api-version=7.5" "$LUA" "$CV_PID"
  PL_CPU="$RUN_CPU_MS"
  runs+=(pl)
fi

for f in "${runs[@]}"; do
  n="$(wrk_non2xx "$BENCH_TMP/wrk-$f.txt")"
  e="$(wrk_socket_errors "$BENCH_TMP/wrk-$f.txt")"
  [[ "$n" == 0 ]] || die "$f: $n non-2xx responses: $(cat "$BENCH_TMP/wrk-$f.txt")"
  [[ "$e" == 0 ]] || echo "warning: $f: $e socket errors"
done

CV_RPS="$(wrk_rps "$BENCH_TMP/wrk-cv.txt")"
NG_RPS="$(wrk_rps "$BENCH_TMP/wrk-ng.txt")"
CV_P99="$(wrk_p99_ms "$BENCH_TMP/wrk-cv.txt")"
NG_P99="$(wrk_p99_ms "$BENCH_TMP/wrk-ng.txt")"
R="$(ratio "$CV_RPS" "$NG_RPS")"
MET="$(python3 -c "print('met' if $R >= $TARGET else 'MISSED')")"
echo
printf '%-44s %12s %10s %16s\n' "server" "requests/s" "p99 ms" "server CPU ms/req"
printf '%-44s %12s %10s %16s\n' "certvault (certificate secret)" "$CV_RPS" "$CV_P99" "$CV_CPU"
printf '%-44s %12s %10s %16s\n' "nginx (same bytes, static file)" "$NG_RPS" "$NG_P99" "$NG_CPU"
if [[ " ${runs[*]} " == *" pl "* ]]; then
  PL_RPS="$(wrk_rps "$BENCH_TMP/wrk-pl.txt")"
  printf '%-44s %12s %10s %16s\n' "diag: certvault, plain secret, same value" "$PL_RPS" "$(wrk_p99_ms "$BENCH_TMP/wrk-pl.txt")" "$PL_CPU"
fi
echo "ratio certvault/nginx (requests/s): $R  target >= $TARGET: $MET"
[[ -n "${PL_RPS:-}" ]] && echo "diag ratio plain-secret/nginx: $(ratio "$PL_RPS" "$NG_RPS")"
echo "RESULT secret_get certvault_rps=$CV_RPS certvault_p99_ms=$CV_P99 nginx_rps=$NG_RPS nginx_p99_ms=$NG_P99 ratio=$R target=$TARGET $MET"
