// stormkv/gateway/k8s_event.h — the Kubernetes Event adapter.
//
// Accepts, as JSON:
//  * a core/v1 Event: involvedObject{kind,name,namespace}, reason, message, type, count,
//    firstTimestamp/lastTimestamp/eventTime, source{component,host};
//  * an events.k8s.io/v1 Event: regarding{kind,name,namespace}, reason, note, type,
//    series{count,lastObservedTime} or deprecatedCount, eventTime/deprecatedFirstTimestamp,
//    reportingController, reportingInstance;
//  * a watch event wrapping either ({"type":"ADDED","object":{...}}) or an EventList
//    ({"kind":"EventList","items":[...]}).
// The shape is taken from apiVersion ("v1" or "events.k8s.io/..."), else from which of
// involvedObject / regarding is present. Unknown fields are ignored.
//
// Only events of type "Warning" become signals; any other type (usually "Normal") yields an
// item with a reason why it was ignored — not an error.
#ifndef STORMKV_GATEWAY_K8S_EVENT_H_
#define STORMKV_GATEWAY_K8S_EVENT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stormkv/gateway/signal.h"
#include "stormkv/status.h"

namespace stormkv {

// One event of a payload: a signal, or why it produced none.
struct KubernetesEventItem {
  std::optional<NormalizedSignal> signal;
  std::string ignored_reason;  // non-empty exactly when `signal` is empty
};

// Parses one payload received at `received_at_ms` (ms since the epoch).
//
// Success: one item per event, in payload order (never empty). A Warning event's signal has
// name = reason, severity "warning", namespace = the involved object's namespace (else
// metadata.namespace), resource = the involved object's kind and name, message = message/note,
// source_count = count / series.count / deprecatedCount (else 1; a count of 0 is Go's omitempty
// "unset" and counts as absent), starts_at = the first of
// firstTimestamp/eventTime/deprecatedFirstTimestamp/metadata.creationTimestamp (else receipt),
// labels = metadata.labels plus reason, type, namespace, kind, name, component/host when known;
// annotations = metadata.annotations plus "message".
// Failure: InvalidArgument naming the field ("items[1].involvedObject.name: missing",
// "reason: expected a string, got number", "payload: invalid JSON: ..." — also for a number
// beyond double range); the payload is rejected as a whole. Input quoted in an error or an
// ignored_reason is cut and escaped (EscapeForError, signal.h), so error texts stay bounded and
// free of control bytes. Internal only for a bug. Never throws, whatever the bytes.
Result<std::vector<KubernetesEventItem>> ParseKubernetesEvents(std::string_view payload,
                                                               int64_t received_at_ms,
                                                               const AdapterLimits& limits = {});

}  // namespace stormkv

#endif  // STORMKV_GATEWAY_K8S_EVENT_H_
