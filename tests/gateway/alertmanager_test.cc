#include "stormkv/gateway/alertmanager.h"

#include <gtest/gtest.h>

#include <string>

#include "common/test_util.h"
#include "gateway/payloads.h"
#include "stormkv/gateway/fingerprint.h"

namespace stormkv {
namespace {

constexpr int64_t kNow = 1714564800000;  // 2024-05-01T12:00:00Z

// A webhook as Alertmanager 0.27 sends it (two alerts of one group; the second resolved).
constexpr const char* kWebhook = R"json({
  "receiver": "kubernaut-gateway",
  "status": "firing",
  "alerts": [
    {
      "status": "firing",
      "labels": {
        "alertname": "KubePodCrashLooping",
        "container": "api",
        "endpoint": "http",
        "instance": "10.0.3.17:8080",
        "job": "kube-state-metrics",
        "namespace": "production",
        "pod": "api-server-7d9f",
        "prometheus": "monitoring/k8s",
        "severity": "critical"
      },
      "annotations": {
        "description": "Pod production/api-server-7d9f (api) is in waiting state (reason: \"CrashLoopBackOff\").",
        "runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping",
        "summary": "Pod is crash looping."
      },
      "startsAt": "2024-05-01T11:58:30.123Z",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "http://prometheus-k8s-0:9090/graph?g0.expr=max_over_time%28kube_pod_container_status_waiting_reason%5B5m%5D%29&g0.tab=1",
      "fingerprint": "6f1e2a3b4c5d6e7f"
    },
    {
      "status": "resolved",
      "labels": {
        "alertname": "KubeDeploymentReplicasMismatch",
        "deployment": "web",
        "namespace": "staging",
        "severity": "warning"
      },
      "annotations": {"summary": "Deployment has not matched the expected number of replicas."},
      "startsAt": "2024-05-01T10:00:00Z",
      "endsAt": "2024-05-01T11:55:00Z",
      "generatorURL": "http://prometheus-k8s-0:9090/graph",
      "fingerprint": "a1b2c3d4e5f60718"
    }
  ],
  "groupLabels": {"namespace": "production"},
  "commonLabels": {"prometheus": "monitoring/k8s"},
  "commonAnnotations": {},
  "externalURL": "http://alertmanager-main-0:9093",
  "version": "4",
  "groupKey": "{}/{severity=~\"warning|critical\"}:{namespace=\"production\"}",
  "truncatedAlerts": 0
})json";

