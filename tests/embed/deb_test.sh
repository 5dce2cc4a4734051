#!/usr/bin/env bash
# cpack -G DEB makes a .deb holding the programs, the headers, the libraries and the CMake package,
# depending on the -dev packages find_package(Agner) needs. Usage: deb_test.sh BUILD_DIR
set -uo pipefail
BUILD=$1
T=$(mktemp -d /tmp/agner-deb.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; tail -20 "$T/cpack.log" 2>/dev/null; exit 1; }
command -v dpkg-deb > /dev/null || { echo "SKIP: no dpkg-deb (install dpkg-dev: scripts/setup)"; exit 77; }
cpack --config "$BUILD/CPackConfig.cmake" -G DEB -B "$T" > "$T/cpack.log" 2>&1 || fail "cpack -G DEB failed"
deb=$(ls "$T"/agner_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "cpack made no agner_*.deb"
dpkg-deb -c "$deb" > "$T/contents" || fail "dpkg-deb cannot read $deb"
for f in ./usr/bin/agner-node ./usr/bin/etop ./usr/bin/agner-ctl ./usr/include/agner/node/node.hpp \
         ./usr/include/agner/runtime/runtime.hpp /libagner_node.a /cmake/Agner/AgnerConfig.cmake /cmake/Agner/AgnerTargets.cmake; do
  grep -q -- "$f\$" "$T/contents" || fail "the .deb has no $f"
done
dpkg-deb -f "$deb" Depends | grep -q "libcli11-dev" || fail "the .deb does not depend on libcli11-dev"
echo "PASS: $(basename "$deb") holds the programs, headers, libraries and the CMake package"
