# tools/lib.sh — shared by tools/demo.sh, tools/test.sh and tools/bench.sh. Source it; do not run it.
# Installs what is missing (Debian 12, as root), configures and builds, starts/stops a private
# redis-server.

STORMKV_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Debian packages the build, tests and benches need.
STORMKV_PACKAGES=(cmake g++ make pkg-config ca-certificates
  libhiredis-dev libcereal-dev libboost-dev libssl-dev nlohmann-json3-dev libcli11-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev redis-server redis-tools
  liblua5.1-0-dev lua-cjson-dev lua-bitop-dev libsimdjson-dev python3-redis)
# Extra packages of the sanitizer and fuzzing builds (tools/test.sh --sanitize/--tsan/--ci):
# libclang-rt-14-dev holds the ASan/UBSan/TSan and libFuzzer runtimes (only a Recommends of clang);
# llvm-14 holds llvm-symbolizer, for file:line in sanitizer reports.
STORMKV_SANITIZER_PACKAGES=(clang libclang-rt-14-dev llvm-14)

log() { printf '[stormkv] %s\n' "$*" >&2; }
die() { printf '[stormkv] error: %s\n' "$*" >&2; exit 1; }

# ensure_packages [extra packages...]: installs only the packages that are missing.
ensure_packages() {
  local missing=() p
  for p in "${STORMKV_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing missing packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    die "not root: install these packages first: apt-get install ${missing[*]}"
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || die "apt-get install failed"
}

