#!/usr/bin/env bash
# etop's message tracing: T on a process opens the trace pane (admin), which shows its messages as
# they come and stops at the budget; a viewer gets a sentence; batch mode streams lines.
# Usage: etop_trace_test.sh AGNER_NODE ETOP
set -euo pipefail
node_bin=$1
etop_bin=$2
harness_name=trace
source "$(dirname "$0")/tmux_harness.sh"
open_etop() {
  "${tmx[@]}" kill-session -t etop 2>/dev/null || true
  "${tmx[@]}" new-session -d -s etop -x 140 -y 40 "env LANG=C.UTF-8 LC_ALL=C.UTF-8 $etop_bin --interval 0.5 $1 $sock"
}

start_node --name tracetest --schedulers 2


echo "== T on worker_3 (ticks every 10 ms) opens the pane; it shows the ticks and ends at the budget of 5"
open_etop "--count 5 --seconds 60"
wait_for "worker_3"
keys / w o r k e r _ 3 Enter
wait_for 'filter: "worker_3"'
keys T
wait_for "TRACE <0."
wait_for "<- outside"
wait_for "trace ended (its message budget is spent): 5 shown"
lines=$(screen | grep -c "<- outside" || true)
[ "$lines" -eq 5 ] || fail "expected 5 traced ticks on screen, saw $lines"
screen | grep -q "tick" || fail "no message type on the trace lines"
grep -q "attach: trace_start by .*count=5 seconds=60" "$dir/node.log" || fail "no audit line for trace_start"

echo "== Esc goes back to the table; T again starts a new trace, Esc stops it on the node"
keys Escape
wait_for 'filter: "worker_3"'
open_etop "--count 10000 --seconds 3600"
wait_for "worker_3"
keys / w o r k e r _ 3 Enter
wait_for 'filter: "worker_3"'
keys T
wait_for "<- outside"
screen | grep -q "running" || fail "the pane does not say the trace runs"
keys Escape
wait_for 'filter: "worker_3"'
# The node refuses a fifth trace only when four run: four batch traces now must all start.
for i in 1 2 3 4; do
  timeout 60 "$etop_bin" --batch --trace worker_3 --count 1 --seconds 30 "$sock" >"$dir/batch$i.txt" &
done
wait_all_ok=0
for job in $(jobs -p); do
  [ "$job" = "$node_pid" ] && continue
  wait "$job" || wait_all_ok=$?
done
[ "$wait_all_ok" -eq 0 ] || fail "a batch trace failed after Esc: the pane's trace was not stopped? $(cat "$dir"/batch*.txt)"

echo "== a viewer gets a sentence, not a pane"
open_etop "--role viewer"
wait_for "worker_3"
keys T
wait_for "'T' needs the admin role"
screen | grep -q "TRACE <0." && fail "a viewer opened the trace pane"

echo "== batch: --trace streams one line per message, then how it ended"
out=$(timeout 60 "$etop_bin" --batch --trace worker_3 --count 3 --seconds 30 "$sock")
[ "$(grep -c '<- outside' <<<"$out")" -eq 3 ] || fail "expected three lines: $out"
tail -1 <<<"$out" | grep -q "trace ended (its message budget is spent): 3 shown" || fail "no end line: $out"
rc=0; err=$("$etop_bin" --trace worker_3 "$sock" 2>&1) || rc=$?
[ "$rc" -eq 2 ] && grep -q -- "--trace prints a stream: give --batch too" <<<"$err" || fail "--trace without --batch: rc $rc, $err"
rc=0; err=$("$etop_bin" --batch --trace worker_3 --count 0 "$sock" 2>&1) || rc=$?
[ "$rc" -eq 2 ] && grep -q -- "--count wants a number from 1 to 10000" <<<"$err" || fail "--count 0: rc $rc, $err"
echo "PASS"
