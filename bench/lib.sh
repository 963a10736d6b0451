# Shared helpers for the bench/*.sh scripts. Source it; do not run it.
#
# Provides: REPO_ROOT, CERTVAULT_BIN, BENCH_TMP (removed on exit unless BENCH_KEEP=1), a cleanup
# trap that stops every process registered with bench_track, free-port lookup, bounded readiness
# waits, certvault start + token, wrk runs and parsing of wrk's output.
#
# Knobs (environment): CERTVAULT_BIN, BENCH_THREADS (wrk -t, default 2), BENCH_CONNECTIONS
# (wrk -c, default 32), BENCH_DURATION (wrk -d, default 10s), BENCH_WARMUP (default 2s),
# BENCH_DIAG=0 (skip the diagnostic rows), BENCH_DIAG_DURATION (default 5s),
# BENCH_KEEP=1 (keep the temp dirs, for debugging).

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -n "${CERTVAULT_BIN:-}" ]]; then
  CERTVAULT_BIN="$(realpath -m "$CERTVAULT_BIN")"
else
  CERTVAULT_BIN="$REPO_ROOT/build/certvault"
fi
BENCH_THREADS="${BENCH_THREADS:-2}"
BENCH_CONNECTIONS="${BENCH_CONNECTIONS:-32}"
BENCH_DURATION="${BENCH_DURATION:-10s}"
BENCH_WARMUP="${BENCH_WARMUP:-2s}"
BENCH_DIAG="${BENCH_DIAG:-1}"
BENCH_DIAG_DURATION="${BENCH_DIAG_DURATION:-5s}"

BENCH_PIDS=()
BENCH_TMP="$(mktemp -d "${TMPDIR:-/tmp}/certvault-bench.XXXXXX")"
BENCH_DIRS=("$BENCH_TMP") # removed on exit; bench_tmpfs_dir adds one on /dev/shm

bench_cleanup() {
  local rc=$?
  local pid
  # Stop in reverse start order: TERM, a bounded wait, then KILL. Only our own pids.
  for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do
    pid="${BENCH_PIDS[i]}"
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${BENCH_PIDS[@]}"; do
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
    echo "bench: kept ${BENCH_DIRS[*]}" >&2
  else
    rm -rf "${BENCH_DIRS[@]}"
  fi
  exit "$rc"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_track() { BENCH_PIDS+=("$1"); }

# bench_run CMD...: runs CMD in the background and waits for it, so that a signal interrupts the
# wait at once and the cleanup stops CMD too. The pid is forgotten once CMD has exited.
bench_run() {
  "$@" &
  local pid=$! rc=0
  BENCH_PIDS+=("$pid")
  wait "$pid" || rc=$?
  local keep=() p
  for p in "${BENCH_PIDS[@]}"; do [[ "$p" == "$pid" ]] || keep+=("$p"); done
  BENCH_PIDS=("${keep[@]}")
  return "$rc"
}

# bench_tmpfs_dir: sets TMPFS_DIR to a new temp dir on tmpfs (/dev/shm), removed on exit.
# (Not for $(...): the cleanup list must be extended in this shell.)
bench_tmpfs_dir() {
  TMPFS_DIR="$(mktemp -d /dev/shm/certvault-bench.XXXXXX)" || die "no /dev/shm"
  BENCH_DIRS+=("$TMPFS_DIR")
}

# fs_of DIR: filesystem type of DIR.
fs_of() { df -PT "$1" | awk 'NR == 2 {print $2}'; }

# fsync_ms DIR: mean latency of write(4 KiB)+fsync in DIR over 100 rounds (bounded), in ms.
fsync_ms() {
  python3 - "$1" <<'PY'
import os, sys, time
p = os.path.join(sys.argv[1], ".fsync-probe")
fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o600)
buf = os.urandom(4096)
t = time.perf_counter()
for i in range(100):
    os.pwrite(fd, buf, (i % 16) * 4096)
    os.fsync(fd)
print("%.3f" % ((time.perf_counter() - t) * 10))
os.close(fd)
os.unlink(p)
PY
}

die() {
  echo "bench: error: $*" >&2
  exit 1
}

require_tools() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || die "$t not found (make bench installs it: scripts/install-deps.sh --bench)"
  done
  [[ -x "$CERTVAULT_BIN" ]] || die "certvault binary not found at $CERTVAULT_BIN (set CERTVAULT_BIN or run make)"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for DESCRIPTION TRIES(0.1 s each) COMMAND...: runs COMMAND until it succeeds.
wait_for() {
  local what="$1" tries="$2"
  shift 2
  for _ in $(seq 1 "$tries"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  die "timed out waiting for $what"
}

print_header() {
  local title="$1"
  shift
  echo "=== $title"
  echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "command:  $*"
  echo "machine:  $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(uname -sr)"
  echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min; the machine is shared, client and servers share the cores)"
  local rev dirty=""
  rev="$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  [[ -n "$(git -C "$REPO_ROOT" status --porcelain 2>/dev/null | head -1)" ]] && dirty=" (work tree modified)"
  echo "certvault: $CERTVAULT_BIN (built $(date -u -r "$CERTVAULT_BIN" '+%Y-%m-%d %H:%M UTC'); repo at $rev$dirty)"
  echo "wrk:      -t$BENCH_THREADS -c$BENCH_CONNECTIONS -d$BENCH_DURATION (after a $BENCH_WARMUP warm-up)"
}