Status ParseError(std::string_view payload, const AdapterLimits& limits = {}) {
  Result<std::vector<NormalizedSignal>> r = ParseAlertmanagerWebhook(payload, kNow, limits);
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

std::string OneAlert(std::string_view alert_body) {
  return R"({"version":"4","alerts":[)" + std::string(alert_body) + "]}";
}

TEST(AlertmanagerTest, ParsesEveryAlertOfARealWebhook) {
  ASSERT_OK_AND_ASSIGN(auto signals, ParseAlertmanagerWebhook(kWebhook, kNow));
  ASSERT_EQ(signals.size(), 2u);

  const NormalizedSignal& a = signals[0];
  EXPECT_EQ(a.source, SignalSource::kAlertmanager);
  EXPECT_EQ(a.name, "KubePodCrashLooping");
  EXPECT_EQ(a.severity, "critical");
  EXPECT_EQ(a.namespace_name, "production");
  EXPECT_EQ(a.resource, (ResourceRef{"Pod", "api-server-7d9f"}));
  EXPECT_EQ(a.labels.size(), 9u);
  EXPECT_EQ(a.labels.at("container"), "api");
  EXPECT_EQ(a.annotations.at("summary"), "Pod is crash looping.");
  EXPECT_EQ(a.starts_at_ms, kNow - 89877);
  EXPECT_FALSE(a.ends_at_ms.has_value()) << "Go zero time must read as unset";
  EXPECT_EQ(a.received_at_ms, kNow);
  EXPECT_FALSE(a.resolved);
  EXPECT_EQ(a.source_fingerprint, "6f1e2a3b4c5d6e7f");
  EXPECT_EQ(a.fingerprint,
            ComputeFingerprint("KubePodCrashLooping", "production", {"Pod", "api-server-7d9f"}));
  EXPECT_EQ(a.source_count, 1);

  const NormalizedSignal& b = signals[1];
  EXPECT_EQ(b.name, "KubeDeploymentReplicasMismatch");
  EXPECT_EQ(b.resource, (ResourceRef{"Deployment", "web"}));
  EXPECT_TRUE(b.resolved);
  ASSERT_TRUE(b.ends_at_ms.has_value());
  EXPECT_EQ(*b.ends_at_ms, kNow - 5 * 60 * 1000);
  EXPECT_NE(a.fingerprint, b.fingerprint);
}

TEST(AlertmanagerTest, ManyAlertsAllProcessed) {
  std::string payload = R"({"alerts":[)";
  for (int i = 0; i < 50; ++i) {
    if (i) payload += ',';
    payload +=
        R"({"labels":{"alertname":"X","namespace":"ns","pod":"p)" + std::to_string(i) + R"("}})";
  }
  payload += "]}";
  ASSERT_OK_AND_ASSIGN(auto signals, ParseAlertmanagerWebhook(payload, kNow));
  ASSERT_EQ(signals.size(), 50u);
  EXPECT_EQ(signals[49].resource.name, "p49");
}

TEST(AlertmanagerTest, MinimalAlertDefaults) {
  ASSERT_OK_AND_ASSIGN(
      auto signals, ParseAlertmanagerWebhook(OneAlert(R"({"labels":{"alertname":"Up"}})"), kNow));
  ASSERT_EQ(signals.size(), 1u);
  EXPECT_EQ(signals[0].severity, "unknown");
  EXPECT_EQ(signals[0].namespace_name, "");
  EXPECT_TRUE(signals[0].resource.empty());
  EXPECT_EQ(signals[0].starts_at_ms, kNow);
  EXPECT_FALSE(signals[0].resolved);
  EXPECT_EQ(signals[0].source_fingerprint, "");
  EXPECT_EQ(signals[0].fingerprint, ComputeFingerprint("Up", "", {}));
}

TEST(AlertmanagerTest, UnknownFieldsAndNullsIgnored) {
  ASSERT_OK_AND_ASSIGN(auto signals,
                       ParseAlertmanagerWebhook(
                           R"({"version":"4","future":{"x":[1,2,3]},"commonLabels":42,"alerts":[
              {"labels":{"alertname":"A"},"annotations":null,"fingerprint":null,
               "extra":true,"silencedBy":["x"]}]})",
                           kNow));
  EXPECT_EQ(signals.size(), 1u);
}

TEST(AlertmanagerTest, PayloadStatusAppliesWhenAlertHasNone) {
  ASSERT_OK_AND_ASSIGN(auto signals,
                       ParseAlertmanagerWebhook(
                           R"({"status":"resolved","alerts":[{"labels":{"alertname":"A"}},
              {"status":"firing","labels":{"alertname":"B"}}]})",
                           kNow));
  EXPECT_TRUE(signals[0].resolved);
  EXPECT_FALSE(signals[1].resolved);
}

TEST(AlertmanagerTest, RejectsInvalidJson) {
  ExpectRejected("", "payload: invalid JSON");
  ExpectRejected("{", "payload: invalid JSON");
  ExpectRejected(R"({"alerts":[{"labels":{"alertname":"A"}}]} trailing)", "invalid JSON");
  ExpectRejected("\xff\xfe{}", "invalid JSON");
  ExpectRejected(R"({"alerts":[{"labels":{"alertname":"\xc3\x28"}}]})", "invalid JSON");
}

