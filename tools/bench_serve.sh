#!/usr/bin/env bash
# tools/bench_serve.sh — redis-benchmark against `stormkv serve` beside redis-server 7.0, on the
# same machine in interleaved rounds: SET GET INCR HSET SADD, with -c 1 and with -c 50 -P 16, each
# command on both servers one right after the other (redis-server first in odd rounds, serve first
# in even ones, so neither always takes the second turn). Prints a Markdown table (requests/s and p99
# latency, medians of the rounds; ratio = serve / redis-server; each server's CPU per request and
# redis-benchmark's CPU share, which tell a cell bound by the load generator), then holds 10,000 idle
# connections on each server (redis-benchmark -I) and reports connected_clients, the RSS they
# cost and PING requests/s meanwhile; writes both to OUT (default build-bench/results/serve.md).
#
#   tools/bench_serve.sh [--quick] [--rounds N] [--no-idle] [--bin PATH] [--hold FILE] [OUT]
#
# --hold FILE: create FILE while each round (and the idle measurement) runs and remove it between
# them and on exit, for a machine whose other jobs pause while such a file exists (a round of the
# full run takes about 2 minutes).
#
# Needs build-bench/bin/stormkv or build/bin/stormkv (--bin: another stormkv binary, e.g. an
# older build to compare). The full run (3 rounds, idle connections) takes about 10 minutes on 2
# loaded cores; --rounds 1 --no-idle (the same request counts, one round) about 2.
#
# Pinning: each server on CPU 0, redis-benchmark on CPU 1 (when there are 2 CPUs and taskset).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$STORMKV_ROOT"
quick=0 out=build-bench/results/serve.md rounds_arg="" no_idle=0 bin="" hold=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --rounds) rounds_arg=${2:?--rounds needs a number}; shift ;;
    --no-idle) no_idle=1 ;;
    --bin) bin=${2:?--bin needs a path}; shift ;;
    --hold) hold=${2:?--hold needs a file}; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) out=$1 ;;
  esac
  shift
done
if [ -z "$bin" ]; then
  for b in build-bench/bin/stormkv build/bin/stormkv; do [ -x "$b" ] && { bin=$b; break; }; done
fi
[ -n "$bin" ] && [ -x "$bin" ] || die "no stormkv binary: build first (tools/bench.sh or tools/test.sh)"
command -v redis-benchmark >/dev/null || die "redis-benchmark missing (package redis-tools)"
mkdir -p "$(dirname "$out")"
n1=100000 np=1000000 rounds=3
[ "$quick" = 1 ] && n1=10000 np=100000 rounds=1
if [ -n "$rounds_arg" ]; then
  [[ "$rounds_arg" =~ ^[1-9][0-9]*$ ]] || die "--rounds: expected a positive number, got '$rounds_arg'"
  rounds=$rounds_arg
fi

work=$(mktemp -d /tmp/stormkv-bench-serve.XXXXXX)
pids=()
held_file=0
hold_on() {  # waits while someone else holds the file
  [ -n "$hold" ] || return 0
  while [ -e "$hold" ]; do sleep 2; done
  touch "$hold"
  held_file=1
}
hold_off() { [ "$held_file" = 0 ] || { rm -f "$hold"; held_file=0; }; }
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  hold_off
  # Wait for the servers to exit first: redis-server logs its shutdown into $work.
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work" || true
}
trap cleanup EXIT
pin_server=() pin_client=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  pin_server=(taskset -c 0) pin_client=(taskset -c 1)
fi
# 10,000 idle clients need descriptors in each process: the server and redis-benchmark.
idle_n=10000
[ "$no_idle" = 1 ] && idle_n=0
[ "$idle_n" = 0 ] || ulimit -n $((idle_n + 300)) 2>/dev/null || idle_n=0
rport=$(free_port)
"${pin_server[@]}" redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
  --maxclients $((idle_n + 100)) --dir "$work" --logfile "$work/redis.log" &
pids+=($!)
redis_pid=$!
"${pin_server[@]}" "$bin" serve --port 0 --port-file "$work/sport" --maxclients $((idle_n + 100)) \
  >"$work/serve.log" 2>&1 &
