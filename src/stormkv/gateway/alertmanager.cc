#include "stormkv/gateway/alertmanager.h"

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "stormkv/gateway/fingerprint.h"
#include "stormkv/gateway/json_text.h"

namespace stormkv {
namespace {

using nlohmann::json;

Status WrongType(const std::string& path, const char* expected, const json& got) {
  return Status::InvalidArgument(path + ": expected " + expected + ", got " + got.type_name());
}

// A present, non-null member of `obj`, or nullptr.
const json* Member(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

Status OptionalString(const json& obj, const char* key, const std::string& path,
                      std::optional<std::string>* out) {
  const json* v = Member(obj, key);
  if (!v) return Status::Ok();
  if (!v->is_string()) return WrongType(path + "." + key, "a string", *v);
  *out = v->get_ref<const std::string&>();
  return Status::Ok();
}

Status StringMap(const json& obj, const char* key, const std::string& path, bool required,
                 std::map<std::string, std::string>* out) {
  const std::string field = path + "." + key;
  const json* v = Member(obj, key);
  if (!v) return required ? Status::InvalidArgument(field + ": missing") : Status::Ok();
  if (!v->is_object()) return WrongType(field, "an object", *v);
  for (auto it = v->begin(); it != v->end(); ++it) {
    if (!it.value().is_string()) {
      return WrongType(field + "." + EscapeForError(it.key()), "a string", it.value());
    }
    out->emplace(it.key(), it.value().get_ref<const std::string&>());
  }
  return Status::Ok();
}

Status ParseTime(const std::optional<std::string>& text, const std::string& field,
                 std::optional<int64_t>* out) {
  if (!text) return Status::Ok();
  Result<std::optional<int64_t>> t = ParseRfc3339Ms(*text);
  if (!t.ok()) return t.status().WithContext(field);
  *out = *t;
  return Status::Ok();
}

Status ParseStatus(const std::optional<std::string>& text, const std::string& field,
                   std::optional<bool>* resolved) {
  if (!text) return Status::Ok();
  if (*text == "firing")
    *resolved = false;
  else if (*text == "resolved")
    *resolved = true;
  else
    return Status::InvalidArgument(field + ": must be \"firing\" or \"resolved\", got \"" +
                                   EscapeForError(*text) + "\"");
  return Status::Ok();
}

Status ParseAlert(const json& alert, const std::string& path, std::optional<bool> payload_resolved,
                  int64_t received_at_ms, const AdapterLimits& limits, NormalizedSignal* s) {
  if (!alert.is_object()) return WrongType(path, "an object", alert);
  STORMKV_RETURN_IF_ERROR(StringMap(alert, "labels", path, /*required=*/true, &s->labels));
  STORMKV_RETURN_IF_ERROR(
      StringMap(alert, "annotations", path, /*required=*/false, &s->annotations));
  STORMKV_RETURN_IF_ERROR(
      CheckStringMap(s->labels, path + ".labels", limits, limits.max_label_value_bytes));
  STORMKV_RETURN_IF_ERROR(CheckStringMap(s->annotations, path + ".annotations", limits,
                                         limits.max_annotation_value_bytes));
  auto alertname = s->labels.find("alertname");
  if (alertname == s->labels.end() || alertname->second.empty()) {
    return Status::InvalidArgument(path + ".labels.alertname: missing");
  }

  std::optional<std::string> status, starts, ends, fingerprint;
  STORMKV_RETURN_IF_ERROR(OptionalString(alert, "status", path, &status));
  STORMKV_RETURN_IF_ERROR(OptionalString(alert, "startsAt", path, &starts));
  STORMKV_RETURN_IF_ERROR(OptionalString(alert, "endsAt", path, &ends));
  STORMKV_RETURN_IF_ERROR(OptionalString(alert, "fingerprint", path, &fingerprint));
  std::optional<bool> resolved;
  STORMKV_RETURN_IF_ERROR(ParseStatus(status, path + ".status", &resolved));
  std::optional<int64_t> starts_ms;
  STORMKV_RETURN_IF_ERROR(ParseTime(starts, path + ".startsAt", &starts_ms));
  STORMKV_RETURN_IF_ERROR(ParseTime(ends, path + ".endsAt", &s->ends_at_ms));
  if (fingerprint && fingerprint->size() > limits.max_label_value_bytes) {
    return Status::InvalidArgument(path + ".fingerprint: " + std::to_string(fingerprint->size()) +
                                   " bytes, limit " + std::to_string(limits.max_label_value_bytes));
  }

  s->source = SignalSource::kAlertmanager;
  s->name = alertname->second;
  auto severity = s->labels.find("severity");
  s->severity =
      severity != s->labels.end() && !severity->second.empty() ? severity->second : "unknown";
  auto ns = s->labels.find("namespace");
  s->namespace_name = ns != s->labels.end() ? ns->second : "";
  s->resource = ExtractAlertResource(s->labels);
  s->starts_at_ms = starts_ms.value_or(received_at_ms);
  s->received_at_ms = received_at_ms;
  s->fingerprint = ComputeFingerprint(s->name, s->namespace_name, s->resource);
  s->source_fingerprint = fingerprint.value_or("");
  s->resolved = resolved.value_or(payload_resolved.value_or(false));
  s->source_count = 1;
  return Status::Ok();
}

Status Parse(const json& doc, int64_t received_at_ms, const AdapterLimits& limits,
             std::vector<NormalizedSignal>* out) {
  if (!doc.is_object()) return WrongType("payload", "a JSON object", doc);

  std::optional<std::string> version, status;
  STORMKV_RETURN_IF_ERROR(OptionalString(doc, "version", "payload", &version));
  if (version && *version != "4") {
    return Status::InvalidArgument("version: unsupported webhook version \"" +
                                   EscapeForError(*version, 16) + "\" (expected \"4\")");
  }
  STORMKV_RETURN_IF_ERROR(OptionalString(doc, "status", "payload", &status));
  std::optional<bool> payload_resolved;
  STORMKV_RETURN_IF_ERROR(ParseStatus(status, "status", &payload_resolved));

  const json* alerts = Member(doc, "alerts");
  if (!alerts) return Status::InvalidArgument("alerts: missing");
  if (!alerts->is_array()) return WrongType("alerts", "an array", *alerts);
  if (alerts->empty()) return Status::InvalidArgument("alerts: empty alert list");
  if (alerts->size() > limits.max_items) {
    return Status::InvalidArgument("alerts: " + std::to_string(alerts->size()) +
                                   " alerts exceed the limit of " +
                                   std::to_string(limits.max_items));
  }
  out->resize(alerts->size());
  for (std::size_t i = 0; i < alerts->size(); ++i) {
    STORMKV_RETURN_IF_ERROR(ParseAlert((*alerts)[i], "alerts[" + std::to_string(i) + "]",
                                       payload_resolved, received_at_ms, limits, &(*out)[i]));
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<NormalizedSignal>> ParseAlertmanagerWebhook(std::string_view payload,
                                                               int64_t received_at_ms,
                                                               const AdapterLimits& limits) {
  std::vector<NormalizedSignal> out;
  STORMKV_RETURN_IF_ERROR(DecodePayload(payload, limits, "alertmanager adapter",
                                        [&](const json& doc) {
                                          return Parse(doc, received_at_ms, limits, &out);
                                        }));
  return out;
}

}  // namespace stormkv
