#include "stormkv/gateway/alertmanager.h"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "stormkv/gateway/fingerprint.h"
#include "stormkv/gateway/json_dom.h"

namespace stormkv {
namespace {

using jsondom::Value;

Status WrongType(const std::string& path, const char* expected, Value got) {
  return Status::InvalidArgument(path + ": expected " + expected + ", got " +
                                 std::string(jsondom::TypeName(got)));
}

Status OptionalString(Value obj, const char* key, const std::string& path,
                      std::optional<std::string>* out) {
  std::optional<Value> v = jsondom::Member(obj, key);
  if (!v) return Status::Ok();
  if (!jsondom::IsString(*v)) return WrongType(path + "." + key, "a string", *v);
  *out = std::string(jsondom::Str(*v));
  return Status::Ok();
}

Status StringMap(Value obj, const char* key, const std::string& path, bool required,
                 std::map<std::string, std::string>* out) {
  std::optional<Value> v = jsondom::Member(obj, key);
  if (!v) {
    return required ? Status::InvalidArgument(path + "." + key + ": missing") : Status::Ok();
  }
  if (!jsondom::IsObject(*v)) return WrongType(path + "." + key, "an object", *v);
  thread_local std::vector<std::pair<std::string_view, Value>> members;
  jsondom::SortedMembers(*v, &members);
  for (const auto& [k, value] : members) {
    if (!jsondom::IsString(value)) {
      return WrongType(path + "." + key + "." + EscapeForError(k), "a string", value);
    }
  }
  // Sorted and unique already: each insertion goes to the end of the map.
  for (const auto& [k, value] : members) out->emplace_hint(out->end(), k, jsondom::Str(value));
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

Status ParseAlert(Value alert, const std::string& path, std::optional<bool> payload_resolved,
                  int64_t received_at_ms, const AdapterLimits& limits, NormalizedSignal* s) {
  if (!jsondom::IsObject(alert)) return WrongType(path, "an object", alert);
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

Status Parse(Value doc, int64_t received_at_ms, const AdapterLimits& limits,
             std::vector<NormalizedSignal>* out) {
  if (!jsondom::IsObject(doc)) return WrongType("payload", "a JSON object", doc);

  std::optional<std::string> version, status;
  STORMKV_RETURN_IF_ERROR(OptionalString(doc, "version", "payload", &version));
  if (version && *version != "4") {
    return Status::InvalidArgument("version: unsupported webhook version \"" +
                                   EscapeForError(*version, 16) + "\" (expected \"4\")");
  }
  STORMKV_RETURN_IF_ERROR(OptionalString(doc, "status", "payload", &status));
  std::optional<bool> payload_resolved;
  STORMKV_RETURN_IF_ERROR(ParseStatus(status, "status", &payload_resolved));

  std::optional<Value> alerts = jsondom::Member(doc, "alerts");
  if (!alerts) return Status::InvalidArgument("alerts: missing");
  if (!jsondom::IsArray(*alerts)) return WrongType("alerts", "an array", *alerts);
  simdjson::dom::array list = alerts->get_array().value_unsafe();
  const std::size_t n = list.size();
  if (n == 0) return Status::InvalidArgument("alerts: empty alert list");
  if (n > limits.max_items) {
    return Status::InvalidArgument("alerts: " + std::to_string(n) +
                                   " alerts exceed the limit of " +
                                   std::to_string(limits.max_items));
  }
  out->resize(n);
  std::size_t i = 0;
  for (Value alert : list) {
    STORMKV_RETURN_IF_ERROR(ParseAlert(alert, "alerts[" + std::to_string(i) + "]",
                                       payload_resolved, received_at_ms, limits, &(*out)[i]));
    ++i;
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<NormalizedSignal>> ParseAlertmanagerWebhook(std::string_view payload,
                                                               int64_t received_at_ms,
                                                               const AdapterLimits& limits) {
  std::vector<NormalizedSignal> out;
  STORMKV_RETURN_IF_ERROR(jsondom::DecodePayload(payload, limits, "alertmanager adapter",
                                                 [&](Value doc) {
                                                   return Parse(doc, received_at_ms, limits, &out);
                                                 }));
  return out;
}

}  // namespace stormkv
