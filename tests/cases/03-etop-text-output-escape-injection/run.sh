#!/usr/bin/env bash
# Do etop's text outputs pass control characters from the node through to the terminal? See README.md.
# (From ../shared/cases/03; ctest passes AGNER, AGNER_BUILD, ETOP and AGNER_SANITIZE. Also checks --json.)
set -u
AGNER=${AGNER:-$(pwd)}; B=${AGNER_BUILD:-$AGNER/build}; ETOP=${ETOP:-$B/bin/etop}
HERE=$(cd "$(dirname "$0")" && pwd); W=$(mktemp -d /tmp/esc-inj.XXXXXX); chmod 700 "$W"
SAN=(); [ -n "${AGNER_SANITIZE:-}" ] && SAN=(-fsanitize="$AGNER_SANITIZE")
g++ -std=c++20 -O1 -w "${SAN[@]}" -I"$AGNER/snapshot/include" -I"$AGNER/attach/include" -I"$AGNER/runtime/include" -I"$AGNER/introspect/include" "$HERE/payloads.cpp" -o "$W/payloads" \
  "$B/introspect/libagner_introspect.a" "$B/attach/libagner_attach.a" "$B/runtime/libagner_runtime.a" -lfmt -lcrypto -lpthread || exit 2
"$W/payloads" "$W/node.sock" > "$W/out" 2>&1 & P=$!
for _ in $(seq 1 1200); do grep -q serving "$W/out" 2>/dev/null && break; sleep 0.1; done
"$ETOP" --inspect client_inbox "$W/node.sock" > "$W/inspect.txt"
"$ETOP" --batch "$W/node.sock" > "$W/batch.txt"
"$ETOP" --batch --json "$W/node.sock" > "$W/json.txt"
"$ETOP" --inspect client_inbox --json "$W/node.sock" > "$W/inspect-json.txt"
RC=0
for f in inspect batch json inspect-json; do
  n=$(tr -cd '\033\007' < "$W/$f.txt" | wc -c)
  echo "etop --$f: $n raw ESC/BEL bytes"; [ "$n" -gt 0 ] && RC=1
  cat -v "$W/$f.txt" | grep -a -E '\^\[|\^G' | sed 's/^/    /'
done
# The escapes are shown, not dropped: the operator still sees what the node holds.
grep -qF 'last client said \x1b[31mred' "$W/inspect.txt" || { echo "the state's ESC is not shown as \\x1b"; RC=1; }
grep -qF 'conn\x1b]0;renamed-by-a-name\x0742' "$W/batch.txt" || { echo "the name's ESC/BEL are not shown as \\x1b \\x07"; RC=1; }
kill -TERM $P; wait $P 2>/dev/null; rm -rf "$W"
[ $RC = 0 ] && echo PASS || echo FAIL
exit $RC
