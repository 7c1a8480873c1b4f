#include "stormkv/gateway/k8s_event.h"

#include <gtest/gtest.h>

#include <string>

#include "common/test_util.h"
#include "stormkv/gateway/fingerprint.h"

namespace stormkv {
namespace {

constexpr int64_t kNow = 1714564800000;  // 2024-05-01T12:00:00Z

// `kubectl get event -o json` of a crash-looping pod (core/v1).
constexpr const char* kCoreV1Warning = R"json({
  "apiVersion": "v1",
  "kind": "Event",
  "count": 12,
  "eventTime": null,
  "firstTimestamp": "2024-05-01T11:50:00Z",
  "involvedObject": {
    "apiVersion": "v1",
    "fieldPath": "spec.containers{api}",
    "kind": "Pod",
    "name": "api-server-7d9f",
    "namespace": "production",
    "resourceVersion": "884211",
    "uid": "3c1d3b07-5d2a-4a44-9bd8-6f1a52c1e0aa"
  },
  "lastTimestamp": "2024-05-01T11:59:00Z",
  "message": "Back-off restarting failed container api in pod api-server-7d9f_production(3c1d3b07)",
  "metadata": {
    "creationTimestamp": "2024-05-01T11:50:00Z",
    "name": "api-server-7d9f.17cb5a2f0c0d9e11",
    "namespace": "production",
    "resourceVersion": "884390",
    "uid": "b4e0f3f4-0d3f-4bd0-a4d4-7a8e5f2a1c01"
  },
  "reason": "BackOff",
  "reportingComponent": "kubelet",
  "reportingInstance": "worker-3",
  "source": {"component": "kubelet", "host": "worker-3"},
  "type": "Warning"
})json";

// The same kind of event through events.k8s.io/v1.
constexpr const char* kEventsV1Warning = R"json({
  "apiVersion": "events.k8s.io/v1",
  "kind": "Event",
  "metadata": {
    "name": "web-5c7f.17cb5a30aa01",
    "namespace": "staging",
    "uid": "0f6b2b6c-aaaa-4e6e-8a8a-2d2f6a7c0d02",
    "creationTimestamp": "2024-05-01T11:40:00Z"
  },
  "eventTime": "2024-05-01T11:41:02.250000Z",
  "series": {"count": 4, "lastObservedTime": "2024-05-01T11:59:30.000000Z"},
  "reportingController": "kubelet",
  "reportingInstance": "worker-1",
  "action": "Pulling",
  "reason": "Failed",
  "regarding": {"kind": "Pod", "namespace": "staging", "name": "web-5c7f", "uid": "77", "apiVersion": "v1"},
  "note": "Failed to pull image \"registry.local/web:v2\": not found",
  "type": "Warning",
  "deprecatedSource": {},
  "deprecatedFirstTimestamp": null,
  "deprecatedLastTimestamp": null,
  "deprecatedCount": 0
})json";

constexpr const char* kCoreV1Normal = R"json({
  "apiVersion": "v1", "kind": "Event",
  "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "default"},
  "reason": "Pulled", "message": "Successfully pulled image", "type": "Normal", "count": 1,
  "metadata": {"name": "web-1.1", "namespace": "default"}
})json";

Status ParseError(std::string_view payload, const AdapterLimits& limits = {}) {
  auto r = ParseKubernetesEvents(payload, kNow, limits);
  if (r.ok()) return Status::Internal("unexpectedly parsed");
  return r.status();
}

void ExpectRejected(std::string_view payload, std::string_view fragment,
                    const AdapterLimits& limits = {}) {
  Status s = ParseError(payload, limits);
  EXPECT_TRUE(s.IsInvalidArgument()) << s << "\npayload: " << payload.substr(0, 200);
  EXPECT_NE(s.message().find(fragment), std::string::npos)
      << "message \"" << s.message() << "\" lacks \"" << fragment << "\"";
}

