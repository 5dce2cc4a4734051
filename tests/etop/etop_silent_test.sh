#!/usr/bin/env bash
# etop NODE (one node) when the node stops answering without closing its socket (SIGSTOP): in a
# real terminal (tmux) the header says NOT ANSWERING within a few refreshes, the last rows stay as
# ~NAME, an operation is refused with a sentence, q quits at once, and after SIGCONT it is unmarked;
# in --batch every refresh comes out with the node marked (text and JSON). Nothing is timed except
# generous bounds well under the 20 s reply deadline a frozen view used to wait.
# Usage: etop_silent_test.sh AGNER_NODE ETOP
set -euo pipefail
node_bin=$1
etop_bin=$2
harness_name=silent
source "$(dirname "$0")/tmux_harness.sh"
start_node --name solo --schedulers 1 --metrics-listen off

"${tmx[@]}" new-session -d -s "$sess" -x 150 -y 40 \
  "env LANG=C.UTF-8 LC_ALL=C.UTF-8 $etop_bin --interval 0.5 $sock; echo etop-exit=\$?; sleep 600"

echo "== the node answers"
wait_re "^etop: solo"
wait_re "^!?<0\.2\.0> +slow_consumer"

echo "== stopped: marked within a few refreshes, its last rows kept as ~n, an operation refused"
kill -STOP "$node_pid"
wait_re "^n NOT ANSWERING for [0-9]+s \(its ~rows are [0-9]+s old, shown until 10s\)"
screen | grep -qE "^~n +!?<0\.2\.0> +slow_consumer" || fail "the last rows are not kept and marked"
keys g
wait_re "not answering for [0-9]+s, nothing sent"
keys P
wait_for "PID▲"

echo "== continued: unmarked, the rows live again"
kill -CONT "$node_pid"
wait_gone "NOT ANSWERING"
wait_re "^!?<0\.2\.0> +slow_consumer"
screen | grep -qE "^~n " && fail "rows still marked after the node answered"

echo "== stopped past the 20 s reply deadline: DISCONNECTED, silent since it stopped, its rows stay out"
kill -STOP "$node_pid"
wait_re "^DISCONNECTED: the node did not answer within 20 s"
wait_re "^n NOT ANSWERING for [0-9]+s"  # a reconnection's request unanswered too
s=$(screen)
grep -qE "^n NOT ANSWERING for ([2-9][0-9]|[0-9]{3,})s \(its rows left the table at 10s\)" <<<"$s" ||
  fail "the silence is not counted from when the node stopped"
grep -qE "^(~n +)?!?<0\.2\.0>" <<<"$s" && fail "the rows of a node silent past the deadline came back"
kill -CONT "$node_pid"
wait_gone "DISCONNECTED"
wait_gone "NOT ANSWERING"
wait_re "^!?<0\.2\.0> +slow_consumer"

echo "== Enter inspects once it answers again"
keys Home Enter
wait_for "process <0."
keys Escape
wait_for "PID▲"

echo "== q quits at once while the node is stopped"
kill -STOP "$node_pid"
wait_re "^n NOT ANSWERING for"
start=$(date +%s)
keys q
wait_for "etop-exit=0"
took=$(( $(date +%s) - start ))
# Generous: waiting on the node would take the 20 s reply deadline.
[ "$took" -lt 10 ] || fail "q took ${took} s with the node stopped"
echo "   q to exit: ${took} s (whole seconds)"
kill -CONT "$node_pid"

echo "== --batch: every refresh comes out, the node marked once stopped"
out="$dir/batch.txt"
"$etop_bin" --batch --iterations 12 --interval 0.5 --sort pid --record "$dir/rec.jsonl" "$sock" >"$out" 2>"$dir/batch.err" &
batch_pid=$!
for _ in $(seq 1 1000); do grep -q "^etop: solo" "$out" 2>/dev/null && break; sleep 0.1; done
grep -q "^etop: solo" "$out" || fail "batch: no refresh: $(cat "$out" "$dir/batch.err")"
kill -STOP "$node_pid"
start=$(date +%s)
wait "$batch_pid" || fail "batch exited $?: $(cat "$dir/batch.err")"
took=$(( $(date +%s) - start ))
# Each refresh waits at most 1 s for the node: 12 of them well under the 20 s one used to wait.
[ "$took" -lt 60 ] || fail "batch: 12 refreshes took ${took} s after the node stopped"
echo "   batch: the refreshes after the node stopped took ${took} s"
[ "$(grep -c '^etop: solo' "$out")" -eq 12 ] || fail "batch: not 12 refreshes: $(cat "$out")"
last=$(awk '/^etop: /{block=""} {block=block $0 "\n"} END{printf "%s", block}' "$out")
grep -qE "^n NOT ANSWERING for [0-9]+s" <<<"$last" || fail "batch: not marked in the last refresh: $last"
grep -qE "^~n +!?<0\.2\.0> +slow_consumer" "$out" || fail "batch: the last rows never kept as ~n: $(cat "$out")"

echo "== the recording replays the silent refreshes as they were printed: NOT ANSWERING, ~n rows"
replayed=$("$etop_bin" --replay "$dir/rec.jsonl" --batch)
grep -qE "^n NOT ANSWERING for [0-9]+s \(its ~rows are [0-9]+s old, shown until 10s\)" <<<"$replayed" ||
  fail "replay: no NOT ANSWERING line: $replayed"
grep -qE "^~n +!?<0\.2\.0> +slow_consumer" <<<"$replayed" || fail "replay: the kept rows are not marked: $replayed"
grep -q "DISCONNECTED" <<<"$replayed" && fail "replay: shown as disconnected: $replayed"

echo "== --batch --json with the node stopped since the last run: each line marked, on time"
kill -CONT "$node_pid"
json="$dir/batch.json"
"$etop_bin" --batch --json --iterations 4 --interval 0.5 "$sock" >"$json" 2>"$dir/json.err" &
batch_pid=$!
for _ in $(seq 1 1000); do [ -s "$json" ] && break; sleep 0.1; done
kill -STOP "$node_pid"
wait "$batch_pid" || fail "batch --json exited $?: $(cat "$dir/json.err")"
[ "$(wc -l <"$json")" -eq 4 ] || fail "batch --json: not 4 lines: $(cat "$json")"
last=$(tail -1 "$json")
grep -qE '"not_answering_s":[0-9.]+,"problem":"not answering for [0-9]+ s"' <<<"$last" || fail "batch --json: not marked: $last"
grep -q '"stale":true' <<<"$last" || fail "batch --json: rows not marked stale: $last"
kill -CONT "$node_pid"
echo "PASS"
