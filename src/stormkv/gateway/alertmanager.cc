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

// The path of alert `i` in errors ("alerts[3]"), built only when an error needs it.
std::string AlertPath(std::size_t i) { return "alerts[" + std::to_string(i) + "]"; }

// The members of one alert the adapter reads: each one's last occurrence, absent when it is
// missing or null (what jsondom::Member answers), found in one pass over the object.
struct AlertMembers {
  std::optional<Value> labels, annotations, status, starts, ends, fingerprint;
};

AlertMembers CollectAlertMembers(Value alert) {
  AlertMembers m;
  const simdjson::dom::object members = alert.get_object().value_unsafe();
  for (simdjson::dom::key_value_pair kv : members) {
    const std::string_view k = kv.key;
    std::optional<Value>* slot = nullptr;
    switch (k.size()) {
      case 6:
        slot = k == "labels" ? &m.labels : k == "status" ? &m.status : k == "endsAt" ? &m.ends : nullptr;
        break;
      case 8:
        slot = k == "startsAt" ? &m.starts : nullptr;
        break;
      case 11:
        slot = k == "annotations" ? &m.annotations : k == "fingerprint" ? &m.fingerprint : nullptr;
        break;
      default:
        break;
    }
    if (slot != nullptr) *slot = kv.value;
  }
  for (std::optional<Value>* v :
       {&m.labels, &m.annotations, &m.status, &m.starts, &m.ends, &m.fingerprint}) {
    if (*v && jsondom::IsNull(**v)) v->reset();
  }
  return m;
}

// A string member (as OptionalString, on an already collected member).
Status StringMember(const std::optional<Value>& v, std::size_t alert, const char* key,
                    std::optional<std::string_view>* out) {
  if (!v) return Status::Ok();
  if (!jsondom::IsString(*v)) return WrongType(AlertPath(alert) + "." + key, "a string", *v);
  *out = jsondom::Str(*v);
  return Status::Ok();
}

Status StringMap(const std::optional<Value>& v, std::size_t alert, const char* key,
                 bool required, std::map<std::string, std::string>* out) {
  if (!v) {
    return required ? Status::InvalidArgument(AlertPath(alert) + "." + key + ": missing")
                    : Status::Ok();
  }
  if (!jsondom::IsObject(*v)) return WrongType(AlertPath(alert) + "." + key, "an object", *v);
  thread_local std::vector<std::pair<std::string_view, Value>> members;
  jsondom::SortedMembers(*v, &members);
  for (const auto& [k, value] : members) {
    if (!jsondom::IsString(value)) {
      return WrongType(AlertPath(alert) + "." + key + "." + EscapeForError(k), "a string", value);
    }
  }
  // Sorted and unique already: each insertion goes to the end of the map.
  for (const auto& [k, value] : members) out->emplace_hint(out->end(), k, jsondom::Str(value));
  return Status::Ok();
}

// CheckStringMap, whose error text (naming the field) is built only when a limit is exceeded.
Status CheckMap(const std::map<std::string, std::string>& map, std::size_t alert, const char* key,
                const AdapterLimits& limits, std::size_t max_value_bytes) {
  bool within = map.size() <= limits.max_labels;
  for (auto it = map.begin(); within && it != map.end(); ++it) {
    within = !it->first.empty() && it->first.size() <= limits.max_label_name_bytes &&
             it->second.size() <= max_value_bytes;
  }
  if (within) return Status::Ok();
  return CheckStringMap(map, AlertPath(alert) + "." + key, limits, max_value_bytes);
}

Status ParseTime(const std::optional<std::string_view>& text, std::size_t alert,
                 const char* key, std::optional<int64_t>* out) {
  if (!text) return Status::Ok();
  Result<std::optional<int64_t>> t = ParseRfc3339Ms(*text);
  if (!t.ok()) return t.status().WithContext(AlertPath(alert) + "." + key);
  *out = *t;
  return Status::Ok();
}

Status ParseStatus(const std::optional<std::string_view>& text, const std::string& field,
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

Status ParseAlert(Value alert, std::size_t index, std::optional<bool> payload_resolved,
                  int64_t received_at_ms, const AdapterLimits& limits, NormalizedSignal* s) {
  if (!jsondom::IsObject(alert)) return WrongType(AlertPath(index), "an object", alert);
  const AlertMembers m = CollectAlertMembers(alert);
  STORMKV_RETURN_IF_ERROR(StringMap(m.labels, index, "labels", /*required=*/true, &s->labels));
  STORMKV_RETURN_IF_ERROR(
      StringMap(m.annotations, index, "annotations", /*required=*/false, &s->annotations));
  STORMKV_RETURN_IF_ERROR(
      CheckMap(s->labels, index, "labels", limits, limits.max_label_value_bytes));
  STORMKV_RETURN_IF_ERROR(CheckMap(s->annotations, index, "annotations", limits,
                                   limits.max_annotation_value_bytes));
  auto alertname = s->labels.find("alertname");
  if (alertname == s->labels.end() || alertname->second.empty()) {
    return Status::InvalidArgument(AlertPath(index) + ".labels.alertname: missing");
  }

  std::optional<std::string_view> status, starts, ends, fingerprint;
  STORMKV_RETURN_IF_ERROR(StringMember(m.status, index, "status", &status));
  STORMKV_RETURN_IF_ERROR(StringMember(m.starts, index, "startsAt", &starts));
  STORMKV_RETURN_IF_ERROR(StringMember(m.ends, index, "endsAt", &ends));
  STORMKV_RETURN_IF_ERROR(StringMember(m.fingerprint, index, "fingerprint", &fingerprint));
  std::optional<bool> resolved;
  if (status && *status != "firing" && *status != "resolved") {
    return ParseStatus(status, AlertPath(index) + ".status", &resolved);
  }
  STORMKV_RETURN_IF_ERROR(ParseStatus(status, std::string(), &resolved));
  std::optional<int64_t> starts_ms;
  STORMKV_RETURN_IF_ERROR(ParseTime(starts, index, "startsAt", &starts_ms));
  STORMKV_RETURN_IF_ERROR(ParseTime(ends, index, "endsAt", &s->ends_at_ms));
  if (fingerprint && fingerprint->size() > limits.max_label_value_bytes) {
    return Status::InvalidArgument(AlertPath(index) + ".fingerprint: " +
                                   std::to_string(fingerprint->size()) + " bytes, limit " +
                                   std::to_string(limits.max_label_value_bytes));
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
  s->source_fingerprint = fingerprint ? std::string(*fingerprint) : std::string();
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
  STORMKV_RETURN_IF_ERROR(ParseStatus(
      status ? std::optional<std::string_view>(*status) : std::nullopt, "status", &payload_resolved));

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
    STORMKV_RETURN_IF_ERROR(
        ParseAlert(alert, i, payload_resolved, received_at_ms, limits, &(*out)[i]));
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
