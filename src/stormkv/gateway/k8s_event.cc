#include "stormkv/gateway/k8s_event.h"

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
using OptValue = std::optional<Value>;

Status WrongType(const std::string& path, const char* expected, Value got) {
  return Status::InvalidArgument(path + ": expected " + expected + ", got " +
                                 std::string(jsondom::TypeName(got)));
}

std::string Join(const std::string& path, const char* key) {
  return path.empty() ? std::string(key) : path + "." + key;
}

Status OptionalString(Value obj, const char* key, const std::string& path,
                      std::size_t max_bytes, std::string* out) {
  OptValue v = jsondom::Member(obj, key);
  if (!v) return Status::Ok();
  if (!jsondom::IsString(*v)) return WrongType(Join(path, key), "a string", *v);
  const std::string_view s = jsondom::Str(*v);
  if (s.size() > max_bytes) {
    return Status::InvalidArgument(Join(path, key) + ": " + std::to_string(s.size()) +
                                   " bytes, limit " + std::to_string(max_bytes));
  }
  *out = std::string(s);
  return Status::Ok();
}

Status OptionalObject(Value obj, const char* key, const std::string& path, OptValue* out) {
  OptValue v = jsondom::Member(obj, key);
  if (v && !jsondom::IsObject(*v)) return WrongType(Join(path, key), "an object", *v);
  *out = v;
  return Status::Ok();
}

// As nlohmann's is_number_integer() and get<int64_t>(): any integer, unsigned ones beyond
// INT64_MAX wrapping to negative (and so refused).
Status OptionalCount(Value obj, const char* key, const std::string& path,
                     std::optional<int64_t>* out) {
  OptValue v = jsondom::Member(obj, key);
  if (!v) return Status::Ok();
  using simdjson::dom::element_type;
  int64_t n = -1;
  if (v->type() == element_type::INT64) {
    n = v->get_int64().value_unsafe();
  } else if (v->type() == element_type::UINT64) {
    n = static_cast<int64_t>(v->get_uint64().value_unsafe());
  } else {
    return WrongType(Join(path, key), "a non-negative integer", *v);
  }
  if (n < 0) return WrongType(Join(path, key), "a non-negative integer", *v);
  if (n > 0) *out = n;  // 0: Go's omitempty for "unset"
  return Status::Ok();
}

Status StringMap(OptValue v, const std::string& field, const AdapterLimits& limits,
                 std::size_t max_value_bytes, std::map<std::string, std::string>* out) {
  if (!v) return Status::Ok();
  if (!jsondom::IsObject(*v)) return WrongType(field, "an object", *v);
  std::vector<std::pair<std::string_view, Value>> members;
  jsondom::SortedMembers(*v, &members);
  for (const auto& [k, value] : members) {
    if (!jsondom::IsString(value)) {
      return WrongType(field + "." + EscapeForError(k), "a string", value);
    }
    out->emplace(k, jsondom::Str(value));
  }
  return CheckStringMap(*out, field, limits, max_value_bytes);
}

