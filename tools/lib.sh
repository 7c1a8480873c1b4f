# tools/lib.sh — shared by tools/demo.sh, tools/test.sh and tools/bench.sh. Source it; do not run it.
# Installs what is missing (Debian 12, as root), configures and builds, starts/stops a private
# redis-server.

STORMKV_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Debian packages the build, tests and benches need.
STORMKV_PACKAGES=(cmake g++ make pkg-config ca-certificates
  libhiredis-dev libcereal-dev libboost-dev libssl-dev nlohmann-json3-dev libcli11-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev redis-server redis-tools)
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
