#!/usr/bin/env bash
# bench/redis/cluster_compare.sh — one Redis vs a Redis Cluster: ops/s of stormkv's backends
# against redis-benchmark on each, and the bytes the same workload takes on each. One run.
#
#   bench/redis/cluster_compare.sh REDIS_PORT CLUSTER_URL [BUILD_DIR]   # BUILD_DIR default: build
#
# REDIS_PORT: a disposable plain redis-server on 127.0.0.1; CLUSTER_URL: redis-cluster://host:port,...
# of a disposable cluster (tools/lib.sh start_redis_cluster). Needs bin/redis_bench; the bytes part
# needs bin/stormkv (or STORMKV_CLI) and is left out without it.
#  * ops/s: for each of SET GET INCR HSET, in turn, REPEAT rounds (best kept):
#      redis_bench Unpipelined/<CMD> and Pipelined64/<CMD> with STORMKV_REDIS_URL = the server,
#      then = the cluster (the cluster backend, pool of 1 per master);
#      redis-benchmark -c 1 -n N -t <cmd> [-P 64] on the server, and the same with --cluster on
#      the cluster (its first seed). Ratios: cluster backend / redis-benchmark --cluster (issue 13's
#      targets: >= 0.9 unpipelined, >= 0.7 pipelined) and cluster backend / RedisBackend.
#  * alerts/s: pipeline_bench BM_Ingest/backend:2/alerts:100 (the Pipeline end to end, webhooks of 100 alerts) with
#      STORMKV_REDIS_URL = the server, then = the cluster (left out when pipeline_bench is not built);
#  * bytes: stormkv simulate --scenario SCENARIO --json on the server and on the cluster:
#      the key bytes (MEMORY USAGE summed) and used_memory growth (on the cluster: summed over
#      the masters).
# Environment: N (100000), NP (1000000), REPEAT (3), MIN_TIME (1) s per redis_bench case,
# SCENARIO (integration). Prints a Markdown section on stdout. Exit 0, or 1 on a setup error.
set -euo pipefail