TEST(KubernetesEventTest, CoreV1Warning) {
  ASSERT_OK_AND_ASSIGN(auto items, ParseKubernetesEvents(kCoreV1Warning, kNow));
  ASSERT_EQ(items.size(), 1u);
  ASSERT_TRUE(items[0].signal.has_value()) << items[0].ignored_reason;
  const NormalizedSignal& s = *items[0].signal;
  EXPECT_EQ(s.source, SignalSource::kKubernetesEvent);
  EXPECT_EQ(s.name, "BackOff");
  EXPECT_EQ(s.severity, "warning");
  EXPECT_EQ(s.namespace_name, "production");
  EXPECT_EQ(s.resource, (ResourceRef{"Pod", "api-server-7d9f"}));
  EXPECT_EQ(s.source_count, 12);
  EXPECT_EQ(s.starts_at_ms, kNow - 10 * 60 * 1000);
  EXPECT_EQ(s.received_at_ms, kNow);
  EXPECT_FALSE(s.resolved);
  EXPECT_EQ(s.source_fingerprint, "b4e0f3f4-0d3f-4bd0-a4d4-7a8e5f2a1c01");
  EXPECT_NE(s.message.find("Back-off restarting"), std::string::npos);
  EXPECT_EQ(s.annotations.at("message"), s.message);
  EXPECT_EQ(s.labels.at("reason"), "BackOff");
  EXPECT_EQ(s.labels.at("kind"), "Pod");
  EXPECT_EQ(s.labels.at("component"), "kubelet");
  EXPECT_EQ(s.labels.at("host"), "worker-3");
  EXPECT_EQ(s.fingerprint, ComputeFingerprint("BackOff", "production", {"Pod", "api-server-7d9f"}));
}

TEST(KubernetesEventTest, EventsV1Warning) {
  ASSERT_OK_AND_ASSIGN(auto items, ParseKubernetesEvents(kEventsV1Warning, kNow));
  ASSERT_EQ(items.size(), 1u);
  ASSERT_TRUE(items[0].signal.has_value()) << items[0].ignored_reason;
  const NormalizedSignal& s = *items[0].signal;
  EXPECT_EQ(s.name, "Failed");
  EXPECT_EQ(s.namespace_name, "staging");
  EXPECT_EQ(s.resource, (ResourceRef{"Pod", "web-5c7f"}));
  EXPECT_EQ(s.source_count, 4) << "series.count wins over deprecatedCount";
  EXPECT_EQ(s.starts_at_ms, kNow - 18 * 60 * 1000 - 57750);
  EXPECT_NE(s.message.find("Failed to pull image"), std::string::npos);
  EXPECT_EQ(s.labels.at("component"), "kubelet");
  EXPECT_EQ(s.fingerprint, ComputeFingerprint("Failed", "staging", {"Pod", "web-5c7f"}));
}

TEST(KubernetesEventTest, SameProblemSameFingerprintAcrossShapes) {
  std::string core = R"({"apiVersion":"v1","type":"Warning","reason":"BackOff",
      "involvedObject":{"kind":"Pod","name":"p","namespace":"ns"},"message":"m"})";
  std::string v1 = R"({"apiVersion":"events.k8s.io/v1","type":"Warning","reason":"BackOff",
      "regarding":{"kind":"Pod","name":"p","namespace":"ns"},"note":"other"})";
  ASSERT_OK_AND_ASSIGN(auto a, ParseKubernetesEvents(core, kNow));
  ASSERT_OK_AND_ASSIGN(auto b, ParseKubernetesEvents(v1, kNow));
  EXPECT_EQ(a[0].signal->fingerprint, b[0].signal->fingerprint);
  EXPECT_EQ(a[0].signal->source_count, 1);
  EXPECT_EQ(a[0].signal->starts_at_ms, kNow);
}

TEST(KubernetesEventTest, NormalEventIsIgnoredNotAnError) {
  ASSERT_OK_AND_ASSIGN(auto items, ParseKubernetesEvents(kCoreV1Normal, kNow));
  ASSERT_EQ(items.size(), 1u);
  EXPECT_FALSE(items[0].signal.has_value());
  EXPECT_NE(items[0].ignored_reason.find("event type \"Normal\""), std::string::npos)
      << items[0].ignored_reason;
  ASSERT_OK_AND_ASSIGN(
      auto untyped, ParseKubernetesEvents(R"({"involvedObject":{"kind":"Pod","name":"p"}})", kNow));
  EXPECT_NE(untyped[0].ignored_reason.find("no type"), std::string::npos);
}

