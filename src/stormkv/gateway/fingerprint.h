// stormkv/gateway/fingerprint.h — which resource a signal is about, and its fingerprint.
//
// DESIGN.md ("Gateway semantics"): the fingerprint of an alert is the lower-case SHA-256 hex of
// "alertname:namespace:kind:name", where kind/name come from the first present of the labels
// pod, deployment, statefulset, daemonset, node, service; for a Kubernetes Event it is
// "reason:namespace:kind:name" of the involved object. Components are joined as they are (no
// escaping), exactly like the reference gateway, so fingerprints stay comparable with it.
#ifndef STORMKV_GATEWAY_FINGERPRINT_H_
#define STORMKV_GATEWAY_FINGERPRINT_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "stormkv/gateway/signal.h"

namespace stormkv {

// The resource an Alertmanager alert is about: the first label among pod, deployment,
// statefulset, daemonset, node, service that is present with a non-empty value, as
// {"Pod", value}, {"Deployment", value}, {"StatefulSet", ...}, {"DaemonSet", ...}, {"Node", ...},
// {"Service", ...}. Empty ResourceRef when none is present.
ResourceRef ExtractAlertResource(const std::map<std::string, std::string>& labels);

// SHA-256 hex of "<name>:<namespace>:<kind>:<resource name>" (64 lower-case hex digits).
// `name` is the alertname for alerts and the reason for Kubernetes Events.
std::string ComputeFingerprint(std::string_view name, std::string_view namespace_name,
                               const ResourceRef& resource);

// The fingerprint of one storm (one aggregation of alert `name` in `namespace_name` that started
// at `first_seen_ms`): SHA-256 hex of "storm:<name>:<namespace>:<first_seen_ms>". Every alert
// aggregated into the storm can compute it from the aggregation's first_seen.
std::string ComputeStormFingerprint(std::string_view name, std::string_view namespace_name,
                                    int64_t first_seen_ms);

// The RemediationRequest name for a fingerprint: "rr-" + its first 16 hex digits.
// REQUIRES: fingerprint.size() >= 16.
std::string RemediationRequestName(std::string_view fingerprint);

}  // namespace stormkv

#endif  // STORMKV_GATEWAY_FINGERPRINT_H_
