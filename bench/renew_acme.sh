#!/usr/bin/env bash
# Benchmark 4: 100 renewals from an ACME CA (pebble): certvault against a shell loop of
# `lego renew`, what users script today. Target: certvault 10 times faster (ratio lego time /
# certvault time >= 10).
#
# Two pebble instances with the same settings (PEBBLE_VA_NOSLEEP=1, PEBBLE_AUTHZREUSE=0: every
# order validates http-01 afresh, PEBBLE_WFE_NONCEREJECT=0, default 5-year certificates), each
# with pebble-challtestsrv as its DNS server (every name -> 127.0.0.1); one validates against
# certvault's http-01 listener, the other against lego's. Each client has its CA to itself while
# it is measured.
#
# certvault: an `acme` issuer (http-01 answered by --acme-http-listen, poll_interval PT1S,
# max_wait PT15S) and N (default 100) EC P-256 certificates from it (setup). Measured: from the
# first of N POST /certificates/{name}/renew (sent on 8 connections) until every certificate's new
# version is committed (CertificateNewVersionCreated in the event outbox). The renewals run as
# durable jobs, --job-threads (default 4) at a time: a new key and CSR in the vault, one ACME order
# each, the version committed to SQLite. (Manual renewals rather than the test clock: under an
# advanced lifecycle clock, a version pebble issues on real time is due again at once and renews
# in a loop; see bench/RESULTS-renewal.md.)
#
# lego: the same N names obtained first (setup: `lego run` with --http.webroot and a static web
# server, 10 at once), then measured: a shell loop of
#   lego --server URL --accept-tos --email ... --key-type ec256 --path DIR --domains NAME \
#        --http --http.port 127.0.0.1:PORT renew --days 9999 --no-random-sleep
# (--days 9999 forces the renewal; --no-random-sleep drops lego's deliberate 0-8 min jitter when
# not on a terminal). Each renewal is a new ec256 key and one ACME order, written to files.
#
# Diagnostic row (BENCH_DIAG=1, the default): certvault restarted with --job-threads 8 against a
# fresh pebble, renewing all N again (pebble 2.4 deadlocked with 16 concurrent orders).
#
# Knobs: BENCH_ACME_N (default 100), BENCH_ACME_JOB_THREADS (certvault --job-threads for the
# headline; default: the server's default), plus lib.sh's. Takes about 10 minutes with N=100,
# nearly all of it lego's loop.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=bench/lib_pebble.sh
source "$(dirname "$0")/lib_pebble.sh"
require_tools pebble pebble-challtestsrv lego openssl curl python3

TARGET=10
N="${BENCH_ACME_N:-100}"
JOB_THREADS="${BENCH_ACME_JOB_THREADS:-}"
PREFIX=acme
secs_since() { python3 -c "import sys,time; print('%.3f' % (time.time() - float(sys.argv[1])))" "$1"; }
header_renew "renew_acme: $N renewals from pebble (ACME, http-01), certvault vs a shell loop of lego renew" "$0 $*"
echo "peers:    pebble $(dpkg-query -W -f '${Version}' pebble 2>/dev/null || echo '?'), lego $(dpkg-query -W -f '${Version}' lego 2>/dev/null || echo '?')"

# --- pebble for certvault, certvault ------------------------------------------------------------
HTTP_CV="$(free_port)"
start_pebble "$BENCH_TMP/pebble-cv" "$HTTP_CV"
CV_DIR_URL="$PEBBLE_DIR_URL" CV_PEBBLE_CA="$PEBBLE_CA" CV_PEBBLE_LOG="$PEBBLE_LOG"
CV_ARGS=(--acme-http-listen "127.0.0.1:$HTTP_CV")
[[ -n "$JOB_THREADS" ]] && CV_ARGS+=(--job-threads "$JOB_THREADS")
start_certvault "$BENCH_TMP/cv" "${CV_ARGS[@]}"
CV_TOKEN="$(certvault_token)"
echo "certvault: port $CV_PORT, http-01 on 127.0.0.1:$HTTP_CV, pebble $CV_DIR_URL, args: ${CV_ARGS[*]} --rate-limit 0"
# put_issuer DIRECTORY_URL CA_BUNDLE: the acme issuer `le` of the default vault.
put_issuer() {
  local body="{\"provider\":\"acme\",\"settings\":{\"directory_url\":\"$1\",\"ca_bundle\":\"$2\",\"challenge\":\"http-01\",\"poll_interval\":\"PT1S\",\"max_wait\":\"PT15S\"}}"
  local code
  code="$(cv_curl -o "$BENCH_TMP/issuer.json" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
    "https://$CV_HOST/certificates/issuers/le?api-version=7.5" -d "$body")"
  [[ "$code" == 200 ]] || die "PUT issuer le: HTTP $code $(head -c 300 "$BENCH_TMP/issuer.json")"
}
put_issuer "$CV_DIR_URL" "$CV_PEBBLE_CA"

