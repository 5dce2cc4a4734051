#!/usr/bin/env bash
# matchstream-watcher and matchstream-load on the cases beside the happy path, against
# matchstream_peer.erl: a refused client is counted by reason, a watcher reports the errors the server
# answers and exits 1, bad flags get a sentence and exit 2, and worker processes merge into one summary.
# Usage: tools_test.sh BIN_DIR   (run from the project root)
set -euo pipefail
bin=$(cd "${1:?usage: tools_test.sh BIN_DIR}" && pwd)
root=$(pwd)
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
wait_for() {
  local deadline=$((SECONDS + $3))
  until grep -Eq "$2" "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || { cat "$1" >&2 || true; fail "no line matching '$2' in $1 within $3 s"; }
    sleep 0.1
  done
}
json() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {'j': j}))" "$@"; }

# Bad flags: one sentence naming the flag, exit 2.
set +e
"$bin/matchstream-load" --server nonsense --matches m >/dev/null 2>"$work/flag.err"; rc=$?
set -e
[ "$rc" = 2 ] || fail "matchstream-load --server nonsense exited $rc, expected 2"
grep -q -- "--server nonsense is not HOST:PORT" "$work/flag.err" || fail "no sentence naming --server: $(cat "$work/flag.err")"
set +e
"$bin/matchstream-watcher" --server 127.0.0.1:1 "$work/missing.jsonl" >/dev/null 2>"$work/file.err"; rc=$?
set -e
[ "$rc" = 2 ] || fail "matchstream-watcher with a missing file exited $rc, expected 2"
grep -q "cannot read $work/missing.jsonl" "$work/file.err" || fail "no sentence naming the file: $(cat "$work/file.err")"

# Unknown flags and bad values: exit 2 and "PROGRAM: sentence naming the flag" (not CLI11's own codes).
check_flag() {  # want-text program args...
  local want=$1 prog=$2 rc
  shift 2
  set +e
  "$bin/$prog" "$@" >/dev/null 2>"$work/flag.err"; rc=$?
  set -e
  [ "$rc" = 2 ] || fail "$prog $* exited $rc, expected 2"
  grep -q -- "^$prog: .*$want" "$work/flag.err" || fail "$prog $*: no sentence naming $want: $(cat "$work/flag.err")"
}
check_flag "unknown flag --bogus" matchstream-load --bogus
check_flag "--clients" matchstream-load --matches a --clients x
check_flag "--matches is required" matchstream-load
check_flag "unknown flag --bogus" matchstream-watcher --bogus
check_flag "--speed" matchstream-watcher --speed 0
check_flag "--rate" matchstream-watcher --rate abc

erlc -o "$work" "$root/tests/matchstream/peer/matchstream_peer.erl"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
erl -noshell +K true -pa "$work" -run matchstream_peer main "$port" >"$work/peer.log" 2>&1 &
pids+=($!)
wait_for "$work/peer.log" "listening on $port" 120
server=127.0.0.1:$port

# A client naming a match that does not exist is refused, counted as unknown_match.
"$bin/matchstream-load" --server "$server" --clients 5 --matches no-such-match >"$work/unknown.json" 2>/dev/null ||
  fail "matchstream-load exited non-zero on refused clients"
[ "$(json "$work/unknown.json" "j['failed']")" = "{'unknown_match': 5}" ] ||
  fail "refused clients counted as $(json "$work/unknown.json" "j['failed']"), expected unknown_match 5"

# A watcher whose match never started is answered ERROR, reports it and exits 1.
printf '%s\n' '{"match":"never-started"}' '{"kind":"goal","team":"a","player":1}' >"$work/nostart.jsonl"
set +e
"$bin/matchstream-watcher" --server "$server" "$work/nostart.jsonl" >"$work/nostart.out" 2>"$work/nostart.err"; rc=$?
set -e
[ "$rc" = 1 ] || fail "the watcher exited $rc after an ERROR answer, expected 1"
grep -q 'never-started: the server answered "ERROR: unknown match never-started' "$work/nostart.err" ||
  fail "the watcher did not report the error: $(cat "$work/nostart.err")"
grep -q "never-started: 1 events sent, last OK seq -1, 1 errors" "$work/nostart.out" || fail "summary: $(cat "$work/nostart.out")"

# Worker processes: two of them, each with half the clients, merged into one summary.
mkfifo "$work/go"
exec 3<>"$work/go"
"$bin/matchstream-watcher" --server "$server" --synthetic 2 --rate 20 --duration 3 --hold-after-start \
  <"$work/go" >"$work/syn.out" 2>"$work/syn.err" &
watcher=$!
pids+=("$watcher")
wait_for "$work/syn.err" "waiting for a line" 120
"$bin/matchstream-load" --server "$server" --clients 40 --concurrency 10 --workers 2 \
  --matches synthetic-0,synthetic-1 >"$work/workers.json" 2>"$work/workers.err" &
load=$!
pids+=("$load")
wait_for "$work/workers.err" "connected 40 connecting 0" 120
echo >&3
wait "$watcher" || fail "the synthetic watcher reported errors: $(cat "$work/syn.err")"
wait "$load" || fail "matchstream-load with workers exited non-zero: $(cat "$work/workers.err")"
grep -q "40 clients over 2 worker processes" "$work/workers.err" || fail "the workers were not announced"
[ "$(json "$work/workers.json" "(j['workers'], [w['clients'] for w in j['per_worker']], j['ended'], j['gaps'])")" = \
  "(2, [20, 20], 40, 0)" ] || fail "worker summary: $(cat "$work/workers.json")"
echo "tools: refusals counted, watcher errors reported, 2 workers merged"
