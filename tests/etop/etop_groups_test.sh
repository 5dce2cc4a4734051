#!/usr/bin/env bash
# The grouped table (G) as a person uses it: a real agner-node with 50 idle processes beside its
# workload (worker_1..8 among them), etop in a tmux pane; and etop --batch --groups.
# Usage: etop_groups_test.sh AGNER_NODE ETOP
set -euo pipefail
node_bin=$1
etop_bin=$2
harness_name=groups
source "$(dirname "$0")/tmux_harness.sh"
# The first data row under the title line that starts with $1.
row_after() { screen | grep -A1 "^$1" | tail -1; }

start_node --name groupstest --schedulers 2 --idle-processes 50
"${tmx[@]}" new-session -d -s etop -x 110 -y 40 "env LANG=C.UTF-8 LC_ALL=C.UTF-8 $etop_bin --interval 0.5 $sock"

echo "== the table's key line offers G; G shows one row per group with its count"
wait_for "slow_consumer"
wait_for "G groups"
keys G
wait_for "GROUPS: "
wait_for "MSGQ▼"
screen | grep -qE '^worker_\* +8 ' || fail "no worker_* row with 8 processes"
screen | grep -qE '^fn_behaviour<…> +50 ' || fail "no fn_behaviour<…> row with the 50 idle processes"
screen | grep -qE '^slow_consumer +1 ' || fail "no slow_consumer row"
total=$(screen | sed -n 's/^GROUPS: [0-9]* groups of \([0-9]*\) processes.*/\1/p')
procs=$(screen | sed -n 's/.*procs \([0-9]*\)\/.*/\1/p' | head -1)
# The header and the groups are two requests: the workload's "flaky" restarts every 7 s in between.
[ "$total" -ge $((procs - 1)) ] && [ "$total" -le $((procs + 1)) ] || fail "the groups count $total processes, the header $procs"
sum=$(screen | awk '/^GROUP /{on=1; next} on && NF>=3 && $2 ~ /^[0-9]+$/ {s+=$2} END {print s}')
[ "$sum" = "$total" ] || fail "the rows add up to $sum processes, not $total"

echo "== < sorts by PROCS: the 50 idle processes first, then worker_*"
keys '<'
wait_for "PROCS▼"
[[ $(row_after "GROUP ") == "fn_behaviour<…>"* ]] || fail "first row by PROCS: $(row_after "GROUP ")"
screen | grep -A2 "^GROUP " | tail -1 | grep -q "^worker_\*" || fail "worker_* is not second by PROCS"

echo "== Enter on worker_* drills into its 8 processes; Esc comes back to the groups"
keys Home Down Enter
wait_for "group: worker_*"
wait_for "NAME OR BEHAVIOUR"
for _ in $(seq 1 1000); do [ "$(screen | grep -c '^!\?<0\.')" = 8 ] && break; sleep 0.1; done
[ "$(screen | grep -c '^!\?<0\.')" = 8 ] || fail "the drilled table does not hold 8 rows"
[ "$(screen | grep '^!\?<0\.' | grep -c ' worker_[1-8] ')" = 8 ] || fail "a drilled row is not a worker"
keys Escape
wait_for "GROUPS: "
wait_for "PROCS▼"

echo "== Enter on the idle group, then G: back to the groups; G again: the whole table"
keys Home Enter
wait_for "group: fn_behaviour<…>"
keys G
wait_for "GROUPS: "
keys G
wait_gone "GROUPS: "
wait_for "slow_consumer"
wait_gone "group: "

echo "== the help lists G"
keys h
wait_for "processes grouped by behaviour and name prefix"
keys x
wait_for "G groups"

echo "== q quits"
keys q
for _ in $(seq 1 1000); do "${tmx[@]}" has-session -t etop 2>/dev/null || break; sleep 0.1; done
! "${tmx[@]}" has-session -t etop 2>/dev/null || fail "etop did not quit"

echo "== batch: etop --batch --groups prints the grouped table, --json adds up to the process count"
out=$("$etop_bin" --batch --groups --sort processes "$sock")
echo "$out" | grep -q "^GROUPS: " || fail "no GROUPS line in --batch --groups: $out"
echo "$out" | grep -A1 "^GROUP " | tail -1 | grep -qE "^fn_behaviour<…> +50 " || fail "batch: first group by processes: $out"
"$etop_bin" --batch --groups --json --iterations 2 --interval 0.2 "$sock" >"$dir/groups.json"
[ "$(wc -l <"$dir/groups.json")" = 2 ] || fail "--iterations 2 printed $(wc -l <"$dir/groups.json") lines"
python3 - "$dir/groups.json" <<'PY' || fail "the --json groups do not add up"
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    assert sum(g["processes"] for g in d["groups"]) == d["processes"], d  # one scan: exact
    assert abs(d["processes"] - d["node"]["process_count"]) <= 1, d   # two requests: flaky may restart between
    assert d["window_ms"] > 0, d["window_ms"]
    q = [g["message_queue_len"] for g in d["groups"]]
    assert q == sorted(q, reverse=True), q
PY
"$etop_bin" --batch --groups --sort pid "$sock" 2>"$dir/err" && fail "--groups --sort pid was accepted"
grep -q "unknown --groups column 'pid'" "$dir/err" || fail "no sentence for --groups --sort pid: $(cat "$dir/err")"
"$etop_bin" --batch --groups --record "$dir/rec" "$sock" 2>"$dir/err" && fail "--groups --record was accepted (nothing would be recorded)"
grep -q "does not go with several nodes, --record or --replay" "$dir/err" || fail "no sentence for --groups --record: $(cat "$dir/err")"
[ ! -e "$dir/rec" ] || fail "--groups --record created $dir/rec"
echo "PASS"
