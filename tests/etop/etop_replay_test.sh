#!/usr/bin/env bash
# etop --record and --replay as a person uses them: a real agner-node recorded by etop in a tmux
# pane, then a recording played back with its keys, the screen read back; a malformed recording
# refused with its line number. Usage: etop_replay_test.sh AGNER_NODE ETOP
set -euo pipefail
node_bin=$1
etop_bin=$2
harness_name=replay
source "$(dirname "$0")/tmux_harness.sh"
sess=etop0
# Each etop gets a session of its own: killing the server's last session then starting another
# races with the server's exit ("server exited unexpectedly").
open_etop() {
  sess="etop$((${sess#etop} + 1))"
  "${tmx[@]}" new-session -d -s "$sess" -x 140 -y 40 "env LANG=C.UTF-8 LC_ALL=C.UTF-8 $etop_bin $*; echo etop-exit=\$?; sleep 600"
}

start_node --name replaytest --schedulers 2 --metrics-listen off

echo "== --record while watching: a line per refresh, the rows shown, the file 0600"
open_etop --interval 0.3 --record "$dir/live.jsonl" "$sock"
wait_for "slow_consumer"
for _ in $(seq 1 600); do [ "$(wc -l <"$dir/live.jsonl")" -ge 4 ] && break; sleep 0.1; done
[ "$(wc -l <"$dir/live.jsonl")" -ge 4 ] || fail "fewer than four refreshes recorded"
keys q
wait_for "etop-exit=0"
[ "$(stat -c %a "$dir/live.jsonl")" = 600 ] || fail "the recording is not 0600"
while read -r line; do
  [[ $line == '{"node":{'* ]] || fail "not a batch document: ${line:0:80}"
  grep -q '"time":1[0-9]*\.' <<<"$line" || fail "no time: ${line:0:80}"
  grep -q '"registered_name":"slow_consumer"' <<<"$line" || fail "the rows shown are not recorded"
done <"$dir/live.jsonl"
out=$("$etop_bin" --replay "$dir/live.jsonl" --batch)
grep -q '^REPLAY .*live.jsonl  refresh 1/' <<<"$out" || fail "--replay --batch: $out"
grep -q 'slow_consumer' <<<"$out" || fail "--replay --batch shows no rows: $out"

echo "== an existing recording is kept unless --force"
rc=0; err=$("$etop_bin" --batch --record "$dir/live.jsonl" "$sock" 2>&1 >/dev/null) || rc=$?
[ "$rc" -eq 1 ] && grep -q "live.jsonl exists; etop does not overwrite a recording (give --force" <<<"$err" || fail "overwrite: rc $rc, $err"
chmod 644 "$dir/live.jsonl"
"$etop_bin" --batch --iterations 2 --interval 0.2 --record "$dir/live.jsonl" --force "$sock" >/dev/null
[ "$(wc -l <"$dir/live.jsonl")" -eq 2 ] || fail "--force did not start the file afresh"
[ "$(stat -c %a "$dir/live.jsonl")" = 600 ] || fail "--force left the file readable by others"