echo "setup:    certvault: creating $N certificates from pebble (EC P-256, one ACME order each)"
t0=$(date +%s.%N)
SEQ0="$(renew_tool seq)"
renew_tool create "$PREFIX" "$N" le "" 8 >/dev/null
renew_tool wait "$PREFIX" "$N" "$SEQ0" 900 >/dev/null
echo "          all $N issued in $(secs_since "$t0") s ($(renew_tool jobs create))"

echo "measure:  certvault: $N x POST /certificates/{name}/renew, until every new version is committed"
ORDERS0="$(pebble_orders "$CV_PEBBLE_LOG")"
ISSUED0="$(pebble_issued "$CV_PEBBLE_LOG")"
CPU0="$(cpu_ticks "$CV_PID")"
CV_S="$(renew_tool renew-post "$PREFIX" "$N" 8 600)"
CV_CPU_MS="$(cpu_ms_per_request "$CPU0" "$(cpu_ticks "$CV_PID")" "$N")"
sleep 1 # a second renewal of any certificate would show up here
JOBS="$(renew_tool jobs manual)"
VERSIONS="$(renew_tool versions "$PREFIX" "$N")"
CV_ORDERS=$(($(pebble_orders "$CV_PEBBLE_LOG") - ORDERS0))
CV_ISSUED=$(($(pebble_issued "$CV_PEBBLE_LOG") - ISSUED0))
echo "          all $N renewed in $CV_S s (server CPU $CV_CPU_MS ms per renewal)"
echo "verify:   renew jobs: $JOBS; versions per certificate: $VERSIONS; pebble: $CV_ORDERS orders, $CV_ISSUED certificates issued"
[[ "$JOBS" == "succeeded=$N" ]] || die "expected succeeded=$N renewal jobs, got: $JOBS"
[[ "$VERSIONS" == "2_versions=$N" ]] || die "expected 2 versions for each of $N certificates, got: $VERSIONS"
[[ "$CV_ORDERS" == "$N" && "$CV_ISSUED" == "$N" ]] || die "expected $N orders and $N issuances at pebble"

diag_rows=()
if [[ "$BENCH_DIAG" == 1 ]]; then
  # More job threads: more orders at once at pebble. pebble 2.4 can deadlock under concurrent
  # orders (its in-memory store's lock; seen at 16 at once), so this row has a fresh pebble, 8
  # threads, and may come out n/a without failing the benchmark.
  kill -TERM "$CV_PID" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$CV_PID" 2>/dev/null || break; sleep 0.1; done
  HTTP_DIAG="$(free_port)"
  start_pebble "$BENCH_TMP/pebble-diag" "$HTTP_DIAG"
  start_certvault "$BENCH_TMP/cv" --acme-http-listen "127.0.0.1:$HTTP_DIAG" --job-threads 8
  CV_TOKEN="$(certvault_token)"
  put_issuer "$PEBBLE_DIR_URL" "$PEBBLE_CA"
  if DIAG_S="$(renew_tool renew-post "$PREFIX" "$N" 8 300)"; then
    VERSIONS="$(renew_tool versions "$PREFIX" "$N")"
    [[ "$VERSIONS" == "3_versions=$N" ]] || die "diag: expected 3 versions for each certificate, got: $VERSIONS"
    echo "diag:     certvault restarted with --job-threads 8 (fresh pebble, new ACME account): all $N renewed again in $DIAG_S s"
  else
    DIAG_S="n/a"
    echo "diag:     certvault --job-threads 8: not all renewed within 300 s; pebble's last lines: $(tail -2 "$PEBBLE_LOG" | tr '\n' ' ')"
  fi
  diag_rows+=("certvault --job-threads 8 (fresh pebble, new account)|$DIAG_S")
  kill -TERM "$PEBBLE_PID" 2>/dev/null || true