bool HasControlByte(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

// nlohmann throws out_of_range (not parse_error) for a number beyond double range.
TEST(AlertmanagerTest, NumberOutOfRangeIsInvalidJson) {
  ExpectRejected(R"({"alerts":[{"labels":{"alertname":"A"}}],"x":1e999})",
                 "payload: invalid JSON: number out of range: '1e999'");
  ExpectRejected(OneAlert(R"({"labels":{"alertname":"A"},"n":[-1e309]})"),
                 "invalid JSON: number out of range");
  const std::string long_number = "1" + std::string(5000, '0') + "e400";
  Status s = ParseError(R"({"alerts":[{"labels":{"alertname":"A"}}],"x":)" + long_number + "}");
  EXPECT_TRUE(s.IsInvalidArgument()) << s;
  EXPECT_LE(s.message().size(), 300u) << s;
}

// nlohmann quotes the last token it read (a control byte as "<U+0009>", 8 bytes): the error
// keeps only its ends, whatever the size of the input.
TEST(AlertmanagerTest, InvalidJsonErrorsAreBoundedAndEscaped) {
  const std::string tabs = R"({"alerts":)" + std::string(500000, '\t') + "x}";
  const std::string long_string = R"({"alerts":")" + std::string(500000, 'a') + "\x01\"}";
  const std::string bad_utf8 = R"({"alerts":"a\xff\x1b[2J"})";
  for (const std::string& payload : {tabs, long_string, bad_utf8}) {
    Status s = ParseError(payload);
    EXPECT_TRUE(s.IsInvalidArgument()) << s.message().substr(0, 500);
    EXPECT_EQ(s.message().rfind("payload: invalid JSON: ", 0), 0u) << s.message().substr(0, 500);
    EXPECT_LE(s.message().size(), 300u) << s.message().substr(0, 500);
    EXPECT_FALSE(HasControlByte(s.message())) << s;
  }
  Status s = ParseError(tabs);
  EXPECT_NE(s.message().find("syntax error"), std::string::npos) << s;
  EXPECT_NE(s.message().find("...U+0009><U+0009>x'"), std::string::npos) << s;
}

// Hostile label names and values are escaped wherever an error repeats them.
TEST(AlertmanagerTest, HostileInputInErrorsIsEscaped) {
  const std::string evil = R"(evil\nlevel=info msg=\"forged\")";
  Status value = ParseError(OneAlert(R"({"labels":{"alertname":"A",")" + evil + R"(":")" +
                                     std::string(2000, 'x') + R"("}})"));
  EXPECT_NE(value.message().find(
                R"(alerts[0].labels.evil\x0alevel=info msg=\x22forged\x22: value is 2000 bytes)"),
            std::string::npos)
      << value;
  Status type = ParseError(OneAlert(R"({"labels":{"alertname":"A",")" + evil + R"(":1}})"));
  EXPECT_NE(type.message().find(R"(labels.evil\x0alevel=info)"), std::string::npos) << type;
  Status status = ParseError(OneAlert(R"({"labels":{"alertname":"A"},"status":"firing\r\nX"})"));
  EXPECT_NE(status.message().find(R"(got "firing\x0d\x0aX")"), std::string::npos) << status;
  Status time = ParseError(OneAlert(R"({"labels":{"alertname":"A"},"startsAt":"\u001b[31m"})"));
  EXPECT_NE(time.message().find(R"("\x1b[31m")"), std::string::npos) << time;
  Status version = ParseError(R"({"version":"4\n","alerts":[{"labels":{"alertname":"A"}}]})");
  EXPECT_NE(version.message().find(R"(version "4\x0a")"), std::string::npos) << version;
  for (const Status& s : {value, type, status, time, version}) {
    EXPECT_TRUE(s.IsInvalidArgument()) << s;
    EXPECT_FALSE(HasControlByte(s.message())) << s;
  }
}

TEST(AlertmanagerTest, RejectsWrongTopLevelTypes) {
  ExpectRejected("[]", "payload: expected a JSON object, got array");
  ExpectRejected("\"alerts\"", "payload: expected a JSON object, got string");
  ExpectRejected("{}", "alerts: missing");
  ExpectRejected(R"({"alerts":null})", "alerts: missing");
  ExpectRejected(R"({"alerts":{"0":{}}})", "alerts: expected an array, got object");
  ExpectRejected(R"({"alerts":"x"})", "alerts: expected an array, got string");
  ExpectRejected(R"({"alerts":[]})", "alerts: empty alert list");
  ExpectRejected(R"({"version":4,"alerts":[]})", "version: expected a string, got number");
  ExpectRejected(R"({"version":"3","alerts":[{"labels":{"alertname":"A"}}]})",
                 "unsupported webhook version \"3\"");
  ExpectRejected(R"({"status":"pending","alerts":[{"labels":{"alertname":"A"}}]})",
                 "status: must be \"firing\" or \"resolved\"");
}

TEST(AlertmanagerTest, RejectsBadAlertsNamingTheIndex) {
  const std::string ok = R"({"labels":{"alertname":"A"}})";
  ExpectRejected(R"({"alerts":[)" + ok + R"(,17]})", "alerts[1]: expected an object, got number");
  ExpectRejected(OneAlert(R"({"annotations":{}})"), "alerts[0].labels: missing");
  ExpectRejected(OneAlert(R"({"labels":["alertname","A"]})"),
                 "alerts[0].labels: expected an object, got array");
  ExpectRejected(OneAlert(R"({"labels":"alertname=A"})"),
                 "alerts[0].labels: expected an object, got string");
  ExpectRejected(R"({"alerts":[)" + ok + "," + ok + R"(,{"labels":{"pod":"p"}}]})",
                 "alerts[2].labels.alertname: missing");
  ExpectRejected(OneAlert(R"({"labels":{"alertname":""}})"), "alerts[0].labels.alertname: missing");
  ExpectRejected(OneAlert(R"({"labels":{"alertname":"A","replicas":3}})"),
                 "alerts[0].labels.replicas: expected a string, got number");
  ExpectRejected(OneAlert(R"({"labels":{"alertname":"A"},"annotations":[]})"),
                 "alerts[0].annotations: expected an object, got array");
  ExpectRejected(OneAlert(R"({"labels":{"alertname":"A"},"annotations":{"x":{"y":1}}})"),
                 "alerts[0].annotations.x: expected a string, got object");
  ExpectRejected(OneAlert(R"({"labels":{"alertname":"A"},"status":true})"),
                 "alerts[0].status: expected a string, got boolean");
  ExpectRejected(OneAlert(R"({"labels":{"alertname":"A"},"status":"unknown"})"),
                 "alerts[0].status: must be");
  ExpectRejected(OneAlert(R"({"labels":{"alertname":"A"},"startsAt":"yesterday"})"),
                 "alerts[0].startsAt: not an RFC 3339 timestamp");
  ExpectRejected(OneAlert(R"({"labels":{"alertname":"A"},"endsAt":1714564800})"),
                 "alerts[0].endsAt: expected a string, got number");
  ExpectRejected(OneAlert(R"({"labels":{"alertname":"A"},"fingerprint":12})"),
                 "alerts[0].fingerprint: expected a string, got number");
}

TEST(AlertmanagerTest, PayloadSizeCap) {
  AdapterLimits limits;
  limits.max_payload_bytes = 64;
  std::string big =
      OneAlert(R"({"labels":{"alertname":"A","x":")" + std::string(100, 'y') + R"("}})");
  ExpectRejected(big, "payload too large: " + std::to_string(big.size()) + " bytes > limit 64",
                 limits);
  // The default cap is 32 MiB, checked before the annotation's own cap.
  std::string huge = OneAlert(R"({"labels":{"alertname":"A"},"annotations":{"d":")" +
                              std::string(32 << 20, 'y') + R"("}})");
  ExpectRejected(huge, "payload too large: " + std::to_string(huge.size()) +
                           " bytes > limit 33554432");
}

