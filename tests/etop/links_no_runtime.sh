#!/usr/bin/env bash
# etop reads a node through the wire only (DESIGN.md): its link closure (written by CMake at
# configure time, cmake/link_closure.cmake) names no Agner library but snapshot and attach, and its
# binary holds no symbol of the runtime or of the node-side modules.
# Usage: links_no_runtime.sh CLOSURE_FILE ETOP_BINARY
set -u
closure=$1 etop=$2
fail=0
[[ -s $closure ]] || { echo "FAIL: $closure is missing or empty (re-run cmake)"; exit 1; }
[[ -x $etop ]] || { echo "FAIL: $etop is not an executable"; exit 1; }
echo "etop links: $(tr '\n' ' ' < "$closure")"
bad=$(grep -E '^agner_' "$closure" | grep -vxE 'agner_(snapshot|attach|etop)' || true)
if [[ -n $bad ]]; then
  echo "FAIL: etop's link closure holds Agner libraries other than snapshot and attach: $(echo $bad)"
  fail=1
fi
# Runtime symbols: the runtime class and its internals (agner::detail, the scheduler, supervisors,
# mailboxes), and the node-side modules. Header-only snapshot code (agner::pid, agner::to_string,
# agner::introspect::*_from_json) is expected.
syms=$(nm -C "$etop" | grep -E 'agner::(runtime|detail|scheduler|supervisor|mailbox|process_table|context|exporter|alarms|node)::|agner::introspect::(server|session|group_window|walk_supervision_tree)' | head -5)
if [[ -n $syms ]]; then
  echo "FAIL: etop's binary holds runtime or node-side symbols, e.g.:"
  echo "$syms"
  fail=1
fi
if nm -C "$etop" | grep -q 'agner::'; then :; else
  echo "FAIL: no agner:: symbol at all in $etop: is it stripped? the check would prove nothing"
  fail=1
fi
[[ $fail == 0 ]] && echo "PASS: etop links snapshot and attach only, and holds no runtime symbol"
exit $fail
