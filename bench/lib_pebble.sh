# shellcheck shell=bash disable=SC2034,SC2317  # sets variables for the scripts that source it
# Helpers for the renewal benchmarks (bench/renew_internal.sh, bench/renew_acme.sh): pebble (the
# ACME test CA) with pebble-challtestsrv, and renew_tool, a small keep-alive HTTPS client that
# creates certificates in parallel, triggers renewals and times them. Source it after lib.sh; do
# not run it.
#
# start_pebble DIR HTTP_PORT [EAB=0|1]: writes a TLS CA and pebble's TLS certificate (SAN
# IP:127.0.0.1, DNS:localhost) with openssl, starts pebble-challtestsrv as pebble's DNS server
# (every name -> 127.0.0.1, its own challenge servers off) and pebble with that DNS server and
# http-01 validation against HTTP_PORT on 127.0.0.1. Both are tracked by the cleanup trap.
# Sets PEBBLE_DIR_URL (https://127.0.0.1:PORT/dir), PEBBLE_CA (the PEM bundle that verifies
# pebble's TLS certificate), PEBBLE_LOG, PEBBLE_PID, PEBBLE_MGMT (management URL),
# PEBBLE_EAB_KID / PEBBLE_EAB_KEY (when EAB=1).
#
# pebble runs with PEBBLE_VA_NOSLEEP=1 (no artificial 0-15 s sleep before each validation),
# PEBBLE_AUTHZREUSE=0 (every order validates afresh: no authorization is reused) and
# PEBBLE_WFE_NONCEREJECT=0 (no deliberate badNonce answers), so that every client meets the
# same CA doing the same work per order.

PEBBLE_ENV=(PEBBLE_VA_NOSLEEP=1 PEBBLE_AUTHZREUSE=0 PEBBLE_WFE_NONCEREJECT=0)
PEBBLE_EAB_KID="kid-1"
PEBBLE_EAB_KEY="zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"

