#!/usr/bin/env bash
# etop as a person uses it: a real agner-node, etop in a real terminal (a tmux pane), keys sent,
# the screen read back. Usage: etop_tmux_test.sh AGNER_NODE ETOP
set -euo pipefail
node_bin=$1
etop_bin=$2
harness_name=tmux
source "$(dirname "$0")/tmux_harness.sh"
open_etop() {
  "${tmx[@]}" kill-session -t etop 2>/dev/null || true
  "${tmx[@]}" new-session -d -s etop -x "${2:-120}" -y 40 "env LANG=C.UTF-8 LC_ALL=C.UTF-8 $etop_bin --interval 0.5 $1 $sock"
}

start_node --name etoptest --schedulers 2
open_etop ""

echo "== the table: header, columns, the workload's processes"
wait_for "slow_consumer"
wait_for "MSGQ▼"
wait_for "[admin]"
screen | grep -q "^etop: etoptest" || fail "no header with the node's name"
screen | grep -qE "^S1 \[" || fail "no scheduler bars"
for col in PID "NAME OR BEHAVIOUR" REDS MEMORY STATUS HANDLER; do screen | grep -qF "$col" || fail "no $col column"; done

echo "== sort by pid (P): the root supervisor first; I inverts"
keys P
wait_for "PID▲"
row1=$(screen | grep -A1 "^PID" | tail -1)
[[ $row1 == "<0.0.0>"*workload_sup* ]] || fail "first row after P: $row1"
keys I
wait_for "PID▼"
row1=$(screen | grep -A1 "^PID" | tail -1)
[[ $row1 != "<0.0.0>"* ]] || fail "I did not invert: $row1"

echo "== Home and End in each form terminals send (tmux: ESC [ 1 ~, ESC [ H ...); inspect keeps them"
for end_seq in $'\e[4~' $'\e[F' $'\e[8~' $'\eOF'; do
  keys -l "$end_seq"
  keys Enter
  wait_for "process <0.0.0>"          # PID▼: the root supervisor is the last row
  for seq in $'\e[4~' $'\e[F' $'\e[1~' $'\e[H'; do keys -l "$seq"; done
  sleep 0.3
  screen | grep -qF "process <0.0.0>" || fail "Home/End left the inspect view"
  keys Escape
  wait_for "PID▼"
done
for home_seq in $'\e[1~' $'\e[H' $'\e[7~' $'\eOH'; do
  keys -l "$home_seq"
  keys Enter
  wait_for "process ${row1%% *}"
  keys Escape
  wait_for "PID▼"                     # ESC [ H was not read as Esc then H (sort by heap)
done

echo "== filter: / worker_3 Enter leaves one row"
keys / w o r k e r _ 3 Enter
wait_for 'filter: "worker_3"'
# The table, not the screen: the WARNINGS line may name slow_consumer (old_message) on a slow run.
for _ in $(seq 1 1000); do table=$(screen | sed -n '/^PID/,$p'); grep -q "slow_consumer" <<<"$table" || break; sleep 0.1; done
rows=$(screen | sed -n '/^PID/,$p' | grep -c "^!\?<0\." || true)
[ "$rows" -eq 1 ] || fail "expected one row, saw $rows"

echo "== inspect: Enter shows the process, its state and its parent; Esc goes back"
keys Enter
wait_for "process <0."
wait_for "state: ticks every 10 ms"
wait_for "(parent, link)"
keys Escape
wait_for "PID▼"

echo "== help: h shows every key; any key returns"
keys h
wait_for "etop: keys"
wait_for "garbage-collect the selected process"
keys x
wait_for "PID▼"

echo "== kill asks first, then the supervisor restarts worker_3 under a new pid"
first_pid() { screen | sed -n '/^PID/,$p' | grep -o "^!\?<0\.[0-9]*\.[0-9]*>" | tr -d "!" | head -1 || true; }
old=""
for _ in $(seq 1 300); do
  old=$(first_pid)
  [ -n "$old" ] && break
  sleep 0.1
done
[ -n "$old" ] || fail "no worker_3 row to kill"
keys k
wait_for "kill $old? press y to kill"
keys n
wait_for "kill cancelled"
keys k
wait_for "kill $old? press y"
keys y
wait_for "$old: kill done"
for _ in $(seq 1 300); do
  now=$(first_pid)
  [ -n "$now" ] && [ "$now" != "$old" ] && break
  sleep 0.1
done
[ "$now" != "$old" ] || fail "worker_3 was not restarted under a new pid"

echo "== a process killed while inspected keeps its last view, marked dead, and points to its successor"
keys Enter
wait_for "state: ticks every 10 ms"
keys k
wait_for "press y to kill"
keys y
wait_for "DEAD: <0."
wait_for "exited (killed); showing its last view"   # the node still knows why it ended
wait_for "state: ticks every 10 ms"
wait_for "restarted as <0."
wait_for "(restarted as this, same name)"
keys Enter
wait_gone "DEAD: "
wait_for "state: ticks every 10 ms"
keys Escape
wait_for "PID▼"

echo "== / then Esc clears the filter"
keys / Escape
wait_for "slow_consumer"

echo "== a lost node is shown and retried; a restarted node is picked up again"
kill "$node_pid"
wait "$node_pid" || true
wait_for "DISCONNECTED:"
restarted_at=$(date +%s)
start_node --name etoptest --schedulers 2
wait_gone "DISCONNECTED:"
# The header shows the new node: an uptime no longer than the time since it was started (the old
# one had run for longer). Compared as numbers, so a slow machine's reconnect still passes.
for _ in $(seq 1 300); do
  up=$(screen | sed -n 's/.* up \([0-9]*\)h\([0-9]*\)m\([0-9]*\)s.*/\1 \2 \3/p' | head -1)
  if [ -n "$up" ]; then
    read -r h m s <<<"$up"
    [ $((10#$h * 3600 + 10#$m * 60 + 10#$s)) -le $(($(date +%s) - restarted_at + 1)) ] && break
  fi
  sleep 0.1
done
[ $((10#$h * 3600 + 10#$m * 60 + 10#$s)) -le $(($(date +%s) - restarted_at + 1)) ] ||
  fail "the header never showed the restarted node (uptime ${h}h${m}m${s}s)"

echo "== resize: at 80 columns the table still fits"
"${tmx[@]}" resize-window -t etop -x 80 -y 30
wait_for "MSGQ"
width=$(screen | LC_ALL=C.UTF-8 wc -L)
[ "$width" -le 80 ] || fail "a line is $width columns wide at 80"

echo "== q quits"
keys q
for _ in $(seq 1 1000); do "${tmx[@]}" has-session -t etop 2>/dev/null || break; sleep 0.1; done
"${tmx[@]}" has-session -t etop 2>/dev/null && fail "etop did not quit on q"

echo "== a viewer sees the admin keys explained, not done"
open_etop "--role viewer"
wait_for "[viewer]"
wait_for "(viewer: k g s T need admin)"
keys k
wait_for "'k' needs the admin role; this session is a viewer"
keys q

echo "PASS"
