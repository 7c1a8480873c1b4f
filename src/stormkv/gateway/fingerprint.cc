#include "stormkv/gateway/fingerprint.h"

#include <array>
#include <utility>

#include "stormkv/script.h"

namespace stormkv {

ResourceRef ExtractAlertResource(const std::map<std::string, std::string>& labels) {
  static const std::array<std::pair<const char*, const char*>, 6> kOrder = {{
      {"pod", "Pod"},
      {"deployment", "Deployment"},
      {"statefulset", "StatefulSet"},
      {"daemonset", "DaemonSet"},
      {"node", "Node"},
      {"service", "Service"},
  }};
  for (const auto& [label, kind] : kOrder) {
    auto it = labels.find(label);
    if (it != labels.end() && !it->second.empty()) return ResourceRef{kind, it->second};
  }
  return ResourceRef{};
}

std::string ComputeFingerprint(std::string_view name, std::string_view namespace_name,
                               const ResourceRef& resource) {
  std::string input;
  input.reserve(name.size() + namespace_name.size() + resource.kind.size() + resource.name.size() +
                3);
  input.append(name);
  input += ':';
  input.append(namespace_name);
  input += ':';
  input += resource.kind;
  input += ':';
  input += resource.name;
  return Sha256Hex(input);
}

std::string ComputeStormFingerprint(std::string_view name, std::string_view namespace_name,
                                    int64_t first_seen_ms) {
  std::string input = "storm:";
  input.append(name);
  input += ':';
  input.append(namespace_name);
  input += ':';
  input += std::to_string(first_seen_ms);
  return Sha256Hex(input);
}

std::string RemediationRequestName(std::string_view fingerprint) {
  return "rr-" + std::string(fingerprint.substr(0, 16));
}

}  // namespace stormkv