fi
kill -TERM "$CV_PID" 2>/dev/null || true # lego gets the machine to itself

# --- pebble for lego, lego -----------------------------------------------------------------------
HTTP_LEGO="$(free_port)"
start_pebble "$BENCH_TMP/pebble-lego" "$HTTP_LEGO"
export LEGO_CA_CERTIFICATES="$PEBBLE_CA"
LEGO=(timeout 300 lego --server "$PEBBLE_DIR_URL" --accept-tos --email bench@example.test --key-type ec256 --path "$BENCH_TMP/lego")
LEGO_LOG="$BENCH_TMP/lego-logs"
mkdir -p "$LEGO_LOG" "$BENCH_TMP/webroot"

echo "setup:    lego: obtaining the same $N names (lego run, http-01 through --http.webroot and a static server, 10 at once)"
python3 -m http.server --bind 127.0.0.1 --directory "$BENCH_TMP/webroot" "$HTTP_LEGO" >"$LEGO_LOG/webroot.log" 2>&1 &
WEB_PID=$!
bench_track "$WEB_PID"
wait_for "the webroot server on port $HTTP_LEGO" 100 tcp_accepts "$HTTP_LEGO"
t0=$(date +%s.%N)
"${LEGO[@]}" --domains "$PREFIX-0.example.test" --http --http.webroot "$BENCH_TMP/webroot" run >"$LEGO_LOG/run-0.log" 2>&1 ||
  die "lego run failed: $(tail -5 "$LEGO_LOG/run-0.log")"
if ((N > 1)); then
  # shellcheck disable=SC2016 # $0 and $@ belong to the inner sh
  seq 1 $((N - 1)) | bench_run xargs -P 10 -I{} sh -c 'exec "$@" >"$0/run-{}.log" 2>&1' "$LEGO_LOG" \
    "${LEGO[@]}" --domains "$PREFIX-{}.example.test" --http --http.webroot "$BENCH_TMP/webroot" run ||
    die "lego run failed: $(grep -L 'Server responded with a certificate' "$LEGO_LOG"/run-*.log | head -1 | xargs -r tail -n 5)"
fi
kill -TERM "$WEB_PID" 2>/dev/null || true
wait "$WEB_PID" 2>/dev/null || true
HAVE="$(find "$BENCH_TMP/lego/certificates" -name '*.example.test.key' | wc -l)"
[[ "$HAVE" == "$N" ]] || die "lego holds $HAVE certificates, expected $N"
echo "          all $N obtained in $(secs_since "$t0") s"
serials() {
  local i
  for ((i = 0; i < N; i++)); do
    openssl x509 -in "$BENCH_TMP/lego/certificates/$PREFIX-$i.example.test.crt" -noout -serial
  done
}
SERIALS0="$(serials)"