// The defaults fit a storm: 10,000 kube-prometheus alerts with their labels and annotations
// (about 10 MB) are accepted whole, with a margin of more than 3x on bytes and 5x on items.
TEST(AlertmanagerTest, TenThousandAlertStormFitsTheDefaults) {
  const std::string storm = testing::StormWebhook(10000);
  std::printf("10,000-alert storm webhook: %zu bytes (%.0f per alert)\n", storm.size(),
              storm.size() / 1e4);
  EXPECT_GT(storm.size(), std::size_t{9} << 20) << "the shape got lighter: re-measure signal.h";
  EXPECT_LT(storm.size() * 3, AdapterLimits{}.max_payload_bytes);
  EXPECT_LE(10000u * 5, AdapterLimits{}.max_items);
  Result<std::vector<NormalizedSignal>> signals = ParseAlertmanagerWebhook(storm, kNow);
  ASSERT_OK(signals.status());
  ASSERT_EQ(signals->size(), 10000u);
  EXPECT_EQ(signals->back().resource.name, "checkout-7d9f8b6c5d-109999");
  EXPECT_EQ(signals->back().annotations.size(), 3u);
  // One alert more than a lowered item cap is refused by count, not by bytes.
  AdapterLimits limits;
  limits.max_items = 9999;
  ExpectRejected(storm, "alerts: 10000 alerts exceed the limit of 9999", limits);
}

