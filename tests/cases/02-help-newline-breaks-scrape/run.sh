#!/usr/bin/env bash
# One business metric whose help text has a line feed: is /metrics still valid? See README.md.
# Under ctest AGNER (source) and AGNER_BUILD (build tree) come from the environment.
set -u
AGNER=${AGNER:-$(pwd)}; B=${AGNER_BUILD:-$AGNER/build}
HERE=$(cd "$(dirname "$0")" && pwd); W=$(mktemp -d /tmp/help-nl.XXXXXX)
SAN=(); [ -n "${AGNER_SANITIZE:-}" ] && SAN=(-fsanitize="$AGNER_SANITIZE")
g++ -std=c++20 -O1 -w "${SAN[@]}" -I"$AGNER/snapshot/include" -I"$AGNER/attach/include" -I"$AGNER/runtime/include" -I"$AGNER/exporter/include" "$HERE/help_text.cpp" -o "$W/help_text" \
  "$B/exporter/libagner_exporter.a" "$B/introspect/libagner_introspect.a" "$B/attach/libagner_attach.a" "$B/runtime/libagner_runtime.a" \
  -lprometheus-cpp-core -lfmt -lcrypto -lpthread -lz || exit 2
"$W/help_text" 39204 > "$W/out" 2>&1 & P=$!
for _ in $(seq 1 1200); do curl -sf http://127.0.0.1:39204/metrics > "$W/scrape.txt" && break; sleep 0.1; done
grep -n -A2 '^# HELP orders_total' "$W/scrape.txt"
promtool check metrics < "$W/scrape.txt"; RC=$?
echo "promtool check metrics: rc=$RC"
bash "$AGNER/tests/exporter/unique_series.sh" "$W/scrape.txt" || RC=1
kill -TERM $P; wait $P 2>/dev/null; rm -rf "$W"
[ $RC = 0 ] && echo PASS || echo FAIL
[ $RC = 0 ]
