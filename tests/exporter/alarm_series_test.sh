#!/usr/bin/env bash
# The alarm series stay bounded: 20,000 alarm ids set then cleared, and 1,500 active at once, leave
# /metrics small, with every transition still counted (per id or folded) and no series twice.
# Usage: alarm_series_test.sh AGNER_NODE SOURCE_DIR
set -euo pipefail
node_bin=$1
src=$2
dir=$(mktemp -d /tmp/agner-alarm-series-XXXXXX)
chmod 700 "$dir"
node=
trap '[ -n "$node" ] && kill "$node" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$node_bin" --name alarmseries --schedulers 1 --workload none --socket "$dir/n.sock" --metrics-listen 127.0.0.1:0 >"$dir/node.log" 2>&1 &
node=$!
for _ in $(seq 1 300); do grep -q "metrics on" "$dir/node.log" && break; sleep 0.1; done
port=$(grep -o "metrics on http://127.0.0.1:[0-9]*" "$dir/node.log" | grep -o "[0-9]*$") || fail "no metrics port: $(cat "$dir/node.log")"
scrape() { curl -sf "http://127.0.0.1:$port/metrics" >"$dir/$1" || fail "scrape"; bash "$src/tests/exporter/unique_series.sh" "$dir/$1" || fail "a series twice in $1"; }
value() { grep "^$1 " "$dir/$2" | awk '{print $2}'; }

# Pipelined admin requests over the attach protocol (docs/protocol.md).
python3 - "$dir/n.sock" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
n = 0
def batch(reqs):
    global n
    for r in reqs:
        n += 1; f.write(json.dumps({"id": n, **r}) + "\n")
    f.flush()
    for _ in reqs:
        r = json.loads(f.readline()); assert r.get("ok", True) is not False, r
batch([{"op": "hello", "versions": [1], "role": "admin"}])
for lo in range(0, 20000, 500):
    batch([{"op": "set_alarm", "alarm": f"order_{i}", "severity": "warning", "description": "x"} for i in range(lo, lo + 500)])
    batch([{"op": "clear_alarm", "alarm": f"order_{i}"} for i in range(lo, lo + 500)])
PY
scrape cleared.txt
bytes=$(wc -c <"$dir/cleared.txt")
shown=$(grep -c '^agner_alarm_transitions_total{' "$dir/cleared.txt" || true)
sum_shown=$(grep '^agner_alarm_transitions_total{' "$dir/cleared.txt" | awk '{s += $NF} END {print s + 0}')
folded=$(value agner_alarm_transitions_folded_total cleared.txt)
rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$node/status")
echo "after 20,000 ids set and cleared: $bytes bytes, $shown transition series, shown $sum_shown + folded $folded, node RSS $rss_kb kB"
[ "$bytes" -lt 100000 ] || fail "/metrics is $bytes bytes"
[ "$shown" -le 100 ] || fail "$shown agner_alarm_transitions_total series (at most 100)"
[ "$(awk -v a="$sum_shown" -v b="$folded" 'BEGIN {print a + b}')" = 40000 ] || fail "transitions: $sum_shown shown + $folded folded, not 40000"
[ "$(value agner_alarms_active cleared.txt)" = 0 ] || fail "agner_alarms_active is not 0"

python3 - "$dir/n.sock" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
reqs = [{"op": "hello", "versions": [1], "role": "admin"}] + \
       [{"op": "set_alarm", "alarm": f"hot_{i}", "severity": "minor", "description": "x"} for i in range(1500)]
for i, r in enumerate(reqs): f.write(json.dumps({"id": i + 1, **r}) + "\n")
f.flush()
for _ in reqs: json.loads(f.readline())
PY
scrape active.txt
active_series=$(grep -c '^agner_alarm_active{' "$dir/active.txt" || true)
echo "with 1,500 active: $active_series agner_alarm_active series, agner_alarms_active $(value agner_alarms_active active.txt)"
[ "$active_series" = 1000 ] || fail "$active_series agner_alarm_active series (at most 1,000)"
[ "$(value agner_alarms_active active.txt)" = 1500 ] || fail "agner_alarms_active is not 1500"
promtool check metrics <"$dir/active.txt" || fail "promtool check metrics"
echo PASS
