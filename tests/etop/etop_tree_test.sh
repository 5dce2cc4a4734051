#!/usr/bin/env bash
# etop's supervision tree (t) in a real terminal (a tmux pane), and etop --batch --tree, against a
# real agner-node and its synthetic workload. Usage: etop_tree_test.sh AGNER_NODE ETOP
set -euo pipefail
node_bin=$1
etop_bin=$2
harness_name=tree
source "$(dirname "$0")/tmux_harness.sh"

start_node --name treetest --schedulers 2

echo "== batch: the tree as text and as the node's JSON; --tree alone is refused"
out=$("$etop_bin" --batch --tree "$sock")
grep -qE '^<0\.0\.0> +\[-\] workload_sup  supervisor root  one_for_one  restarts [0-9]+/10 in 60s' <<<"$out" || fail "no root line: $out"
grep -qE '^<0\.[0-9]+\.0> +\[-\] workers_sup  supervisor permanent [a-z]+  one_for_one  restarts [0-9]+/5 in 10s' <<<"$out" || fail "no nested supervisor: $out"
[ "$(grep -cE '^<0\.[0-9]+\.0> +worker_[1-8]  worker permanent' <<<"$out")" -eq 8 ] || fail "expected eight workers, indented deeper: $out"
out=$("$etop_bin" --batch --tree --json "$sock")
grep -q '"roots":\[{' <<<"$out" && grep -q '"strategy":"one_for_one"' <<<"$out" || fail "no JSON tree: $out"
rc=0; err=$("$etop_bin" --tree "$sock" 2>&1 >/dev/null) || rc=$?
[ "$rc" -eq 2 ] && grep -q -- "--tree goes with --batch" <<<"$err" || fail "--tree without --batch: rc $rc, $err"

echo "== t opens the tree: supervisors, strategy, restarts, children indented"
"${tmx[@]}" new-session -d -s etop -x 120 -y 40 "env LANG=C.UTF-8 LC_ALL=C.UTF-8 $etop_bin --interval 0.5 $sock"
wait_for "slow_consumer"
keys t
wait_for "SUPERVISION TREE"
wait_re '^<0\.0\.0> +\[-\] workload_sup  supervisor root  one_for_one  restarts [0-9]+/10 in 60s'
wait_re '^<0\.[0-9]+\.0> +      worker_8  worker permanent'
echo "== the tree follows the node: flaky crashes after 7 s and its restart is counted"
wait_re 'workload_sup  supervisor root  one_for_one  restarts [1-9]/10 in 60s'

echo "== Left collapses the selected supervisor, Right expands it; - and + too"
keys Down
keys Left
wait_re '\[\+\] workers_sup'
wait_gone "worker_8"
keys Right
wait_for "worker_8"
keys -- -
wait_re '\[\+\] workers_sup'
wait_gone "worker_8"
keys +
wait_for "worker_8"

echo "== Enter inspects the selected process; Esc comes back to the tree, then to the table"
keys Down
keys Enter
wait_re '^process <0\.[0-9]+\.0>  worker_1'
keys Escape
wait_for "SUPERVISION TREE"
keys Escape
wait_for "MSGQ▼"
wait_gone "SUPERVISION TREE"

echo "== t and t again: in and out; q quits"
keys t
wait_for "SUPERVISION TREE"
keys t
wait_gone "SUPERVISION TREE"
keys q
for _ in $(seq 1 1000); do "${tmx[@]}" has-session -t etop 2>/dev/null || break; sleep 0.1; done
"${tmx[@]}" has-session -t etop 2>/dev/null && fail "etop did not quit"
echo "PASS"
