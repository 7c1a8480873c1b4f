#!/usr/bin/env bash
# tools/test.sh — install what is missing, build (Release, build/), start a private redis-server
# on a free loopback port, run every test with ctest, stop that server by its pid.
#
#   tools/test.sh                   # everything
#   tools/test.sh -L conformance    # one label (any ctest arguments pass through)
#   tools/test.sh --sanitize        # ASan + UBSan build in build-sanitize/
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$STORMKV_ROOT"

build_dir=build
cmake_opts=()
ctest_args=()
for a in "$@"; do
  case "$a" in
    --sanitize) build_dir=build-sanitize; cmake_opts+=(-DSTORMKV_SANITIZE=address,undefined -DSTORMKV_BUILD_BENCHMARKS=OFF) ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) ctest_args+=("$a") ;;
  esac
done

ensure_packages
build_project "$build_dir" "${cmake_opts[@]}"
start_redis
trap stop_redis EXIT

export STORMKV_REQUIRE_REDIS=1
log "running ctest (STORMKV_REDIS_URL=$STORMKV_REDIS_URL)"
set +e
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc 2>/dev/null || echo 2)" "${ctest_args[@]}"
rc=$?
set -e
exit $rc
