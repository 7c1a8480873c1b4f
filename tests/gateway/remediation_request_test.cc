#include "stormkv/gateway/remediation_request.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "stormkv/gateway/fingerprint.h"

namespace stormkv {
namespace {

using nlohmann::json;
constexpr int64_t kNow = 1714564800000;

NormalizedSignal Signal() {
  NormalizedSignal s;
  s.source = SignalSource::kAlertmanager;
  s.name = "HighMemoryUsage";
  s.severity = "critical";
  s.namespace_name = "production";
  s.resource = {"Pod", "api-server-7d9f"};
  s.labels = {
      {"alertname", "HighMemoryUsage"}, {"pod", "api-server-7d9f"}, {"quote", "say \"hi\"\n\ttab"}};
  s.annotations = {{"summary", "Memory above 90%"}};
  s.starts_at_ms = kNow - 60000;
  s.received_at_ms = kNow;
  s.fingerprint = ComputeFingerprint(s.name, s.namespace_name, s.resource);
  return s;
}

TEST(RemediationRequestTest, FieldsFollowTheReferenceCrd) {
  DeduplicationInfo d;
  d.first_seen_ms = kNow;
  d.last_seen_ms = kNow + 1500;
  d.occurrence_count = 3;
  d.is_duplicate = true;
  RemediationRequest rr = MakeRemediationRequest(Signal(), d);
  EXPECT_EQ(rr.name, "rr-439738bf3e7ce3be");
  const std::string text = RemediationRequestToJson(rr);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.find('\n'), std::string::npos) << "compact output expected: " << text;
  json j = json::parse(text);
  EXPECT_EQ(j["apiVersion"], "remediation.kubernaut.io/v1alpha1");
  EXPECT_EQ(j["kind"], "RemediationRequest");
  EXPECT_EQ(j["metadata"]["name"], "rr-439738bf3e7ce3be");
  EXPECT_EQ(j["metadata"]["namespace"], "production");
  const json& spec = j["spec"];
  EXPECT_EQ(spec["signalFingerprint"],
            "439738bf3e7ce3be4f784f00e75f006faefb295489cd7284b659a7be7e23998b");
  EXPECT_EQ(spec["signalName"], "HighMemoryUsage");
  EXPECT_EQ(spec["severity"], "critical");
  EXPECT_EQ(spec["signalType"], "prometheus-alert");
  EXPECT_EQ(spec["signalSource"], "prometheus-adapter");
  EXPECT_EQ(spec["targetType"], "kubernetes");
  EXPECT_EQ(spec["targetResource"],
            json({{"kind", "Pod"}, {"name", "api-server-7d9f"}, {"namespace", "production"}}));
  EXPECT_EQ(spec["firingTime"], "2024-05-01T11:59:00Z");
  EXPECT_EQ(spec["receivedTime"], "2024-05-01T12:00:00Z");
  EXPECT_EQ(spec["deduplication"]["isDuplicate"], true);
  EXPECT_EQ(spec["deduplication"]["firstSeen"], "2024-05-01T12:00:00Z");
  EXPECT_EQ(spec["deduplication"]["lastSeen"], "2024-05-01T12:00:01.500Z");
  EXPECT_EQ(spec["deduplication"]["occurrenceCount"], 3);
  EXPECT_FALSE(spec["deduplication"].contains("previousRemediationRequestRef"));
  EXPECT_FALSE(spec.contains("isStorm")) << "storm fields are omitempty";
  EXPECT_FALSE(spec.contains("affectedResources"));
  EXPECT_EQ(spec["signalLabels"]["quote"], "say \"hi\"\n\ttab");
  EXPECT_EQ(spec["signalAnnotations"], json({{"summary", "Memory above 90%"}}));
}

TEST(RemediationRequestTest, StormFieldsAndEmptyCollections) {
  RemediationRequest rr = MakeRemediationRequest(Signal(), {});
  rr.is_storm = true;
  rr.storm_type = "rate";
  rr.storm_window = FormatDuration(std::chrono::minutes(1));
  rr.storm_alert_count = 15;
  rr.signal_labels.clear();
  rr.signal_annotations.clear();
  json j = json::parse(RemediationRequestToJson(rr));
  const json& spec = j["spec"];
  EXPECT_EQ(spec["isStorm"], true);
  EXPECT_EQ(spec["stormType"], "rate");
  EXPECT_EQ(spec["stormWindow"], "1m");
  EXPECT_EQ(spec["stormAlertCount"], 15);
  ASSERT_TRUE(spec["affectedResources"].is_array()) << "empty list must be [] not {}";
  EXPECT_TRUE(spec["affectedResources"].empty());
  EXPECT_TRUE(spec["signalLabels"].is_object());
  EXPECT_TRUE(spec["signalLabels"].empty());
  EXPECT_FALSE(spec.contains("affectedResourcesOverflow"));

  rr.affected_resources = {AffectedResourceId("production", {"Pod", "a"}),
                           AffectedResourceId("production", {"Pod", "b"})};
  rr.affected_resources_overflow = 4;
  j = json::parse(RemediationRequestToJson(rr));
  EXPECT_EQ(j["spec"]["affectedResources"], json({"production:Pod:a", "production:Pod:b"}));
  EXPECT_EQ(j["spec"]["affectedResourcesOverflow"], 4);
}

TEST(RemediationRequestTest, PrettyAndCompactAgree) {
  RemediationRequest rr = MakeRemediationRequest(Signal(), {});
  std::string pretty = RemediationRequestToJson(rr, /*pretty=*/true);
  EXPECT_NE(pretty.find('\n'), std::string::npos);
  EXPECT_EQ(json::parse(pretty), json::parse(RemediationRequestToJson(rr)));
}

TEST(RemediationRequestTest, KubernetesEventAndClusterScoped) {
  NormalizedSignal s = Signal();
  s.source = SignalSource::kKubernetesEvent;
  s.namespace_name = "";
  s.resource = {"Node", "worker-3"};
  json j = json::parse(RemediationRequestToJson(MakeRemediationRequest(s, {})));
  EXPECT_EQ(j["spec"]["signalType"], "kubernetes-event");
  EXPECT_EQ(j["spec"]["signalSource"], "k8s-event-adapter");
  EXPECT_EQ(j["metadata"]["namespace"], "default");
  EXPECT_FALSE(j["spec"]["targetResource"].contains("namespace"));
}

TEST(RemediationRequestTest, SizeOfA15PodStormIsSmall) {
  RemediationRequest rr = MakeRemediationRequest(Signal(), {});
  rr.is_storm = true;
  rr.storm_type = "pattern";
  rr.storm_window = "1m";
  rr.storm_alert_count = 15;
  for (int i = 0; i < 15; ++i) {
    rr.affected_resources.push_back(
        AffectedResourceId("production", {"Pod", "api-server-7d9f-" + std::to_string(i)}));
  }
  const std::size_t bytes = RemediationRequestToJson(rr).size();
  // DESIGN.md: a 15-pod storm CRD is ~2-4 KB of JSON, not 10-50 KB.
  EXPECT_GT(bytes, 800u);
  EXPECT_LT(bytes, 4096u);
  std::printf("15-pod storm RemediationRequest: %zu bytes of JSON\n", bytes);
}

TEST(FormatDurationTest, GoStyle) {
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(60000)), "1m");
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(90000)), "1m30s");
  EXPECT_EQ(FormatDuration(std::chrono::minutes(5)), "5m");
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatDuration(std::chrono::hours(2)), "2h");
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(0)), "0s");
}

}  // namespace
}  // namespace stormkv
