#!/usr/bin/env bash
# tools/bench_serve.sh — redis-benchmark against `stormkv serve` beside redis-server 7.0, on the
# same machine in interleaved rounds: SET GET INCR HSET SADD, with -c 1 and with -c 50 -P 16.
# Prints a Markdown table (requests/s and p99 latency, medians of the rounds; ratio = serve /
# redis-server) and writes it to OUT (default build-bench/results/serve.md).
#
#   tools/bench_serve.sh [--quick] [OUT]     # needs build-bench/bin/stormkv or build/bin/stormkv
#
# Pinning: each server on CPU 0, redis-benchmark on CPU 1 (when there are 2 CPUs and taskset).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$STORMKV_ROOT"
quick=0 out=build-bench/results/serve.md
for a in "$@"; do
  case "$a" in
    --quick) quick=1 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) out=$a ;;
  esac
done
bin=""
for b in build-bench/bin/stormkv build/bin/stormkv; do [ -x "$b" ] && { bin=$b; break; }; done
[ -n "$bin" ] || die "no stormkv binary: build first (tools/bench.sh or tools/test.sh)"
command -v redis-benchmark >/dev/null || die "redis-benchmark missing (package redis-tools)"
mkdir -p "$(dirname "$out")"
n1=100000 np=1000000 rounds=3
[ "$quick" = 1 ] && n1=10000 np=100000 rounds=1

work=$(mktemp -d /tmp/stormkv-bench-serve.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
pin_server=() pin_client=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  pin_server=(taskset -c 0) pin_client=(taskset -c 1)
fi
rport=$(free_port)
"${pin_server[@]}" redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$work" --logfile "$work/redis.log" &
pids+=($!)
"${pin_server[@]}" "$bin" serve --port 0 --port-file "$work/sport" >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  [ -s "$work/sport" ] && redis-cli -p "$rport" ping >/dev/null 2>&1 && break
  sleep 0.05
done
sport=$(cat "$work/sport")

run() {  # run PORT LABEL ROUND ARGS...
  local port=$1 label=$2 round=$3; shift 3
  redis-cli -p "$port" flushall >/dev/null
  "${pin_client[@]}" redis-benchmark -p "$port" -t set,get,incr,hset,sadd --csv "$@" \
    >"$work/$label-$round.csv" 2>/dev/null
}
for round in $(seq "$rounds"); do
  for side in redis serve; do
    port=$rport; [ "$side" = serve ] && port=$sport
    run "$port" "$side-c1" "$round" -c 1 -n "$n1"
    run "$port" "$side-c50P16" "$round" -c 50 -P 16 -n "$np"
  done
done
python3 - "$work" "$rounds" "$out" <<'PY'
import csv, statistics, sys, os
work, rounds, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def load(label):
    rows = {}
    for r in range(1, rounds + 1):
        with open(os.path.join(work, "%s-%d.csv" % (label, r))) as f:
            for row in csv.DictReader(f):
                rows.setdefault(row["test"], []).append((float(row["rps"]), float(row["p99_latency_ms"])))
    return {t: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for t, v in rows.items()}
lines = ["| command | clients | redis-server req/s | serve req/s | ratio | redis p99 ms | serve p99 ms |",
         "|---|---|---:|---:|---:|---:|---:|"]
for mode, desc in (("c1", "-c 1"), ("c50P16", "-c 50 -P 16")):
    r, s = load("redis-" + mode), load("serve-" + mode)
    for t in r:
        if t not in s:
            continue
        lines.append("| %s | %s | %.0f | %.0f | %.2f | %.3f | %.3f |" % (
            t.split()[0], desc, r[t][0], s[t][0], s[t][0] / r[t][0], r[t][1], s[t][1]))
text = "\n".join(lines) + "\n\nMedians of %d interleaved round(s).\n" % rounds
open(out, "w").write(text)
print(text)
PY
