#!/usr/bin/env bash
# tools/demo.sh — install what is missing, build (Release, build/), and run the main job,
# `stormkv simulate`, on the embedded backend: how much Redis memory does the integration
# workload need, per storage layout, against a 256 MB budget?
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$STORMKV_ROOT"
ensure_packages
build_project build -DSTORMKV_BUILD_TESTS=OFF -DSTORMKV_BUILD_BENCHMARKS=OFF
log "running: build/bin/stormkv simulate --scenario integration --compare-layouts --budget 256mb"
exec build/bin/stormkv simulate --scenario integration --compare-layouts --budget 256mb "$@"
