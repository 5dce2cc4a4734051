#!/usr/bin/env bash
# etop shows the node's warnings (docs/warnings.md): a '!' before each warned row's PID and a
# WARNINGS line in the header, in a real terminal (tmux); --batch lists them after the table and
# --json carries them. The synthetic workload raises them: the slow consumer's messages wait, and
# the flaky worker's restarts use workload_sup's intensity. Usage: etop_warnings_test.sh AGNER_NODE ETOP
set -euo pipefail
node_bin=$1
etop_bin=$2
harness_name=warn
source "$(dirname "$0")/tmux_harness.sh"
chmod 700 "$dir"

# Low thresholds so the synthetic workload trips them within seconds: its slow consumer's oldest
# message waits more than 100 ms, and one restart of flaky uses 10% of workload_sup's intensity (10).
cat >"$dir/rules.json" <<'JSON'
{"version": 1,
 "warnings": {"sample_ms": 200, "old_message_ms": 100, "restart_intensity_percent": 10}}
JSON
start_node --name warntest --schedulers 2 --rules "$dir/rules.json"

echo "== a bad warnings threshold is refused with its place"
printf '{"version": 1,\n "warnings": {"sample_ms": 5}}\n' >"$dir/bad.json"
if out=$("$node_bin" --check-rules "$dir/bad.json" 2>&1); then fail "a bad threshold was accepted: $out"; fi
grep -qF "bad.json:2:28: /warnings/sample_ms: must be a whole number from 100 to 60000 (ms), not 5" <<<"$out" ||
  fail "no located error: $out"

echo "== the header's WARNINGS line and the row's marker"
"${tmx[@]}" new-session -d -s etop -x 160 -y 40 "env LANG=C.UTF-8 LC_ALL=C.UTF-8 $etop_bin --interval 0.5 $sock"
wait_re "^WARNINGS \([0-9]+\):.*slow_consumer old_message"
wait_re "^!<0\.[0-9]+\.[0-9]+> +slow_consumer"
wait_re "^WARNINGS \([0-9]+\):.*workload_sup restart_intensity"
wait_re "^!<0\.0\.0> +workload_sup"
"${tmx[@]}" send-keys -t etop q

echo "== batch mode lists them after the table, one sentence each; --json carries them"
found=""
for _ in $(seq 1 60); do
  out=$("$etop_bin" --batch --iterations 2 --interval 0.5 "$sock")
  if grep -q "^WARNINGS:$" <<<"$out" && grep -qE "^! <0\.[0-9]+\.[0-9]+> slow_consumer old_message: its oldest queued message has waited [0-9]+ ms" <<<"$out"; then
    found=yes
    break
  fi
done
[ -n "$found" ] || fail "batch mode listed no old_message warning: $out"
grep -qE "^!<0\.[0-9]+\.[0-9]+> +slow_consumer" <<<"$out" || fail "no marker on the batch row: $out"
json=$("$etop_bin" --batch --json --iterations 1 "$sock")
python3 - "$json" <<'PY' || fail "--json has no warnings array of rows: $json"
import json, sys
doc = json.loads(sys.argv[1])
rows = doc["warnings"]
assert isinstance(rows, list)
for w in rows:
    assert set(["kind", "pid", "name", "message", "value", "threshold", "since_ms"]) <= set(w), w
PY
echo "PASS"
