#!/usr/bin/env python3
"""Writes the seed corpora under tests/fuzz/corpus/<target>/ (run from anywhere; idempotent).

Seeds are small, valid and near-valid inputs of each target, so the fuzzers start from the
shapes the code accepts. The files are committed; rerun only to change them.
"""
import json
import os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def alert(name="HighMemoryUsage", ns="production", kind="pod", res="api-0", status="firing",
          extra=None, annotations=None, starts="2024-05-01T11:59:00Z", ends="0001-01-01T00:00:00Z"):
    labels = {"alertname": name, "severity": "critical"}
    if ns is not None:
        labels["namespace"] = ns
    if kind:
        labels[kind] = res
    labels.update(extra or {})
    a = {"status": status, "labels": labels,
         "annotations": annotations if annotations is not None else {"summary": "memory high"},
         "startsAt": starts, "endsAt": ends, "generatorURL": "http://prometheus:9090/graph",
         "fingerprint": "a1b2c3d4e5f60718"}
    return a


def webhook(alerts, status="firing", version="4"):
    return json.dumps({"version": version, "groupKey": "{}:{alertname=\"A\"}", "truncatedAlerts": 0,
                       "status": status, "receiver": "stormkv", "groupLabels": {},
                       "commonLabels": {}, "commonAnnotations": {},
                       "externalURL": "http://alertmanager:9093", "alerts": alerts},
                      separators=(",", ":"))


AM = {
    "minimal": json.dumps({"alerts": [{"labels": {"alertname": "A"}}]}),
    "one_pod": webhook([alert()]),
    "kinds": webhook([alert(kind=k, res="r-" + k) for k in
                      ["pod", "deployment", "statefulset", "daemonset", "node", "service"]]),
    "resolved": webhook([alert(status="resolved", ends="2024-05-01T12:00:00Z")], status="resolved"),
    "cluster_scoped": webhook([alert(ns=None, kind="node", res="worker-1")]),
    "no_resource": webhook([alert(kind=None)]),
    "storm": webhook([alert(name="PodCrashLooping", res="api-%d" % i) for i in range(8)]),
    "timestamps": webhook([alert(starts="2024-05-01T12:00:00.123456789+02:00"),
                           alert(starts="2024-02-29T23:59:59.9Z", res="b"),
                           alert(starts="1969-12-31T23:59:59Z", res="c")]),
    "unicode": webhook([alert(ns="prod-ü", res="pod-\u00e9\u4e2d", extra={"team": "\u2603"},
                              annotations={"description": "line1\nline2\t\"quoted\" \\ \u0001"})]),
    "hostile_labels": webhook([alert(ns="a:{b}*?[c]", res="x}:{y\n%", extra={"k:{": "v*}"})]),
    "bad_json": '{"alerts":[{"labels":{"alertname":"A"}}',
    "bad_version": webhook([alert()], version="3"),
    "bad_status": webhook([alert(status="pending")]),
    "bad_time": webhook([alert(starts="yesterday")]),
    "labels_array": json.dumps({"alerts": [{"labels": ["alertname", "A"]}]}),
    "label_number": json.dumps({"alerts": [{"labels": {"alertname": "A", "x": 1}}]}),
    "empty_alerts": json.dumps({"alerts": []}),
    "deep": "[" * 40 + "]" * 40,
}
for k, v in AM.items():
    write("alertmanager", k, v)


def core_event(reason="BackOff", ns="production", kind="Pod", name="api-0", etype="Warning"):
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name + ".17cb", "namespace": ns, "uid": "1234-abcd",
                         "labels": {"app": "api"}, "annotations": {"note": "x"},
                         "creationTimestamp": "2024-05-01T11:58:00Z"},
            "involvedObject": {"kind": kind, "name": name, "namespace": ns},
            "reason": reason, "message": "Back-off restarting failed container", "type": etype,
            "count": 5, "firstTimestamp": "2024-05-01T11:59:00Z",
            "lastTimestamp": "2024-05-01T12:00:00Z",
            "source": {"component": "kubelet", "host": "worker-1"}}


def v1_event(reason="FailedScheduling", ns="batch", kind="Pod", name="job-1", etype="Warning"):
    return {"apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": name + ".18ab", "namespace": ns},
            "regarding": {"kind": kind, "name": name, "namespace": ns},
            "reason": reason, "note": "0/3 nodes are available", "type": etype,
            "series": {"count": 3, "lastObservedTime": "2024-05-01T12:00:00.000000Z"},
            "eventTime": "2024-05-01T11:59:00.000000Z", "reportingController": "scheduler",
            "reportingInstance": "scheduler-1", "deprecatedCount": 2}


