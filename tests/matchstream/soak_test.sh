#!/bin/bash
# scripts/soak, short: 30 s of 200 clients sampled every 3 s; the CSV has every sample and column and a
# verdict is printed (flat or growing: on a loaded machine 30 s is too short to hold it to "flat").
set -euo pipefail
bin=${1:?usage: soak_test.sh BIN_DIR}
work=$(mktemp -d /tmp/agner-soak-test-XXXXXX)
trap 'rm -rf "$work"' EXIT
status=0
python3 scripts/soak 30 --bin "$bin" --clients 200 --matches 3 --event-rate 5 --interval 3 --warmup 6 \
  --work "$work" >"$work/out" 2>&1 || status=$?
cat "$work/out"
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$status" = 0 ] || [ "$status" = 1 ] || fail "scripts/soak exited $status"
grep -qE "^soak: (FLAT|GROWING)$" "$work/out" || fail "no verdict"
grep -qE "^soak: rss (flat|GROWING) .*; fds (flat|GROWING) .*; threads (flat|GROWING)" "$work/out" || fail "no slopes"
[ "$(head -n 1 "$work/soak.csv")" = "t_s,rss_kib,fds,threads,processes,connected,events_delivered,latency_mean_ms,latency_p99_ms" ] \
  || fail "CSV header: $(head -n 1 "$work/soak.csv")"
rows=$(($(wc -l <"$work/soak.csv") - 1))
[ "$rows" = 10 ] || fail "$rows samples, not 10"
awk -F, 'NR > 1 && ($2 <= 0 || $3 <= 0 || $4 <= 0 || $6 != 200) {bad = 1} END {exit bad}' "$work/soak.csv" \
  || fail "a sample without RSS, fds, threads or all 200 clients connected: $(cat "$work/soak.csv")"
