#include "stormkv/gateway/remediation_request.h"

#include <cereal/archives/json.hpp>
#include <cereal/cereal.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <exception>
#include <sstream>

#include "stormkv/gateway/fingerprint.h"
#include "stormkv/gateway/json_out.h"

namespace stormkv {
namespace {

using cereal::make_nvp;

struct StringMapObject {
  const std::map<std::string, std::string>* map;
  template <class Archive>
  void save(Archive& ar) const {
    for (const auto& [k, v] : *map) ar(make_nvp(k, v));
  }
};

struct MetadataOut {
  const RemediationRequest* rr;
  template <class Archive>
  void save(Archive& ar) const {
    ar(make_nvp("name", rr->name), make_nvp("namespace", rr->namespace_name));
  }
};

struct TargetOut {
  const TargetResource* t;
  template <class Archive>
  void save(Archive& ar) const {
    ar(make_nvp("kind", t->kind), make_nvp("name", t->name));
    if (!t->namespace_name.empty()) ar(make_nvp("namespace", t->namespace_name));
  }
};

struct DedupOut {
  const DeduplicationInfo* d;
  template <class Archive>
  void save(Archive& ar) const {
    ar(make_nvp("isDuplicate", d->is_duplicate),
       make_nvp("firstSeen", FormatRfc3339Ms(d->first_seen_ms)),
       make_nvp("lastSeen", FormatRfc3339Ms(d->last_seen_ms)),
       make_nvp("occurrenceCount", d->occurrence_count));
    if (!d->previous_remediation_request_ref.empty()) {
      ar(make_nvp("previousRemediationRequestRef", d->previous_remediation_request_ref));
    }
  }
};

struct SpecOut {
  const RemediationRequest* rr;
  template <class Archive>
  void save(Archive& ar) const {
    ar(make_nvp("signalFingerprint", rr->signal_fingerprint),
       make_nvp("signalName", rr->signal_name), make_nvp("severity", rr->severity),
       make_nvp("signalType", rr->signal_type), make_nvp("signalSource", rr->signal_source),
       make_nvp("targetType", rr->target_type),
       make_nvp("targetResource", TargetOut{&rr->target_resource}),
       make_nvp("firingTime", FormatRfc3339Ms(rr->firing_time_ms)),
       make_nvp("receivedTime", FormatRfc3339Ms(rr->received_time_ms)),
       make_nvp("deduplication", DedupOut{&rr->deduplication}));
    if (rr->is_storm) {
      ar(make_nvp("isStorm", true), make_nvp("stormType", rr->storm_type),
         make_nvp("stormWindow", rr->storm_window),
         make_nvp("stormAlertCount", rr->storm_alert_count),
         make_nvp("affectedResources", rr->affected_resources));
      if (rr->affected_resources_overflow > 0) {
        ar(make_nvp("affectedResourcesOverflow", rr->affected_resources_overflow));
      }
      ar(make_nvp("stormClosed", rr->storm_closed));
    }
    ar(make_nvp("signalLabels", StringMapObject{&rr->signal_labels}),
       make_nvp("signalAnnotations", StringMapObject{&rr->signal_annotations}));
  }
};

// Drops the whitespace cereal's writer puts between tokens; string contents are kept as is
// (raw control characters never occur inside JSON strings, they are escaped).
std::string Compact(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      out += c;
    } else if (c == '"') {
      in_string = true;
      out += c;
    } else if (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
      out += c;
    }
  }
  return out;
}

