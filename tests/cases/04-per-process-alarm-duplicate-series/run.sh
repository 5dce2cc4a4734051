#!/usr/bin/env bash
# Two processes fire the same per-process alarm: how many agner_alarm_active series? See README.md.
set -u
BIN=${AGNER_BIN:-$(pwd)/build/bin}; AGNER=${AGNER:-$(pwd)}
HERE=$(cd "$(dirname "$0")" && pwd); W=$(mktemp -d /tmp/dup-series.XXXXXX); chmod 700 "$W"
"$BIN/agner-node" --name dupseries --schedulers 1 --socket "$W/node.sock" --metrics-listen 127.0.0.1:39205 \
  --rules "$HERE/rules.json" > "$W/node.out" 2> "$W/node.err" & NODE=$!
for _ in $(seq 1 1200); do [ -S "$W/node.sock" ] && curl -sf -o /dev/null http://127.0.0.1:39205/metrics && break; sleep 0.1; done
# ledger and slow_consumer (synthetic workload) each keep a message queued once suspended; wait
# (bounded) until the protocol shows both alarms.
HERE="$HERE" python3 - "$W/node.sock" <<'PY'
import os, sys, time
sys.path.insert(0, os.path.dirname(os.environ["HERE"]))  # tests/cases/proto.py
from proto import Node
n = Node(sys.argv[1])
for name in ("ledger", "slow_consumer"): n.call("suspend", name=name)
for _ in range(1200):
    active = [(a["id"], a["source"]) for a in n.call("alarms")["active"] if a["id"] == "long_queue"]
    if len(active) >= 2: break
    time.sleep(0.1)
print("active alarms (protocol):", active[:5])
PY
curl -s http://127.0.0.1:39205/metrics > "$W/scrape.txt"
grep '^agner_alarm_active' "$W/scrape.txt"
N=$(grep -c '^agner_alarm_active{alarm="long_queue"' "$W/scrape.txt")
echo "long_queue series: $N"
bash "$AGNER/tests/exporter/unique_series.sh" "$W/scrape.txt"; RC=$?
[ "$N" -ge 2 ] || RC=1
kill -TERM $NODE; wait $NODE 2>/dev/null; rm -rf "$W"
[ $RC = 0 ] && echo PASS || echo FAIL
[ $RC = 0 ]