tcp_accepts() { python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()' "$1"; }

# pebble_tls DIR: a P-256 CA (DIR/tls-ca.pem) and a certificate for 127.0.0.1/localhost it signs.
pebble_tls() {
  local d="$1"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=certvault bench pebble TLS CA" -keyout "$d/tls-ca-key.pem" -out "$d/tls-ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null || die "openssl: pebble TLS CA"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$d/tls-key.pem" -out "$d/tls.csr" 2>/dev/null || die "openssl: pebble TLS CSR"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$d/tls.ext"
  openssl x509 -req -in "$d/tls.csr" -CA "$d/tls-ca.pem" -CAkey "$d/tls-ca-key.pem" \
    -set_serial 1 -days 2 -sha256 -extfile "$d/tls.ext" -out "$d/tls.pem" 2>/dev/null ||
    die "openssl: pebble TLS certificate"
}

start_pebble() {
  local d="$1" http_port="$2" eab="${3:-0}"
  mkdir -p "$d"
  pebble_tls "$d"
  local acme_port mgmt_port dns_port cts_port tls_port
  acme_port="$(free_port)"
  mgmt_port="$(free_port)"
  dns_port="$(free_port)"
  cts_port="$(free_port)"
  tls_port="$(free_port)"
  local eab_json='"externalAccountBindingRequired": false'
  if [[ "$eab" == 1 ]]; then
    eab_json="\"externalAccountBindingRequired\": true, \"externalAccountMACKeys\": {\"$PEBBLE_EAB_KID\": \"$PEBBLE_EAB_KEY\"}"
  fi
  cat >"$d/pebble.json" <<EOF
{"pebble": {"listenAddress": "127.0.0.1:$acme_port", "managementListenAddress": "127.0.0.1:$mgmt_port",
  "certificate": "$d/tls.pem", "privateKey": "$d/tls-key.pem", "httpPort": $http_port,
  "tlsPort": $tls_port, "ocspResponderURL": "", $eab_json}}
EOF
  pebble-challtestsrv -management "127.0.0.1:$cts_port" -dns01 "127.0.0.1:$dns_port" \
    -http01 "" -https01 "" -tlsalpn01 "" -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
    >"$d/challtestsrv.log" 2>&1 &
  bench_track "$!"
  wait_for "pebble-challtestsrv on port $cts_port" 100 tcp_accepts "$cts_port"
  env "${PEBBLE_ENV[@]}" pebble -config "$d/pebble.json" -dnsserver "127.0.0.1:$dns_port" \
    >"$d/pebble.log" 2>&1 &
  PEBBLE_PID=$!
  bench_track "$PEBBLE_PID"
  PEBBLE_DIR_URL="https://127.0.0.1:$acme_port/dir"
  PEBBLE_MGMT="https://127.0.0.1:$mgmt_port"
  PEBBLE_CA="$d/tls-ca.pem"
  PEBBLE_LOG="$d/pebble.log"
  pebble_dir_ok() { curl -sS --fail --max-time 2 --cacert "$PEBBLE_CA" "$PEBBLE_DIR_URL" | grep -q newOrder; }
  wait_for "pebble directory at $PEBBLE_DIR_URL" 150 pebble_dir_ok
}

# pebble_orders LOGFILE: how many orders pebble created (its log line per new order).
pebble_orders() { grep -c 'POST /order-plz' "$1" || true; }
# pebble_issued LOGFILE: how many certificates pebble issued.
pebble_issued() { grep -c 'Issued certificate serial' "$1" || true; }

# header_renew TITLE COMMAND...: print_header without its wrk line (these benchmarks use no wrk).
header_renew() { print_header "$@" | grep -v '^wrk:'; }

# renew_tool ARGS...: runs the Python client below against the running certvault (CV_PORT, CV_CA,
# CV_TOKEN). Commands (names are PREFIX-0 .. PREFIX-(N-1), DNS names PREFIX-i.example.test):
#   create PREFIX N ISSUER VALIDITY CONCURRENCY   POST /certificates/{name}/create, EC P-256,
#                                                 AutoRenew at 80%; each must answer 202
#   seq                                           highest event sequence number in the outbox
#   wait PREFIX N AFTER_SEQ TIMEOUT_S             waits until N distinct certificates have a
#                                                 CertificateNewVersionCreated event after AFTER_SEQ
#   renew-clock PREFIX N ADVANCE TIMEOUT_S        POST /management/clock {advance}, then waits as
#                                                 above; prints the seconds from the POST to the Nth
#   renew-post PREFIX N CONCURRENCY TIMEOUT_S     POST /certificates/{name}/renew for each, then
#                                                 waits as above; prints seconds from the first POST
#   jobs TRIGGER_PREFIX                           job counts by status for triggers starting so
#   versions PREFIX N                             histogram of version counts per certificate
#   csrs PREFIX N OUTDIR CONCURRENCY              the pending operations' CSRs as OUTDIR/{name}.csr
# The waits poll the event outbox (GET /management/events?after=...) every 0.1 s on one keep-alive
# connection: each poll reads only the events that are new since the last one.
renew_tool() {
  [[ -f "$BENCH_TMP/renew_tool.py" ]] || write_renew_tool "$BENCH_TMP/renew_tool.py"
  CV_PORT="$CV_PORT" CV_CA="$CV_CA" CV_TOKEN="$CV_TOKEN" python3 "$BENCH_TMP/renew_tool.py" "$@"
}

write_renew_tool() {
  cat >"$1" <<'PY'
import base64, http.client, json, os, socket, ssl, sys, threading, time, urllib.parse

PORT, CA, TOKEN = int(os.environ["CV_PORT"]), os.environ["CV_CA"], os.environ["CV_TOKEN"]
API = "api-version=7.5"
NEW_VERSION = "Microsoft.KeyVault.CertificateNewVersionCreated"


class Conn:
    """One keep-alive HTTPS connection to certvault (host default.localhost -> 127.0.0.1)."""

    def __init__(self, host="default.localhost"):
        self.host, self.ctx, self.c = host, ssl.create_default_context(cafile=CA), None

    def _connect(self):
        self.c = http.client.HTTPSConnection(self.host, PORT, context=self.ctx, timeout=60)
        self.c.sock = self.ctx.wrap_socket(socket.create_connection(("127.0.0.1", PORT), timeout=60),
                                           server_hostname=self.host)

    def req(self, method, path, body=None):
        for attempt in range(2):
            try:
                if self.c is None:
                    self._connect()
                headers = {"Host": "%s:%d" % (self.host, PORT), "Authorization": "Bearer " + TOKEN}
                data = None
                if body is not None:
                    data = json.dumps(body).encode()
                    headers["Content-Type"] = "application/json"
                self.c.request(method, path, body=data, headers=headers)
                r = self.c.getresponse()
                raw = r.read()
                return r.status, (json.loads(raw) if raw else None), raw
            except (http.client.HTTPException, OSError):
                self.c = None
                if attempt:
                    raise
        raise RuntimeError("unreachable")


def names(prefix, n):
    return ["%s-%d" % (prefix, i) for i in range(n)]


def parallel(items, concurrency, fn):
    """fn(conn, item) over items on `concurrency` threads, one connection each; first error wins."""
    lock, it, errors = threading.Lock(), iter(items), []

    def worker():
        conn = Conn()
        while not errors:
            with lock:
                item = next(it, None)
            if item is None:
                return
            try:
                fn(conn, item)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append("%s: %s" % (item, e))

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        sys.exit("renew_tool: " + errors[0])


def expect(status, want, what, raw):
    if status != want:
        raise RuntimeError("%s: HTTP %d %s" % (what, status, raw[:300]))


def create(prefix, n, issuer, validity, concurrency):
    def one(conn, name):
        policy = {"key_props": {"kty": "EC", "crv": "P-256"},
                  "x509_props": {"subject": "CN=%s.example.test" % name,
                                 "sans": {"dns_names": ["%s.example.test" % name]}},
                  "lifetime_actions": [{"trigger": {"lifetime_percentage": 80},
                                        "action": {"action_type": "AutoRenew"}}],
                  "issuer": {"name": issuer}}
        if validity:
            policy["x509_props"]["validity_duration"] = validity
        s, _, raw = conn.req("POST", "/certificates/%s/create?%s" % (name, API), {"policy": policy})
        expect(s, 202, "create " + name, raw)

    parallel(names(prefix, int(n)), int(concurrency), one)
    print(n)


class Outbox:
    """Reads the event outbox incrementally from a sequence number."""

    def __init__(self, after):
        self.conn, self.after = Conn("localhost"), int(after)

    def new_events(self):
        out = []
        for _ in range(100000):
            s, body, raw = self.conn.req("GET", "/management/events?%s&after=%d&maxresults=1000" % (API, self.after))
            expect(s, 200, "GET /management/events", raw)
            out += body["value"]
            if body["value"]:
                self.after = body["value"][-1]["seq"]
            if len(body["value"]) < 1000:
                return out
        return out


def last_seq():
    box = Outbox(0)
    box.new_events()
    return box.after


def wait_versions(prefix, n, after, timeout, t0=None):
    """Seconds from t0 until n distinct prefix-* certificates got a new version after `after`."""
    t0 = time.monotonic() if t0 is None else t0
    box, seen, want = Outbox(after), set(), set(names(prefix, n))
    deadline = time.monotonic() + timeout
    while True:
        for e in box.new_events():
            if e["type"] == NEW_VERSION and e["object_name"] in want:
                seen.add(e["object_name"])
        if len(seen) >= n:
            return time.monotonic() - t0
        if time.monotonic() > deadline:
            sys.exit("renew_tool: only %d of %d certificates got a new version within %d s" % (len(seen), n, timeout))
        time.sleep(0.1)


def renew_clock(prefix, n, advance, timeout):
    after = last_seq()
    conn = Conn("localhost")
    t0 = time.monotonic()
    s, _, raw = conn.req("POST", "/management/clock?" + API, {"advance": advance})
    expect(s, 200, "POST /management/clock", raw)
    print("%.3f" % wait_versions(prefix, n, after, timeout, t0))


def renew_post(prefix, n, concurrency, timeout):
    after = last_seq()
    t0 = time.monotonic()

    def one(conn, name):
        s, _, raw = conn.req("POST", "/certificates/%s/renew?%s" % (name, API), {})
        expect(s, 202, "renew " + name, raw)

    parallel(names(prefix, n), concurrency, one)
    print("%.3f" % wait_versions(prefix, n, after, timeout, t0))


def jobs(trigger_prefix):
    conn, counts, path = Conn(), {}, "/jobs?%s&maxresults=25" % API
    for _ in range(1000000):
        s, body, raw = conn.req("GET", path)
        expect(s, 200, "GET /jobs", raw)
        for j in body["value"]:
            if j["trigger"].startswith(trigger_prefix):
                counts[j["status"]] = counts.get(j["status"], 0) + 1
        nxt = body.get("nextLink")
        if not nxt:
            break
        u = urllib.parse.urlsplit(nxt)
        path = u.path + "?" + u.query
    print(" ".join("%s=%d" % kv for kv in sorted(counts.items())) or "none")


def versions(prefix, n):
    hist, lock = {}, threading.Lock()

    def one(conn, name):
        s, body, raw = conn.req("GET", "/certificates/%s/versions?%s&maxresults=25" % (name, API))
        expect(s, 200, "versions " + name, raw)
        with lock:
            k = len(body["value"])
            hist[k] = hist.get(k, 0) + 1

    parallel(names(prefix, n), 4, one)
    print(" ".join("%d_versions=%d" % kv for kv in sorted(hist.items())))


def csrs(prefix, n, outdir, concurrency):
    def one(conn, name):
        s, body, raw = conn.req("GET", "/certificates/%s/pending?%s" % (name, API))
        expect(s, 200, "pending " + name, raw)
        b64 = base64.b64encode(base64.b64decode(body["csr"])).decode()
        pem = "-----BEGIN CERTIFICATE REQUEST-----\n%s\n-----END CERTIFICATE REQUEST-----\n" % "\n".join(
            b64[i:i + 64] for i in range(0, len(b64), 64))
        with open(os.path.join(outdir, name + ".csr"), "w") as f:
            f.write(pem)

    parallel(names(prefix, n), concurrency, one)


cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "create":
    create(args[0], int(args[1]), args[2], args[3], int(args[4]))
elif cmd == "seq":
    print(last_seq())
elif cmd == "wait":
    print("%.3f" % wait_versions(args[0], int(args[1]), int(args[2]), float(args[3])))
elif cmd == "renew-clock":
    renew_clock(args[0], int(args[1]), args[2], float(args[3]))
elif cmd == "renew-post":
    renew_post(args[0], int(args[1]), int(args[2]), float(args[3]))
elif cmd == "jobs":
    jobs(args[0])
elif cmd == "versions":
    versions(args[0], int(args[1]))
elif cmd == "csrs":
    csrs(args[0], int(args[1]), args[2], int(args[3]))
else:
    sys.exit("renew_tool: unknown command " + cmd)
PY
}
