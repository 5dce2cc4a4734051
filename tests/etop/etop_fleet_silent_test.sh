#!/usr/bin/env bash
# etop over two nodes when one stops answering without closing its socket (SIGSTOP): in a real
# terminal (tmux) the other node's rows keep refreshing, the stopped one is marked NOT ANSWERING with
# its last rows as ~beta until they age out, the keys answer, it rejoins after SIGCONT, and q quits
# at once while it is stopped; in --batch every refresh comes out with it marked. Nothing is timed
# except generous bounds well under the 20 s reply deadline a frozen view used to wait.
# Usage: etop_fleet_silent_test.sh AGNER_NODE ETOP
set -euo pipefail
node_bin=$1
etop_bin=$2
harness_name=fleet-silent
sess=fleet
source "$(dirname "$0")/tmux_harness.sh"
export XDG_RUNTIME_DIR=$dir   # the nodes' sockets: $dir/agner/NAME.sock
alpha_pid="" beta_pid=""
stop_nodes() {
  # A stopped node cannot act on SIGTERM: continue it first.
  for p in $alpha_pid $beta_pid; do kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
  cleanup
}
trap stop_nodes EXIT

"$node_bin" --name alpha --schedulers 1 --metrics-listen off >"$dir/alpha.log" 2>&1 &
alpha_pid=$!
"$node_bin" --name beta --schedulers 1 --metrics-listen off >"$dir/beta.log" 2>&1 &
beta_pid=$!
for _ in $(seq 1 300); do [ -S "$dir/agner/alpha.sock" ] && [ -S "$dir/agner/beta.sock" ] && break; sleep 0.1; done
[ -S "$dir/agner/beta.sock" ] || fail "the nodes did not start"

# alpha's uptime on the nodes: line ("alpha up 0h00m07s"), which moves every second.
alpha_up() { screen | grep -oE "^nodes: alpha up [0-9hms]+" || true; }
# Until alpha's uptime has moved on twice: its refreshes go on.
alpha_goes_on() {
  local first; first=$(alpha_up)
  [ -n "$first" ] || fail "no uptime of alpha on the nodes: line"
  wait_gone "$first "
  local second; second=$(alpha_up)
  wait_gone "$second "
}

"${tmx[@]}" new-session -d -s "$sess" -x 170 -y 45 \
  "env LANG=C.UTF-8 LC_ALL=C.UTF-8 XDG_RUNTIME_DIR=$dir $etop_bin --interval 0.5 alpha beta; echo etop-exit=\$?; sleep 600"

echo "== both nodes answer"
wait_re "^etop: 2 of 2 nodes"
wait_re "^alpha +!?<0\.2\.0> +slow_consumer"
wait_re "^beta +!?<0\.2\.0> +slow_consumer"

echo "== beta stopped: marked within a few refreshes, its last rows kept as ~beta, alpha goes on"
kill -STOP "$beta_pid"
wait_re "^nodes: alpha up [0-9hms]+ 1 sched  \|  beta NOT ANSWERING for [0-9]+s \(its ~rows are [0-9]+s old, shown until 10s\)"
wait_re "^etop: 1 of 2 nodes"
screen | grep -qE "^~beta +!?<0\.2\.0> +slow_consumer" || fail "beta's last rows are not kept and marked"
alpha_goes_on
screen | grep -qE "^alpha +!?<0\.2\.0> +slow_consumer" || fail "alpha's rows left"

echo "== the keys answer while beta is stopped: sort, Tab to each node's own view and back"
keys P
wait_for "PID▲"
keys Tab
wait_re "^node 1 of 2: alpha  \(Tab"
keys Tab
wait_re "^node 2 of 2: beta NOT ANSWERING for [0-9]+s, the rows below are [0-9]+s old"
keys Tab
wait_re "^etop: 1 of 2 nodes"

echo "== after 10 s of silence beta's rows leave the table, its entry stays"
wait_re "beta NOT ANSWERING for [0-9]+s \(its rows left the table at 10s\)"
wait_gone "~beta "
alpha_goes_on