// The compact form, written directly (one buffer, no stream): byte for byte what the cereal
// archive above writes with NoIndent and Compact() (tests/gateway/json_out_test.cc).
std::string CompactJson(const RemediationRequest& rr) {
  using jsonout::AppendInt;
  using jsonout::Dialect;
  std::string o;
  o.reserve(1024 + 64 * (rr.signal_labels.size() + rr.signal_annotations.size() +
                         rr.affected_resources.size()));
  auto str = [&o](std::string_view s) { jsonout::AppendString(&o, s, Dialect::kRapidjson); };
  auto key = [&o, &str](std::string_view k) {
    str(k);
    o.push_back(':');
  };
  auto map = [&](const std::map<std::string, std::string>& m) {
    o.push_back('{');
    bool first = true;
    for (const auto& [k, v] : m) {
      if (!first) o.push_back(',');
      first = false;
      key(k);
      str(v);
    }
    o.push_back('}');
  };
  o += "{\"apiVersion\":";
  str(kRemediationRequestApiVersion);
  o += ",\"kind\":";
  str(kRemediationRequestKind);
  o += ",\"metadata\":{\"name\":";
  str(rr.name);
  o += ",\"namespace\":";
  str(rr.namespace_name);
  o += "},\"spec\":{\"signalFingerprint\":";
  str(rr.signal_fingerprint);
  o += ",\"signalName\":";
  str(rr.signal_name);
  o += ",\"severity\":";
  str(rr.severity);
  o += ",\"signalType\":";
  str(rr.signal_type);
  o += ",\"signalSource\":";
  str(rr.signal_source);
  o += ",\"targetType\":";
  str(rr.target_type);
  o += ",\"targetResource\":{\"kind\":";
  str(rr.target_resource.kind);
  o += ",\"name\":";
  str(rr.target_resource.name);
  if (!rr.target_resource.namespace_name.empty()) {
    o += ",\"namespace\":";
    str(rr.target_resource.namespace_name);
  }
  o += "},\"firingTime\":";
  str(FormatRfc3339Ms(rr.firing_time_ms));
  o += ",\"receivedTime\":";
  str(FormatRfc3339Ms(rr.received_time_ms));
  o += ",\"deduplication\":{\"isDuplicate\":";
  o += rr.deduplication.is_duplicate ? "true" : "false";
  o += ",\"firstSeen\":";
  str(FormatRfc3339Ms(rr.deduplication.first_seen_ms));
  o += ",\"lastSeen\":";
  str(FormatRfc3339Ms(rr.deduplication.last_seen_ms));
  o += ",\"occurrenceCount\":";
  AppendInt(&o, rr.deduplication.occurrence_count);
  if (!rr.deduplication.previous_remediation_request_ref.empty()) {
    o += ",\"previousRemediationRequestRef\":";
    str(rr.deduplication.previous_remediation_request_ref);
  }
  o.push_back('}');
  if (rr.is_storm) {
    o += ",\"isStorm\":true,\"stormType\":";
    str(rr.storm_type);
    o += ",\"stormWindow\":";
    str(rr.storm_window);
    o += ",\"stormAlertCount\":";
    AppendInt(&o, rr.storm_alert_count);
    o += ",\"affectedResources\":[";
    for (std::size_t i = 0; i < rr.affected_resources.size(); ++i) {
      if (i > 0) o.push_back(',');
      str(rr.affected_resources[i]);
    }
    o.push_back(']');
    if (rr.affected_resources_overflow > 0) {
      o += ",\"affectedResourcesOverflow\":";
      AppendInt(&o, rr.affected_resources_overflow);
    }
    o += ",\"stormClosed\":";
    o += rr.storm_closed ? "true" : "false";
  }
  o += ",\"signalLabels\":";
  map(rr.signal_labels);
  o += ",\"signalAnnotations\":";
  map(rr.signal_annotations);
  o += "}}";
  return o;
}

}  // namespace

std::string_view SignalTypeName(SignalSource source) {
  return source == SignalSource::kKubernetesEvent ? "kubernetes-event" : "prometheus-alert";
}

std::string_view SignalAdapterName(SignalSource source) {
  return source == SignalSource::kKubernetesEvent ? "k8s-event-adapter" : "prometheus-adapter";
}

std::string AffectedResourceId(std::string_view namespace_name, const ResourceRef& resource) {
  std::string id(namespace_name);
  id += ':';
  id += resource.kind;
  id += ':';
  id += resource.name;
  return id;
}

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  const int64_t hours = ms / 3600000;
  const int64_t minutes = ms / 60000 % 60;
  const int64_t seconds = ms / 1000 % 60;
  const int64_t millis = ms % 1000;
  if (hours) out += std::to_string(hours) + "h";
  if (minutes) out += std::to_string(minutes) + "m";
  if (seconds || millis) {
    out += std::to_string(seconds);
    if (millis) {
      std::string frac = std::to_string(1000 + millis).substr(1);
      while (!frac.empty() && frac.back() == '0') frac.pop_back();
      out += "." + frac;
    }
    out += "s";
  }
  return out;
}

RemediationRequest MakeRemediationRequest(const NormalizedSignal& signal,
                                          const DeduplicationInfo& dedup) {
  RemediationRequest rr;
  rr.name = RemediationRequestName(signal.fingerprint);
  rr.namespace_name = signal.namespace_name.empty() ? "default" : signal.namespace_name;
  rr.signal_fingerprint = signal.fingerprint;
  rr.signal_name = signal.name;
  rr.severity = signal.severity;
  rr.signal_type = std::string(SignalTypeName(signal.source));
  rr.signal_source = std::string(SignalAdapterName(signal.source));
  rr.target_resource =
      TargetResource{signal.resource.kind, signal.resource.name, signal.namespace_name};
  rr.firing_time_ms = signal.starts_at_ms;
  rr.received_time_ms = signal.received_at_ms;
  rr.deduplication = dedup;
  rr.signal_labels = signal.labels;
  rr.signal_annotations = signal.annotations;
  return rr;
}

std::string RemediationRequestToJson(const RemediationRequest& rr, bool pretty) {
  try {
    if (!pretty) return CompactJson(rr);
    std::ostringstream os;
    {
      cereal::JSONOutputArchive ar(os, pretty ? cereal::JSONOutputArchive::Options::Default()
                                              : cereal::JSONOutputArchive::Options::NoIndent());
      ar(make_nvp("apiVersion", std::string(kRemediationRequestApiVersion)),
         make_nvp("kind", std::string(kRemediationRequestKind)),
         make_nvp("metadata", MetadataOut{&rr}), make_nvp("spec", SpecOut{&rr}));
    }
    return pretty ? os.str() : Compact(os.str());
  } catch (const std::exception&) {
    return "";
  }
}

}  // namespace stormkv
