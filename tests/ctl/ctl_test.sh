#!/usr/bin/env bash
# agner-ctl against a real agner-node: every subcommand, its output and exit code, over the Unix
# socket (found by name in the socket directory) and over TCP with cookies.
# Usage: ctl_test.sh AGNER_NODE AGNER_CTL RULES_FILE
set -euo pipefail
node_bin=$1
ctl_bin=$2
rules_src=$3
dir=$(mktemp -d /tmp/agner-ctl-XXXXXX)
export XDG_RUNTIME_DIR="$dir/run"  # a private socket directory, so `nodes` sees only this node
mkdir -m 700 "$XDG_RUNTIME_DIR"
cp "$rules_src" "$dir/rules.json"
node_pid=""
cleanup() {
  [ -n "$node_pid" ] && kill "$node_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  echo "--- node log ---" >&2
  cat "$dir/node.log" >&2 || true
  exit 1
}

# ctl ARGS...: runs agner-ctl; sets $out, $err and $code.
ctl() {
  set +e
  out=$("$ctl_bin" "$@" 2>"$dir/err")
  code=$?
  set -e
  err=$(cat "$dir/err")
}
# expect CODE ARGS...: runs agner-ctl and checks its exit code.
expect() {
  local want=$1
  shift
  ctl "$@"
  [ "$code" -eq "$want" ] || fail "agner-ctl $*: exit $code, wanted $want; stdout: $out; stderr: $err"
}
# has TEXT WHERE: WHERE contains TEXT (fixed string).
has() { grep -qF -- "$1" <<<"$2" || fail "expected '$1' in: $2"; }
lacks() { ! grep -qF -- "$1" <<<"$2" || fail "did not expect '$1' in: $2"; }
no_raw_controls() { ! LC_ALL=C grep -q '[[:cntrl:]]' <<<"$1" || fail "raw control characters reached the terminal: $(cat -v <<<"$1")"; }

"$node_bin" --name ctltest --schedulers 2 --rules "$dir/rules.json" --metrics-listen off \
  --listen-tcp 127.0.0.1:0 --cookie-file "$dir/cookie" --viewer-cookie-file "$dir/viewer" >"$dir/node.log" 2>&1 &
node_pid=$!
for _ in $(seq 1 600); do
  grep -q 'serving introspection' "$dir/node.log" && break
  kill -0 "$node_pid" 2>/dev/null || fail "agner-node exited"
  sleep 0.1
done
port=$(sed -n 's/.*TCP port \([0-9]*\).*/\1/p' "$dir/node.log")
[ -n "$port" ] || fail "agner-node did not say its TCP port"
sock="$XDG_RUNTIME_DIR/agner/ctltest.sock"

echo "== nodes, and the three ways to name a node"
expect 0 nodes
[ "$out" = ctltest ] || fail "nodes: $out"
expect 0 --json nodes
has "\"socket\":\"$sock\"" "$out"
expect 0 info
has "node ctltest: up" "$out"
has "valves: ingress" "$out"
expect 0 ctltest info
has "node ctltest: up" "$out"
expect 0 "$sock" info --json
[[ $out == '{"id":'*'"ok":true'* ]] || fail "info --json is not the raw reply: $out"
has '"name":"ctltest"' "$out"