echo "== replay: 25 refreshes a second apart, each with its own marker row; keys move through them"
first=$(head -1 "$dir/live.jsonl")
t0=${first##*\"time\":}; t0=${t0%%[.,\}]*}
for i in $(seq 0 24); do
  sed -e "s/\"registered_name\":\"slow_consumer\"/\"registered_name\":\"marker_$i\"/" \
      -e "s/\"time\":[0-9.e+]*/\"time\":$((t0 + i))/" <<<"$first"
done >"$dir/made.jsonl"
open_etop --replay "$dir/made.jsonl"
wait_for "REPLAY"
keys Space
wait_for "PAUSED"
keys Home
wait_for "refresh 1/25"
wait_for "marker_0 "
screen | grep -q "^etop: replaytest" || fail "no header from the recorded node"
keys Right;   wait_for "refresh 2/25";  wait_for "marker_1 "
keys ]
wait_for "refresh 12/25"; wait_for "marker_11 "
keys S-Right; wait_for "refresh 22/25"; wait_for "marker_21 "
keys End;     wait_for "refresh 25/25"; wait_for "marker_24 "
keys Left;    wait_for "refresh 24/25"; wait_for "marker_23 "
keys [;       wait_for "refresh 14/25"; wait_for "marker_13 "
keys S-Left;  wait_for "refresh 4/25";  wait_for "marker_3 "
keys .;       wait_for "refresh 5/25";  wait_for "marker_4 "
keys n;       wait_for "refresh 6/25";  wait_for "marker_5 "
keys +;       wait_for " 2x  PAUSED"
keys - -;     wait_for " 0.5x  PAUSED"
for _ in 1 2 3 4 5 6; do keys -; done
wait_for "speed stays 0.25x"
echo "== filter and sort work on the recorded rows; k sends nothing"
keys / m a r k e r Enter
wait_for 'filter: "marker"'
rows=$(screen | sed -n '/^PID/,$p' | grep -c "^<0\." || true)
[ "$rows" -eq 1 ] || fail "the filter left $rows rows"
keys k
wait_for "a replay sends nothing"
echo "== the footer offers only the keys a replay has; T and t explain"
s=$(screen)
grep -qF "h help  / filter  < > sort  a alarms  space pause  q quit" <<<"$s" || fail "no replay footer"
grep -qE "k kill|g gc|s suspend|T trace|t tree|G groups|Enter inspect" <<<"$s" && fail "the footer lists keys a replay lacks"
keys T
wait_for "k g s T act on a live node"
keys t
wait_for "not the supervision tree: t works on a live node only"
screen | grep -q "SUPERVISION TREE" && fail "t opened a tree screen that nothing fills"
keys G
wait_for "not the node's groups: G works on a live node only"
screen | grep -q "^GROUPS:" && fail "G opened a grouped table that nothing fills"
keys / Escape
echo "== space plays on at the recorded pace"
keys + + + + + +
wait_for " 16x  PAUSED"
keys Space
wait_for "refresh 25/25"
wait_for "marker_24 "
wait_for "PAUSED"   # the end: it stays on the last refresh
keys q
wait_for "etop-exit=0"

echo "== a malformed recording is refused with its line number, before the screen is taken"
{ head -3 "$dir/made.jsonl"; echo '{"node": {"name": "x"}, "time": 1'; tail -2 "$dir/made.jsonl"; } >"$dir/bad.jsonl"
rc=0; err=$("$etop_bin" --replay "$dir/bad.jsonl" --batch 2>&1 >/dev/null) || rc=$?
[ "$rc" -eq 1 ] && grep -q "bad.jsonl line 4: not JSON" <<<"$err" || fail "malformed: rc $rc, $err"
{ head -2 "$dir/made.jsonl"; echo '{"time": 5, "node": {"name": "x"}, "processes": []}'; } >"$dir/short.jsonl"
rc=0; err=$("$etop_bin" --replay "$dir/short.jsonl" --batch 2>&1 >/dev/null) || rc=$?
[ "$rc" -eq 1 ] && grep -q "short.jsonl line 3: not an etop refresh" <<<"$err" || fail "not a refresh: rc $rc, $err"
open_etop --replay "$dir/bad.jsonl"
wait_for "etop-exit=1"
screen | grep -q "bad.jsonl line 4: not JSON" || fail "the terminal replay did not name the line"
rc=0; err=$("$etop_bin" --replay "$dir/none.jsonl" --batch 2>&1 >/dev/null) || rc=$?
[ "$rc" -eq 1 ] && grep -q "cannot open $dir/none.jsonl: No such file" <<<"$err" || fail "missing file: rc $rc, $err"
rc=0; err=$("$etop_bin" --replay "$dir/made.jsonl" "$sock" 2>&1 >/dev/null) || rc=$?
[ "$rc" -eq 2 ] && grep -q "takes no NODE" <<<"$err" || fail "--replay with NODE: rc $rc, $err"
echo "PASS"