# build_project BUILD_DIR [cmake -D options...] [-- targets...]: Release build (a later
# -DCMAKE_BUILD_TYPE wins); binaries in BUILD_DIR/bin. Builds all targets unless some are named.
build_project() {
  local dir=$1; shift
  local jobs opts=() targets=()
  while [ $# -gt 0 ]; do
    if [ "$1" = -- ]; then shift; targets=("$@"); break; fi
    opts+=("$1"); shift
  done
  jobs=$(nproc 2>/dev/null || echo 2)
  log "configuring $dir"
  cmake -S "$STORMKV_ROOT" -B "$STORMKV_ROOT/$dir" -DCMAKE_BUILD_TYPE=Release "${opts[@]}" >/dev/null \
    || die "cmake configure failed (rerun: cmake -S . -B $dir)"
  log "building $dir with $jobs jobs${targets:+ (targets: ${targets[*]})}"
  local rc=0 buildlog="$STORMKV_ROOT/$dir/build.log"
  cmake --build "$STORMKV_ROOT/$dir" -j "$jobs" ${targets:+--target "${targets[@]}"} \
    >"$buildlog" 2>&1 || rc=$?
  # show warnings and errors, not the progress lines
  grep -vE '^\[ *[0-9]+%\]|^(gmake|make)\[[0-9]+\]: (Entering|Leaving)' "$buildlog" >&2 || true
  [ "$rc" -eq 0 ] || die "build failed (exit $rc); full log: $dir/build.log"
}

# free_port: a loopback TCP port nobody listens on (random in 20000-39999).
free_port() {
  local p i
  for i in $(seq 100); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "$p"; return 0; fi
  done
  die "no free loopback port found"
}

# start_redis [extra redis-server args...]: a private redis-server on a free loopback port, in a
# temporary directory. Sets REDIS_PORT, REDIS_PID, REDIS_DIR, STORMKV_REDIS_URL.
start_redis() {
  local bin attempt
  bin=$(command -v redis-server) || die "redis-server not found"
  REDIS_DIR=$(mktemp -d /tmp/stormkv-redis.XXXXXX)
  for attempt in 1 2 3 4 5; do
    REDIS_PORT=$(free_port)
    "$bin" --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
      --dir "$REDIS_DIR" --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" \
      --maxmemory 256mb --maxmemory-policy noeviction --enable-debug-command local "$@" || continue
    local i
    for i in $(seq 100); do
      if [ -s "$REDIS_DIR/redis.pid" ] && redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
        REDIS_PID=$(cat "$REDIS_DIR/redis.pid")
        export STORMKV_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
        log "redis-server $("$bin" --version | awk '{print $3}') pid $REDIS_PID on 127.0.0.1:$REDIS_PORT"
        return 0
      fi
      sleep 0.05
    done
    [ -s "$REDIS_DIR/redis.pid" ] && kill "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null
  done
  cat "$REDIS_DIR/redis.log" >&2 2>/dev/null
  die "could not start redis-server"
}

# stop_redis: stops the server started by start_redis, by its pid, and removes its directory.
stop_redis() {
  if [ -n "${REDIS_PID:-}" ]; then
    kill "$REDIS_PID" 2>/dev/null || true
    local i
    for i in $(seq 100); do kill -0 "$REDIS_PID" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$REDIS_PID" 2>/dev/null || true
    log "stopped redis-server pid $REDIS_PID"
    REDIS_PID=
  fi
  [ -n "${REDIS_DIR:-}" ] && rm -rf "$REDIS_DIR"
  REDIS_DIR=
}

# --- Redis Cluster (3 masters + 3 replicas) -------------------------------------------------------
# Settings of every cluster node: no persistence, a 256 MB noeviction budget per node, failover
# detection within about a second, replicas that sync at once (diskless, no delay).
STORMKV_CLUSTER_NODE_ARGS=(--bind 127.0.0.1 --save '' --appendonly no --daemonize yes
  --maxmemory 256mb --maxmemory-policy noeviction --enable-debug-command local
  --cluster-enabled yes --cluster-node-timeout 1000 --repl-diskless-sync yes
  --repl-diskless-sync-delay 0 --cluster-require-full-coverage yes)
CLUSTER_PORTS=() CLUSTER_PIDS=() CLUSTER_DIRS=()

# free_cluster_port: a free loopback port p (20000-29999) whose cluster bus port p+10000 is free too,
# and that is not in CLUSTER_PORTS yet.
free_cluster_port() {
  local p i q taken
  for i in $(seq 200); do
    p=$((20000 + RANDOM % 10000))
    taken=0
    for q in "${CLUSTER_PORTS[@]}"; do [ "$q" = "$p" ] && taken=1; done
    [ "$taken" -eq 1 ] && continue
    (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && continue
    (exec 3<>/dev/tcp/127.0.0.1/$((p + 10000))) 2>/dev/null && continue
    echo "$p"; return 0
  done
  die "no free loopback port pair (p, p+10000) found"
}

# cluster_field PORT SECTION FIELD: one field of INFO SECTION (or CLUSTER INFO for SECTION=cluster).
cluster_field() {
  local cmd=(info "$2")
  [ "$2" = cluster ] && cmd=(cluster info)
  redis-cli -p "$1" "${cmd[@]}" 2>/dev/null | tr -d '\r' | sed -n "s/^$3://p"
}

# start_redis_cluster: six redis-servers in cluster mode on free loopback ports (each in its own
# temporary directory), joined by `redis-cli --cluster create --cluster-replicas 1` into 3 masters
# + 3 replicas, and waited for (bounded, 60 s) until every node reports cluster_state:ok, knows all
# six nodes and sees all 16384 slots, and every replica's link to its master is up. Sets
# CLUSTER_PORTS, CLUSTER_PIDS, CLUSTER_DIRS (arrays, node i = index i) and exports
#   STORMKV_REDIS_CLUSTER_URL    redis-cluster://127.0.0.1:p1,...,127.0.0.1:p6
#   STORMKV_REDIS_CLUSTER_NODES  127.0.0.1:port:pid:dir,... (one entry per node; tests that break
#                                nodes start their own private cluster instead of using these)
# Stop with stop_redis_cluster (also on failure: set the trap before calling).
start_redis_cluster() {
  local bin i d start_ms
  bin=$(command -v redis-server) || die "redis-server not found"
  command -v redis-cli >/dev/null || die "redis-cli not found (Debian package redis-tools)"
  start_ms=$(date +%s%3N)
  CLUSTER_PORTS=() CLUSTER_PIDS=() CLUSTER_DIRS=()
  for i in 0 1 2 3 4 5; do
    local port started=0 attempt
    d=$(mktemp -d /tmp/stormkv-cluster.XXXXXX)
    CLUSTER_DIRS+=("$d")
    for attempt in 1 2 3 4 5; do
      port=$(free_cluster_port)
      "$bin" --port "$port" --dir "$d" --pidfile "$d/redis.pid" --logfile "$d/redis.log" \
        --cluster-config-file "$d/nodes.conf" "${STORMKV_CLUSTER_NODE_ARGS[@]}" || continue
      local j
      for j in $(seq 100); do
        if [ -s "$d/redis.pid" ] && redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then
          started=1; break
        fi
        sleep 0.05
      done
      [ "$started" -eq 1 ] && break
      [ -s "$d/redis.pid" ] && kill "$(cat "$d/redis.pid")" 2>/dev/null
      rm -f "$d/redis.pid" "$d/nodes.conf"
    done
    if [ "$started" -ne 1 ]; then
      cat "$d/redis.log" >&2 2>/dev/null
      die "could not start cluster node $((i + 1)) of 6"
    fi
    CLUSTER_PORTS+=("$port")
    CLUSTER_PIDS+=("$(cat "$d/redis.pid")")
  done
  local addrs=() p
  for p in "${CLUSTER_PORTS[@]}"; do addrs+=("127.0.0.1:$p"); done
  local out
  out=$(redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes 2>&1) || {
    printf '%s\n' "$out" >&2
    die "redis-cli --cluster create failed"
  }
  # Ready when every node agrees: state ok, six known nodes, all slots assigned, and each
  # replica's replication link up (a replica that is still syncing answers reads late).
  local deadline=$((SECONDS + 60)) ready=0
  while [ "$SECONDS" -lt "$deadline" ]; do
    ready=1
    for p in "${CLUSTER_PORTS[@]}"; do
      [ "$(cluster_field "$p" cluster cluster_state)" = ok ] || { ready=0; break; }
      [ "$(cluster_field "$p" cluster cluster_known_nodes)" = 6 ] || { ready=0; break; }
      [ "$(cluster_field "$p" cluster cluster_slots_ok)" = 16384 ] || { ready=0; break; }
      if [ "$(cluster_field "$p" replication role)" = slave ]; then
        [ "$(cluster_field "$p" replication master_link_status)" = up ] || { ready=0; break; }
      fi
    done
    [ "$ready" -eq 1 ] && break
    sleep 0.05
  done
  if [ "$ready" -ne 1 ]; then
    for p in "${CLUSTER_PORTS[@]}"; do redis-cli -p "$p" cluster info 2>&1 | head -3 >&2; done
    die "the Redis Cluster did not become ready in 60 s"
  fi
  local masters=0
  for p in "${CLUSTER_PORTS[@]}"; do
    [ "$(cluster_field "$p" replication role)" = master ] && masters=$((masters + 1))
  done
  [ "$masters" -eq 3 ] || die "the Redis Cluster has $masters masters, expected 3"
  local url nodes=() k
  url=redis-cluster://$(IFS=,; echo "${addrs[*]}")
  for k in 0 1 2 3 4 5; do
    nodes+=("127.0.0.1:${CLUSTER_PORTS[$k]}:${CLUSTER_PIDS[$k]}:${CLUSTER_DIRS[$k]}")
  done
  export STORMKV_REDIS_CLUSTER_URL=$url
  export STORMKV_REDIS_CLUSTER_NODES=$(IFS=,; echo "${nodes[*]}")
  log "redis cluster (3 masters + 3 replicas) ready in $(( $(date +%s%3N) - start_ms )) ms:" \
    "ports ${CLUSTER_PORTS[*]}, pids ${CLUSTER_PIDS[*]}"
}

# stop_redis_cluster: stops the nodes started by start_redis_cluster, by their pids (SIGTERM, then
# SIGKILL after 5 s), and removes their directories.
stop_redis_cluster() {
  local pid d i alive
  for pid in "${CLUSTER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for i in $(seq 100); do
    alive=0
    for pid in "${CLUSTER_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && break
    sleep 0.05
  done
  for pid in "${CLUSTER_PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  [ ${#CLUSTER_PIDS[@]} -gt 0 ] && log "stopped redis cluster pids ${CLUSTER_PIDS[*]}"
  for d in "${CLUSTER_DIRS[@]}"; do rm -rf "$d"; done
  CLUSTER_PIDS=() CLUSTER_DIRS=() CLUSTER_PORTS=()
}
