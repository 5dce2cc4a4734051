#!/usr/bin/env bash
# MatchStream benchmark (docs/matchstream.md, "Figures"): this project's matchstream beside
# matchstream_peer.erl (Erlang/OTP), the same watcher and load generator driving each in turn.
#   (a) connect: 1,000 clients at once (concurrency 1,000); failures and seconds to the last status block.
#   (b) delivery: 10,000 clients on 20 generated matches at 10 events/s each for ~30 s: latency
#       p50/p99/max, events lost, CPU seconds per million delivered events (utime+stime of the server
#       from /proc/PID/stat while every client is connected) and memory per connected session (RSS
#       growth from before the clients to the most connected, over those sessions). If not every
#       client connects within the run, the CPU window starts at its middle.
# Then the same for matchstream-floor (tools/floor.cpp: a bare epoll loop sending each block with one
# send() a client, the kernel floor; MS_BENCH_NO_FLOOR=1 skips it).
# Prints one line per figure, `agner ...`, `erlang ...`, `floor ...`, then the ratios and the load average.
# Usage (from the project root): examples/matchstream/bench.sh [BIN_DIR]
#   MS_BENCH_CLIENTS (10000), MS_BENCH_SECONDS (30), MS_BENCH_CONNECT (1000) override the sizes;
#   MS_BENCH_KEEP=1 keeps the logs (each load's progress lines, the per-second samples) and says where.
set -euo pipefail
bin=$(cd "${1:-build/bin}" && pwd)
root=$(pwd)
clients=${MS_BENCH_CLIENTS:-10000}
seconds=${MS_BENCH_SECONDS:-30}
connect=${MS_BENCH_CONNECT:-1000}
matches=20
rate=10
ids=$(seq -f 'synthetic-%g' 0 $((matches - 1)) | paste -sd,)
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "${MS_BENCH_KEEP:-}" ]; then echo "bench: the logs and samples are in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
die() { echo "bench: $*" >&2; exit 1; }
wait_for() {  # FILE REGEX SECONDS
  local deadline=$((SECONDS + $3))
  until grep -Eq "$2" "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || { tail -5 "$1" >&2 || true; die "no line matching '$2' in $1 within $3 s"; }
    sleep 0.1
  done
}
ticks=$(getconf CLK_TCK)
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12, $13}'; }  # user, system
rss_bytes() { awk '/^VmRSS:/ {print $2 * 1024}' "/proc/$1/status"; }
json() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {'j': j}))" "$@"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# measure LABEL HOST:PORT PID: the figures for one server, appended to $work/figures.
measure() {
  local label=$1 server=$2 pid=$3 dir=$work/$1
  mkdir -p "$dir"
  mkfifo "$dir/go"
  exec 3<>"$dir/go"
  "$bin/matchstream-watcher" --server "$server" --synthetic "$matches" --rate "$rate" --hold-after-start \
    <"$dir/go" >"$dir/watcher.out" 2>"$dir/watcher.err" &
  local watcher=$!
  pids+=("$watcher")
  wait_for "$dir/watcher.err" "waiting for a line" 60
  echo >&3
  exec 3>&-

  # (a) connect at once
  "$bin/matchstream-load" --server "$server" --clients "$connect" --concurrency "$connect" --exit-when-connected \
    --matches "$ids" --user-prefix c >"$dir/connect.json" 2>"$dir/connect.err" || true
  echo "$label matchstream_connect clients=$connect concurrency=$connect failed=$(json "$dir/connect.json" "j['failed_total']")" \
    "seconds=$(json "$dir/connect.json" "round(j['connect_s'], 3)") reasons=$(json "$dir/connect.json" "','.join(f'{k}:{v}' for k, v in j['failed'].items()) or '-'")" >>"$work/figures"

  # (b) delivery: a sample a second of the server's CPU and RSS beside the load's last progress line
  local rss0 load line
  rss0=$(rss_bytes "$pid")
  "$bin/matchstream-load" --server "$server" --clients "$clients" --concurrency 1000 --duration "$seconds" \
    --matches "$ids" --user-prefix d >"$dir/load.json" 2>"$dir/load.err" &
  load=$!
  pids+=("$load")
  while kill -0 "$load" 2>/dev/null; do
    line=$(grep -E "^matchstream-load: [0-9]+s connected" "$dir/load.err" | tail -1 || true)
    [ -n "$line" ] && echo "$(cpu_ticks "$pid") $(rss_bytes "$pid") $(sed -E 's/.* connected ([0-9]+) connecting ([0-9]+) .* events ([0-9]+) .*/\1 \2 \3/' <<<"$line")" >>"$dir/samples"
    sleep 1
  done
  wait "$load" || true
  kill "$watcher" 2>/dev/null || true
  wait "$watcher" 2>/dev/null || true
  # The CPU window runs from the first sample with every attempt done (else the middle sample) to the
  # last; memory is taken at the sample with the most clients connected.
  read -r cpu_s user_s sys_s window_events connected rss1 < <(python3 - "$dir/samples" "$ticks" <<'PY'
import sys
# user ticks, system ticks, rss, connected, connecting, events
rows = [list(map(int, l.split())) for l in open(sys.argv[1]) if len(l.split()) == 6]
ticks = int(sys.argv[2])
if len(rows) < 2:
    print("0 0 0 0 0 0"); sys.exit()
start = next((i for i, r in enumerate(rows) if r[4] == 0 and r[3] > 0), len(rows) // 2)
start = min(start, len(rows) - 2)
a, b = rows[start], rows[-1]
peak = max(rows, key=lambda r: r[3])
user, system = (b[0] - a[0]) / ticks, (b[1] - a[1]) / ticks
print(user + system, user, system, b[5] - a[5], peak[3], peak[2])
PY
)
  local events
  events=$(json "$dir/load.json" "j['events']")
  echo "$label matchstream_delivery clients=$clients matches=$matches rate=$rate seconds=$seconds" \
    "connected=$connected p50_ms=$(json "$dir/load.json" "j['latency_ms']['p50']") p99_ms=$(json "$dir/load.json" "j['latency_ms']['p99']")" \
    "max_ms=$(json "$dir/load.json" "j['latency_ms']['max']") events=$events lost=$(json "$dir/load.json" "j['lost']")" \
    "gaps=$(json "$dir/load.json" "j['gaps']") failed=$(json "$dir/load.json" "j['failed_total']")" >>"$work/figures"
  per_million() { python3 -c "print(round($1 / $window_events * 1e6, 2) if $window_events > 0 else 'n/a')"; }
  echo "$label matchstream_cpu cpu_s_per_million_events=$(per_million "$cpu_s")" \
    "user_s_per_million=$(per_million "$user_s") sys_s_per_million=$(per_million "$sys_s") cpu_s=$cpu_s events=$window_events" >>"$work/figures"
  echo "$label matchstream_memory bytes_per_session=$(python3 -c "print(round(($rss1 - $rss0) / max(1, $connected)))")" \
    "sessions=$connected rss_before=$rss0 rss_connected=$rss1" >>"$work/figures"
}

: >"$work/figures"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

if [ -x "$bin/matchstream" ]; then
  "$bin/matchstream" --listen 127.0.0.1:0 --http 127.0.0.1:0 --db :memory: --socket off --metrics-listen off >"$work/agner.log" 2>&1 &
  agner=$!
  pids+=("$agner")
  wait_for "$work/agner.log" "matchstream: listening on " 60
  server=$(sed -n 's/^matchstream: listening on \([^ ]*\).*/\1/p' "$work/agner.log" | head -1)
  measure agner "$server" "$agner"
  kill "$agner"
else
  echo "agner: no $bin/matchstream built; measuring Erlang/OTP's peer only" >&2
fi

erlc -o "$work" "$root/tests/matchstream/peer/matchstream_peer.erl"
port=$(free_port)
erl -noshell +K true +P 5000000 -pa "$work" -run matchstream_peer main "$port" >"$work/peer.log" 2>&1 &
erlang=$!
pids+=("$erlang")
wait_for "$work/peer.log" "listening on $port" 60
measure erlang "127.0.0.1:$port" "$erlang"

# The kernel floor: a bare epoll loop with one send() a block a client (tools/floor.cpp), same load.
if [ -x "$bin/matchstream-floor" ] && [ -z "${MS_BENCH_NO_FLOOR:-}" ]; then
  "$bin/matchstream-floor" --listen 127.0.0.1:0 >"$work/floor.log" 2>&1 &
  floor=$!
  pids+=("$floor")
  wait_for "$work/floor.log" "matchstream: listening on " 60
  measure floor "$(sed -n 's/^matchstream: listening on \([^ ]*\).*/\1/p' "$work/floor.log" | head -1)" "$floor"
  kill "$floor"
  wait "$floor" 2>/dev/null || true
  grep "^floor matchstream_cpu" "$work/floor.log" | sed 's/matchstream_cpu/matchstream_cpu_whole_run/' >>"$work/figures" || true
fi

for figure in connect delivery cpu cpu_whole_run memory; do grep " matchstream_$figure " "$work/figures" || true; done
python3 - "$work/figures" <<'PY'
import sys
v = {}
for line in open(sys.argv[1]):
    who, figure, *kv = line.split()
    for item in kv:
        if "=" in item:
            k, x = item.split("=", 1)
            v[(who, figure, k)] = x
def ratio(figure, key, over="erlang"):
    try:
        a, e = float(v[("agner", figure, key)]), float(v[(over, figure, key)])
        print(f"ratio {figure} {key} agner/{over}={a / e:.2f}")
    except (KeyError, ValueError, ZeroDivisionError):
        pass
ratio("matchstream_cpu", "cpu_s_per_million_events")
ratio("matchstream_cpu", "cpu_s_per_million_events", "floor")
try:
    e, f = float(v[("erlang", "matchstream_cpu", "cpu_s_per_million_events")]), float(v[("floor", "matchstream_cpu", "cpu_s_per_million_events")])
    print(f"ratio matchstream_cpu cpu_s_per_million_events floor/erlang={f / e:.2f} (the lowest agner/erlang one send a block a client allows)")
except (KeyError, ValueError, ZeroDivisionError):
    pass
ratio("matchstream_delivery", "p50_ms")
ratio("matchstream_delivery", "p99_ms")
ratio("matchstream_memory", "bytes_per_session")
PY
echo "load average before $load_before, after $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
