#!/usr/bin/env bash
# bench/redis/compare.sh — RedisBackend vs redis-benchmark, same commands, same server, one run.
#
#   bench/redis/compare.sh PORT [BUILD_DIR]     # BUILD_DIR default: build (needs bin/redis_bench)
#
# For each of SET GET INCR HSET SADD, in turn (so both sides see the same machine load):
#   redis_bench Unpipelined/<CMD> (one Run() per command) and Pipelined64/<CMD> (RunBatch of 64)
#   against redis://127.0.0.1:PORT/0, then
#   redis-benchmark -p PORT -c 1 -n N -t <cmd>  and  redis-benchmark -p PORT -c 1 -n NP -t <cmd> -P 64.
# Repeated REPEAT times; the best figure of each side is kept. Prints ops/s and the ratios against
# the targets (unpipelined >= 0.9, pipelined >= 0.7), then redis_bench's extra cases.
# Environment: N (default 100000), NP (default 1000000: -P 64 finishes 100000 in ~0.2 s),
# REPEAT (default 3), MIN_TIME (default 2) seconds per redis_bench case.
# Exit status: 0 when every ratio meets its target, 3 otherwise, 1 on a usage/setup error.
# The server must be a disposable one: the commands write key:__rand_int__, counter:__rand_int__,
# myhash, myset and script:counter.
set -euo pipefail

port=${1:-}
build_dir=${2:-build}
[[ "$port" =~ ^[0-9]+$ ]] || { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 1; }
root=$(cd "$(dirname "$0")/../.." && pwd)
[[ "$build_dir" = /* ]] || build_dir="$root/$build_dir"
bench="$build_dir/bin/redis_bench"
[ -x "$bench" ] || { echo "compare.sh: $bench not built (cmake --build $build_dir --target redis_bench)" >&2; exit 1; }
command -v redis-benchmark >/dev/null || { echo "compare.sh: redis-benchmark not in PATH (redis-tools)" >&2; exit 1; }
command -v jq >/dev/null || { echo "compare.sh: jq not in PATH" >&2; exit 1; }
redis-cli -p "$port" ping >/dev/null 2>&1 || { echo "compare.sh: nothing answers PING on 127.0.0.1:$port" >&2; exit 1; }
n=${N:-100000}
np=${NP:-1000000}
repeat=${REPEAT:-3}
min_time=${MIN_TIME:-2}
url="redis://127.0.0.1:$port/0"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
touch "$tmp/ours" "$tmp/theirs"

# best FILE KEY VALUE: keeps the larger VALUE for KEY in FILE.
best() {
  local cur
  cur=$(awk -v k="$2" '$1 == k {print $2}' "$1" | tail -1)
  if [ -z "$cur" ] || awk -v a="$3" -v b="$cur" 'BEGIN {exit !(a > b)}'; then echo "$2 $3" >>"$1"; fi
}
ours_run() {  # ours_run FILTER: appends "name ops/s" lines for the matching redis_bench cases
  STORMKV_REDIS_URL="$url" "$bench" --benchmark_filter="$1" --benchmark_min_time="$min_time" \
    --benchmark_format=json 2>"$tmp/err" | jq -r '.benchmarks[] | "\(.name | sub("/real_time$"; "")) \(.items_per_second)"' \
    || { cat "$tmp/err" >&2; exit 1; }
}
theirs_run() {  # theirs_run CMD N [-P 64]: prints the rps of redis-benchmark's CSV row
  local cmd=$1 count=$2; shift 2
  redis-benchmark -p "$port" -c 1 -n "$count" -t "$cmd" "$@" --csv | awk -F'","' 'NR > 1 {print $2}' | tail -1
}

echo "# server redis://127.0.0.1:$port/0, $repeat rounds, best of each kept"
echo "# ours:   STORMKV_REDIS_URL=$url $bench --benchmark_filter='^(Unpipelined|Pipelined64)/<CMD>/' --benchmark_min_time=$min_time"
echo "# theirs: redis-benchmark -p $port -c 1 -n $n -t <cmd>   and   redis-benchmark -p $port -c 1 -n $np -t <cmd> -P 64"
for round in $(seq "$repeat"); do
  for cmd in SET GET INCR HSET SADD; do
    lc=$(echo "$cmd" | tr 'A-Z' 'a-z')
    while read -r name ops; do best "$tmp/ours" "$name" "$ops"; done < <(ours_run "^(Unpipelined|Pipelined64)/$cmd/")
    best "$tmp/theirs" "c1/$cmd" "$(theirs_run "$lc" "$n")"
    best "$tmp/theirs" "P64/$cmd" "$(theirs_run "$lc" "$np" -P 64)"
  done
  echo "# round $round done" >&2
done
while read -r name ops; do best "$tmp/ours" "$name" "$ops"; done < <(ours_run '^(Unpipelined/SETEX|Pipelined64/SETEX|Script/INCR_PEXPIRE)/')

get() { awk -v k="$2" '$1 == k {print $2}' "$1" | tail -1; }
missed=0
printf '\n%-6s %14s %16s %6s %9s   %14s %16s %6s %9s\n' cmd "stormkv c1" "redis-bench c1" ratio target \
  "stormkv P64" "redis-bench P64" ratio target
for cmd in SET GET INCR HSET SADD; do
  line=$(awk -v u="$(get "$tmp/ours" "Unpipelined/$cmd")" -v p="$(get "$tmp/ours" "Pipelined64/$cmd")" \
    -v a="$(get "$tmp/theirs" "c1/$cmd")" -v b="$(get "$tmp/theirs" "P64/$cmd")" -v c="$cmd" 'BEGIN {
    ru = (a > 0) ? u / a : 0; rp = (b > 0) ? p / b : 0;
    printf "%-6s %14.0f %16.0f %6.2f %9s   %14.0f %16.0f %6.2f %9s", c, u, a, ru, (ru >= 0.9 ? ">=0.9 ok" : "MISS"),
      p, b, rp, (rp >= 0.7 ? ">=0.7 ok" : "MISS") }')
  echo "$line"
  [[ "$line" == *MISS* ]] && missed=1
done
for extra in Unpipelined/SETEX Pipelined64/SETEX Script/INCR_PEXPIRE; do
  printf '%-22s %12.0f ops/s (no redis-benchmark counterpart)\n' "$extra" "$(get "$tmp/ours" "$extra")"
done
[ "$missed" -eq 0 ] || { echo "compare.sh: some ratios are below target" >&2; exit 3; }