echo "== past the 20 s reply deadline: beta's silence counts on through the reconnections, its rows stay out"
wait_re "beta NOT ANSWERING for (2[5-9]|[3-9][0-9])s \(its rows left the table at 10s\)"
screen | grep -qE "^~?beta " && fail "beta's rows came back while it is silent"
alpha_goes_on

echo "== beta continued: it rejoins, unmarked"
kill -CONT "$beta_pid"
wait_re "^etop: 2 of 2 nodes"
wait_gone "NOT ANSWERING"
wait_re "^beta +!?<0\.2\.0> +slow_consumer"

echo "== q quits at once while beta is stopped"
kill -STOP "$beta_pid"
wait_re "beta NOT ANSWERING for"
start=$(date +%s)
keys q
wait_for "etop-exit=0"
took=$(( $(date +%s) - start ))
# Generous: a join on the blocked thread would wait out the 20 s reply deadline.
[ "$took" -lt 10 ] || fail "q took ${took} s with a stopped node"
echo "   q to exit: ${took} s (whole seconds)"
kill -CONT "$beta_pid"

echo "== --batch: every refresh comes out, beta marked once stopped, alpha's rows in each"
out="$dir/batch.txt"
"$etop_bin" --batch --iterations 20 --interval 0.5 --lines 40 --sort pid alpha beta >"$out" 2>"$dir/batch.err" &
batch_pid=$!
for _ in $(seq 1 1000); do grep -q "^etop: 2 of 2 nodes" "$out" 2>/dev/null && break; sleep 0.1; done
grep -q "^etop: 2 of 2 nodes" "$out" || fail "batch: no refresh with both nodes: $(cat "$out" "$dir/batch.err")"
kill -STOP "$beta_pid"
start=$(date +%s)
wait "$batch_pid" || fail "batch exited $?: $(cat "$dir/batch.err")"
took=$(( $(date +%s) - start ))
[ "$took" -lt 60 ] || fail "batch: 20 refreshes took ${took} s after beta stopped"
echo "   batch: the refreshes after beta stopped took ${took} s"
[ "$(grep -c '^etop: ' "$out")" -eq 20 ] || fail "batch: not 20 refreshes: $(cat "$out")"
[ "$(grep -c '^alpha  *!\?<0\.2\.0>  *slow_consumer' "$out")" -eq 20 ] || fail "batch: alpha missing from a refresh: $(cat "$out")"
last=$(awk '/^etop: /{block=""} {block=block $0 "\n"} END{printf "%s", block}' "$out")
grep -qE "^etop: 1 of 2 nodes" <<<"$last" || fail "batch: the last refresh still counts beta: $last"
grep -qE "^nodes: alpha up .*beta NOT ANSWERING for [0-9]+s" <<<"$last" || fail "batch: beta not marked in the last refresh: $last"
# Its rows are kept as ~beta for 10 s of silence (by the last refresh they may have left).
grep -qE "^~beta +!?<0\.2\.0> +slow_consumer" "$out" || fail "batch: beta's last rows never kept as ~beta: $(cat "$out")"

echo "== --batch --json with beta stopped from the start: its entry says so, alpha's rows come"
start=$(date +%s)
json=$("$etop_bin" --batch --json --iterations 3 --interval 0.5 alpha beta)
took=$(( $(date +%s) - start ))
[ "$took" -lt 40 ] || fail "batch --json: 3 refreshes took ${took} s"
echo "   batch --json: 3 refreshes with beta stopped took ${took} s"
[ "$(wc -l <<<"$json")" -eq 3 ] || fail "batch --json: not 3 lines: $json"
last=$(tail -1 <<<"$json")
grep -qE '\{"attached":false,"name":"beta","not_answering_s":[0-9.]+,"problem":"not answering for [0-9]+ s"\}' <<<"$last" ||
  fail "batch --json: beta's entry: $last"
grep -q '"node":"alpha"' <<<"$last" || fail "batch --json: no row of alpha: $last"
kill -CONT "$beta_pid"
echo "PASS"
