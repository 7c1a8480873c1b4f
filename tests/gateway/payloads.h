// tests/gateway/payloads.h — builders of Alertmanager webhooks and Kubernetes Events for tests.
#ifndef STORMKV_TESTS_GATEWAY_PAYLOADS_H_
#define STORMKV_TESTS_GATEWAY_PAYLOADS_H_

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace stormkv::testing {

struct TestAlert {
  std::string name = "HighMemoryUsage";
  std::string ns = "production";
  std::string resource_label = "pod";  // "" = no resource label
  std::string resource = "api-0";
  std::string severity = "critical";
  std::string status = "firing";
  std::map<std::string, std::string> extra_labels;
  std::map<std::string, std::string> annotations = {{"summary", "test alert"}};
};

inline nlohmann::json AlertJson(const TestAlert& a) {
  nlohmann::json labels = {{"alertname", a.name}, {"severity", a.severity}};
  if (!a.ns.empty()) labels["namespace"] = a.ns;
  if (!a.resource_label.empty()) labels[a.resource_label] = a.resource;
  for (const auto& [k, v] : a.extra_labels) labels[k] = v;
  return {{"status", a.status},
          {"labels", labels},
          {"annotations", a.annotations},
          {"startsAt", "2024-05-01T11:59:00Z"},
          {"endsAt", a.status == "resolved" ? "2024-05-01T12:00:00Z" : "0001-01-01T00:00:00Z"},
          {"generatorURL", "http://prometheus:9090/graph"}};
}

// A version-4 webhook carrying `alerts` (in order).
inline std::string Webhook(const std::vector<TestAlert>& alerts) {
  nlohmann::json list = nlohmann::json::array();
  for (const TestAlert& a : alerts) list.push_back(AlertJson(a));
  nlohmann::json doc = {{"version", "4"},
                        {"receiver", "stormkv"},
                        {"status", "firing"},
                        {"groupLabels", nlohmann::json::object()},
                        {"commonLabels", nlohmann::json::object()},
                        {"externalURL", "http://alertmanager:9093"},
                        {"alerts", list}};
  return doc.dump();
}

inline std::string Webhook(const TestAlert& alert) {
  return Webhook(std::vector<TestAlert>{alert});
}

// One alert `name` in `ns` about pod `pod`.
inline std::string PodAlert(const std::string& name, const std::string& ns,
                            const std::string& pod) {
  TestAlert a;
  a.name = name;
  a.ns = ns;
  a.resource = pod;
  return Webhook(a);
}

// A core/v1 Event (or events.k8s.io/v1 with `events_v1`).
inline std::string KubeEvent(const std::string& reason, const std::string& ns,
                             const std::string& kind, const std::string& name,
                             const std::string& type = "Warning", bool events_v1 = false) {
  nlohmann::json object = {{"kind", kind}, {"name", name}, {"namespace", ns}};
  nlohmann::json doc = {{"kind", "Event"},
                        {"reason", reason},
                        {"type", type},
                        {"metadata", {{"name", name + ".17cb"}, {"namespace", ns}}}};
  if (events_v1) {
    doc["apiVersion"] = "events.k8s.io/v1";
    doc["regarding"] = object;
    doc["note"] = reason + " happened";
    doc["eventTime"] = "2024-05-01T11:59:00.000000Z";
  } else {
    doc["apiVersion"] = "v1";
    doc["involvedObject"] = object;
    doc["message"] = reason + " happened";
    doc["count"] = 1;
    doc["firstTimestamp"] = "2024-05-01T11:59:00Z";
  }
  return doc.dump();
}

// A storm as Alertmanager sends it from a kube-prometheus stack: one webhook of `alerts`
// KubePodCrashLooping alerts, each with the 12 labels and 3 annotations of the real rule
// (description, runbook_url, summary), RFC 3339 times with fractions, a PromQL generatorURL and a
// fingerprint; alert i is about pod "checkout-<i>" of namespace "shop". This is the shape the
// default AdapterLimits are sized for (signal.h: about 1,180 bytes per alert).
inline std::string StormWebhook(std::size_t alerts) {
  nlohmann::json list = nlohmann::json::array();
  for (std::size_t i = 0; i < alerts; ++i) {
    char fp[17];
    const unsigned long long mixed = static_cast<unsigned long long>(i) * 0x9e3779b97f4a7c15ULL;
    std::snprintf(fp, sizeof fp, "%016llx", mixed);
    const std::string pod = "checkout-7d9f8b6c5d-" + std::to_string(100000 + i);
    const std::string ip = "10.244." + std::to_string(i / 250 % 250) + "." +
                           std::to_string(i % 250);
    list.push_back(
        {{"status", "firing"},
         {"labels",
          {{"alertname", "KubePodCrashLooping"},
           {"container", "checkout"},
           {"endpoint", "http"},
           {"instance", ip + ":8080"},
           {"job", "kube-state-metrics"},
           {"namespace", "shop"},
           {"pod", pod},
           {"prometheus", "monitoring/k8s"},
           {"reason", "CrashLoopBackOff"},
           {"service", "kube-prometheus-stack-kube-state-metrics"},
           {"severity", "warning"},
           {"uid", "5f0c2c4e-8d7b-4a7e-9c1d-" + std::string(fp, 12)}}},
         {"annotations",
          {{"description", "Pod shop/" + pod +
                               " (checkout) is in waiting state (reason: \"CrashLoopBackOff\")."},
           {"runbook_url",
            "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping"},
           {"summary", "Pod is crash looping."}}},
         {"startsAt", "2024-05-01T11:59:" + std::to_string(10 + i % 50) + ".123456789Z"},
         {"endsAt", "0001-01-01T00:00:00Z"},
         {"generatorURL",
          "http://prometheus-k8s-0:9090/graph?g0.expr=max_over_time%28kube_pod_container_"
          "status_waiting_reason%7Breason%3D%22CrashLoopBackOff%22%2Cjob%3D%22kube-state-"
          "metrics%22%2Cnamespace%3D~%22.%2A%22%7D%5B5m%5D%29+%3E%3D+1&g0.tab=1"},
         {"fingerprint", fp}});
  }
  nlohmann::json doc = {
      {"version", "4"},
      {"groupKey", "{}/{severity=\"warning\"}:{alertname=\"KubePodCrashLooping\"}"},
      {"truncatedAlerts", 0},
      {"status", "firing"},
      {"receiver", "stormkv"},
      {"groupLabels", {{"alertname", "KubePodCrashLooping"}}},
      {"commonLabels",
       {{"alertname", "KubePodCrashLooping"}, {"namespace", "shop"}, {"severity", "warning"}}},
      {"commonAnnotations", {{"summary", "Pod is crash looping."}}},
      {"externalURL", "http://alertmanager-main-0:9093"},
      {"alerts", list}};
  return doc.dump();
}

}  // namespace stormkv::testing

#endif  // STORMKV_TESTS_GATEWAY_PAYLOADS_H_
