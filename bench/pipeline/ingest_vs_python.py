#!/usr/bin/env python3
"""Issue 18's ingest target, measured: CPU of `stormkv ingest` on 10 webhooks of 1,000 alerts
versus the CPU Python's json module needs merely to parse the same files.

  bench/pipeline/ingest_vs_python.py STORMKV_BINARY [--reps N] [--dir DIR]

Generates the files (gen_webhooks.py) into DIR (default: a temporary directory), then, N times
each (default 7), alternating:
  * python: json.loads of every file's bytes (read before the clock starts), time.process_time
    around the loads only, in this process (interpreter start and file reads excluded);
  * stormkv: `stormkv ingest --no-rate-limit --now 2024-05-01T12:00:00Z DIR/wh*.json` with its
    stdout to /dev/null, CPU = user + sys of the child (os.wait4), process start included.
Prints the best (minimum) and the median of each, and ratio = stormkv / python on the best
values and on the medians. The target is ratio < 0.5.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("stormkv")
ap.add_argument("--reps", type=int, default=7)
ap.add_argument("--dir")
args = ap.parse_args()

tmp = None
if args.dir:
    data_dir = args.dir
else:
    tmp = tempfile.TemporaryDirectory(prefix="stormkv-ingest-bench-")
    data_dir = tmp.name
subprocess.run([sys.executable, os.path.join(here, "gen_webhooks.py"), data_dir], check=True)
files = sorted(os.path.join(data_dir, f) for f in os.listdir(data_dir)
               if f.startswith("wh") and f.endswith(".json"))
blobs = []
for f in files:
    with open(f, "rb") as fh:
        blobs.append(fh.read())
cmd = [args.stormkv, "ingest", "--no-rate-limit", "--now", "2024-05-01T12:00:00Z"] + files


def python_ms():
    t0 = time.process_time()
    for b in blobs:
        json.loads(b)
    return (time.process_time() - t0) * 1000


def stormkv_ms():
    with open(os.devnull, "wb") as null:
        p = subprocess.Popen(cmd, stdout=null, stderr=subprocess.PIPE)
        err = p.stderr.read()
        _, status, ru = os.wait4(p.pid, 0)
    if status != 0:
        sys.exit("stormkv ingest failed (%d): %s" % (status, err.decode(errors="replace")))
    return (ru.ru_utime + ru.ru_stime) * 1000, err.decode(errors="replace").strip()


py, sk = [], []
summary = ""
for _ in range(args.reps):
    py.append(python_ms())
    ms, summary = stormkv_ms()
    sk.append(ms)
alerts = 1000 * len(files)
mb = sum(len(b) for b in blobs) / 1e6
print("input: %d files, %d alerts, %.1f MB (%s)" % (len(files), alerts, mb, data_dir))
print("stormkv: %s" % summary)
print("python json.loads CPU ms: best %.1f median %.1f (%s)" %
      (min(py), statistics.median(py), " ".join("%.1f" % v for v in py)))
print("stormkv ingest CPU ms:    best %.1f median %.1f (%s)" %
      (min(sk), statistics.median(sk), " ".join("%.0f" % v for v in sk)))
print("stormkv per alert: best %.1f us, median %.1f us" %
      (min(sk) * 1000 / alerts, statistics.median(sk) * 1000 / alerts))
print("ratio stormkv/python: best %.2f median %.2f (target < 0.5)" %
      (min(sk) / min(py), statistics.median(sk) / statistics.median(py)))
