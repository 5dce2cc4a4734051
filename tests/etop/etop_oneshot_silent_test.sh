#!/usr/bin/env bash
# The one-shot modes on a node that stops answering without closing its socket (SIGSTOP):
# --inspect, --batch --groups, --batch --tree and --batch --trace (at its start and in mid-stream)
# each stop with a sentence naming the node and the --timeout, status 1, instead of the 20 s reply
# deadline; the default --timeout is 5 s. On screen, while a reattach waits on the stopped node, the
# header says so ("reattaching, no answer for Ns") instead of "retrying in 0s". Only generous upper
# bounds are timed (each well under the 20 s one-shot etop used to take).
# Usage: etop_oneshot_silent_test.sh AGNER_NODE ETOP
set -euo pipefail
node_bin=$1
etop_bin=$2
harness_name=oneshot
source "$(dirname "$0")/tmux_harness.sh"
start_node --name quiet --schedulers 1 --metrics-listen off
"$etop_bin" --inspect '<0.2.0>' "$sock" | grep -q "slow_consumer" || fail "--inspect does not work on a live node"

# Runs etop "$@" on the stopped node; checks status 1, the sentence $expect on stderr, and a
# generous bound on how long it took.
gives_up() {
  local expect=$1; shift
  local rc=0 start took
  start=$(date +%s)
  "$etop_bin" "$@" "$sock" >"$dir/out" 2>"$dir/err" || rc=$?
  took=$(( $(date +%s) - start ))
  [ "$rc" -eq 1 ] || fail "etop $*: exit $rc, not 1: $(cat "$dir/err")"
  grep -qF -- "$expect" "$dir/err" || fail "etop $*: expected '$expect' on stderr, got: $(cat "$dir/err")"
  [ "$took" -lt 15 ] || fail "etop $*: took ${took} s to give up"
  echo "   etop $*: gave up in ${took} s (whole seconds): $(cat "$dir/err")"
}

echo "== stopped: each one-shot mode gives up within its --timeout, saying so"
kill -STOP "$node_pid"
gives_up "etop: cannot inspect <0.2.0> on $sock: the node did not answer within 1 s" --timeout 1 --inspect '<0.2.0>'
gives_up "etop: cannot inspect <0.2.0> on $sock: the node did not answer within 1 s" --timeout 1 --inspect '<0.2.0>' --json
gives_up "etop: cannot read $sock: the node did not answer within 1 s" --timeout 1 --batch --groups
gives_up "etop: cannot read $sock: the node did not answer within 1.5 s" --timeout=1.5 --batch --tree --json
gives_up "etop: cannot trace worker_3 on $sock: cannot attach: the node did not answer within 1 s" --timeout 1 --batch --trace worker_3
echo "== the default --timeout is 5 s"
gives_up "etop: cannot read $sock: the node did not answer within 5 s" --batch --tree

echo "== a trace under way: the node stopping ends it with a sentence and status 1"
kill -CONT "$node_pid"
"$etop_bin" --timeout 1 --batch --trace worker_3 --count 10000 --seconds 3600 "$sock" >"$dir/trace.txt" 2>"$dir/trace.err" &
trace_pid=$!
for _ in $(seq 1 1000); do grep -q "<- outside" "$dir/trace.txt" 2>/dev/null && break; sleep 0.1; done
grep -q "<- outside" "$dir/trace.txt" || fail "the trace printed nothing: $(cat "$dir/trace.txt" "$dir/trace.err")"
kill -STOP "$node_pid"
start=$(date +%s)
rc=0; wait "$trace_pid" || rc=$?
took=$(( $(date +%s) - start ))
[ "$rc" -eq 1 ] || fail "trace: exit $rc, not 1: $(cat "$dir/trace.err")"
grep -qF "etop: worker_3 on $sock: trace lost: the node did not answer within 1 s" "$dir/trace.err" ||
  fail "trace: no sentence: $(cat "$dir/trace.err")"
[ "$took" -lt 15 ] || fail "trace: took ${took} s to notice the stopped node"
echo "   trace: gave up ${took} s after the node stopped (whole seconds)"

echo "== --timeout is checked"
rc=0; err=$("$etop_bin" --timeout 0 --batch "$sock" 2>&1) || rc=$?
[ "$rc" -eq 2 ] && grep -qF -- "--timeout wants seconds from 0.1 to 3600" <<<"$err" || fail "--timeout 0: rc $rc, $err"
rc=0; err=$("$etop_bin" --timeout 2x --batch "$sock" 2>&1) || rc=$?
[ "$rc" -eq 2 ] && grep -qF -- "--timeout wants seconds from 0.1 to 3600" <<<"$err" || fail "--timeout 2x: rc $rc, $err"

echo "== on screen: a reattach waiting on the stopped node says so, not 'retrying in 0s'"
kill -CONT "$node_pid"
"${tmx[@]}" new-session -d -s "$sess" -x 150 -y 40 \
  "env LANG=C.UTF-8 LC_ALL=C.UTF-8 $etop_bin --interval 0.5 --timeout 2 $sock; echo etop-exit=\$?; sleep 600"
wait_re "^etop: quiet"
kill -STOP "$node_pid"
wait_re "^DISCONNECTED: the node did not answer within 2 s; reattaching, no answer for [0-9]+s"
kill -CONT "$node_pid"
wait_gone "DISCONNECTED"
keys q
wait_for "etop-exit=0"
echo "PASS"
