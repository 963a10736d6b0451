#!/usr/bin/env bash
# Runs every benchmark in bench/ one after the other and prints their RESULT lines at the end.
# Each script starts its own servers on free loopback ports and stops them on exit.
# Environment knobs: see bench/lib.sh (CERTVAULT_BIN, BENCH_THREADS, BENCH_CONNECTIONS,
# BENCH_DURATION, BENCH_WARMUP, BENCH_DIAG, BENCH_DIAG_DURATION), BENCH_RENEW_N (renew_internal.sh,
# default 1000), BENCH_ACME_N (renew_acme.sh, default 100; its lego loop takes about 10 minutes).
set -uo pipefail
cd "$(dirname "$0")" || exit 1
benches=(secret_get.sh create_cert.sh renew_internal.sh renew_acme.sh)
results=()
status=0
for b in "${benches[@]}"; do
  log="$(mktemp "${TMPDIR:-/tmp}/certvault-bench-log.XXXXXX")"
  ./"$b" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  if ((rc != 0)); then
    echo "run-all: $b failed (exit $rc)" >&2
    status=1
  fi
  while IFS= read -r line; do results+=("$line"); done < <(grep '^RESULT ' "$log" || true)
  rm -f "$log"
  echo
done
echo "=== summary (ratio = certvault's speed / the peer's: certvault/peer for rates, peer/certvault for times; see BENCHMARKS.md)"
printf '%s\n' "${results[@]}"
# A missed target is a finding, not a failure of the run: exit non-zero only if a script failed.
exit "$status"
