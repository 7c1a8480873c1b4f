#!/usr/bin/env python3
"""Markdown table of pipeline_bench's Google Benchmark JSON (tools/bench.sh appends it to RESULTS.md).

usage: report.py PIPELINE_BENCH.json
Rows by the labels the bench sets (backend=…, alerts=…, op=parse); errors are listed, not dropped.
"""
import json
import sys


def labels(b):
    return dict(kv.split("=", 1) for kv in b.get("label", "").split() if "=" in kv)


def main():
    data = json.load(open(sys.argv[1]))
    rows, parse, errors = [], {}, []
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        if b.get("error_occurred"):
            errors.append("%s: %s" % (b["name"], b.get("error_message", "")))
            continue
        lab = labels(b)
        # items_per_second is computed from the time Google Benchmark reports for the case: CPU
        # time for in-process backends, wall time for Redis (UseRealTime).
        ips = b["items_per_second"]
        us = b.get("us_per_alert", 1e6 / ips)
        if lab.get("op") == "parse":
            parse[lab["alerts"]] = (ips, us, b.get("bytes_per_second", 0))
        else:
            rows.append((lab.get("backend", "?"), int(lab.get("alerts", "0")), ips, us))
    out = ["## The gateway pipeline end to end (pipeline_bench)", "",
           "Alertmanager webhook bytes in, decisions and RemediationRequests out (Pipeline::Ingest, "
           "CloseDueStorms every 10 webhooks); every webhook is delivered twice, so half the alerts "
           "are new (storms for 100 and 1,000 alerts) and half duplicates. Memory and shm: CPU time of "
           "the process; Redis: wall time (the server is another process).", "",
           "| backend | alerts per webhook | alerts/s | µs per alert | of which payload parse µs |",
           "|---|---:|---:|---:|---:|"]
    for backend, n, ips, us in sorted(rows, key=lambda r: (["memory", "shm", "redis"].index(r[0])
                                                         if r[0] in ("memory", "shm", "redis") else 9, r[1])):
        p = parse.get(str(n))
        out.append("| %s | %d | %.0f | %.1f | %s |" % (backend, n, ips, us, "%.1f" % p[1] if p else "-"))
    if parse:
        out += ["", "Payload parse alone (ParseAlertmanagerWebhook): " + ", ".join(
            "%s alerts %.1f µs/alert (%.0f MB/s)" % (n, v[1], v[2] / 1e6) for n, v in sorted(parse.items(), key=lambda kv: int(kv[0])))
            + "."]
    if errors:
        out += ["", "Cases that reported an error:"] + ["- " + e for e in errors]
    print("\n".join(out) + "\n")


main()
