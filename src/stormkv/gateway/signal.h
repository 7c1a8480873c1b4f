// stormkv/gateway/signal.h — NormalizedSignal: one alert or event, whatever its source.
//
// The adapters (alertmanager.h, k8s_event.h) turn untrusted payload bytes into
// NormalizedSignals; everything after them (dedup, storms, rate limits, RemediationRequests)
// sees only this type. Also here: the size limits every adapter enforces and the RFC 3339 time
// helpers they share.
#ifndef STORMKV_GATEWAY_SIGNAL_H_
#define STORMKV_GATEWAY_SIGNAL_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "stormkv/status.h"

namespace stormkv {

enum class SignalSource {
  kAlertmanager,     // Prometheus Alertmanager webhook (version 4)
  kKubernetesEvent,  // core/v1 or events.k8s.io/v1 Event
};

// "alertmanager" / "kubernetes-event".
std::string_view SignalSourceName(SignalSource source);
// Inverse of SignalSourceName; nullopt for any other text.
std::optional<SignalSource> ParseSignalSource(std::string_view name);

// The Kubernetes object a signal is about. `kind` is capitalised as Kubernetes spells it
// ("Pod", "StatefulSet"); both are empty when the signal names no resource.
struct ResourceRef {
  std::string kind;
  std::string name;

  bool empty() const { return kind.empty() && name.empty(); }
  friend bool operator==(const ResourceRef&, const ResourceRef&) = default;
};

struct NormalizedSignal {
  SignalSource source = SignalSource::kAlertmanager;
  // alertname (Alertmanager) or reason (Kubernetes Event). Never empty.
  std::string name;
  // labels.severity (Alertmanager; "unknown" when absent) or "warning" (Kubernetes Event).
  std::string severity;
  // labels.namespace (Alertmanager) or the involved object's namespace; "" = cluster-scoped.
  std::string namespace_name;
  ResourceRef resource;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  // Milliseconds since the Unix epoch. starts_at_ms falls back to received_at_ms when the
  // payload has none; ends_at_ms is nullopt for Go's zero time / absent.
  int64_t starts_at_ms = 0;
  std::optional<int64_t> ends_at_ms;
  int64_t received_at_ms = 0;
  // SHA-256 hex of "<name>:<namespace>:<kind>:<resource name>" (fingerprint.h). 64 chars.
  std::string fingerprint;
  // The source's own identifier, if it sent one (Alertmanager "fingerprint", Event metadata.uid).
  std::string source_fingerprint;
  // Alertmanager status "resolved". Kubernetes Events are never resolved.
  bool resolved = false;
  // Kubernetes Event message/note ("" for Alertmanager).
  std::string message;
  // Kubernetes Event count / series.count (1 when absent or 0, which is how Go's omitempty
  // sends an unset count; 1 for Alertmanager).
  int64_t source_count = 1;
};

// Caps on untrusted input, shared by the adapters. A payload exceeding any cap is rejected as
// a whole with InvalidArgument naming the field and the cap (nothing is truncated silently).
//
// The defaults fit alert storms: a storm is exactly when webhooks are big, and a rejected
// Alertmanager webhook is lost (pipeline.h: what a front end answers for an oversized body).
// Sized on a kube-prometheus storm (tests/gateway/payloads.h StormWebhook: 12 labels and 3
// annotations per alert): 10,000 alerts are 10,083,505 bytes (9.6 MiB, ~1,008 B per alert), so
// 32 MiB leaves a margin of 3.3x (about 33,000 such alerts), and 50,000 items is not the cap
// that binds first for alerts of that shape.
struct AdapterLimits {
  // Raw payload bytes. Checked before any parsing ("payload too large: N bytes > limit M").
  std::size_t max_payload_bytes = std::size_t{32} << 20;  // 32 MiB
  // Alerts in one webhook / events in one EventList.
  std::size_t max_items = 50000;
  // Nesting depth of the JSON document (guards recursion and allocation on hostile input).
  std::size_t max_json_depth = 32;
  // Entries of one labels / annotations object.
  std::size_t max_labels = 128;
  // Bytes of one label or annotation name.
  std::size_t max_label_name_bytes = 256;
  // Bytes of one label value (labels become key parts and RemediationRequest fields).
  std::size_t max_label_value_bytes = 1024;
  // Bytes of one annotation value or event message (descriptions, runbooks).
  std::size_t max_annotation_value_bytes = 16 * 1024;
};

// True when `text` is one complete JSON value (the adapters' parser, json_dom.h; no size or
// depth limit). For callers that must tell JSON from JSON Lines or junk before adapting.
bool IsJsonText(std::string_view text);

// Checks the raw payload before any parsing: size <= max_payload_bytes, and nesting depth of
// JSON arrays/objects <= max_json_depth (a byte scan that skips string contents).
// InvalidArgument naming the cap otherwise: "payload too large: N bytes > limit M" for the size
// (PayloadTooLarge), "payload: JSON nesting deeper than D at byte B" for the depth.
Status CheckPayloadEnvelope(std::string_view payload, const AdapterLimits& limits);

// The size half of CheckPayloadEnvelope: true when `payload_bytes` > limits.max_payload_bytes.
// Front ends use it on the Content-Length before reading a body (pipeline.h).
bool PayloadTooLarge(std::size_t payload_bytes, const AdapterLimits& limits);

// Validates one labels/annotations map against `limits`: entry count, name length, value
// length (`max_value_bytes`), non-empty names. `field` (e.g. "alerts[3].labels") names the
// object in the error; a name in the error goes through EscapeForError.
Status CheckStringMap(const std::map<std::string, std::string>& map, std::string_view field,
                      const AdapterLimits& limits, std::size_t max_value_bytes);

// Untrusted bytes made safe to echo in an error or reason text: at most the first `max_bytes`
// bytes of `text`, each byte that is not printable ASCII (control bytes, DEL, bytes >= 0x80) and
// each '"' and '\\' written as \xNN, then "..." when `text` was longer. The result holds no
// control byte and never more than 4 * max_bytes + 3 bytes, so hostile input cannot forge log
// lines or grow an error text. Every adapter error that quotes input uses it.
std::string EscapeForError(std::string_view text, std::size_t max_bytes = 64);

// Parses an RFC 3339 timestamp ("2024-05-01T12:00:00Z", "2024-05-01T12:00:00.123456789+02:00")
// into milliseconds since the Unix epoch (fraction truncated to ms). Go's zero time
// ("0001-01-01T00:00:00Z", what Alertmanager sends for an unset endsAt) and any instant before
// 1970 give nullopt. InvalidArgument for anything that is not RFC 3339 (quoting `text` through
// EscapeForError).
Result<std::optional<int64_t>> ParseRfc3339Ms(std::string_view text);

// Formats milliseconds since the epoch as RFC 3339 UTC: "2024-05-01T12:00:00Z", or with
// ".123Z" when the millisecond part is not zero.
std::string FormatRfc3339Ms(int64_t ms);

}  // namespace stormkv

#endif  // STORMKV_GATEWAY_SIGNAL_H_
