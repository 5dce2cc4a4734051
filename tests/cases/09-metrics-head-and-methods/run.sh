#!/usr/bin/env bash
# HEAD and other methods on /metrics. See README.md.
set -u
BIN=${AGNER_BIN:-$(pwd)/build/bin}
W=$(mktemp -d /tmp/head.XXXXXX); chmod 700 "$W"
"$BIN/agner-node" --name head --schedulers 1 --workload none --socket "$W/node.sock" \
  --metrics-listen 127.0.0.1:39207 > "$W/out" 2>&1 & NODE=$!
U=http://127.0.0.1:39207/metrics
for _ in $(seq 1 1200); do curl -sf -o /dev/null $U && break; sleep 0.1; done
get=$(curl -s -o /dev/null -w '%{http_code}' $U)
head=$(curl -s -o /dev/null -w '%{http_code}' -I $U)
echo "GET /metrics -> $get"
echo "HEAD /metrics -> $head"
OK=1; [ "$get" = 200 ] && [ "$head" = 200 ] || OK=0
for m in POST PUT DELETE OPTIONS; do
  code=$(curl -s -o /dev/null -D "$W/h" -w '%{http_code}' -X $m $U)
  allow=$(grep -i '^allow:' "$W/h" | tr -d '\r')
  echo "$m /metrics -> $code $allow"
  [ "$code" = 405 ] && [ "$allow" = "Allow: GET, HEAD" ] || OK=0
done
nothing=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:39207/nothing)
echo "GET /nothing -> $nothing"
[ "$nothing" = 404 ] || OK=0
kill -TERM $NODE; wait $NODE 2>/dev/null; rm -rf "$W"
[ $OK = 1 ] && echo PASS || echo FAIL
[ $OK = 1 ]
