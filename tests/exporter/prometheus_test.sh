#!/usr/bin/env bash
# The exporter against the real tools: promtool on deploy/ and on a live scrape, and a real
# Prometheus server (loopback, temporary data dir) scraping agner-node, read back through its HTTP
# API. Usage: prometheus_test.sh AGNER_NODE SOURCE_DIR
set -euo pipefail
node_bin=$1
src=$2
dir=$(mktemp -d /tmp/agner-prom-XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$dir/prom.log" ] && tail -20 "$dir/prom.log" >&2; exit 1; }

echo "== promtool check config and rules on deploy/"
cp "$src/deploy/prometheus.yml" "$src/deploy/agner-alerts.yml" "$src/deploy/matchstream-alerts.yml" "$dir/"
promtool check config "$dir/prometheus.yml" >/dev/null || fail "deploy/prometheus.yml"
promtool check rules "$src/deploy/agner-alerts.yml" >/dev/null || fail "deploy/agner-alerts.yml"
promtool check rules "$src/deploy/matchstream-alerts.yml" >/dev/null || fail "deploy/matchstream-alerts.yml"

echo "== promtool check metrics on a live scrape"
"$node_bin" --name promtest --socket "$dir/n.sock" --metrics-listen 127.0.0.1:0 --rules "$src/deploy/agner-rules.json" >"$dir/node.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 600); do grep -q "metrics on" "$dir/node.log" && break; sleep 0.1; done
port=$(grep -o "metrics on http://127.0.0.1:[0-9]*" "$dir/node.log" | grep -o "[0-9]*$") || fail "no metrics port: $(cat "$dir/node.log")"
curl -sf "http://127.0.0.1:$port/metrics" >"$dir/scrape.txt" || fail "scrape"
promtool check metrics <"$dir/scrape.txt" || fail "promtool check metrics"
bash "$src/tests/exporter/unique_series.sh" "$dir/scrape.txt" || fail "a series is served twice"

echo "== every metric the Grafana dashboard names is on the scrape"
names=$(grep -o '"expr": "[^"]*"' "$src/deploy/grafana-dashboard.json" | grep -oE '\b(agner|process)_[a-z_]+' | sed 's/_bucket$//' | sort -u)
[ "$(wc -l <<<"$names")" -ge 20 ] || fail "too few metric names found in the dashboard"
for name in $names; do grep -q "^# TYPE $name " "$dir/scrape.txt" || fail "the dashboard uses $name, which the node does not export"; done
grep -q '"name": "node"' "$src/deploy/grafana-dashboard.json" || fail "the dashboard has no node variable"

echo "== a real Prometheus scrapes the node"
for attempt in $(seq 1 20); do
  prom_port=$((20000 + RANDOM % 20000))
  sed -e "s/127.0.0.1:39150/127.0.0.1:$port/" -e "s/scrape_interval: 5s/scrape_interval: 1s/" -e "s/scrape_timeout: 4s/scrape_timeout: 1s/" \
    "$src/deploy/prometheus.yml" >"$dir/prometheus.yml"
  prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --web.listen-address="127.0.0.1:$prom_port" >"$dir/prom.log" 2>&1 &
  prom=$!
  # Until it is ready or has exited (the port was taken): a slow start on a loaded box is not a
  # taken port, so it is waited for (60 s bounds a hang), not killed and retried.
  for _ in $(seq 1 600); do
    curl -sf "http://127.0.0.1:$prom_port/-/ready" >/dev/null 2>&1 && break
    kill -0 $prom 2>/dev/null || break
    sleep 0.1
  done
  if curl -sf "http://127.0.0.1:$prom_port/-/ready" >/dev/null 2>&1; then pids+=($prom); break; fi
  kill $prom 2>/dev/null || true  # the port was taken: try another
  wait $prom 2>/dev/null || true
done
query() { curl -sf "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1"; }
value_of() { query "$1" | grep -o '"value":\[[^]]*\]' | head -1 | grep -o '"[0-9.e+-]*"\]$' | tr -d '"]'; }
for _ in $(seq 1 600); do [ "$(value_of 'up{job="agner"}')" = "1" ] && break; sleep 0.1; done
[ "$(value_of 'up{job="agner"}')" = "1" ] || fail "Prometheus never scraped the node: $(query 'up')"
processes=$(value_of agner_processes)
[ "$processes" -ge 14 ] || fail "agner_processes read back as '$processes'"
[ "$(value_of 'count(agner_run_queue_length)')" = "$(grep -c '^agner_run_queue_length{' "$dir/scrape.txt")" ] || fail "one run queue series per scheduler"
[ -n "$(value_of 'agner_build_info{node="promtest"}')" ] || fail "no build info"
for _ in $(seq 1 600); do [ -n "$(value_of 'synthetic_jobs_total > 0')" ] && break; sleep 0.1; done
[ -n "$(value_of 'synthetic_jobs_total > 0')" ] || fail "the business metric synthetic_jobs_total did not reach Prometheus"
[ "$(curl -sf "http://127.0.0.1:$prom_port/api/v1/rules" | grep -o '"name":"Agner[A-Za-z]*"' | wc -l)" -eq 6 ] || fail "the alert rules were not loaded"
[ "$(curl -sf "http://127.0.0.1:$prom_port/api/v1/rules" | grep -o '"name":"Matchstream[A-Za-z]*"' | wc -l)" -eq 5 ] || fail "the MatchStream alert rules were not loaded"
echo "PASS (agner_processes=$processes)"
