#!/usr/bin/env bash
# docs/embedding.md shows examples/minimal/main.cpp verbatim: the code block after the marker line
# "<!-- verbatim: examples/minimal/main.cpp -->" must be the file, byte for byte.
set -uo pipefail
SRC=$1
doc="$SRC/docs/embedding.md"
block=$(awk '/^<!-- verbatim: examples\/minimal\/main.cpp -->$/ {m=1; next} m==1 && /^```cpp$/ {m=2; next} m==2 && /^```$/ {exit} m==2 {print}' "$doc")
[ -n "$block" ] || { echo "FAIL: $doc has no cpp block after '<!-- verbatim: examples/minimal/main.cpp -->'"; exit 1; }
if ! diff <(printf '%s\n' "$block") "$SRC/examples/minimal/main.cpp"; then
  echo "FAIL: the example in $doc differs from examples/minimal/main.cpp (diff above: < doc, > file)"
  exit 1
fi
echo "PASS: docs/embedding.md shows examples/minimal/main.cpp verbatim"