TEST(AlertmanagerTest, LabelAndAnnotationCaps) {
  ExpectRejected(
      OneAlert(R"({"labels":{"alertname":"A","pod":")" + std::string(1025, 'p') + R"("}})"),
      "alerts[0].labels.pod: value is 1025 bytes, limit 1024");
  EXPECT_TRUE(ParseAlertmanagerWebhook(OneAlert(R"({"labels":{"alertname":"A","pod":")" +
                                                std::string(1024, 'p') + R"("}})"),
                                       kNow)
                  .ok());
  ExpectRejected(OneAlert(R"({"labels":{"alertname":"A"},"annotations":{"d":")" +
                          std::string(16 * 1024 + 1, 'd') + R"("}})"),
                 "alerts[0].annotations.d: value is 16385 bytes");
  std::string many = R"({"alertname":"A")";
  for (int i = 0; i < 200; ++i) many += ",\"l" + std::to_string(i) + "\":\"v\"";
  many += "}";
  ExpectRejected(OneAlert(R"({"labels":)" + many + "}"),
                 "alerts[0].labels: 201 entries exceed the limit of 128");
  ExpectRejected(OneAlert(R"({"labels":{"alertname":"A",")" + std::string(300, 'n') + R"(":"v"}})"),
                 "is 300 bytes, limit 256");
}

TEST(AlertmanagerTest, AlertCountCap) {
  AdapterLimits limits;
  limits.max_items = 3;
  std::string payload = R"({"alerts":[)";
  for (int i = 0; i < 4; ++i)
    payload += std::string(i ? "," : "") + R"({"labels":{"alertname":"A"}})";
  payload += "]}";
  ExpectRejected(payload, "alerts: 4 alerts exceed the limit of 3", limits);
}

TEST(AlertmanagerTest, DeepNestingRejectedWithoutRecursion) {
  std::string deep(100000, '[');
  ExpectRejected(deep, "nesting deeper than 32");
  std::string nested = OneAlert(R"({"labels":{"alertname":"A"},"x":)" + std::string(40, '[') +
                                std::string(40, ']') + "}");
  ExpectRejected(nested, "nesting deeper than 32");
}

// The adapter decides depth on the parsed document (the byte scan only names the offset):
// valid and invalid payloads around the cap, brackets inside strings, give exactly
// CheckPayloadEnvelope's error, or pass when it passes.
TEST(AlertmanagerTest, DepthOnTheDocumentEqualsTheEnvelopeScan) {
  for (std::size_t cap = 2; cap < 7; ++cap) {
    AdapterLimits limits;
    limits.max_json_depth = cap;
    for (std::size_t extra = 0; extra < 6; ++extra) {
      for (const char* open : {"[", "{\"k\":"}) {
        std::string inner, close;
        for (std::size_t i = 0; i < extra; ++i) {
          inner += open;
          close = (open[0] == '[' ? "]" : "}") + close;
        }
        const std::string value = inner + "\"[{\\\"[\"" + close;
        for (bool valid : {true, false}) {
          const std::string payload =
              OneAlert(R"({"labels":{"alertname":"A"},"x":)" + value + "}") + (valid ? "" : ",");
          const Status envelope = CheckPayloadEnvelope(payload, limits);
          Result<std::vector<NormalizedSignal>> r =
              ParseAlertmanagerWebhook(payload, 1714564800000, limits);
          if (!envelope.ok()) {
            ASSERT_FALSE(r.ok()) << payload;
            EXPECT_EQ(r.status(), envelope) << payload;
          } else if (valid) {
            EXPECT_TRUE(r.ok()) << payload << " " << r.status();
          } else {
            ASSERT_FALSE(r.ok());
            EXPECT_NE(r.status().message().find("invalid JSON"), std::string::npos) << r.status();
          }
        }
      }
    }
  }
}

TEST(AlertmanagerTest, HostileBytesNeverCrash) {
  // Truncations of a valid payload at every length, and single-byte corruptions.
  const std::string base = kWebhook;
  for (std::size_t n = 0; n < base.size(); n += 7) {
    Result<std::vector<NormalizedSignal>> r =
        ParseAlertmanagerWebhook(std::string_view(base).substr(0, n), kNow);
    EXPECT_FALSE(r.ok());
  }
  const char kBytes[] = {'\0', '"', '{', '}', '[', ']', ',', ':', '\\', '\x80', 'n', '1'};
  for (std::size_t pos = 0; pos < base.size(); pos += 13) {
    for (char c : kBytes) {
      std::string mutated = base;
      mutated[pos] = c;
      Result<std::vector<NormalizedSignal>> r = ParseAlertmanagerWebhook(mutated, kNow);
      if (!r.ok()) {
        EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status();
      }
    }
  }
}

}  // namespace
}  // namespace stormkv