echo "== top and process info"
expect 0 ctltest top --filter slow_consumer --n 5
[ "$(wc -l <<<"$out")" -eq 2 ] || fail "top --filter: one title line and one row wanted: $out"
has "PID" "$(head -1 <<<"$out")"
has "slow_consumer" "$(tail -1 <<<"$out")"
expect 0 ctltest top --sort memory --n 3
[ "$(grep -c '^<0\.' <<<"$out")" -eq 3 ] || fail "top --n 3: $out"
expect 0 ctltest top --json --n 2
[ "$(grep -o '"pid":"<0\.' <<<"$out" | wc -l)" -eq 2 ] || fail "top --json: $out"
expect 0 ctltest info workload_sup --deadline-ms 5000
has "workload_sup (agner::supervisor)" "$out"
has "links: <0." "$out"
has "state: one_for_one" "$out"
expect 0 ctltest info slow_consumer --messages 2 --deadline-ms 5000
has "slow_consumer" "$out"

echo "== an unknown process, a missing node, usage errors"
expect 1 ctltest info '<0.5000.3>'
has "no such process: <0.5000.3>" "$err"
expect 1 ctltest kill nobody
has "agner-ctl: no such process: nobody" "$err"
expect 2 "$dir/none.sock" info
has "cannot attach to $dir/none.sock" "$err"
expect 2 ctltest
has "no subcommand after NODE 'ctltest'" "$err"
expect 2 ctltest bogus
has "unknown subcommand 'bogus'" "$err"
expect 2 ctltest set x --severity loud
has "--severity" "$err"
expect 2 ctltest --role root info
has "--role" "$err"
expect 2 ctltest top --n 0
expect 2 --tcp 127.0.0.1 info
has "--tcp wants HOST:PORT" "$err"

echo "== an alarm set, listed, acknowledged, cleared"
expect 0 ctltest set ctl_test --severity major --description "set by agner-ctl"
[ "$out" = "alarm ctl_test set (major)" ] || fail "set: $out"
expect 0 ctltest alarms
has "ctl_test major source=application raised=" "$out"
has "unacknowledged: set by agner-ctl" "$out"
expect 0 ctltest --json alarms
has '"id":"ctl_test"' "$out"
expect 0 ctltest ack ctl_test
[ "$out" = "alarm ctl_test acknowledged" ] || fail "ack: $out"
expect 0 ctltest alarms
has "acknowledged: set by agner-ctl" "$(grep ctl_test <<<"$out")"
lacks "unacknowledged" "$(grep ctl_test <<<"$out")"
expect 0 ctltest history 1000
has "ctl_test inactive -> major source=application" "$out"
expect 0 ctltest clear ctl_test
[ "$out" = "alarm ctl_test cleared" ] || fail "clear: $out"
expect 0 ctltest alarms
lacks "ctl_test" "$out"
expect 1 ctltest clear ctl_test
has "no such active alarm: ctl_test" "$err"
expect 1 ctltest ack ctl_test
has "no such active alarm: ctl_test" "$err"

echo "== strings from the node are shown with visible escapes"
# The node refuses control characters in what it stores (an alarm's description) ...
expect 1 ctltest set esc_test --severity warning --description $'\e]0;retitled\a\e[2J'
has 'description must not hold control characters' "$err"
# ... but echoes what a peer asked for in its errors: that reaches the terminal escaped.
expect 1 ctltest info $'esc\e]0;retitled\a\e[2J'
no_raw_controls "$err"
has 'esc\x1b]0;retitled\x07\x1b[2J' "$err"

echo "== valves: override, lift, unknown valve"
expect 0 ctltest valves
has "ingress pressure=" "$out"
expect 0 ctltest valve ingress --override closed --for 30
[ "$out" = "valve ingress: held closed for 30 s" ] || fail "override: $out"
expect 0 ctltest valves
has "override=closed" "$out"
expect 0 ctltest valve ingress --clear-override
has "override lifted" "$out"
expect 0 ctltest valves
has "override=automatic" "$out"
expect 0 ctltest valve ingress --override 0 --for 0.5
has "held open" "$out"
expect 1 ctltest valve nope --override open --for 1
has "no such valve: nope" "$err"
expect 2 ctltest valve ingress --override 0.5 --for 1
has "no pressure in between" "$err"
expect 2 ctltest valve ingress --override open
expect 2 ctltest valve ingress

echo "== reload-rules: good, bad (old rules kept), good again"
expect 0 ctltest reload-rules
[ "$out" = "rules reloaded" ] || fail "reload: $out"
echo '{"version": 1, "alarms": [{"id": "x", "metric": "cpu"}]}' >"$dir/rules.json"
expect 1 ctltest reload-rules
has "rules not reloaded; the old rules stay in force" "$err"
has "rules.json:" "$err"
has "unknown metric 'cpu'" "$err"
expect 0 ctltest --json valves
has '"id":"ingress"' "$out"
cp "$rules_src" "$dir/rules.json"
expect 0 ctltest reload-rules

echo "== process operations, and a viewer refused them"
expect 0 ctltest suspend slow_consumer
[ "$out" = "suspended <0.2.0> (slow_consumer)" ] || fail "suspend: $out"
expect 0 ctltest resume slow_consumer
has "resumed <0.2.0>" "$out"
expect 0 ctltest gc slow_consumer
has "garbage collected <0.2.0>" "$out"
expect 0 ctltest kill flaky --reason ctl_test
has "killed <0." "$out"
has "(flaky), reason ctl_test" "$out"
expect 2 ctltest kill slow_consumer --reason ''
[ "$err" = "agner-ctl: --reason wants an exit reason of 1 to 256 characters, not an empty one (leave it out for kill)" ] || fail "kill --reason '': $err"
expect 0 ctltest info slow_consumer  # not killed
expect 1 ctltest --role viewer kill slow_consumer
has "permission denied: kill needs the admin role (this session is viewer)" "$err"
expect 1 ctltest --role viewer set v --severity minor
has "permission denied: set_alarm needs the admin role" "$err"
expect 0 ctltest --role viewer alarms

echo "== TCP: the admin cookie, the viewer cookie, a wrong one"
expect 0 --tcp "127.0.0.1:$port" --cookie-file "$dir/cookie" info
has "node ctltest: up" "$out"
expect 0 --tcp "127.0.0.1:$port" --cookie-file "$dir/cookie" set tcp_test --severity minor
expect 0 --tcp "127.0.0.1:$port" --cookie-file "$dir/viewer" --role viewer alarms
has "tcp_test minor" "$out"
expect 1 --tcp "127.0.0.1:$port" --cookie-file "$dir/viewer" --role viewer clear tcp_test
has "permission denied" "$err"
expect 2 --tcp "127.0.0.1:$port" --cookie-file "$dir/viewer" info
has "cannot attach to 127.0.0.1:$port: authentication failed" "$err"
expect 0 clear tcp_test --tcp "127.0.0.1:$port" --cookie-file "$dir/cookie"

echo "== the node kept running"
kill -0 "$node_pid" || fail "agner-node died"
expect 0 ctltest info
echo "PASS"
