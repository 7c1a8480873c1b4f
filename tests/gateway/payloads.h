// tests/gateway/payloads.h — builders of Alertmanager webhooks and Kubernetes Events for tests.
#ifndef STORMKV_TESTS_GATEWAY_PAYLOADS_H_
#define STORMKV_TESTS_GATEWAY_PAYLOADS_H_

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

}  // namespace stormkv::testing

#endif  // STORMKV_TESTS_GATEWAY_PAYLOADS_H_