echo "measure:  lego: for i in 0..$((N - 1)); do lego ... --domains $PREFIX-\$i.example.test --http --http.port 127.0.0.1:$HTTP_LEGO renew --days 9999 --no-random-sleep; done"
# (lego's listener, like Go's, sets SO_REUSEADDR: the webroot server's TIME_WAIT connections do not block it)
wait_for "port $HTTP_LEGO to be free" 100 python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.close()' "$HTTP_LEGO"
ORDERS0="$(pebble_orders "$PEBBLE_LOG")"
lego_loop() {
  local i
  for ((i = 0; i < N; i++)); do
    "${LEGO[@]}" --domains "$PREFIX-$i.example.test" --http --http.port "127.0.0.1:$HTTP_LEGO" \
      renew --days 9999 --no-random-sleep >"$LEGO_LOG/renew-$i.log" 2>&1 || return 1
  done
}
t0=$(date +%s.%N)
lego_loop || die "lego renew failed: $(tail -5 "$(ls -t "$LEGO_LOG"/renew-*.log | head -1)")"
LEGO_S="$(secs_since "$t0")"
LEGO_ORDERS=$(($(pebble_orders "$PEBBLE_LOG") - ORDERS0))
SAME="$(comm -12 <(sort <<<"$SERIALS0") <(serials | sort) | wc -l)"
echo "          all $N renewed in $LEGO_S s"
echo "verify:   pebble: $LEGO_ORDERS orders; certificates still on an old serial: $SAME"
[[ "$LEGO_ORDERS" == "$N" && "$SAME" == 0 ]] || die "lego did not renew every certificate exactly once"
# How long each lego renewal waited between answering the challenge and seeing it valid (its log
# has 1 s resolution): pebble sends no Retry-After, so lego waits ~5 s after a first check too early.
LEGO_WAIT="$(python3 - "$LEGO_LOG" <<'PY'
import datetime, glob, os, re, sys
waits = []
for f in glob.glob(os.path.join(sys.argv[1], "renew-*.log")):
    start = end = None
    for line in open(f):
        m = re.match(r"(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d)", line)
        if not m:
            continue
        t = datetime.datetime.strptime(m.group(1), "%Y/%m/%d %H:%M:%S")
        if "Trying to solve HTTP-01" in line:
            start = t
        elif "The server validated our request" in line and start:
            end = t
    if start and end:
        waits.append((end - start).total_seconds())
print("%.1f s mean (min %.0f, max %.0f) over %d renewals" % (sum(waits) / len(waits), min(waits), max(waits), len(waits)) if waits else "n/a")
PY
)"

# --- report --------------------------------------------------------------------------------------
R="$(ratio "$LEGO_S" "$CV_S")"
MET="$(python3 -c "print('met' if $R >= $TARGET else 'MISSED')")"
echo
printf '%-72s %10s %14s\n' "renewing $N certificates from pebble" "seconds" "s/renewal"
printf '%-72s %10s %14s\n' "certvault: renewal jobs (${JOB_THREADS:-default} job threads), durable (SQLite)" "$CV_S" "$(python3 -c "print('%.2f' % ($CV_S / $N))")"
printf '%-72s %10s %14s\n' "lego: shell loop of lego renew (one at a time), files" "$LEGO_S" "$(python3 -c "print('%.2f' % ($LEGO_S / $N))")"
for row in "${diag_rows[@]}"; do
  IFS='|' read -r label secs <<<"$row"
  printf '%-72s %10s %14s\n' "diag: $label" "$secs" "$(python3 -c "print('%.2f' % ($secs / $N))" 2>/dev/null || echo n/a)"
done
echo "notes on fairness:"
echo "  - same pebble build and settings for both (no VA sleep, no authorization reuse, no nonce rejection), each"
echo "    client measured alone; both make a new EC P-256 key and place one order per renewal ($N orders each, checked)."
echo "  - polling: certvault re-checks the order every poll_interval (PT1S here; its default is PT2S). lego checks the"
echo "    authorization at once and, if still pending, backs off starting at 5 s because pebble sends no Retry-After"
echo "    (lego's default when a CA sends none); lego has no option to change it. Answer to valid, from lego's logs: $LEGO_WAIT."
echo "  - concurrency: certvault works on --job-threads orders at once; the lego loop renews one certificate at a time"
echo "    (each lego process binds the http-01 port; running several needs --http.webroot and a web server)."
echo "  - each lego run is a new process that reads its account and fetches the directory; certvault keeps both."
echo "  - durability: certvault commits each version to SQLite (fsync); lego writes PEM files without fsync."
echo "certvault: $CV_S s, peer: $LEGO_S s, ratio: $R (lego time / certvault time)  target >= $TARGET: $MET"
echo "RESULT renew_acme n=$N certvault_s=$CV_S lego_loop_s=$LEGO_S ratio=$R target=$TARGET $MET certvault_cpu_ms_per_renewal=$CV_CPU_MS"