Status FirstTime(Value obj, std::initializer_list<const char*> keys, const std::string& path,
                 std::optional<int64_t>* out) {
  for (const char* key : keys) {
    std::string text;
    STORMKV_RETURN_IF_ERROR(OptionalString(obj, key, path, 64, &text));
    if (text.empty()) continue;
    Result<std::optional<int64_t>> t = ParseRfc3339Ms(text);
    if (!t.ok()) return t.status().WithContext(Join(path, key));
    if (t->has_value()) {
      *out = *t;
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Status ParseEvent(Value ev, const std::string& path, int64_t received_at_ms,
                  const AdapterLimits& limits, KubernetesEventItem* item) {
  if (!jsondom::IsObject(ev)) return WrongType(path.empty() ? "payload" : path, "an object", ev);
  const std::size_t vmax = limits.max_label_value_bytes;
  std::string api_version;
  STORMKV_RETURN_IF_ERROR(OptionalString(ev, "apiVersion", path, vmax, &api_version));
  OptValue involved;
  OptValue regarding;
  STORMKV_RETURN_IF_ERROR(OptionalObject(ev, "involvedObject", path, &involved));
  STORMKV_RETURN_IF_ERROR(OptionalObject(ev, "regarding", path, &regarding));
  bool new_shape;
  if (api_version.rfind("events.k8s.io/", 0) == 0)
    new_shape = true;
  else if (api_version == "v1")
    new_shape = false;
  else if (!api_version.empty())
    return Status::InvalidArgument(Join(path, "apiVersion") + ": unsupported \"" +
                                   EscapeForError(api_version) +
                                   "\" (expected \"v1\" or \"events.k8s.io/v1\")");
  else if (regarding)
    new_shape = true;
  else if (involved)
    new_shape = false;
  else
    return Status::InvalidArgument(
        (path.empty() ? std::string("payload") : path) +
        ": not a Kubernetes Event (neither involvedObject nor regarding)");
  const OptValue object = new_shape ? regarding : involved;
  const std::string object_path = Join(path, new_shape ? "regarding" : "involvedObject");

  std::string type, reason, message, kind, name, object_ns, component, host;
  OptValue metadata;
  STORMKV_RETURN_IF_ERROR(OptionalString(ev, "type", path, vmax, &type));
  STORMKV_RETURN_IF_ERROR(OptionalString(ev, "reason", path, vmax, &reason));
  STORMKV_RETURN_IF_ERROR(OptionalString(ev, new_shape ? "note" : "message", path,
                                         limits.max_annotation_value_bytes, &message));
  STORMKV_RETURN_IF_ERROR(OptionalObject(ev, "metadata", path, &metadata));
  if (object) {
    STORMKV_RETURN_IF_ERROR(OptionalString(*object, "kind", object_path, vmax, &kind));
    STORMKV_RETURN_IF_ERROR(OptionalString(*object, "name", object_path, vmax, &name));
    STORMKV_RETURN_IF_ERROR(OptionalString(*object, "namespace", object_path, vmax, &object_ns));
  }
  std::optional<int64_t> count;
  if (new_shape) {
    OptValue series;
    STORMKV_RETURN_IF_ERROR(OptionalObject(ev, "series", path, &series));
    if (series)
      STORMKV_RETURN_IF_ERROR(OptionalCount(*series, "count", Join(path, "series"), &count));
    if (!count) STORMKV_RETURN_IF_ERROR(OptionalCount(ev, "deprecatedCount", path, &count));
    STORMKV_RETURN_IF_ERROR(OptionalString(ev, "reportingController", path, vmax, &component));
    STORMKV_RETURN_IF_ERROR(OptionalString(ev, "reportingInstance", path, vmax, &host));
  } else {
    STORMKV_RETURN_IF_ERROR(OptionalCount(ev, "count", path, &count));
    OptValue source;
    STORMKV_RETURN_IF_ERROR(OptionalObject(ev, "source", path, &source));
    if (source) {
      STORMKV_RETURN_IF_ERROR(
          OptionalString(*source, "component", Join(path, "source"), vmax, &component));
      STORMKV_RETURN_IF_ERROR(OptionalString(*source, "host", Join(path, "source"), vmax, &host));
    }
  }
  std::optional<int64_t> starts;
  if (new_shape) {
    STORMKV_RETURN_IF_ERROR(
        FirstTime(ev, {"eventTime", "deprecatedFirstTimestamp"}, path, &starts));
  } else {
    STORMKV_RETURN_IF_ERROR(FirstTime(ev, {"firstTimestamp", "eventTime"}, path, &starts));
  }
  NormalizedSignal s;
  std::string meta_ns, uid;
  if (metadata) {
    const std::string meta_path = Join(path, "metadata");
    STORMKV_RETURN_IF_ERROR(OptionalString(*metadata, "namespace", meta_path, vmax, &meta_ns));
    STORMKV_RETURN_IF_ERROR(OptionalString(*metadata, "uid", meta_path, vmax, &uid));
    if (!starts)
      STORMKV_RETURN_IF_ERROR(FirstTime(*metadata, {"creationTimestamp"}, meta_path, &starts));
    STORMKV_RETURN_IF_ERROR(StringMap(jsondom::Member(*metadata, "labels"),
                                      Join(meta_path, "labels"), limits, vmax, &s.labels));
    STORMKV_RETURN_IF_ERROR(StringMap(jsondom::Member(*metadata, "annotations"),
                                      Join(meta_path, "annotations"), limits,
                                      limits.max_annotation_value_bytes, &s.annotations));
  }

  if (type != "Warning") {
    item->ignored_reason = type.empty() ? "event has no type: only Warning events become signals"
                                        : "event type \"" + EscapeForError(type) +
                                              "\": only Warning events become signals";
    return Status::Ok();
  }
  if (reason.empty()) return Status::InvalidArgument(Join(path, "reason") + ": missing");
  if (!object) return Status::InvalidArgument(object_path + ": missing");
  if (kind.empty()) return Status::InvalidArgument(object_path + ".kind: missing");
  if (name.empty()) return Status::InvalidArgument(object_path + ".name: missing");

  s.source = SignalSource::kKubernetesEvent;
  s.name = reason;
  s.severity = "warning";
  s.namespace_name = object_ns.empty() ? meta_ns : object_ns;
  s.resource = ResourceRef{kind, name};
  s.message = message;
  s.source_count = count.value_or(1);
  s.received_at_ms = received_at_ms;
  s.starts_at_ms = starts.value_or(received_at_ms);
  s.source_fingerprint = uid;
  s.fingerprint = ComputeFingerprint(s.name, s.namespace_name, s.resource);
  s.labels["reason"] = reason;
  s.labels["type"] = type;
  if (!s.namespace_name.empty()) s.labels["namespace"] = s.namespace_name;
  s.labels["kind"] = kind;
  s.labels["name"] = name;
  if (!component.empty()) s.labels["component"] = component;
  if (!host.empty()) s.labels["host"] = host;
  if (!message.empty()) s.annotations["message"] = message;
  STORMKV_RETURN_IF_ERROR(CheckStringMap(s.labels, Join(path, "labels"), limits, vmax));
  STORMKV_RETURN_IF_ERROR(CheckStringMap(s.annotations, Join(path, "annotations"), limits,
                                         limits.max_annotation_value_bytes));
  item->signal = std::move(s);
  return Status::Ok();
}

Status Parse(Value doc, int64_t received_at_ms, const AdapterLimits& limits,
             std::vector<KubernetesEventItem>* out) {
  if (!jsondom::IsObject(doc)) return WrongType("payload", "a JSON object", doc);
  Value root = doc;
  std::string root_path;
  if (OptValue wrapped = jsondom::Member(doc, "object")) {
    if (!jsondom::IsObject(*wrapped)) return WrongType("object", "an object", *wrapped);
    root = *wrapped;
    root_path = "object";
  }
  if (OptValue items = jsondom::Member(root, "items")) {
    const std::string items_path = Join(root_path, "items");
    if (!jsondom::IsArray(*items)) return WrongType(items_path, "an array", *items);
    simdjson::dom::array list = items->get_array().value_unsafe();
    const std::size_t n = list.size();
    if (n == 0) return Status::InvalidArgument(items_path + ": empty event list");
    if (n > limits.max_items) {
      return Status::InvalidArgument(items_path + ": " + std::to_string(n) +
                                     " events exceed the limit of " +
                                     std::to_string(limits.max_items));
    }
    out->resize(n);
    std::size_t i = 0;
    for (Value ev : list) {
      STORMKV_RETURN_IF_ERROR(ParseEvent(ev, items_path + "[" + std::to_string(i) + "]",
                                         received_at_ms, limits, &(*out)[i]));
      ++i;
    }
    return Status::Ok();
  }
  out->resize(1);
  return ParseEvent(root, root_path, received_at_ms, limits, &(*out)[0]);
}

}  // namespace

Result<std::vector<KubernetesEventItem>> ParseKubernetesEvents(std::string_view payload,
                                                               int64_t received_at_ms,
                                                               const AdapterLimits& limits) {
  std::vector<KubernetesEventItem> out;
  STORMKV_RETURN_IF_ERROR(jsondom::DecodePayload(payload, limits, "kubernetes event adapter",
                                                 [&](Value doc) {
                                                   return Parse(doc, received_at_ms, limits, &out);
                                                 }));
  return out;
}

}  // namespace stormkv
