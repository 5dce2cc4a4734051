#!/usr/bin/env bash
# etop's session with a node: a refused key is final, a refused REDS sort is a notice and the window
# is given back, and SIGTERM restores the terminal. Waits on the screen (tmux_harness.sh); nothing
# is timed. Usage: etop_session_test.sh AGNER_NODE ETOP
set -euo pipefail
node_bin=$1
etop=$2
harness_name=session
source "$(dirname "$0")/tmux_harness.sh"
holders=()
stop_all() {
  for p in "${holders[@]}"; do kill "$p" 2>/dev/null || true; done
  cleanup
}
trap stop_all EXIT
key_file() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$1"; chmod 600 "$1"; }

key_file "$dir/admin.cookie"
key_file "$dir/viewer.cookie"
key_file "$dir/wrong.cookie"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_node --name sessiontest --schedulers 1 --metrics-listen off --listen-tcp "127.0.0.1:$port" \
  --cookie-file "$dir/admin.cookie" --viewer-cookie-file "$dir/viewer.cookie"
tcp="127.0.0.1:$port"

echo "== a wrong key is final: one sentence naming the role and the key file, no retry"
code=0; out=$(timeout 60 "$etop" --batch --cookie-file "$dir/wrong.cookie" "$tcp" 2>&1) || code=$?
[ $code -eq 1 ] || fail "wrong key: exit $code: $out"
grep -qF "refused the admin role with the key in $dir/wrong.cookie" <<<"$out" || fail "wrong key: $out"
grep -qF "retrying with the same key cannot help" <<<"$out" || fail "wrong key: no reason not to retry: $out"
grep -q "lockout" <<<"$out" && fail "wrong key: speaks of a lockout the node does not have: $out"
code=0; out=$(timeout 60 "$etop" --inspect '<0.0.0>' --cookie-file "$dir/wrong.cookie" "$tcp" 2>&1) || code=$?
[ $code -eq 1 ] && grep -qF "refused the admin role with the key in $dir/wrong.cookie" <<<"$out" || fail "--inspect, wrong key: $code $out"
"${tmx[@]}" new-session -d -s etop -x 120 -y 30 \
  "env LANG=C.UTF-8 LC_ALL=C.UTF-8 $etop --cookie-file $dir/wrong.cookie $tcp; echo EXIT=\$?; sleep 60"
wait_for "EXIT=1"
wait_for "refused the admin role with the key in"
"${tmx[@]}" kill-session -t etop

echo "== a viewer key asked for the admin role says the role may be the mismatch; --role viewer works"
code=0; out=$(timeout 60 "$etop" --batch --cookie-file "$dir/viewer.cookie" "$tcp" 2>&1) || code=$?
[ $code -eq 1 ] && grep -qF "a viewer key attaches only with --role viewer" <<<"$out" || fail "viewer key as admin: $code $out"
timeout 60 "$etop" --batch --role viewer --cookie-file "$dir/viewer.cookie" "$tcp" | grep -q '^etop: sessiontest' ||
  fail "the viewer key with --role viewer did not attach"
timeout 60 "$etop" --batch --cookie-file "$dir/admin.cookie" "$tcp" | grep -q '^etop: sessiontest' ||
  fail "the right admin key did not attach "

echo "== four sessions hold reductions windows: R is refused with a notice and the sort stays"
for i in 1 2 3 4; do
  "$etop" --batch --sort reductions --iterations 100000 --interval 1 "$sock" >"$dir/holder$i.out" 2>&1 &
  holders+=($!)
done
for i in 1 2 3 4; do
  for _ in $(seq 1 300); do grep -q '^PID' "$dir/holder$i.out" && break; sleep 0.1; done
  grep -q '^PID' "$dir/holder$i.out" || fail "window holder $i did not start: $(cat "$dir/holder$i.out")"
done
"${tmx[@]}" new-session -d -s etop -x 120 -y 30 "env LANG=C.UTF-8 LC_ALL=C.UTF-8 $etop --interval 0.5 $sock; echo EXIT=\$?; sleep 60"
wait_for "MSGQ▼"
keys R
wait_for "REDS sort unavailable (4 in use)"
wait_for "MSGQ▼"
screen | grep -q "DISCONNECTED" && fail "a refused sort showed as a disconnect"

echo "== with a window free, R sorts by REDS; leaving REDS gives the window back"
kill "${holders[0]}"
wait "${holders[0]}" 2>/dev/null || true
keys R
wait_for "REDS▼"
code=0; out=$(timeout 60 "$etop" --batch --sort reductions "$sock" 2>&1) || code=$?
[ $code -eq 1 ] && grep -q "cannot read $sock: REDS sort unavailable (4 in use)" <<<"$out" ||
  fail "a fifth window was granted while etop held one: $code $out"
keys Q
wait_for "MSGQ▼"
ok=0
for _ in $(seq 1 100); do
  if timeout 60 "$etop" --batch --sort reductions "$sock" >/dev/null 2>&1; then ok=1; break; fi
  sleep 0.1
done
[ $ok = 1 ] || fail "etop kept its reductions window after leaving the REDS sort"

echo "== SIGTERM restores the terminal and ends etop with status 143"
shell=$("${tmx[@]}" display -p -t etop '#{pane_pid}')
etop_pid=$(pgrep -P "$shell" -x etop)
[ -n "$etop_pid" ] || fail "no etop process under the pane"
[ "$("${tmx[@]}" display -p -t etop '#{alternate_on}')" = 1 ] || fail "etop is not on the alternate screen"
kill -TERM "$etop_pid"
wait_for "EXIT=143"
[ "$("${tmx[@]}" display -p -t etop '#{alternate_on}')" = 0 ] || fail "the terminal was left on the alternate screen"
echo PASS
