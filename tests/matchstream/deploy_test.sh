#!/usr/bin/env bash
# deploy/ for MatchStream against the real tools: agner-node --check-rules on matchstream-rules.json,
# promtool on matchstream-alerts.yml (check and unit tests), the Grafana dashboard's MatchStream row,
# and every matchstream_* name the alerts and the dashboard use on a live matchstream node's /metrics.
# Usage (from the project root): deploy_test.sh BIN_DIR
set -euo pipefail
bin=$1
dir=$(mktemp -d /tmp/agner-ms-deploy-XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "== the alarm rules"
"$bin/agner-node" --check-rules deploy/matchstream-rules.json || fail "deploy/matchstream-rules.json has errors"
python3 - deploy/matchstream-rules.json <<'PY' || fail "deploy/matchstream-rules.json lacks what docs/matchstream.md promises"
import json, sys
r = json.load(open(sys.argv[1]))
alarms = {a["id"]: a for a in r["alarms"]}
valves = {v["id"]: v for v in r["valves"]}
metrics = {a["metric"] for a in alarms.values()}
for m in ["business:matchstream_clients_connected", "process:message_queue_len", "process:oldest_message_age_ms"]:
    assert m in metrics, f"no alarm on {m}"
for v in ["admission", "subscribe"]:
    assert v in valves, f"no valve {v}"
    assert valves[v]["mode"] == "enforce", f"valve {v} is not enforcing"
assert "clients_near_capacity" in valves["admission"]["triggers"], "clients near capacity does not close admission"
assert "match_queue_long" in valves["subscribe"]["triggers"], "a long match queue does not close subscribe"
slow = [a for a in alarms.values() if a["metric"] == "business:matchstream_delivery_latency_seconds"]
assert slow and slow[0].get("mean_over_ms"), "no alarm on the delivery latency's recent mean"
assert all(slow[0]["id"] in v["triggers"] for v in valves.values()), "slow delivery does not drive both valves"
PY
# A broken copy must fail, so the check above can fail.
sed 's/"process:message_queue_len"/"process:queue"/' deploy/matchstream-rules.json >"$dir/bad.json"
if "$bin/agner-node" --check-rules "$dir/bad.json" >/dev/null 2>&1; then fail "--check-rules passed a bad metric"; fi

echo "== promtool on the alert rules"
promtool check rules deploy/matchstream-alerts.yml >/dev/null || fail "promtool check rules deploy/matchstream-alerts.yml"
promtool test rules tests/matchstream/matchstream-alerts.promtest.yml || fail "promtool test rules"
cp deploy/prometheus.yml deploy/agner-alerts.yml deploy/matchstream-alerts.yml "$dir/"
promtool check config "$dir/prometheus.yml" >/dev/null || fail "deploy/prometheus.yml with matchstream-alerts.yml"

echo "== the dashboard's MatchStream row"
python3 - deploy/grafana-dashboard.json <<'PY' || fail "deploy/grafana-dashboard.json"
import json, re, sys
d = json.load(open(sys.argv[1]))
panels = d["panels"]
ids = [p["id"] for p in panels]
assert len(ids) == len(set(ids)), "two panels share an id"
cells = set()
for p in panels:
    g = p["gridPos"]
    for x in range(g["x"], g["x"] + g["w"]):
        for y in range(g["y"], g["y"] + g["h"]):
            assert (x, y) not in cells, f"panel {p['title']} overlaps another"
            cells.add((x, y))
rows = [p for p in panels if p["type"] == "row" and p["title"] == "MatchStream"]
assert rows, "no MatchStream row"
exprs = " ".join(t["expr"] for p in panels for t in p.get("targets", []))
for name in ["matchstream_clients_connected", "matchstream_events_registered_total", "matchstream_events_delivered_total",
             "matchstream_delivery_latency_seconds_bucket", "matchstream_connections_refused_total", "matchstream_events_dropped_total"]:
    assert name in exprs, f"the dashboard does not chart {name}"
assert "histogram_quantile(0.5," in exprs and "histogram_quantile(0.99," in exprs, "no latency p50/p99"
PY

echo "== every matchstream_* name used is in docs/metrics.md"
names=$(grep -ohE '\bmatchstream_[a-z_]+' deploy/grafana-dashboard.json deploy/matchstream-alerts.yml | sed -E 's/_(bucket|sum|count)$//' | sort -u)
[ "$(wc -l <<<"$names")" -ge 8 ] || fail "too few matchstream names found: $names"
for name in $names; do grep -q "\`$name\`" docs/metrics.md || fail "$name is used in deploy/ but not listed in docs/metrics.md"; done

if [ ! -x "$bin/matchstream" ]; then
  echo "PASS (the matchstream program is not built: its live /metrics was not checked)"
  exit 0
fi
echo "== the names on a live matchstream node's /metrics"
"$bin/matchstream" --name "msdeploy-$$" --socket "$dir/n.sock" --listen 127.0.0.1:0 --http 127.0.0.1:0 --db :memory: \
  --metrics-listen 127.0.0.1:0 --rules deploy/matchstream-rules.json >"$dir/node.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do grep -q "metrics on" "$dir/node.log" && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
port=$(grep -o "metrics on http://127.0.0.1:[0-9]*" "$dir/node.log" | grep -o "[0-9]*$") || fail "no metrics port: $(cat "$dir/node.log")"
curl -sf "http://127.0.0.1:$port/metrics" >"$dir/scrape.txt" || fail "scrape"
promtool check metrics <"$dir/scrape.txt" || fail "promtool check metrics on matchstream's scrape"
for name in $names; do grep -q "^# TYPE $name " "$dir/scrape.txt" || fail "deploy/ uses $name, which matchstream does not export"; done
for valve in admission subscribe; do
  grep -q "^agner_valve_pressure{.*valve=\"$valve\"" "$dir/scrape.txt" || fail "no valve $valve on the scrape"
done
echo "PASS ($(wc -w <<<"$names") matchstream names on the scrape)"
