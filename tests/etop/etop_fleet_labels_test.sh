#!/usr/bin/env bash
# Two nodes whose socket paths share a file name (/D/a/node.sock, /D/b/node.sock) go by different
# names in the several-nodes view: the shortest path suffix that tells them apart (a/node, b/node),
# on the nodes: line, in the NODE column and in --json. Nothing is timed.
# Usage: etop_fleet_labels_test.sh AGNER_NODE ETOP
set -euo pipefail
node_bin=$1
etop_bin=$2
dir=$(mktemp -d /tmp/agner-etop-labels-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir -m 700 "$dir/a" "$dir/b"
for n in a b; do
  "$node_bin" --name "node_$n" --socket "$dir/$n/node.sock" --schedulers 1 --metrics-listen off >"$dir/$n.log" 2>&1 &
  pids+=($!)
done
for _ in $(seq 1 300); do [ -S "$dir/a/node.sock" ] && [ -S "$dir/b/node.sock" ] && break; sleep 0.1; done
[ -S "$dir/a/node.sock" ] && [ -S "$dir/b/node.sock" ] || fail "the nodes did not start: $(cat "$dir"/*.log)"

echo "== text: the nodes: line and the NODE column tell the two apart"
# Sorted by pid, so each node's first processes are among the rows whatever their queues are at
# that moment (by queue, slow_consumer can still rank below eight workers holding one message each).
out=$("$etop_bin" --batch --sort pid --lines 40 "$dir/a/node.sock" "$dir/b/node.sock")
grep -qE "^nodes: a/node up .* \| +b/node up " <<<"$out" || fail "nodes: line: $out"
grep -qE "^a/node +<0\.2\.0> +slow_consumer" <<<"$out" || fail "no a/node row: $out"
grep -qE "^b/node +<0\.2\.0> +slow_consumer" <<<"$out" || fail "no b/node row: $out"
grep -qE "^node +<" <<<"$out" && fail "a row still labelled by the bare file name: $out"

echo "== JSON: each node's name is its label"
json=$("$etop_bin" --batch --json --lines 2 "$dir/a/node.sock" "$dir/b/node.sock")
grep -q '"name":"a/node"' <<<"$json" || fail "no a/node in JSON: ${json:0:400}"
grep -q '"name":"b/node"' <<<"$json" || fail "no b/node in JSON: ${json:0:400}"
echo "PASS"
