#!/usr/bin/env bash
# tools/bench.sh — the benchmarks, published in one command: installs what is missing, builds
# Release into build-bench/, starts a private redis-server, runs every bench executable and
# redis-benchmark against that same server, and writes RESULTS.md plus SVG charts.
#
#   tools/bench.sh             # full run (under 10 min on 2 cores): writes bench/RESULTS.md, bench/*.svg
#   tools/bench.sh --quick     # short run (under 2 min; one 0.05 s run per case instead of 3 of
#                              # 0.5 s, fewer redis-benchmark requests): writes build-bench/results/
#   tools/bench.sh --out DIR   # write RESULTS.md and the charts into DIR instead
#   tools/bench.sh --wait-idle # first wait (up to 15 min) until the 1-min load average < nproc/4
#
# Raw outputs (Google Benchmark JSON, redis-benchmark CSV, stderr logs) stay in
# build-bench/results/raw/. A bench executable that does not exist yet, fails to run, or reports
# errors is named as such in RESULTS.md; nothing is silently left out.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$STORMKV_ROOT"

quick=0
wait_idle=0
out_dir=
args=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out_dir=$2; shift ;;
    --wait-idle) wait_idle=1 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see tools/bench.sh --help)" ;;
  esac
  shift
done

build_dir=build-bench
results=$build_dir/results
raw=$results/raw
if [ -z "$out_dir" ]; then
  if [ $quick -eq 1 ]; then out_dir=$results; else out_dir=bench; fi
fi

# bench executable -> its source directory.
benches=(kv_bench redis_bench scripts_bench memory_entities_bench)  # + pipeline_bench, below
declare -A bench_dir=([kv_bench]=bench/kv [redis_bench]=bench/redis [scripts_bench]=bench/scripts
  [memory_entities_bench]=bench/memory_entities)

# Arguments of the timing benches. Full: 3 repetitions of 0.5 s per case, reported as medians
# (with their coefficient of variation); redis_bench and redis-benchmark instead alternate in 5
# rounds (medians). Quick: one 0.05 s run per case, one round. memory_entities_bench measures
# bytes in one fixed iteration per case and takes no timing arguments.
declare -A bench_args
if [ $quick -eq 1 ]; then
  timing="--benchmark_min_time=0.05"
  bench_args[redis_bench]=$timing
  rb_n=10000 rb_np=100000 rounds=1
else
  timing="--benchmark_min_time=0.5 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true"
  bench_args[redis_bench]="--benchmark_min_time=0.5"
  rb_n=50000 rb_np=500000 rounds=5
fi
for b in kv_bench scripts_bench; do bench_args[$b]=$timing; done
bench_args[memory_entities_bench]=""

load1() { cut -d' ' -f1 /proc/loadavg; }
busy() { awk -v l="$(load1)" -v n="$(nproc)" -v f="$1" 'BEGIN { exit !(l > n * f) }'; }

ensure_packages gnuplot-nox
build_project "$build_dir" -DSTORMKV_BUILD_TESTS=OFF -DSTORMKV_BUILD_TOOLS=OFF
[ -x "$build_dir/bin/bench_report" ] || die "bench_report was not built (bench/report/)"

rm -rf "$raw"
mkdir -p "$raw" "$out_dir"

start_redis
trap 'stop_redis_cluster; stop_redis' EXIT
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }

# Pin redis-server to CPU 0 and every Redis client to CPU 1. Unpinned, the scheduler sometimes
# puts client and server on one CPU (no cross-CPU wake-up: 3-4x the round trips per second on
# this kind of VM) and sometimes not, which makes one-client comparisons meaningless.
# kv_bench (in-process, 1 and 2 threads) stays unpinned.
client=()
pinning="none (fewer than 2 CPUs or no taskset)"
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  taskset -a -p -c 0 "$REDIS_PID" >/dev/null || die "taskset failed on redis-server"
  client=(taskset -c 1)
  pinning="redis-server on CPU 0; redis-benchmark, redis_bench, scripts_bench, memory_entities_bench on CPU 1; kv_bench unpinned"
fi

if [ $wait_idle -eq 1 ] && busy 0.25; then
  log "waiting for the machine to be idle (load average $(load1) on $(nproc) CPUs)"
  for _ in $(seq 90); do busy 0.25 || break; sleep 10; done
