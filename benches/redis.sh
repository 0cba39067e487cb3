#!/usr/bin/env bash
# Throughput of `fanzha route` and `fanzha consume` on Redis Streams, release build, on one
# Redis server and on a 3-shard Redis Cluster: routes a synthetic stream
# (examples/spark/gen_events.py: shop chat and payments with the bundled stateful rules'
# scripts woven in, about half the events keyed into two partitions) into PARTITIONS
# partitions and times 1, 2 and 4 workers to completion, each run from a fresh route, beside
# `fanzha scan --threads 1` and `--threads 2` on the same file. Every run's `fanzha collect` is
# checked against `fanzha scan` byte for byte. Prints medians of RUNS runs, Redis's CPU per
# input line (INFO cpu, summed over the shards, before and after), and a model of what N
# machines and M shards reach from these figures.
#
#   benches/redis.sh [EVENTS] [PARTITIONS]      # defaults: 1000000 events, 8 partitions
#   WORKERS="1 2" MODES=single RUNS=1 benches/redis.sh 50000
#
# Needs redis-server, redis-cli and python3. Starts its own servers on free localhost ports
# (no persistence) and stops them at the end. A benchmark, not a test: figures vary with the
# machine and its load.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${1:-1000000}
PARTITIONS=${2:-8}
WORKERS=${WORKERS:-"1 2 4"}
MODES=${MODES:-"single cluster"}
RUNS=${RUNS:-3}

command -v redis-server >/dev/null || { echo "redis-server is needed (apt-get install -y redis-server)"; exit 1; }
cargo build --release --quiet
BIN=target/release/fanzha
dir=$(mktemp -d)
servers=()
pids=()
cleanup() {
  for p in "${pids[@]}" "${servers[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${servers[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

free_port() {
  # A port free both for clients and, 10000 above, for a cluster's bus.
  python3 - <<'PY'
import random, socket
while True:
    p = random.randint(20000, 50000)
    try:
        for q in (p, p + 10000):
            s = socket.socket(); s.bind(("127.0.0.1", q)); s.close()
        print(p); break
    except OSError:
        pass
PY
}
wait_ping() { for _ in $(seq 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && return; sleep 0.1; done; echo "redis on $1 did not start"; exit 1; }
# Redis CPU seconds (user + sys) summed over the given ports.
redis_cpu() {
  local t=0
  for p in "$@"; do
    t=$(redis-cli -p "$p" info cpu | python3 -c "import sys; d=dict(l.strip().split(':',1) for l in sys.stdin if ':' in l); print(float(d['used_cpu_user'])+float(d['used_cpu_sys'])+$t)")
  done
  echo "$t"
}
now() { date +%s.%N; }
median() { python3 -c "import statistics, sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }

python3 examples/spark/gen_events.py --events "$EVENTS" --seed 7 >"$dir/events.jsonl"
lines=$(wc -l <"$dir/events.jsonl")
echo "machine: $(nproc) cores; $lines lines, $PARTITIONS partitions; redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'); median of $RUNS runs"
"$BIN" scan "$dir/events.jsonl" >"$dir/scan.jsonl"
for threads in 1 2; do
  times=()
  for _ in $(seq "$RUNS"); do
    t0=$(now); "$BIN" scan --threads "$threads" "$dir/events.jsonl" >/dev/null; t1=$(now)
    times+=("$(python3 -c "print($t1 - $t0)")")
  done
  s=$(median "${times[@]}")
  echo "fanzha scan --threads $threads: $(printf %.2f "$s") s, $(python3 -c "print(f'{$lines / $s:,.0f}')") lines/s"
  echo "scan$threads $s" >>"$dir/figures"
done
echo
echo "| Redis | workers | route, lines/s | consume, lines/s | route + consume, lines/s | Redis CPU per line, µs (route + consume) |"
echo "|---|---|---|---|---|---|"

for mode in $MODES; do
  ports=()
  if [ "$mode" = single ]; then
    p=$(free_port)
    redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" >"$dir/redis-$p.log" 2>&1 &
    servers+=($!); ports+=("$p"); wait_ping "$p"
  else
    for i in 1 2 3; do
      p=$(free_port)
      mkdir -p "$dir/n$p"
      redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir/n$p" \
        --cluster-enabled yes --cluster-config-file nodes.conf >"$dir/redis-$p.log" 2>&1 &
      servers+=($!); ports+=("$p"); wait_ping "$p"
    done
    redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1
    for _ in $(seq 100); do
      redis-cli -p "${ports[0]}" cluster info | grep -q cluster_state:ok && break
      sleep 0.1
    done
  fi
  url="redis://127.0.0.1:${ports[0]}"
  for w in $WORKERS; do
    routes=(); consumes=(); cpus=()
    for _ in $(seq "$RUNS"); do
      c0=$(redis_cpu "${ports[@]}")
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
      c1=$(redis_cpu "${ports[@]}")
      "$BIN" collect --redis "$url" >"$dir/collect.jsonl"
      cmp -s "$dir/scan.jsonl" "$dir/collect.jsonl" || { echo "collect differs from scan ($mode, $w workers)"; exit 1; }
      routes+=("$(python3 -c "print($t1 - $t0)")")
      consumes+=("$(python3 -c "print($t2 - $t1)")")
      cpus+=("$(python3 -c "print($c1 - $c0)")")
    done
    r=$(median "${routes[@]}"); c=$(median "${consumes[@]}"); u=$(median "${cpus[@]}")
    echo "$mode $w $r $c $u" >>"$dir/figures"
    python3 -c "
l, r, c, u = $lines, $r, $c, $u
name = {'single': 'one server', 'cluster': '3 shards'}['$mode']
print(f'| {name} | $w | {l / r:,.0f} | {l / c:,.0f} | {l / (r + c):,.0f} | {u / l * 1e6:.2f} |')"
  done
  for p in "${servers[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  servers=()
done

# The model: the router is one process (the median of its runs); a machine's workers reach what the best worker count
# reached here; each shard is one Redis thread, and the partitions spread evenly over shards.
python3 - "$dir/figures" "$lines" "$(nproc)" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
lines, cores = int(sys.argv[2]), int(sys.argv[3])
runs = [r for r in rows if r[0] in ("single", "cluster")]
if not runs:
    sys.exit()
route = lines / statistics.median(float(r[2]) for r in runs)
machine = max(lines / float(r[3]) for r in runs)
redis_us = min(float(r[4]) for r in runs) / lines * 1e6
print()
print(f"Model: router {route:,.0f} lines/s (one process); one {cores}-core machine of workers {machine:,.0f} lines/s;")
print(f"Redis {redis_us:.2f} µs of CPU per line over all shards, so one shard saturates at {1e6 / redis_us:,.0f} lines/s.")
print("Lines/s that N worker machines and M shards reach, min(router, N x machine, M x shard):")
print()
shards = [1, 3, 6, 12]
print("| machines | " + " | ".join(f"{m} shard{'s' if m > 1 else ''}" for m in shards) + " |")
print("|---|" + "---|" * len(shards))
for n in [1, 2, 4, 8, 16, 32]:
    cells = []
    for m in shards:
        v = min(route, n * machine, m * 1e6 / redis_us)
        bound = "router" if v == route else ("workers" if v == n * machine else "Redis")
        cells.append(f"{v:,.0f} ({bound})")
    print(f"| {n} | " + " | ".join(cells) + " |")
PY
