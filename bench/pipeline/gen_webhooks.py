#!/usr/bin/env python3
"""Writes the ingest comparison's input: 10 Alertmanager webhooks of 1,000 alerts (wh00.json ..
wh09.json, about 1 MB each, compact JSON) into the directory named by argv[1] (default: .).

The shape of tests/gateway/payloads.h StormWebhook (12 labels, 3 annotations per alert); each
file its own alerts (distinct fingerprints), 10 namespaces, so `stormkv ingest` of all ten files
opens and closes 10 storms. Deterministic: the same bytes on every run.
"""
import json
import os
import sys

if any(a in ("-h", "--help") for a in sys.argv[1:]) or len(sys.argv) > 2 or \
        (len(sys.argv) == 2 and sys.argv[1].startswith("-")):
    print("usage: gen_webhooks.py [OUT_DIR]\n" + __doc__.strip(),
          file=sys.stdout if any(a in ("-h", "--help") for a in sys.argv[1:]) else sys.stderr)
    sys.exit(0 if any(a in ("-h", "--help") for a in sys.argv[1:]) else 2)
out_dir = sys.argv[1] if len(sys.argv) > 1 else "."
os.makedirs(out_dir, exist_ok=True)
for f in range(10):
    alerts = []
    for j in range(1000):
        i = f * 1000 + j
        fp = "%016x" % ((i * 0x9e3779b97f4a7c15) & 0xffffffffffffffff)
        pod = "checkout-7d9f8b6c5d-%d" % (100000 + i)
        ip = "10.244.%d.%d" % (i // 250 % 250, i % 250)
        ns = "shop%d" % (j % 10)
        alerts.append({"status": "firing", "labels": {"alertname": "KubePodCrashLooping", "container": "checkout",
            "endpoint": "http", "instance": ip + ":8080", "job": "kube-state-metrics", "namespace": ns, "pod": pod,
            "prometheus": "monitoring/k8s", "reason": "CrashLoopBackOff", "service": "kube-prometheus-stack-kube-state-metrics",
            "severity": "warning", "uid": "5f0c2c4e-8d7b-4a7e-9c1d-" + fp[:12]},
            "annotations": {"description": "Pod %s/%s (checkout) is in waiting state (reason: \"CrashLoopBackOff\")." % (ns, pod),
              "runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping",
              "summary": "Pod is crash looping."},
            "startsAt": "2024-05-01T11:59:%d.123456789Z" % (10 + i % 50), "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus-k8s-0:9090/graph?g0.expr=max_over_time%28kube_pod_container_status_waiting_reason%7Breason%3D%22CrashLoopBackOff%22%2Cjob%3D%22kube-state-metrics%22%2Cnamespace%3D~%22.%2A%22%7D%5B5m%5D%29+%3E%3D+1&g0.tab=1",
            "fingerprint": fp})
    doc = {"version": "4", "groupKey": "{}/{severity=\"warning\"}:{alertname=\"KubePodCrashLooping\"}", "truncatedAlerts": 0,
           "status": "firing", "receiver": "stormkv", "groupLabels": {"alertname": "KubePodCrashLooping"},
           "commonLabels": {"alertname": "KubePodCrashLooping", "severity": "warning"},
           "commonAnnotations": {"summary": "Pod is crash looping."}, "externalURL": "http://alertmanager-main-0:9093", "alerts": alerts}
    with open(os.path.join(out_dir, "wh%02d.json" % f), "w") as fh:
        fh.write(json.dumps(doc, separators=(",", ":")))