fi
load_before=$(load1)
if busy 0.5; then
  log "WARNING: load average $load_before on $(nproc) CPUs: the machine is busy, numbers will be low"
fi
started=$(date +%s)

report_args=()
missing() {  # missing NAME REASON
  log "$1: $2"
  report_args+=(--missing "$1=$2")
}

run_bench() {  # run_bench NAME [ROUND]: output in raw/NAME[-ROUND].json
  local name=$1 bin=$build_dir/bin/$1 rc=0 out=$1${2:+-$2}
  if [ ! -x "$bin" ]; then
    if [ -f "${bench_dir[$name]}/CMakeLists.txt" ]; then
      missing "$name" "${bench_dir[$name]}/ exists but $bin was not built"
    else
      missing "$name" "not written yet: no ${bench_dir[$name]}/CMakeLists.txt"
    fi
    return 0
  fi
  rcli flushall >/dev/null
  log "running $name${2:+ (round $2)}"
  # shellcheck disable=SC2086  # bench_args entries are word lists
  local pin=("${client[@]}")
  [ "$name" != kv_bench ] || pin=()
  "${pin[@]}" "$bin" --benchmark_format=json ${bench_args[$name]:-} \
    >"$raw/$out.json" 2>"$raw/$out.stderr" || rc=$?
  if [ $rc -ne 0 ]; then
    missing "$name" "exited with status $rc: $(tail -n 1 "$raw/$out.stderr" | tr -d '`|')"
    return 0
  fi
  local errors
  errors=$(grep -c '"error_occurred": true' "$raw/$out.json" || true)
  [ "$errors" -eq 0 ] || log "$name: $errors case(s) reported an error (listed in RESULTS.md)"
  report_args+=(--bench "$name=$raw/$out.json")
}

run_redis_benchmark() {  # run_redis_benchmark LABEL ROUND N [extra args]
  local label=$1 round=$2 n=$3; shift 3
  local cmd=(redis-benchmark -p "$REDIS_PORT" -c 1 -n "$n" "$@" -t set,get,incr,hset,sadd --csv)
  local out=$raw/redis-benchmark-$label-$round
  rcli flushall >/dev/null
  log "running ${cmd[*]}"
  if "${client[@]}" "${cmd[@]}" >"$out.csv" 2>"$out.stderr"; then
    report_args+=(--redis-benchmark "$label=$out.csv")
  else
    log "redis-benchmark ($label) failed: $(tail -n 1 "$out.stderr")"
  fi
  [ "$round" -ne 1 ] || echo "rb_${label}_cmd=redis-benchmark -c 1 -n $n${*:+ $*} \
-t set,get,incr,hset,sadd --csv" >>"$raw/meta.txt"
}

: >"$raw/meta.txt"
run_bench memory_entities_bench
run_bench kv_bench
# RedisBackend vs redis-benchmark: interleaved rounds, so both sides see the same conditions;
# the report takes the median of the rounds on each side.
for round in $(seq "$rounds"); do
  run_redis_benchmark plain "$round" "$rb_n"
  run_redis_benchmark pipelined "$round" "$rb_np" -P 64
  run_bench redis_bench "$round"
done
echo "rounds=$rounds" >>"$raw/meta.txt"
run_bench scripts_bench
# The gateway pipeline end to end (its own section of RESULTS.md, written by bench/pipeline/report.py).
pipeline_md=$raw/pipeline.md
if [ -x "$build_dir/bin/pipeline_bench" ]; then
  rcli flushall >/dev/null
  log "running pipeline_bench"
  # shellcheck disable=SC2086  # timing is a word list
  if "${client[@]}" "$build_dir/bin/pipeline_bench" --benchmark_format=json $timing \
      >"$raw/pipeline_bench.json" 2>"$raw/pipeline_bench.stderr"; then
    python3 bench/pipeline/report.py "$raw/pipeline_bench.json" >"$pipeline_md"
  else
    printf '## The gateway pipeline end to end (pipeline_bench)\n\nFailed: %s\n' \
      "$(tail -n 1 "$raw/pipeline_bench.stderr")" >"$pipeline_md"
  fi
else
  printf '## The gateway pipeline end to end (pipeline_bench)\n\nNot built.\n' >"$pipeline_md"
fi

finished=$(date +%s)
load_after=$(load1)

