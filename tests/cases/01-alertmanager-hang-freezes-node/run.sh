#!/usr/bin/env bash
# Hung Alertmanager + a rules reload: see README.md. Exit 0 = behaves as documented, 1 = the failure.
set -u
BIN=${AGNER_BIN:-$(pwd)/build/bin}
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /tmp/am-hang.XXXXXX); chmod 700 "$W"
cp "$HERE/rules.json" "$W/rules.json"
BH=""; NODE=""
cleanup() {
  [ -n "$NODE" ] && kill -KILL "$NODE" 2>/dev/null
  [ -n "$BH" ] && kill "$BH" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
# wait_for SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds or SECONDS pass.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do [ $SECONDS -ge $deadline ] && return 1; sleep 0.1; done
}
python3 "$HERE/blackhole.py" 39303 > "$W/blackhole.out" 2>&1 & BH=$!
wait_for 30 grep -q listening "$W/blackhole.out" || { echo "FAIL: the hung peer did not listen on 39303"; exit 1; }
"$BIN/agner-node" --name amhang --schedulers 1 --workload none --socket "$W/node.sock" --metrics-listen off \
  --rules "$W/rules.json" > "$W/node.out" 2> "$W/node.err" & NODE=$!
wait_for 60 test -S "$W/node.sock" || { echo "FAIL: the node did not start"; cat "$W/node.err"; exit 1; }
HERE="$HERE" python3 - "$W" <<'PY'
import json, os, socket, sys, time
sys.path.insert(0, os.path.dirname(os.environ["HERE"]))  # tests/cases/proto.py
from proto import Node
w = sys.argv[1]
def wait_for(seconds, cond):
    end = time.time() + seconds
    while time.time() < end:
        if cond(): return True
        time.sleep(0.1)
    return cond()
n = Node(w + "/node.sock")
n.call("set_alarm", alarm="disk_full", severity="critical", description="d")   # something to post
print("hung peer accepted a post:", wait_for(30, lambda: "accepted" in open(w + "/blackhole.out").read()))
# The post deadline is 5 s: the node must say so (generous bound for a loaded machine).
logged = wait_for(30, lambda: "cannot post" in open(w + "/node.err").read())
print("node logged the unreachable Alertmanager:", logged)
# The operator removes the Alertmanager from the rules and reloads (etop or the protocol).
rules = json.load(open(w + "/rules.json")); del rules["notify"]; json.dump(rules, open(w + "/rules.json", "w"))
n.s.settimeout(15); t0 = time.time()
try:
    r = n.call("reload_rules"); print(f"reload_rules answered in {time.time()-t0:.1f} s:", r)
    ok_reload = r.get("ok") is True and r.get("reloaded") is True
except Exception as e:
    print(f"reload_rules: no answer after {time.time()-t0:.1f} s"); ok_reload = False
s = socket.socket(socket.AF_UNIX); s.settimeout(15)
try:
    s.connect(w + "/node.sock"); f = s.makefile("rw")
    f.write(json.dumps({"id": 1, "op": "hello", "versions": [1]}) + "\n"); f.flush()
    ok_attach = bool(f.readline())
except Exception:
    ok_attach = False
print("a new session (etop) can attach:", ok_attach)
# Alarms keep being evaluated: a set and a clear go through.
n.call("set_alarm", alarm="still_ticking", severity="minor", description="d")
ok_alarms = wait_for(15, lambda: any(a["id"] == "still_ticking" for a in n.call("alarms")["active"]))
print("alarms still answer:", ok_alarms)
sys.exit(0 if logged and ok_reload and ok_attach and ok_alarms else 1)
PY
RC=$?
# The Alertmanager back in the rules, by SIGHUP this time: the new sender posts to the hung peer
# again, and SIGTERM must still stop the node while that post hangs.
cp "$HERE/rules.json" "$W/rules.json"
ACCEPTED=$(grep -c accepted "$W/blackhole.out")
kill -HUP $NODE
wait_for 30 bash -c "[ \$(grep -c accepted '$W/blackhole.out') -gt $ACCEPTED ]" || { echo "no post after the SIGHUP reload"; RC=1; }
kill -TERM $NODE
if wait_for 20 bash -c "! kill -0 $NODE 2>/dev/null"; then
  wait $NODE; echo "agner-node stopped on SIGTERM (exit $?)"
else
  echo "agner-node still running 20 s after SIGTERM"; RC=1
fi
grep -q "stopped in" "$W/node.out" || { echo "no 'stopped in' line"; RC=1; }
echo "node log:"; sed 's/^/  /' "$W/node.out" "$W/node.err"
[ $RC = 0 ] && echo PASS || echo FAIL
exit $RC