TEST(KubernetesEventTest, ShapeDetectedWithoutApiVersion) {
  ASSERT_OK_AND_ASSIGN(
      auto items, ParseKubernetesEvents(
                      R"({"type":"Warning","reason":"R","regarding":{"kind":"Node","name":"n1"},
          "metadata":{"namespace":"default"},"deprecatedCount":7})",
                      kNow));
  ASSERT_TRUE(items[0].signal.has_value());
  EXPECT_EQ(items[0].signal->resource, (ResourceRef{"Node", "n1"}));
  EXPECT_EQ(items[0].signal->namespace_name, "default") << "falls back to metadata.namespace";
  EXPECT_EQ(items[0].signal->source_count, 7);
}

TEST(KubernetesEventTest, WatchEventAndEventList) {
  std::string watch = std::string(R"({"type":"ADDED","object":)") + kCoreV1Warning + "}";
  ASSERT_OK_AND_ASSIGN(auto w, ParseKubernetesEvents(watch, kNow));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_TRUE(w[0].signal.has_value());

  std::string list = std::string(R"({"apiVersion":"v1","kind":"EventList","items":[)") +
                     kCoreV1Warning + "," + kCoreV1Normal + "," + kEventsV1Warning + "]}";
  ASSERT_OK_AND_ASSIGN(auto l, ParseKubernetesEvents(list, kNow));
  ASSERT_EQ(l.size(), 3u);
  EXPECT_TRUE(l[0].signal.has_value());
  EXPECT_FALSE(l[1].signal.has_value());
  EXPECT_TRUE(l[2].signal.has_value());
}

TEST(KubernetesEventTest, RejectsMalformed) {
  ExpectRejected("not json", "payload: invalid JSON");
  ExpectRejected("[1]", "payload: expected a JSON object, got array");
  ExpectRejected(R"({"kind":"Event","reason":"X"})", "not a Kubernetes Event");
  ExpectRejected(R"({"apiVersion":"apps/v1","involvedObject":{}})", "apiVersion: unsupported");
  ExpectRejected(R"({"involvedObject":[]})", "involvedObject: expected an object, got array");
  ExpectRejected(R"({"type":"Warning","involvedObject":{"kind":"Pod","name":"p"}})",
                 "reason: missing");
  ExpectRejected(R"({"type":"Warning","reason":"R","involvedObject":{"kind":"Pod"}})",
                 "involvedObject.name: missing");
  ExpectRejected(R"({"type":"Warning","reason":"R","involvedObject":{"name":"p"}})",
                 "involvedObject.kind: missing");
  ExpectRejected(R"({"type":"Warning","reason":7,"involvedObject":{"kind":"Pod","name":"p"}})",
                 "reason: expected a string, got number");
  ExpectRejected(R"({"type":"Warning","reason":"R","count":-1,
                     "involvedObject":{"kind":"Pod","name":"p"}})",
                 "count: expected a non-negative integer");
  ExpectRejected(R"({"type":"Warning","reason":"R","count":"3",
                     "involvedObject":{"kind":"Pod","name":"p"}})",
                 "count: expected a non-negative integer, got string");
  ExpectRejected(R"({"type":"Warning","reason":"R","firstTimestamp":"now",
                     "involvedObject":{"kind":"Pod","name":"p"}})",
                 "firstTimestamp: not an RFC 3339 timestamp");
  ExpectRejected(R"({"type":"Warning","reason":"R","metadata":{"labels":{"a":1}},
                     "involvedObject":{"kind":"Pod","name":"p"}})",
                 "metadata.labels.a: expected a string, got number");
  ExpectRejected(R"({"items":{}})", "items: expected an array, got object");
  ExpectRejected(R"({"items":[]})", "items: empty event list");
  ExpectRejected(std::string(R"({"items":[)") + kCoreV1Normal + R"(,{"type":"Warning"}]})",
                 "items[1]: not a Kubernetes Event");
  ExpectRejected(R"({"type":"ADDED","object":"x"})", "object: expected an object, got string");
}