# used_memory of the empty server, after the benches (scripts loaded), read on a fresh connection.
rcli flushall >/dev/null
sleep 0.5
used_empty=$(rcli info memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }')

cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build_dir/CMakeCache.txt")
{
  echo "command=tools/bench.sh${args[*]:+ ${args[*]}}"
  echo "mode=$([ $quick -eq 1 ] && echo quick || echo full)"
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "duration_s=$((finished - started))"
  echo "load_before=$load_before"
  echo "load_after=$load_after"
  echo "nproc=$(nproc)"
  echo "cpu_model=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "ram=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "kernel=$(uname -sr)"
  echo "gxx=$("${cxx:-g++}" --version | head -n 1)"
  echo "redis_server=$(redis-server --version | sed -E 's/.*v=([^ ]+).*malloc=([^ ]+).*/\1 (\2)/')"
  echo "hiredis=$(pkg-config --modversion hiredis 2>/dev/null || echo unknown)"
  echo "benchmark=$(dpkg-query -W -f='${Version}' libbenchmark-dev 2>/dev/null || echo unknown)"
  echo "stormkv=$(git describe --always --dirty --tags 2>/dev/null || echo unknown)"
  echo "build_dir=$build_dir"
  echo "pinning=$pinning"
  echo "redis_maxmemory=$(rcli config get maxmemory | tail -n 1)"
  echo "redis_maxmemory_policy=$(rcli config get maxmemory-policy | tail -n 1)"
  echo "redis_used_memory_empty=$used_empty"
} >>"$raw/meta.txt"

charts=$("$build_dir/bin/bench_report" --out "$out_dir/RESULTS.md" --data-dir "$raw" \
  --meta "$raw/meta.txt" "${report_args[@]}") || die "bench_report failed"
{ echo; cat "$pipeline_md"; } >>"$out_dir/RESULTS.md"
drawn=()
for c in storm_scaling bytes_per_storm ops_per_second; do
  ncols=$(awk -v c="$c" '$1 == c { print $2 }' <<<"$charts")
  if [ -n "$ncols" ]; then
    gnuplot -e "data='$raw/$c.dat'; out='$out_dir/$c.svg'; ncols=$ncols" "bench/report/$c.gp" \
      2> >(grep -v 'Skipping data file with no valid points' >&2) || die "gnuplot failed on $c"
    drawn+=("$out_dir/$c.svg")
  else
    rm -f "$out_dir/$c.svg"
  fi
done

# redis-benchmark against `stormkv serve` beside redis-server (own servers, own table).
if [ $quick -eq 1 ]; then
  bash tools/bench_serve.sh --quick "$out_dir/serve.md" >/dev/null || log "bench_serve failed"
else
  bash tools/bench_serve.sh "$out_dir/serve.md" >/dev/null || log "bench_serve failed"
fi

# One Redis vs a Redis Cluster (3 masters + 3 replicas, started here, stopped by pid at exit):
# bench/redis/cluster_compare.sh's section goes at the end of RESULTS.md.
start_redis_cluster
if [ $quick -eq 1 ]; then cc_env=(REPEAT=1 N=20000 NP=200000 MIN_TIME=0.3); else cc_env=(REPEAT=3); fi
[ -x build/bin/stormkv ] && cc_env+=(STORMKV_CLI="$STORMKV_ROOT/build/bin/stormkv")  # bytes part
if env "${cc_env[@]}" bash bench/redis/cluster_compare.sh "$REDIS_PORT" "$STORMKV_REDIS_CLUSTER_URL" \
    "$build_dir" >"$out_dir/cluster.md" 2>"$raw/cluster_compare.stderr"; then
  { echo; cat "$out_dir/cluster.md"; } >>"$out_dir/RESULTS.md"
else
  log "cluster_compare failed: $(tail -n 1 "$raw/cluster_compare.stderr")"
fi
stop_redis_cluster

elapsed=$(($(date +%s) - started))
limit=$([ $quick -eq 1 ] && echo 120 || echo 600)
log "benches took ${elapsed}s (limit ${limit}s); load average before/after: $load_before/$load_after"
[ "$elapsed" -le "$limit" ] || log "WARNING: over the ${limit}s budget"
log "wrote $out_dir/RESULTS.md ${drawn[*]}"
