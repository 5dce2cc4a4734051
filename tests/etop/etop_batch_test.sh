#!/usr/bin/env bash
# etop's batch and inspect modes against a running agner-node. Usage: etop_batch_test.sh AGNER_NODE ETOP
set -euo pipefail
node_bin=$1
etop=$2
dir=$(mktemp -d /tmp/agner-etop-batch-XXXXXX)
sock="$dir/n.sock"
"$node_bin" --name batchtest --socket "$sock" --schedulers 2 >"$dir/node.log" 2>&1 &
node_pid=$!
trap 'kill $node_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
for _ in $(seq 1 300); do [ -S "$sock" ] && break; sleep 0.1; done

echo "== text: two refreshes, five rows each, sorted by memory"
out=$("$etop" --batch --iterations 2 --interval 0.3 --lines 5 --sort memory "$sock")
[ "$(grep -c '^etop: batchtest' <<<"$out")" -eq 2 ] || fail "expected two headers: $out"
[ "$(grep -c '^PID' <<<"$out")" -eq 2 ] || fail "expected two title lines"
[ "$(grep -c '^!\?<0\.' <<<"$out")" -eq 10 ] || fail "expected ten rows: $out"
grep -q 'MEMORY' <<<"$out" || fail "no MEMORY column"
grep -q 'reds/s' <<<"$out" || fail "no rates line"

echo "== --option=value means --option value; a flag given a value is refused"
out=$("$etop" --batch --iterations=2 --interval=0.3 --lines=5 --sort=memory "$sock")
[ "$(grep -c '^!\?<0\.' <<<"$out")" -eq 10 ] || fail "--opt=value: expected ten rows: $out"
grep -q 'MEMORY' <<<"$out" || fail "--sort=memory: no MEMORY column"
grep -q 'workload_sup' <<<"$("$etop" --inspect=workload_sup "$sock")" || fail "--inspect=workload_sup did not inspect"
rc=0; err=$("$etop" --batch=yes "$sock" 2>&1 >/dev/null) || rc=$?
[ "$rc" -eq 2 ] && grep -q -- "--batch takes no value" <<<"$err" || fail "--batch=yes: rc $rc, $err"
# A number or a port with anything after it is refused, not read up to the junk.
rc=0; err=$("$etop" --batch 127.0.0.1:4000abc 2>&1 >/dev/null) || rc=$?
[ "$rc" -eq 2 ] && grep -q -- "'127.0.0.1:4000abc' is not HOST:PORT" <<<"$err" || fail "port with junk: rc $rc, $err"
for flag in "--interval 1x" "--lines 5x" "--iterations 2x" "--timeout 1x"; do
  rc=0; err=$("$etop" --batch $flag "$sock" 2>&1 >/dev/null) || rc=$?
  [ "$rc" -eq 2 ] && grep -q -- "${flag%% *} wants" <<<"$err" || fail "$flag: rc $rc, $err"
done

echo "== one refresh already has rates: a busy node is not shown idle"
out=$("$etop" --batch --iterations 1 "$sock")
grep -qE 'reds/s [0-9]' <<<"$out" || fail "no reductions rate: $out"
grep -qE 'reds/s 0\.0 ' <<<"$out" && fail "the only refresh shows reds/s 0.0 on a busy node: $out"
grep -qE '^S1 \[\|* *[0-9]+%\]' <<<"$out" || fail "no scheduler use on the only refresh: $out"
grep -q '"rates":{' <<<"$("$etop" --batch --json --iterations 1 "$sock")" || fail "the only JSON refresh has no rates"

echo "== json: one document a refresh, with node info and a processes array"
out=$("$etop" --batch --json --iterations 3 --interval 0.2 --lines 4 "$sock")
[ "$(wc -l <<<"$out")" -eq 3 ] || fail "expected three lines: $out"
while read -r line; do
  [[ $line == '{"node":{'* ]] || fail "not a node document: $line"
  [ "$(grep -o '"pid":"<0\.' <<<"$line" | wc -l)" -eq 4 ] || fail "expected four processes: $line"
  grep -q '"name":"batchtest"' <<<"$line" || fail "no node name"
done <<<"$out"
grep -q '"rates":{' <<<"$(tail -1 <<<"$out")" || fail "the later documents carry rates"

echo "== inspect: one process by name, as text and as JSON"
out=$("$etop" --inspect workload_sup "$sock")
grep -q '^state: one_for_one' <<<"$out" || fail "no state: $out"
grep -q '^links <0\.' <<<"$out" || fail "no links: $out"
out=$("$etop" --inspect workload_sup --json "$sock")
grep -q '"behaviour": "agner::supervisor"' <<<"$out" || fail "no JSON behaviour: $out"

echo "== errors name the problem"
set +e
out=$("$etop" --inspect nobody "$sock" 2>&1); code=$?
[ $code -eq 1 ] && grep -q "no such process: nobody" <<<"$out" || fail "unknown process: $code $out"
out=$("$etop" --batch "$dir/none.sock" 2>&1); code=$?
[ $code -eq 1 ] && grep -q "^etop: cannot attach to $dir/none.sock: " <<<"$out" || fail "missing node: $code $out"
out=$("$etop" --batch --sort bogus "$sock" 2>&1); code=$?
[ $code -eq 2 ] && grep -q "unknown column 'bogus'" <<<"$out" || fail "bad column: $code $out"
set -e
echo "PASS"
