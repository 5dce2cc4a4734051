#!/usr/bin/env bash
# The watcher and the load generator against both servers: matchstream_peer.erl (Erlang/OTP) and,
# when built, this project's matchstream. Both bundled matches are played at --speed 1000 while
# matchstream-load runs 200 clients on them; every client must see status, every event without a
# gap, and end, and the counts must match the files. The same script for both: the protocol is one.
# Usage: peer_test.sh BIN_DIR   (run from the project root)
set -euo pipefail
bin=$(cd "${1:?usage: peer_test.sh BIN_DIR}" && pwd)
root=$(pwd)
matches=("$root"/examples/matchstream/matches/*.jsonl)
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# wait_for FILE REGEX SECONDS: until FILE holds a line matching REGEX (a bound on a hang, not a timing).
wait_for() {
  local deadline=$((SECONDS + $3))
  until grep -Eq "$2" "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || { cat "$1" >&2 || true; fail "no line matching '$2' in $1 within $3 s"; }
    sleep 0.1
  done
}

# play LABEL HOST:PORT: the watcher holds after both starts until the 200 clients are subscribed.
play() {
  local label=$1 server=$2 dir=$work/$1
  mkdir -p "$dir"
  mkfifo "$dir/go"
  exec 3<>"$dir/go"
  "$bin/matchstream-watcher" --server "$server" --speed 1000 --hold-after-start "${matches[@]}" \
    <"$dir/go" >"$dir/watcher.out" 2>"$dir/watcher.err" &
  local watcher=$!
  pids+=("$watcher")
  wait_for "$dir/watcher.err" "waiting for a line on standard input" 120
  "$bin/matchstream-load" --server "$server" --clients 200 --concurrency 50 \
    --matches "$(basename -a -s .jsonl "${matches[@]}" | paste -sd,)" >"$dir/load.json" 2>"$dir/load.err" &
  local load=$!
  pids+=("$load")
  wait_for "$dir/load.err" "connected 200 connecting 0" 120
  echo >&3
  exec 3>&-
  wait "$watcher" || { cat "$dir/watcher.out" "$dir/watcher.err" >&2; fail "$label: the watcher reported errors"; }
  wait "$load" || { cat "$dir/load.err" >&2; fail "$label: matchstream-load exited non-zero"; }
  python3 - "$label" "$dir/load.json" "${matches[@]}" <<'PY' || fail "$label: the load summary does not match the files"
import json, sys
label, summary, files = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3:]
problems = []
def expect(what, got, want):
    if got != want:
        problems.append(f"{what}: {got}, expected {want}")
expect("gaps", summary["gaps"], 0)
expect("malformed blocks", summary["malformed"], 0)
expect("failed clients", summary["failed"], {})
expect("clients that saw end", summary["ended"], 200)
events = 0
for path in files:
    lines = [json.loads(l) for l in open(path) if l.strip()]
    match, count = lines[0]["match"], sum(1 for l in lines[1:] if "kind" in l)
    seen = summary["matches"].get(match, {})
    expect(f"{match} last seq", seen.get("last_seq"), count)
    expect(f"{match} clients that saw end", seen.get("clients_ended"), 100)
    # each client joined after start (status carries seq 1) and then received every later event
    events += 100 * (count - 1)
expect("event blocks received", summary["events"], events)
for p in problems:
    print(f"{label}: {p}", file=sys.stderr)
print(f"{label}: 200 clients, {summary['events']} events, 0 gaps, every client saw end; "
      f"latency p50 {summary['latency_ms']['p50']} ms p99 {summary['latency_ms']['p99']} ms")
sys.exit(1 if problems else 0)
PY
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Erlang/OTP's peer.
erlc -o "$work" "$root/tests/matchstream/peer/matchstream_peer.erl"
port=$(free_port)
erl -noshell +K true -pa "$work" -run matchstream_peer main "$port" >"$work/peer.log" 2>&1 &
pids+=($!)
wait_for "$work/peer.log" "listening on $port" 120
play erlang "127.0.0.1:$port"

# This project's server, when it is built.
if [ -x "$bin/matchstream" ]; then
  "$bin/matchstream" --listen 127.0.0.1:0 --http 127.0.0.1:0 --db :memory: --socket off --metrics-listen off >"$work/agner.log" 2>&1 &
  pids+=($!)
  wait_for "$work/agner.log" "matchstream: listening on " 120
  server=$(sed -n 's/^matchstream: listening on \([^ ]*\).*/\1/p' "$work/agner.log" | head -1)
  play agner "$server"
else
  echo "agner: no $bin/matchstream built; played against Erlang/OTP's peer only"
fi
