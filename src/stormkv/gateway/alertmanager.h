// stormkv/gateway/alertmanager.h — the Prometheus Alertmanager webhook (version 4) adapter.
//
// Payload (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config):
//   {"version":"4","status":"firing","receiver":...,"groupLabels":{...},"commonLabels":{...},
//    "alerts":[{"status":"firing","labels":{...},"annotations":{...},"startsAt":"...",
//               "endsAt":"0001-01-01T00:00:00Z","generatorURL":"...","fingerprint":"..."}, ...]}
//
// Every alert of the payload becomes one NormalizedSignal, in payload order (the reference
// gateway handled only the first). Unknown fields are ignored; `fingerprint`, `annotations`,
// `status`, `startsAt` and `endsAt` are optional. Only `alerts` and, per alert, `labels` with a
// non-empty `alertname` are required.
#ifndef STORMKV_GATEWAY_ALERTMANAGER_H_
#define STORMKV_GATEWAY_ALERTMANAGER_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "stormkv/gateway/signal.h"
#include "stormkv/status.h"

namespace stormkv {

// Parses one webhook body received at `received_at_ms` (ms since the epoch).
//
// Success: one signal per alert (never empty), with fingerprint and resource filled
// (fingerprint.h), resolved = alert status (or the payload status when the alert has none) is
// "resolved", severity = labels.severity or "unknown", namespace = labels.namespace or "".
// Failure: InvalidArgument naming the offending field, e.g. "alerts[2].labels.alertname:
// missing", "alerts: expected an array, got object", "alerts: empty alert list", "payload
// too large: 40000000 bytes > limit 33554432", "payload: invalid JSON: ..." (also for a
// number beyond double range, "1e999"). Input quoted in an error is cut and escaped
// (EscapeForError, signal.h), so error texts stay bounded and free of control bytes. The whole
// payload is rejected when any alert is invalid. Internal only for a bug. Never throws,
// whatever the bytes.
Result<std::vector<NormalizedSignal>> ParseAlertmanagerWebhook(std::string_view payload,
                                                               int64_t received_at_ms,
                                                               const AdapterLimits& limits = {});

}  // namespace stormkv

#endif  // STORMKV_GATEWAY_ALERTMANAGER_H_
