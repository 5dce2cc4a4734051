#!/usr/bin/env bash
# etop's alarms screen against a node with rules: raise, acknowledge and clear an alarm, override a
# valve for some minutes and give it back, reload the rules; a viewer is told these need the admin
# role. Waits on the screen (tmux_harness.sh); nothing is timed.
# Usage: etop_alarms_test.sh AGNER_NODE ETOP RULES_FILE
set -euo pipefail
node_bin=$1
etop=$2
rules=$3
harness_name=alarms
source "$(dirname "$0")/tmux_harness.sh"

start_node --name alarmstest --schedulers 1 --metrics-listen off --workload none --rules "$rules"
"${tmx[@]}" new-session -d -s etop -x 140 -y 30 "env LANG=C.UTF-8 LC_ALL=C.UTF-8 $etop --interval 0.5 $sock"

echo "== a opens the alarms screen: no alarm yet, the rules' valve"
wait_for "a alarms"
keys a
wait_for "ALARMS: none active"
wait_for "VALVES (1)"
wait_for "ingress  pressure 0%  automatic"

echo "== n raises an alarm after the typed line is sent with Enter; Esc cancels one"
keys n
wait_for "raise alarm (ID SEVERITY DESCRIPTION"
keys -l "typo"
keys Escape
wait_for "cancelled; nothing was sent"
keys n
keys -l "disk_full major the disk is full"
keys Enter
wait_for "set_alarm disk_full: done"
wait_for "[major] disk_full  the disk is full"

echo "== a acknowledges the selected alarm after y; another key cancels"
keys Home
keys a
wait_for "acknowledge alarm disk_full? press y"
keys n
wait_for "ack_alarm cancelled; nothing was sent"
keys a
wait_for "acknowledge alarm disk_full? press y"
keys y
wait_for "ack_alarm disk_full: done"
wait_for "[major, acked] disk_full"

echo "== c clears it"
keys c
wait_for "clear alarm disk_full? press y"
keys y
wait_for "clear_alarm disk_full: done"
wait_for "ALARMS: none active"

echo "== x closes the selected valve for the typed minutes, u gives it back to the rules"
keys End
keys x
wait_for "override valve ingress closed for how many minutes [10]"
keys -l "5"
keys Enter
wait_for "override_valve ingress closed for 5 min: done"
wait_for "closed (override)"
keys u
keys Enter
wait_for "override_valve ingress automatic for 10 min: done"
wait_gone "(override)"

echo "== r reloads the rules"
keys r
wait_for "reload the alarm rules from their file"
keys y
wait_for "reload_rules: done"

echo "== Esc goes back to the table; a viewer is told the alarm keys need the admin role"
keys Escape
wait_for "MSGQ▼"
keys q
for _ in $(seq 1 1000); do "${tmx[@]}" has-session -t etop 2>/dev/null || break; sleep 0.1; done
"${tmx[@]}" has-session -t etop 2>/dev/null && fail "etop did not quit on q"
"${tmx[@]}" new-session -d -s etop -x 140 -y 30 "env LANG=C.UTF-8 LC_ALL=C.UTF-8 $etop --role viewer --interval 0.5 $sock"
wait_for "[viewer]"
keys a
wait_for "VALVES (1)"
keys n
wait_for "'n' needs the admin role; this session is a viewer"
echo PASS
