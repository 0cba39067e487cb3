#!/usr/bin/env bash
# Throughput of `fanzha route` and `fanzha consume` on Redis Streams, release build: routes a
# synthetic stream (examples/spark/gen_events.py: shop chat and payments with the bundled
# stateful rules' scripts woven in, many events in several partitions) into PARTITIONS
# partitions and times 1, 2 and 4 workers to completion, each run from a fresh route. Each
# run's `fanzha collect` is checked against `fanzha scan` byte for byte.
#
#   benches/redis.sh [EVENTS] [PARTITIONS]      # defaults: 200000 events, 8 partitions
#   WORKERS="1 2" benches/redis.sh 50000        # other worker counts
#
# Needs redis-server and python3. Starts its own server on a free localhost port (no
# persistence) and stops it at the end. A benchmark, not a test: figures vary with the machine
# and its load.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${1:-200000}
PARTITIONS=${2:-8}
WORKERS=${WORKERS:-"1 2 4"}

command -v redis-server >/dev/null || { echo "redis-server is needed (apt-get install -y redis-server)"; exit 1; }
cargo build --release --quiet
BIN=target/release/fanzha
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" >"$dir/redis.log" 2>&1 &
server=$!
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
url="redis://127.0.0.1:$port"
for _ in $(seq 100); do
  redis-cli -p "$port" ping >/dev/null 2>&1 && break
  sleep 0.1
done

now() { date +%s.%N; }
rate() { python3 -c "import sys; print(f'{int(sys.argv[1]) / (float(sys.argv[3]) - float(sys.argv[2])):,.0f}')" "$@"; }
secs() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$@"; }

python3 examples/spark/gen_events.py --events "$EVENTS" --seed 7 >"$dir/events.jsonl"
lines=$(wc -l <"$dir/events.jsonl")
t0=$(now)
"$BIN" scan "$dir/events.jsonl" >"$dir/scan.jsonl"
t1=$(now)
echo "machine: $(nproc) cores; $lines lines; redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')"
echo "fanzha scan (one process, all cores): $(secs "$t0" "$t1") s, $(rate "$lines" "$t0" "$t1") lines/s"
echo
echo "| workers | route, s | consume, s | consume, lines/s | route + consume, lines/s |"
echo "|---|---|---|---|---|"
for w in $WORKERS; do
  t0=$(now)
  "$BIN" route --redis "$url" --partitions "$PARTITIONS" --reset "$dir/events.jsonl" 2>"$dir/route.log"
  t1=$(now)
  pids=()
  for i in $(seq "$w"); do
    "$BIN" consume --redis "$url" --name "w$i" --exit-when-done 2>"$dir/w$i.log" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  pids=()
  t2=$(now)
  "$BIN" collect --redis "$url" >"$dir/collect.jsonl"
  cmp -s "$dir/scan.jsonl" "$dir/collect.jsonl" || { echo "collect differs from scan with $w workers"; exit 1; }
  echo "| $w | $(secs "$t0" "$t1") | $(secs "$t1" "$t2") | $(rate "$lines" "$t1" "$t2") | $(rate "$lines" "$t0" "$t2") |"
done
