#!/bin/bash
# MatchStream: a match whose end waits for the store (suspended here) takes no more events: one sent
# meanwhile is answered 'ERROR: match ended' at once, and the store keeps the match ended.
set -euo pipefail
bin=${1:?usage: end_wait_test.sh BIN_DIR}
tmp=$(mktemp -d)
node=endwait$$
"$bin/matchstream" --name "$node" --db "$tmp/ms.db" --listen 127.0.0.1:0 --http 127.0.0.1:0 \
  --metrics-listen 127.0.0.1:0 >"$tmp/log" 2>&1 &
ms=$!
trap 'kill $ms 2>/dev/null; wait $ms 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 600); do grep -qs 'http on' "$tmp/log" && break; sleep 0.1; done
port=$(sed -n 's/^matchstream: listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$tmp/log")
http=$(sed -n 's/^matchstream: http on 127.0.0.1:\([0-9]*\)$/\1/p' "$tmp/log")
[ -n "$port" ] && [ -n "$http" ] || { cat "$tmp/log"; echo "FAIL: matchstream did not start"; exit 1; }
python3 - "$port" "$node" "$bin/agner-ctl" "$http" <<'PY' || { echo "--- matchstream's log ---"; tail -n 40 "$tmp/log"; exit 1; }
import json, socket, subprocess, sys, time, urllib.request
port, node, ctl, http = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
def watcher():
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(60)
    s.sendall(b"VERSION:1:WATCH:m\n"); return s
def line(s):
    out = b""
    while not out.endswith(b"\n"): out += s.recv(1)
    return out.decode().strip()
a, b = watcher(), watcher()
a.sendall(b'{"kind":"start","home":"h","visit":"v"}\n')
assert line(a) == "OK 1"
subprocess.run([ctl, node, "suspend", "store"], check=True, stdout=subprocess.DEVNULL)
a.sendall(b'{"kind":"end"}\n')  # the match now waits for the store
# a and b are two connections, two watcher processes: b's goal could reach the match before a's end.
# The live board says when the match has taken the end (ended, seq 2, while the store still waits).
deadline = time.time() + 60
while True:
    live = json.load(urllib.request.urlopen(f"http://127.0.0.1:{http}/matches/m", timeout=10))
    if live["ended"] and live["seq"] == 2:
        break
    if time.time() > deadline:
        sys.exit(f"FAIL: the match did not take its end within 60 s: {live}")
    time.sleep(0.05)
b.sendall(b'{"kind":"goal","team":"v"}\n')
got = line(b)
subprocess.run([ctl, node, "resume", "store"], check=True, stdout=subprocess.DEVNULL)
end = line(a)
if got != "ERROR: match ended" or end != "OK 2":
    print(f"FAIL: an event after the end got {got!r} (expected 'ERROR: match ended'), the end {end!r} (expected 'OK 2')")
    for args in (["info", "store"], ["info"], ["top", "--n", "30"]):  # where it stands, for the log
        try:
            out = subprocess.run([ctl, node, *args], capture_output=True, text=True, timeout=10)
            print(f"--- agner-ctl {' '.join(args)} ---\n{out.stdout}{out.stderr}")
        except subprocess.TimeoutExpired:
            print(f"--- agner-ctl {' '.join(args)}: no answer within 10 s ---")
    sys.exit(1)
PY
sqlite=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select seq, ended from matches where id=\"m\"").fetchone())' "$tmp/ms.db")
[ "$sqlite" = "(2, 1)" ] || { echo "FAIL: stored (seq, ended) $sqlite, expected (2, 1)"; exit 1; }
echo "PASS"
