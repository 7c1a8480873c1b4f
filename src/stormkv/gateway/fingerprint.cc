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
  // Every alert aggregated into a storm names the storm's request: the same few triples again
  // and again (a webhook's alerts interleave its storms). The thread keeps the last 16 answers.
  struct Entry {
    std::string name, ns, fingerprint;
    int64_t first_seen_ms = 0;
  };
  thread_local std::array<Entry, 16> recent;
  thread_local std::size_t next = 0;
  for (const Entry& e : recent) {
    if (!e.fingerprint.empty() && e.first_seen_ms == first_seen_ms && e.name == name &&
        e.ns == namespace_name) {
      return e.fingerprint;
    }
  }
  std::string input = "storm:";
  input.append(name);
  input += ':';
  input.append(namespace_name);
  input += ':';
  input += std::to_string(first_seen_ms);
  std::string fingerprint = Sha256Hex(input);
  Entry& e = recent[next];
  next = (next + 1) % recent.size();
  e.name.assign(name);
  e.ns.assign(namespace_name);
  e.first_seen_ms = first_seen_ms;
  e.fingerprint = fingerprint;
  return fingerprint;
}

std::string RemediationRequestName(std::string_view fingerprint) {
  return "rr-" + std::string(fingerprint.substr(0, 16));
}

}  // namespace stormkv
