// stormkv/gateway/remediation_request.h — the gateway's output: a RemediationRequest.
//
// Mirrors the reference gateway's RemediationRequest custom resource (field names as in its
// CRD: signalFingerprint, signalName, severity, signalType, signalSource, targetType,
// targetResource, firingTime, receivedTime, deduplication{...}, isStorm, stormType, stormWindow,
// stormAlertCount, affectedResources, signalLabels, signalAnnotations). One request per new
// fingerprint, or one per storm aggregation; named "rr-<first 16 hex of the fingerprint>".
// Serialised to JSON with cereal (cereal stays out of this header).
#ifndef STORMKV_GATEWAY_REMEDIATION_REQUEST_H_
#define STORMKV_GATEWAY_REMEDIATION_REQUEST_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "stormkv/gateway/signal.h"

namespace stormkv {

inline constexpr std::string_view kRemediationRequestApiVersion =
    "remediation.kubernaut.io/v1alpha1";
inline constexpr std::string_view kRemediationRequestKind = "RemediationRequest";

// spec.deduplication. Times are ms since the epoch, written as RFC 3339.
struct DeduplicationInfo {
  bool is_duplicate = false;                     // isDuplicate
  int64_t first_seen_ms = 0;                     // firstSeen
  int64_t last_seen_ms = 0;                      // lastSeen
  int64_t occurrence_count = 1;                  // occurrenceCount
  std::string previous_remediation_request_ref;  // previousRemediationRequestRef; "" = omitted
};

// spec.targetResource.
struct TargetResource {
  std::string kind;
  std::string name;
  std::string namespace_name;  // "namespace"; "" = omitted (cluster-scoped)
};

struct RemediationRequest {
  // metadata
  std::string name;            // "rr-<16 hex>"
  std::string namespace_name;  // metadata.namespace: the signal's namespace, else "default"
  // spec
  std::string signal_fingerprint;  // 64 hex
  std::string signal_name;
  std::string severity;
  std::string signal_type;    // "prometheus-alert" | "kubernetes-event"
  std::string signal_source;  // "prometheus-adapter" | "k8s-event-adapter"
  std::string target_type = "kubernetes";
  TargetResource target_resource;
  int64_t firing_time_ms = 0;
  int64_t received_time_ms = 0;
  DeduplicationInfo deduplication;
  // Storm fields; written only when is_storm (the CRD's omitempty).
  bool is_storm = false;
  std::string storm_type;    // "rate" | "pattern"
  std::string storm_window;  // e.g. "1m" (FormatDuration)
  int64_t storm_alert_count = 0;
  // "namespace:Kind:name" per resource (AffectedResourceId); always an array, [] when empty.
  std::vector<std::string> affected_resources;
  // Resources seen but not listed because the aggregation's resource cap was reached;
  // written as affectedResourcesOverflow only when > 0 (stormkv extension).
  int64_t affected_resources_overflow = 0;
  // Storms: false for the provisional request emitted when the storm opens, true for the final
  // one emitted when its window closes (the whole storm). Same name: consumers apply requests
  // by name (create or update), so the final one replaces the provisional one. Written as
  // stormClosed when is_storm (stormkv extension).
  bool storm_closed = false;
  std::map<std::string, std::string> signal_labels;
  std::map<std::string, std::string> signal_annotations;
};

// A non-storm request for `signal` with its dedup record: name from the fingerprint, target
// from the signal's resource and namespace, firingTime = starts_at, receivedTime = received_at,
// labels and annotations copied.
RemediationRequest MakeRemediationRequest(const NormalizedSignal& signal,
                                          const DeduplicationInfo& dedup);

// "prometheus-alert" / "kubernetes-event" (spec.signalType).
std::string_view SignalTypeName(SignalSource source);
// "prometheus-adapter" / "k8s-event-adapter" (spec.signalSource).
std::string_view SignalAdapterName(SignalSource source);

// "namespace:Kind:name" as the reference lists affected resources.
std::string AffectedResourceId(std::string_view namespace_name, const ResourceRef& resource);

// A Go-style short duration: 60000 ms -> "1m", 90000 -> "1m30s", 300000 -> "5m", 1500 -> "1.5s".
std::string FormatDuration(std::chrono::milliseconds d);

// The request as a Kubernetes object:
//   {"apiVersion":"remediation.kubernaut.io/v1alpha1","kind":"RemediationRequest",
//    "metadata":{"name":...,"namespace":...},"spec":{...}}
// compact (no whitespace) unless `pretty`. Maps become JSON objects, lists JSON arrays (an empty
// list is [] — never {}). Never throws; returns "" only if serialisation itself fails
// (memory exhausted).
std::string RemediationRequestToJson(const RemediationRequest& rr, bool pretty = false);

}  // namespace stormkv

#endif  // STORMKV_GATEWAY_REMEDIATION_REQUEST_H_