pids+=($!)
serve_pid=$!
ready=0
for _ in $(seq 600); do  # up to 30 s on a loaded machine
  [ -s "$work/sport" ] && redis-cli -p "$rport" ping >/dev/null 2>&1 && { ready=1; break; }
  sleep 0.05
done
[ "$ready" = 1 ] || die "servers did not start: $(tail -n 2 "$work/serve.log" "$work/redis.log" 2>/dev/null)"
sport=$(cat "$work/sport")

# One command at a time, redis-server then serve, so that the two numbers of a ratio are measured
# seconds apart (a shared machine's load changes within a minute). Each server sees the sequence
# redis-benchmark -t set,get,incr,hset,sadd would give it: FLUSHALL, then SET before GET.
# Beside each run's CSV row, $work/LABEL-ROUND.cpu gets a line "TEST REQUESTS SERVER_TICKS
# CLIENT_CPU_S WALL_S": the server process's CPU (utime+stime, clock ticks) over the run, and
# redis-benchmark's user+sys and wall time. A client near 100% of its core is the bottleneck: its
# cells then measure redis-benchmark, and the servers' CPU per request is the comparison left.
proc_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run() {  # run PORT LABEL ROUND TEST ARGS...
  local port=$1 label=$2 round=$3 test=$4; shift 4
  local pid=$serve_pid requests=0 a t1 times cu cs wall
  [ "$port" = "$rport" ] && pid=$redis_pid
  local args=("$@") i
  for ((i = 0; i + 1 < ${#args[@]}; i++)); do [ "${args[i]}" = -n ] && requests=${args[i + 1]}; done
  [ "$test" = set ] && redis-cli -p "$port" flushall >/dev/null
  a=$(proc_ticks "$pid")
  times=$( { TIMEFORMAT='%3U %3S %3R'
             time "${pin_client[@]}" redis-benchmark -p "$port" -t "$test" --csv "$@" \
               >"$work/last.csv" 2>/dev/null; } 2>&1 )
  t1=$(proc_ticks "$pid")
  { if [ "$test" = set ]; then cat; else tail -n +2; fi; } <"$work/last.csv" >>"$work/$label-$round.csv"
  read -r cu cs wall <<<"$times"
  echo "${test^^} $requests $((t1 - a)) $(awk -v u="$cu" -v s="$cs" 'BEGIN {print u + s}') $wall" \
    >>"$work/$label-$round.cpu"
}
for round in $(seq "$rounds"); do
  [ "$round" = 1 ] || { [ -z "$hold" ] || sleep 20; }  # let the paused jobs run between rounds
  hold_on
  for mode in c1 c50P16; do
    args=(-c 1 -n "$n1"); [ "$mode" = c50P16 ] && args=(-c 50 -P 16 -n "$np")
    for test in set get incr hset sadd; do
      if [ $((round % 2)) = 1 ]; then
        run "$rport" "redis-$mode" "$round" "$test" "${args[@]}"
        run "$sport" "serve-$mode" "$round" "$test" "${args[@]}"
      else
        run "$sport" "serve-$mode" "$round" "$test" "${args[@]}"
        run "$rport" "redis-$mode" "$round" "$test" "${args[@]}"
      fi
    done
  done
  hold_off
done
# Idle connections: hold idle_n of them, then measure what they cost and whether the server still
# answers at its usual rate.
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
idle() {  # idle PORT PID LABEL
  local port=$1 pid=$2 label=$3 before after held bpid
  redis-cli -p "$port" flushall >/dev/null
  before=$(rss_kb "$pid")
  "${pin_client[@]}" redis-benchmark -p "$port" -c "$idle_n" -I >/dev/null 2>&1 &
  bpid=$!
  held=0
  for _ in $(seq 600); do  # up to 60 s to connect them all
    held=$(redis-cli -p "$port" info clients | awk -F: '/^connected_clients/ {print $2+0}')
    [ "$held" -gt "$idle_n" ] && break
    sleep 0.1
  done
  after=$(rss_kb "$pid")
  "${pin_client[@]}" redis-benchmark -p "$port" -t ping -c 1 -n "$n1" --csv 2>/dev/null |
    awk -F'"' 'NR == 2 {print $4}' >"$work/idle-$label.rps"
  echo "$label $held $before $after $(cat "$work/idle-$label.rps")" >>"$work/idle.txt"
  kill "$bpid" 2>/dev/null || true
  wait "$bpid" 2>/dev/null || true
}
: >"$work/idle.txt"
if [ "$idle_n" -gt 0 ]; then
  hold_on
  idle "$rport" "$redis_pid" redis-server
  idle "$sport" "$serve_pid" serve
  hold_off
fi
python3 - "$work" "$rounds" "$out" "$idle_n" <<'PY'
import csv, statistics, sys, os
work, rounds, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def load(label):
    rows = {}
    for r in range(1, rounds + 1):
        with open(os.path.join(work, "%s-%d.csv" % (label, r))) as f:
            for row in csv.DictReader(f):
                rows.setdefault(row["test"], []).append((float(row["rps"]), float(row["p99_latency_ms"])))
    return {t: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for t, v in rows.items()}
tick = os.sysconf("SC_CLK_TCK")
def load_cpu(label):
    # test -> (server CPU µs per request, client CPU share of its wall time), medians of rounds
    rows = {}
    for r in range(1, rounds + 1):
        for line in open(os.path.join(work, "%s-%d.cpu" % (label, r))):
            test, n, ticks, client_s, wall = line.split()
            rows.setdefault(test, []).append((int(ticks) * 1e6 / tick / max(1, int(n)),
                                              float(client_s) / max(1e-9, float(wall))))
    return {t: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for t, v in rows.items()}
lines = ["| command | clients | redis-server req/s | serve req/s | ratio | redis p99 ms | serve p99 ms "
         "| server CPU µs/req redis / serve | client CPU % redis / serve |",
         "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
client_bound = False
for mode, desc in (("c1", "-c 1"), ("c50P16", "-c 50 -P 16")):
    r, s = load("redis-" + mode), load("serve-" + mode)
    rc, sc = load_cpu("redis-" + mode), load_cpu("serve-" + mode)
    for t in r:
        if t not in s:
            continue
        name = t.split()[0]
        cpu = rc.get(name), sc.get(name)
        cells = ("%.2f / %.2f" % (cpu[0][0], cpu[1][0]), "%.0f / %.0f" % (100 * cpu[0][1], 100 * cpu[1][1])) \
            if None not in cpu else ("?", "?")
        if None not in cpu and mode != "c1" and min(cpu[0][1], cpu[1][1]) >= 0.9:
            client_bound = True
        lines.append("| %s | %s | %.0f | %.0f | %.2f | %.3f | %.3f | %s | %s |" % (
            name, desc, r[t][0], s[t][0], s[t][0] / r[t][0], r[t][1], s[t][1], cells[0], cells[1]))
text = "\n".join(lines) + "\n\nMedians of %d interleaved round(s).\n" % rounds
text += ("Server CPU: the server process's user+sys time over the run / requests. Client CPU: "
         "redis-benchmark's user+sys / wall time (its own core).\n")
if client_bound:
    text += ("Pipelined, redis-benchmark used >= 90% of its core against both servers: those cells are "
             "bound by the load generator, and their ratios measure it; compare the servers' CPU per "
             "request there.\n")
idle_n = int(sys.argv[4])
if idle_n == 0:
    text += "\nIdle connections: not measured (--no-idle, or RLIMIT_NOFILE could not be raised).\n"
else:
    text += ("\n| %d idle connections | connected_clients | RSS before MiB | RSS after MiB | bytes per connection "
             "| PING req/s meanwhile (-c 1) |\n|---|---:|---:|---:|---:|---:|\n") % idle_n
    for line in open(os.path.join(work, "idle.txt")):
        label, held, before, after, rps = line.split()
        text += "| %s | %s | %.1f | %.1f | %.0f | %s |\n" % (
            label, held, int(before) / 1024, int(after) / 1024,
            (int(after) - int(before)) * 1024 / max(1, int(held) - 1), rps)
open(out, "w").write(text)
print(text)
PY
