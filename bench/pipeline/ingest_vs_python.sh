#!/usr/bin/env bash
# bench/pipeline/ingest_vs_python.sh — issue 18's ingest target: `stormkv ingest` CPU on 10
# webhooks of 1,000 alerts vs Python's json.loads CPU on the same files (ratio; target < 0.5).
#
#   bench/pipeline/ingest_vs_python.sh [STORMKV_BINARY] [--reps N]
#
# STORMKV_BINARY defaults to build/bin/stormkv (a Release build: tools/lib.sh build_project).
# Details in ingest_vs_python.py. Needs a quiet machine (HELPERS.md: the QUIET protocol).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=$root/build/bin/stormkv
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then bin=$1; shift; fi
[ -x "$bin" ] || { echo "ingest_vs_python: $bin is not built" >&2; exit 1; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
exec python3 "$here/ingest_vs_python.py" "$bin" "$@"