// Go's omitempty sends an unset count as 0: it counts as absent (source_count 1).
TEST(KubernetesEventTest, CountZeroMeansUnset) {
  const std::string core =
      R"({"apiVersion":"v1","type":"Warning","reason":"BackOff","count":0,
          "involvedObject":{"kind":"Pod","name":"a","namespace":"ns"}})";
  ASSERT_OK_AND_ASSIGN(auto items, ParseKubernetesEvents(core, kNow));
  ASSERT_TRUE(items[0].signal.has_value()) << items[0].ignored_reason;
  EXPECT_EQ(items[0].signal->source_count, 1);
  // events.k8s.io/v1: series.count 0 falls back to deprecatedCount, then to 1.
  const std::string v1 =
      R"({"apiVersion":"events.k8s.io/v1","type":"Warning","reason":"R",
          "regarding":{"kind":"Pod","name":"a"},"series":{"count":0},"deprecatedCount":)";
  ASSERT_OK_AND_ASSIGN(auto fallback, ParseKubernetesEvents(v1 + "4}", kNow));
  EXPECT_EQ(fallback[0].signal->source_count, 4);
  ASSERT_OK_AND_ASSIGN(auto none, ParseKubernetesEvents(v1 + "0}", kNow));
  EXPECT_EQ(none[0].signal->source_count, 1);
}

TEST(KubernetesEventTest, NumberOutOfRangeAndHostileTextsAreInvalidArgument) {
  ExpectRejected(R"({"type":"Warning","reason":"R","count":1e999,
                     "involvedObject":{"kind":"Pod","name":"p"}})",
                 "payload: invalid JSON: number out of range: '1e999'");
  Status tabs = ParseError(R"({"type":)" + std::string(200000, '\t') + "x}");
  EXPECT_TRUE(tabs.IsInvalidArgument()) << tabs.message().substr(0, 300);
  EXPECT_LE(tabs.message().size(), 300u) << tabs.message().substr(0, 300);
  Status api = ParseError(R"({"apiVersion":"v2\nforged","involvedObject":{}})");
  EXPECT_NE(api.message().find(R"(unsupported "v2\x0aforged")"), std::string::npos) << api;
  ASSERT_OK_AND_ASSIGN(auto items,
                       ParseKubernetesEvents(R"({"type":"Normal\r\nX","reason":"R",
                           "involvedObject":{"kind":"Pod","name":"p"}})",
                                             kNow));
  EXPECT_EQ(items[0].ignored_reason,
            R"(event type "Normal\x0d\x0aX": only Warning events become signals)");
}

TEST(KubernetesEventTest, Caps) {
  ExpectRejected(R"({"type":"Warning","reason":"R","message":")" + std::string(16 * 1024 + 1, 'm') +
                     R"(","involvedObject":{"kind":"Pod","name":"p"}})",
                 "message: 16385 bytes, limit 16384");
  ExpectRejected(R"({"type":"Warning","reason":"R","involvedObject":{"kind":"Pod","name":")" +
                     std::string(2000, 'p') + R"("}})",
                 "involvedObject.name: 2000 bytes, limit 1024");
  AdapterLimits limits;
  limits.max_payload_bytes = 100;
  ExpectRejected(kCoreV1Warning, "bytes > limit 100", limits);
  ExpectRejected(std::string(1000, '{'), "nesting deeper than 32");
}

TEST(KubernetesEventTest, HostileBytesNeverCrash) {
  const std::string base = kEventsV1Warning;
  for (std::size_t n = 0; n < base.size(); n += 5) {
    EXPECT_FALSE(ParseKubernetesEvents(std::string_view(base).substr(0, n), kNow).ok());
  }
  const char kBytes[] = {'\0', '"', '{', '}', '[', ']', ',', ':', '\\', '\xc0', 't', '-'};
  for (std::size_t pos = 0; pos < base.size(); pos += 11) {
    for (char c : kBytes) {
      std::string mutated = base;
      mutated[pos] = c;
      auto r = ParseKubernetesEvents(mutated, kNow);
      if (!r.ok()) {
        EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status();
      }
    }
  }
}

}  // namespace
}  // namespace stormkv