K8S = {
    "core": json.dumps(core_event()),
    "events_v1": json.dumps(v1_event()),
    "normal": json.dumps(core_event(etype="Normal", reason="Pulled")),
    "watch": json.dumps({"type": "ADDED", "object": core_event()}),
    "list": json.dumps({"kind": "EventList", "apiVersion": "v1",
                        "items": [core_event(name="a"), v1_event(name="b"),
                                  core_event(etype="Normal", name="c")]}),
    "node": json.dumps(core_event(kind="Node", name="worker-3", ns="")),
    "hostile": json.dumps(core_event(reason="Back:{Off}*", ns="ns\n{x}", name="p?[0]")),
    "missing_object": json.dumps({"apiVersion": "v1", "reason": "X", "type": "Warning"}),
    "bad_count": json.dumps(dict(core_event(), count="many")),
    "bad_json": '{"involvedObject":{"kind":"Pod"',
    "not_object": "[1,2,3]",
}
for k, v in K8S.items():
    write("k8s_event", k, v)

# stored_record: first byte picks the record kind (stored_record_fuzz.cc: % 7).
META = {"alert_count": 3, "first_seen": 1714564790000, "last_seen": 1714564799000, "overflow": 0,
        "pattern": "pattern", "resources": ["Pod/api-0", "Pod/api-1"]}
CRD = {"apiVersion": "remediation.kubernaut.ai/v1alpha1", "kind": "RemediationRequest",
       "metadata": {"name": "rr-cccccccccccccccc"},
       "spec": {"signalFingerprint": "c" * 64, "stormType": "rate", "stormAlertCount": 2,
                "stormOverflowCount": 0, "affectedResources": ["Pod/api-0"], "isStorm": True,
                "deduplication": {"firstSeen": 1714564790000, "lastSeen": 1714564799000,
                                  "occurrenceCount": 2},
                "signalLabels": {"alertname": "PodCrashLooping"}}}
REC = {
    "meta_valid": b"\x00" + json.dumps(META, separators=(",", ":")).encode(),
    "meta_empty_object_list": b"\x00" + json.dumps(dict(META, resources={})).encode(),
    "meta_floats": b"\x00" + json.dumps(dict(META, alert_count=2.5, overflow=1e300)).encode(),
    "meta_old": b"\x00" + json.dumps(dict(META, first_seen=0, last_seen=0)).encode(),
    "meta_not_json": b"\x00{not json",
    "crd_valid": b"\x01" + json.dumps(CRD, separators=(",", ":")).encode(),
    "crd_spec_array": b"\x01" + json.dumps({"spec": []}).encode(),
    "compact_valid": b"\x02#n\x003\x00#f\x001714564790000\x00#l\x001714564799000\x00#p\x00rate"
                     b"\x00#o\x000\x00Pod/api-0\x002\x00Pod/api-1\x001",
    "compact_bad": b"\x02#n\x00three\x00#x\x001",
    "dedup_valid": b"\x03count\x002\x00first\x001714564790000\x00last\x001714564799000\x00ref"
                   b"\x00rr-dddddddddddddddd",
    "dedup_bad": b"\x03count\x00-5\x00first\x00nan",
    "rate_tat": b"\x041714564800000000",
    "rate_hex": b"\x04 0x1p60 ",
    "counter": b"\x0512",
    "counter_big": b"\x059223372036854775807",
    "canonical": b"\x06" + json.dumps({"b": [1, 2.5, None, True, {}], "a": "x\u0001\"",
                                        "c": [], "d": {"e": -0.0}}).encode(),
}
for k, v in REC.items():
    write("stored_record", k, v)

KS = {
    "plain": b"\x08\x20\x04stormkv:dedupabcdpart",
    "hostile": b"\x05\x00\x06t{*}?:x:{y}[z]\n\x00%7B",
    "long": b"\x00\x00\x10" + b"a" * 16 + b"%" * 400,
    "empty": b"\x00\x00\x00",
    "prefix_glob": b"\x06\x10\x02*?[]\\{ab",
}
for k, v in KS.items():
    write("key_schema", k, v)

# pipeline: first byte bit 0 = Kubernetes Event source, bits 1-2 layout, bit 3 per-signal cost.
PL = {
    "am_compact": b"\x04" + AM["storm"].encode(),
    "am_json_meta": b"\x02" + AM["storm"].encode(),
    "am_full_crd": b"\x00" + AM["storm"].encode(),
    "am_mixed": b"\x0c" + AM["kinds"].encode(),
    "am_hostile": b"\x04" + AM["hostile_labels"].encode(),
    "k8s_list": b"\x05" + K8S["list"].encode(),
    "k8s_hostile": b"\x01" + K8S["hostile"].encode(),
    "bad": b"\x00" + AM["bad_json"].encode(),
}
for k, v in PL.items():
    write("pipeline", k, v)
