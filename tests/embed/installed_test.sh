#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, builds the docs/embedding.md example against the
# installed package (tests/embed/consumer), runs it with a private socket dir and rules, attaches with
# etop --batch, scrapes /metrics, stops it with SIGTERM and checks that it stopped.
# Usage: installed_test.sh SOURCE_DIR BUILD_DIR SANITIZE CXX_COMPILER
set -uo pipefail
SRC=$1 BUILD=$2 SANITIZE=$3 CXX=$4
T=$(mktemp -d /tmp/agner-embed.XXXXXX)
PID=""
cleanup() { [ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$T"/*.log "$T"/out; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done; exit 1; }

cmake --install "$BUILD" --prefix "$T/prefix" > "$T/install.log" 2>&1 || fail "cmake --install failed"
for f in bin/agner-node bin/etop bin/agner-ctl include/agner/node/node.hpp include/agner/runtime/runtime.hpp \
         include/agner/snapshot/json.hpp include/agner/attach/client.hpp lib/cmake/Agner/AgnerConfig.cmake; do
  [ -e "$T/prefix/$f" ] || fail "the install has no $f"
done
flags=() 
if [ -n "$SANITIZE" ]; then  # the libraries were built with -fsanitize: the consumer must be too
  flags=(-DCMAKE_CXX_FLAGS="-fsanitize=$SANITIZE -fno-omit-frame-pointer" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=$SANITIZE")
fi
launcher=()
command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$SRC/tests/embed/consumer" -B "$T/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_PREFIX_PATH="$T/prefix" -DAGNER_EXAMPLE="$SRC/examples/minimal/main.cpp" "${launcher[@]}" "${flags[@]}" \
  > "$T/configure.log" 2>&1 || fail "configuring the consumer against the installed package failed"
cmake --build "$T/build" -j2 > "$T/build.log" 2>&1 || fail "building the example against the installed package failed"
grep -q -- "$T/prefix" "$T/build/CMakeCache.txt" || fail "the consumer did not find Agner under the prefix"
grep -q "$SRC/runtime/include\|$SRC/node/include" "$T/build/build.ninja" && fail "the consumer reached into the source tree"

mkdir -m 700 "$T/run"
export XDG_RUNTIME_DIR="$T/run"
"$T/build/minimal" --name embedded --metrics-listen 127.0.0.1:0 --rules "$SRC/deploy/agner-rules.json" > "$T/out" 2>&1 &
PID=$!
# Wait on the "serving" line, with a generous deadline (a loaded machine is slow, never wrong).
for _ in $(seq 600); do grep -q "serving introspection" "$T/out" && break; kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
grep -q "serving introspection on $T/run/agner/embedded.sock" "$T/out" || fail "the service did not start serving on its private socket"
port=$(grep -o 'metrics on http://127.0.0.1:[0-9]*' "$T/out" | sed 's/.*://')
[ -n "$port" ] || fail "the service printed no /metrics port"

# etop sees the supervised greeters (batch mode, through the private socket dir).
for _ in $(seq 60); do
  "$T/prefix/bin/etop" --batch --iterations 1 --interval 0.2 embedded > "$T/etop.log" 2>&1 && grep -q greeter_sup "$T/etop.log" && break
  sleep 0.5
done
grep -q greeter_sup "$T/etop.log" || fail "etop --batch does not show greeter_sup"
# A reader built on Agner::attach alone (tests/embed/consumer/list_nodes.cpp) finds the node and decodes it.
"$T/build/list_nodes" > "$T/list_nodes.log" 2>&1 || fail "list_nodes (Agner::attach only) failed"
grep -Eq '^embedded [0-9]+ processes embedded$' "$T/list_nodes.log" || fail "list_nodes did not list the embedded node"
link=$(awk '/^build list_nodes:/,/^$/' "$T/build/build.ninja")
[ -n "$link" ] || fail "build.ninja has no link rule for list_nodes"
grep -q 'libagner_attach' <<< "$link" || fail "list_nodes' link rule does not name libagner_attach"
grep -q 'libagner_runtime' <<< "$link" && fail "list_nodes (Agner::attach only) links the runtime"
grep -q "greeter " "$T/etop.log" || fail "etop --batch does not show the greeters"

# /metrics serves the business counter, once it counted, and the runtime's own series.
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/metrics" > "$T/metrics.log" && grep -Eq '^greetings_total [1-9]' "$T/metrics.log" && break
  sleep 0.2
done
grep -Eq '^greetings_total [1-9]' "$T/metrics.log" || fail "/metrics has no greetings_total above 0"
grep -q '^agner_processes ' "$T/metrics.log" || fail "/metrics has no agner_processes"
grep -q 'agner_valve_pressure{.*valve="ingress"' "$T/metrics.log" || fail "/metrics has no pressure for the rules' ingress valve"

# SIGTERM stops it, in order, with status 0.
kill -TERM "$PID"
for _ in $(seq 600); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PID" 2>/dev/null && fail "the service still runs 60 s after SIGTERM"
wait "$PID"; rc=$?; PID=""
[ "$rc" -eq 0 ] || fail "the service exited with status $rc after SIGTERM"
grep -q "minimal embedded: stopped in" "$T/out" || fail "no 'stopped in' line"
[ -e "$T/run/agner/embedded.sock" ] && fail "the socket is still there after the stop"
echo "PASS: installed, built against the package, served etop and /metrics, stopped on SIGTERM"