port=${1:-}
cluster_url=${2:-}
build_dir=${3:-build}
if ! [[ "$port" =~ ^[0-9]+$ ]] || [[ "$cluster_url" != redis-cluster://* ]]; then
  sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
  exit 1
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
[[ "$build_dir" = /* ]] || build_dir="$root/$build_dir"
bench="$build_dir/bin/redis_bench"
cli=${STORMKV_CLI:-$build_dir/bin/stormkv}  # for the bytes part; skipped when not built
[ -x "$bench" ] || { echo "cluster_compare.sh: $bench not built" >&2; exit 1; }
command -v jq >/dev/null || { echo "cluster_compare.sh: jq not in PATH" >&2; exit 1; }
seed=${cluster_url#redis-cluster://}
seed=${seed%%,*}
seed_host=${seed%:*}
seed_port=${seed##*:}
redis-cli -p "$port" ping >/dev/null 2>&1 || { echo "cluster_compare.sh: nothing on $port" >&2; exit 1; }
redis-cli -h "$seed_host" -p "$seed_port" cluster info 2>/dev/null | grep -q 'cluster_state:ok' ||
  { echo "cluster_compare.sh: $seed is not a healthy cluster node" >&2; exit 1; }
n=${N:-100000}
np=${NP:-1000000}
repeat=${REPEAT:-3}
min_time=${MIN_TIME:-1}
scenario=${SCENARIO:-integration}
url="redis://127.0.0.1:$port/0"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
touch "$tmp/ops"

best() {  # best KEY VALUE: keeps the larger VALUE for KEY
  local cur
  cur=$(awk -v k="$1" '$1 == k {print $2}' "$tmp/ops" | tail -1)
  if [ -z "$cur" ] || awk -v a="$2" -v b="$cur" 'BEGIN {exit !(a > b)}'; then echo "$1 $2" >>"$tmp/ops"; fi
}
get() { awk -v k="$1" '$1 == k {print $2}' "$tmp/ops" | tail -1; }
ours() {  # ours SIDE URL FILTER
  STORMKV_REDIS_URL="$2" "$bench" --benchmark_filter="$3" --benchmark_min_time="$min_time" \
    --benchmark_format=json 2>"$tmp/err" |
    jq -r '.benchmarks[] | "\(.name | sub("/real_time$"; "")) \(.items_per_second)"' |
    while read -r name ops; do echo "$1/$name $ops"; done || { cat "$tmp/err" >&2; exit 1; }
}
theirs() {  # theirs CMD COUNT [args...]: rps of redis-benchmark's CSV row
  local cmd=$1 count=$2; shift 2
  redis-benchmark -c 1 -n "$count" -t "$cmd" "$@" --csv | awk -F'","' 'NR > 1 {print $2}' | tail -1
}

for round in $(seq "$repeat"); do
  for cmd in SET GET INCR HSET; do
    lc=$(echo "$cmd" | tr 'A-Z' 'a-z')
    filter="^(Unpipelined|Pipelined64)/$cmd/"
    while read -r k v; do best "$k" "$v"; done < <(ours redis "$url" "$filter")
    while read -r k v; do best "$k" "$v"; done < <(ours cluster "$cluster_url" "$filter")
    best "rb/c1/$cmd" "$(theirs "$lc" "$n" -p "$port")"
    best "rb/P64/$cmd" "$(theirs "$lc" "$np" -p "$port" -P 64)"
    best "rbc/c1/$cmd" "$(theirs "$lc" "$n" -h "$seed_host" -p "$seed_port" --cluster)"
    best "rbc/P64/$cmd" "$(theirs "$lc" "$np" -h "$seed_host" -p "$seed_port" --cluster -P 64)"
  done
  echo "# round $round of $repeat done" >&2
done

sim() {  # sim URL: key_bytes used_memory_growth
  "$cli" simulate --scenario "$scenario" --backend "$1" --json --no-progress 2>/dev/null |
    jq -r '"\(.key_bytes) \(.used_memory_bytes - .baseline_bytes)"'
}
pipe="$build_dir/bin/pipeline_bench"
alerts() {  # alerts URL: alerts/s of BM_Ingest/backend:2/alerts:100 (the redis case) against URL
  STORMKV_REDIS_URL="$1" "$pipe" --benchmark_filter='^BM_Ingest/backend:2/alerts:100/' --benchmark_min_time="$min_time" \
    --benchmark_format=json 2>/dev/null | jq -r '.benchmarks[0].items_per_second // "-"'
}
redis_alerts=- cluster_alerts=-
if [ -x "$pipe" ]; then
  redis_alerts=$(alerts "$url")
  cluster_alerts=$(alerts "$cluster_url")
fi
redis_keys=- redis_growth=- cluster_keys=- cluster_growth=-
if [ -x "$cli" ]; then
  read -r redis_keys redis_growth < <(sim "$url")
  read -r cluster_keys cluster_growth < <(sim "$cluster_url")
fi
masters=$(redis-cli -h "$seed_host" -p "$seed_port" cluster info | awk -F: '/^cluster_size/ {print $2}' | tr -d '\r')

echo "## Redis Cluster vs one Redis"
echo
echo "One run of \`bench/redis/cluster_compare.sh $port $cluster_url\` (REPEAT=$repeat, best of"
echo "each kept; N=$n, NP=$np, MIN_TIME=$min_time s), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)."
echo "The cluster: $masters masters (+ replicas), every server on this machine. stormkv: redis_bench"
echo "(one connection per master, commands of redis-benchmark -t without -r: one key each);"
echo "redis-benchmark -c 1 [-P 64], on the cluster with --cluster (redis-benchmark 7.0's --cluster -c 1"
echo "-P 64 prints no result: no pipelined reference on the cluster, \"-\" below)."
echo
echo "| cmd | RedisBackend | redis-benchmark | cluster backend | redis-benchmark --cluster | cluster / --cluster | target | cluster / RedisBackend |"
echo "|---|---:|---:|---:|---:|---:|---|---:|"
for mode in c1 P64; do
  for cmd in SET GET INCR HSET; do
    if [ $mode = c1 ]; then key=Unpipelined/$cmd; target=0.9; else key=Pipelined64/$cmd; target=0.7; fi
    awk -v c="$cmd" -v m="$mode" -v t="$target" -v r="$(get "redis/$key")" -v rb="$(get "rb/$mode/$cmd")" \
      -v cl="$(get "cluster/$key")" -v rbc="$(get "rbc/$mode/$cmd")" 'BEGIN {
      s = (r > 0) ? cl / r : 0;
      if (rbc + 0 > 0) {
        q = cl / rbc;
        printf "| %s%s | %.0f | %.0f | %.0f | %.0f | %.2f | >= %s %s | %.2f |\n", c,
          (m == "P64" ? " (-P 64)" : ""), r, rb, cl, rbc, q, t, (q >= t ? "ok" : "MISS"), s
      } else {  # redis-benchmark 7.0 --cluster -c 1 -P 64 prints no result row
        printf "| %s%s | %.0f | %.0f | %.0f | - | - | >= %s n/a | %.2f |\n", c,
          (m == "P64" ? " (-P 64)" : ""), r, rb, cl, t, s
      }
    }'
  done
done
echo
echo "The Pipeline end to end (\`pipeline_bench --benchmark_filter=^BM_Ingest/backend:2/alerts:100/\`, webhooks of 100"
echo "alerts, half of them duplicates): one Redis $(printf '%.0f' "$redis_alerts" 2>/dev/null || echo "$redis_alerts") alerts/s, the"
echo "cluster $(printf '%.0f' "$cluster_alerts" 2>/dev/null || echo "$cluster_alerts") alerts/s."
echo
echo "Bytes: \`stormkv simulate --scenario $scenario --json\` on each (used_memory growth on the"
echo "cluster is summed over its masters; Redis Cluster keeps 16 more bytes per key for its"
echo "slot-to-key index and each master has its own empty-server overhead):"
echo
echo "| | key bytes (MEMORY USAGE) | used_memory growth |"
echo "|---|---:|---:|"
echo "| one Redis | $redis_keys | $redis_growth |"
echo "| cluster ($masters masters) | $cluster_keys | $cluster_growth |"