# start_certvault DATA_DIR [EXTRA_ARGS...]: starts the server on a free port and sets CV_PORT,
# CV_CA, CV_ADMIN, CV_PID. The log goes to DATA_DIR.log. Throttling is off (--rate-limit 0): the
# load generator is one principal far above any sensible per-caller limit, and the peers do not
# throttle either. Everything else (authorisation, the audit record written before each
# response) is as in production.
start_certvault() {
  local dir="$1"
  shift
  local log="$dir.log"
  "$CERTVAULT_BIN" server --data-dir "$dir" --listen 127.0.0.1:0 --dns-suffix localhost \
    --log-level warn --rate-limit 0 "$@" >"$log" 2>&1 &
  CV_PID=$!
  bench_track "$CV_PID"
  local line=""
  for _ in $(seq 1 200); do
    line="$(grep -m1 'certvault server ready:' "$log" || true)"
    [[ -n "$line" ]] && break
    kill -0 "$CV_PID" 2>/dev/null || { cat "$log" >&2; die "certvault exited during start"; }
    sleep 0.1
  done
  [[ -n "$line" ]] || { cat "$log" >&2; die "certvault did not become ready in 20 s"; }
  CV_PORT="$(sed -E 's/.*url=https:\/\/[^ ]*:([0-9]+).*/\1/' <<<"$line")"
  CV_CA="$dir/ca.pem"
  CV_ADMIN="$dir/admin.json"
  CV_HOST="default.localhost:$CV_PORT"
}

# certvault_token: prints an access token for the administrator in $CV_ADMIN.
certvault_token() {
  local id secret
  id="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_id"])' "$CV_ADMIN")"
  secret="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_secret"])' "$CV_ADMIN")"
  curl -sS --fail --max-time 10 --cacert "$CV_CA" --resolve "localhost:$CV_PORT:127.0.0.1" \
    -d grant_type=client_credentials --data-urlencode "client_id=$id" \
    --data-urlencode "client_secret=$secret" "https://localhost:$CV_PORT/oauth2/token" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

# cv_curl ARGS... : curl against the default vault of the running certvault, authenticated.
cv_curl() {
  curl -sS --max-time 20 --cacert "$CV_CA" --resolve "default.localhost:$CV_PORT:127.0.0.1" \
    -H "Authorization: Bearer $CV_TOKEN" "$@"
}

# tls_summary HOST PORT SNI: prints the negotiated protocol/cipher/key of a TLS server.
tls_summary() {
  local out
  out="$(timeout 10 openssl s_client -connect "$1:$2" -servername "$3" </dev/null 2>/dev/null || true)"
  local pc key
  pc="$(grep -m1 -E '^(New|Reused), ' <<<"$out" | sed -E 's/^(New|Reused), ([^,]*), Cipher is (.*)/\2 \3/')"
  key="$(grep -m1 -E 'Peer signature type|Server public key is' <<<"$out" | cut -d: -f2 | sed 's/^ *//')"
  echo "${pc:-?} ${key:+sig=$key}"
}

# run_wrk OUTFILE URL LUA [SERVER_PID...]: a warm-up run (discarded), then the measured run into
# OUTFILE. With server pids, sets RUN_CPU_MS to the servers' CPU milliseconds per request.
run_wrk() {
  local out="$1" url="$2" lua="$3"
  shift 3
  local dur="${RUN_DURATION:-$BENCH_DURATION}" warm="${RUN_WARMUP:-$BENCH_WARMUP}"
  if [[ "$warm" != "0" && "$warm" != "0s" ]]; then
    bench_run wrk -t"$BENCH_THREADS" -c"$BENCH_CONNECTIONS" -d"$warm" --timeout 10s -s "$lua" "$url" \
      >"$out.warmup" 2>&1 || die "wrk warm-up failed: $(cat "$out.warmup")"
  fi
  echo "  wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS -d$dur --timeout 10s --latency -s $(basename "$lua") $url"
  local before=0
  (($#)) && before="$(cpu_ticks "$@")"
  bench_run wrk -t"$BENCH_THREADS" -c"$BENCH_CONNECTIONS" -d"$dur" --timeout 10s --latency \
    -s "$lua" "$url" >"$out" 2>&1 || die "wrk failed: $(cat "$out")"
  RUN_CPU_MS="n/a"
  (($#)) && RUN_CPU_MS="$(cpu_ms_per_request "$before" "$(cpu_ticks "$@")" "$(wrk_requests "$out")")"
  return 0
}

# Parsers for wrk's output.
wrk_rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
wrk_requests() { awk '/requests in/ {print $1}' "$1"; }
# p99 in milliseconds.
wrk_p99_ms() {
  awk '$1 == "99%" {
         v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
         if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000;
         printf "%.2f\n", v }' "$1"
}
wrk_non2xx() { awk '/Non-2xx or 3xx responses:/ {print $NF; f=1} END {if (!f) print 0}' "$1"; }
wrk_socket_errors() {
  awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10; f=1 } END { if (!f) print 0 }' "$1"
}
# cpu_ticks PID...: user+system CPU time (clock ticks) of the given processes and their direct
# children (nginx workers). Used to report server CPU time per request.
cpu_ticks() {
  local total=0 p c
  for p in "$@"; do
    for c in "$p" $(pgrep -P "$p" || true); do
      [[ -r /proc/$c/stat ]] || continue
      total=$((total + $(awk '{print $14 + $15}' "/proc/$c/stat")))
    done
  done
  echo "$total"
}
# cpu_ms_per_request TICKS_BEFORE TICKS_AFTER REQUESTS
cpu_ms_per_request() {
  python3 -c 'import os,sys; b,a,n=map(float,sys.argv[1:]); print("%.3f" % ((a-b)*1000/os.sysconf("SC_CLK_TCK")/n) if n else "n/a")' "$@"
}
ratio() { python3 -c 'import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print("%.2f" % (a/b) if b else "n/a")' "$1" "$2"; }
