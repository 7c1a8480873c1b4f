#!/usr/bin/env bash
# bench/redis/compare.sh — RedisBackend vs redis-benchmark, same commands, same server, one run.
#
#   bench/redis/compare.sh PORT [BUILD_DIR]     # BUILD_DIR default: build (needs bin/redis_bench)
#
# Runs redis_bench (Unpipelined: one Run() per command; Pipelined64: RunBatch of 64) against
# redis://127.0.0.1:PORT/0, then `redis-benchmark -p PORT -c 1 -n N -t set,get,incr,hset,sadd`
# with and without -P 64, and prints ops/s and the ratios against the targets
# (unpipelined >= 0.9, pipelined >= 0.7). Environment: N (default 100000) requests per
# redis-benchmark test, MIN_TIME (default 2) seconds per redis_bench case.
# Exit status: 0 when every ratio meets its target, 3 otherwise, 1 on a usage/setup error.
# The server must be a disposable one: the commands write key:__rand_int__, counter:__rand_int__,
# myhash and myset.
set -euo pipefail

port=${1:-}
build_dir=${2:-build}
[[ "$port" =~ ^[0-9]+$ ]] || { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 1; }
root=$(cd "$(dirname "$0")/../.." && pwd)
[[ "$build_dir" = /* ]] || build_dir="$root/$build_dir"
bench="$build_dir/bin/redis_bench"
[ -x "$bench" ] || { echo "compare.sh: $bench not built (cmake --build $build_dir --target redis_bench)" >&2; exit 1; }
command -v redis-benchmark >/dev/null || { echo "compare.sh: redis-benchmark not in PATH (redis-tools)" >&2; exit 1; }
command -v jq >/dev/null || { echo "compare.sh: jq not in PATH" >&2; exit 1; }
redis-cli -p "$port" ping >/dev/null 2>&1 || { echo "compare.sh: nothing answers PING on 127.0.0.1:$port" >&2; exit 1; }
n=${N:-100000}
min_time=${MIN_TIME:-2}
tests=set,get,incr,hset,sadd
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "# redis_bench --benchmark_min_time=$min_time   (STORMKV_REDIS_URL=redis://127.0.0.1:$port/0)"
STORMKV_REDIS_URL="redis://127.0.0.1:$port/0" "$bench" --benchmark_min_time="$min_time" \
  --benchmark_format=json >"$tmp/ours.json" 2>"$tmp/ours.err" || { cat "$tmp/ours.err" >&2; exit 1; }
echo "# redis-benchmark -p $port -c 1 -n $n -t $tests --csv"
redis-benchmark -p "$port" -c 1 -n "$n" -t "$tests" --csv >"$tmp/rb1.csv"
echo "# redis-benchmark -p $port -c 1 -n $n -t $tests -P 64 --csv"
redis-benchmark -p "$port" -c 1 -n "$n" -t "$tests" -P 64 --csv >"$tmp/rb64.csv"

ours() { jq -r --arg n "$1" '.benchmarks[] | select(.name | startswith($n)) | .items_per_second' "$tmp/ours.json" | head -1; }
theirs() { awk -F'","' -v t="$2" '{gsub(/"/,"",$1)} $1==t {print $2}' "$1" | head -1; }

missed=0
printf '\n%-6s %16s %16s %7s %7s   %16s %16s %7s %7s\n' cmd "stormkv c1" "redis-bench c1" ratio target \
  "stormkv P64" "redis-bench P64" ratio target
for cmd in SET GET INCR HSET SADD; do
  u=$(ours "Unpipelined/$cmd"); p=$(ours "Pipelined64/$cmd")
  r1=$(theirs "$tmp/rb1.csv" "$cmd"); r64=$(theirs "$tmp/rb64.csv" "$cmd")
  line=$(awk -v u="$u" -v p="$p" -v a="$r1" -v b="$r64" -v c="$cmd" 'BEGIN {
    ru = (a > 0) ? u / a : 0; rp = (b > 0) ? p / b : 0;
    printf "%-6s %16.0f %16.0f %7.2f %7s   %16.0f %16.0f %7.2f %7s", c, u, a, ru, (ru >= 0.9 ? ">=0.9 ok" : "MISS"),
      p, b, rp, (rp >= 0.7 ? ">=0.7 ok" : "MISS") }')
  echo "$line"
  [[ "$line" == *MISS* ]] && missed=1
done
[ "$missed" -eq 0 ] || { echo "compare.sh: some ratios are below target" >&2; exit 3; }
