#include "stormkv/gateway/storm_aggregator.h"

#include <algorithm>
#include <ctime>
#include <map>
#include <tuple>
#include <utility>

#include "stormkv/gateway/json_text.h"
#include "stormkv/gateway/scripts.h"
#include "stormkv/script.h"

namespace stormkv {
namespace {

using nlohmann::json;

std::string Rfc3339(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

json StringMap(const std::map<std::string, std::string>& m) {
  json out = json::object();
  for (const auto& [k, v] : m) out[k] = v;
  return out;
}

// The RemediationRequest-like document a new full-crd storm starts from (the legacy layout; the
// gateway's real RemediationRequest model lives elsewhere). Shape after the reference CRD.
std::string FullCrdTemplate(const StormAlert& a, const std::string& resource, int64_t now_ms,
                            const AggregationOptions& o) {
  const std::string fp = a.fingerprint.empty()
                             ? Sha256Hex(a.ns + ":" + a.alertname + ":" + a.resource)
                             : a.fingerprint;
  const std::string name = "rr-" + fp.substr(0, 16);
  const std::string severity = a.severity.empty() ? "warning" : a.severity;
  const std::string kind = resource.substr(0, resource.find('/'));
  const std::string target =
      resource.find('/') == std::string::npos ? resource : resource.substr(resource.find('/') + 1);
  const std::string when = Rfc3339(now_ms);
  json provider = {{"namespace", a.ns},
                   {"resource", {{"kind", kind}, {"name", target}, {"namespace", a.ns}}},
                   {"labels", StringMap(a.labels)}};
  json payload = {{"status", "firing"},
                  {"labels", StringMap(a.labels)},
                  {"annotations", StringMap(a.annotations)},
                  {"startsAt", when},
                  {"endsAt", "0001-01-01T00:00:00Z"},
                  {"fingerprint", fp.substr(0, 16)}};
  json doc = {
      {"apiVersion", "remediation.kubernaut.ai/v1alpha1"},
      {"kind", "RemediationRequest"},
      {"metadata",
       {{"name", name},
        {"namespace", "kubernaut-system"},
        {"uid", Sha1Hex(name + when).substr(0, 32)},
        {"generation", 1},
        {"creationTimestamp", when},
        {"labels",
         {{"app.kubernetes.io/managed-by", "stormkv-gateway"},
          {"kubernaut.ai/signal-type", "prometheus-alert"},
          {"kubernaut.ai/severity", severity},
          {"kubernaut.ai/storm", "true"}}},
        {"annotations",
         {{"kubernaut.ai/storm-namespace", a.ns}, {"kubernaut.ai/storm-alertname", a.alertname}}}}},
      {"spec",
       {{"signalFingerprint", fp},
        {"signalName", a.alertname},
        {"severity", severity},
        {"environment", "production"},
        {"priority", severity == "critical" ? "P0" : "P2"},
        {"signalType", "prometheus-alert"},
        {"signalSource", "alertmanager-webhook"},
        {"targetType", "kubernetes"},
        {"targetResource", {{"kind", kind}, {"name", target}, {"namespace", a.ns}}},
        {"firingTime", when},
        {"receivedTime", when},
        {"stormWindow", std::to_string(o.hard_cap.count() / 1000) + "s"},
        {"signalLabels", StringMap(a.labels)},
        {"signalAnnotations", StringMap(a.annotations)},
        {"providerData", provider.dump(-1, ' ', true, json::error_handler_t::replace)},
        {"originalPayload", payload.dump(-1, ' ', true, json::error_handler_t::replace)},
        {"timeoutConfig", {{"overallWorkflowTimeout", "1h0m0s"}, {"processingTimeout", "5m0s"}}}}},
      {"status", {{"overallPhase", "Pending"}}}};
  // Round-trip through ASCII-only text so every string in the template is valid UTF-8.
  return CanonicalJsonText(json::parse(doc.dump(-1, ' ', true, json::error_handler_t::replace)));
}

bool ParseInt(const std::string& s, int64_t* v) {
  if (s.empty()) return false;
  try {
    std::size_t pos = 0;
    *v = std::stoll(s, &pos);
    return pos == s.size();
  } catch (...) {
    return false;
  }
}

const json* Member(const json& obj, const char* name) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(name);
  return it == obj.end() ? nullptr : &*it;
}

bool GetInt(const json* v, int64_t* out) {
  if (v == nullptr || !v->is_number()) return false;
  const double d = v->get<double>();
  if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0)) return false;
  *out = static_cast<int64_t>(d);
  return true;
}

// Reads a resource list (array of strings; an empty object is an empty list).
bool GetResources(const json* v, std::vector<StormResource>* out) {
  if (v == nullptr || !(v->is_array() || (v->is_object() && v->empty()))) return false;
  for (const json& item : *v) {
    if (!item.is_string()) return false;
    out->push_back({item.get<std::string>(), 0});
  }
  std::sort(out->begin(), out->end(),
            [](const StormResource& a, const StormResource& b) { return a.name < b.name; });
  return true;
}

}  // namespace

StormAggregator::StormAggregator(KvBackend& kv, std::shared_ptr<const Clock> clock,
                                 KeySchema schema, AggregationOptions options)
    : kv_(kv), clock_(std::move(clock)), schema_(std::move(schema)), options_(options) {}

std::string StormAggregator::KeyFor(std::string_view ns, std::string_view alertname) const {
  return schema_.StormKey(family::kStormAgg, ns, alertname);
}

Status StormAggregator::Check(const StormAlert& alert) const {
  const AggregationOptions& o = options_;
  if (alert.ns.empty() || alert.alertname.empty() || alert.resource.empty()) {
    return Status::InvalidArgument("storm aggregation: empty namespace, alert name or resource");
  }
  if (o.inactivity_window.count() <= 0 || o.hard_cap.count() <= 0 || o.max_resources < 1) {
    return Status::InvalidArgument(
        "storm aggregation: windows must be > 0 and max_resources >= 1");
  }
  return Status::Ok();
}

ScriptCall StormAggregator::Call(const StormAlert& alert, int64_t now,
                                 const ScriptCall* same_keys) const {
  const AggregationOptions& o = options_;
  std::string resource = schema_.EscapePart(alert.resource);
  std::string full_crd;
  if (o.layout == Layout::kFullCrd) full_crd = FullCrdTemplate(alert, resource, now, o);
  // Built in place: a braced list would copy every string once more.
  std::vector<std::string> args;
  args.reserve(9);
  args.push_back(std::to_string(now));
  args.push_back(std::to_string(o.inactivity_window.count()));
  args.push_back(std::to_string(o.hard_cap.count()));
  args.push_back(std::to_string(o.max_resources));
  args.push_back(std::move(resource));
  args.emplace_back(StormTypeName(alert.storm_type));
  if (o.layout == Layout::kFullCrd) args.push_back(std::move(full_crd));
  std::vector<std::string> keys;
  if (same_keys != nullptr) {
    keys = same_keys->keys;
  } else {
    keys.push_back(KeyFor(alert.ns, alert.alertname));
    if (o.close_grace) {
      keys.push_back(schema_.StormKey(family::kStormClose, alert.ns, alert.alertname));
      if (o.replay_list && !alert.request_id.empty()) {
        keys.push_back(schema_.StormKey(family::kStormReplay, alert.ns, alert.alertname));
      }
    }
  }
  if (o.close_grace) {
    args.push_back(alert.request_id);
    args.push_back(std::to_string(o.close_grace->count()));
  } else if (!alert.request_id.empty()) {
    args.push_back(alert.request_id);
  }
  return ScriptCall{&GatewayScript(AggregationScript(o.layout)), std::move(keys),
                    std::move(args)};
}

namespace {

Result<AggregateResult> DecodeAggregate(const Result<Reply>& reply) {
  if (!reply.ok()) return ScriptFailure(reply.status(), "storm aggregation");
  STORMKV_RETURN_IF_ERROR(CheckReplyShape(*reply, 6, 6, "storm aggregation"));
  const auto& e = reply->elements();
  AggregateResult out;
  out.needs_close = e[0].integer() < 0;
  out.is_new = e[0].integer() > 0;
  out.alert_count = e[1].integer();
  out.resource_count = e[2].integer();
  out.overflow = e[3].integer();
  out.first_seen_ms = e[4].integer();
  out.last_seen_ms = e[5].integer();
  return out;
}

}  // namespace

Result<AggregateResult> StormAggregator::Add(const StormAlert& alert) {
  STORMKV_RETURN_IF_ERROR(Check(alert));
  ScriptCall c = Call(alert, clock_->NowMs());
  return DecodeAggregate(kv_.Eval(*c.script, c.keys, c.args));
}

std::vector<Result<AggregateResult>> StormAggregator::AddBatch(
    const std::vector<const StormAlert*>& alerts) {
  std::vector<Result<AggregateResult>> out(alerts.size(),
                                           Status::Internal("storm aggregation: not run"));
  const int64_t now = clock_->NowMs();
  std::vector<ScriptCall> calls;
  std::vector<std::size_t> at;
  calls.reserve(alerts.size());
  at.reserve(alerts.size());
  // (ns, alertname, no request id) -> the first call with those keys in `calls`.
  std::map<std::tuple<std::string_view, std::string_view, bool>, std::size_t> storms;
  for (std::size_t i = 0; i < alerts.size(); ++i) {
    if (Status ok = Check(*alerts[i]); !ok.ok()) {
      out[i] = ok;
      continue;
    }
    // The keys of a storm are built once per batch (a payload holds a few storms, many alerts);
    // they depend on whether the alert has a request id too (its replay list).
    const StormAlert& a = *alerts[i];
    auto [seen, first] = storms.try_emplace(
        std::make_tuple(std::string_view(a.ns), std::string_view(a.alertname),
                        a.request_id.empty()),
        calls.size());
    ScriptCall c = Call(a, now, first ? nullptr : &calls[seen->second]);
    calls.push_back(std::move(c));
    at.push_back(i);
  }
  std::vector<Result<Reply>> replies = kv_.EvalBatch(calls);
  for (std::size_t k = 0; k < at.size(); ++k) out[at[k]] = DecodeAggregate(replies[k]);
  return out;
}

Status StormAggregator::ForgetReplays(const std::vector<const StormAlert*>& settled) {
  if (!options_.replay_list || !options_.close_grace) return Status::Ok();
  std::vector<Command> cmds;
  std::map<std::string, std::size_t> by_storm;  // replay key -> its command in cmds
  // (ns, alertname) -> its replay key's command in cmds, so each key is built once.
  std::map<std::pair<std::string_view, std::string_view>, std::size_t> storm_cmd;
  for (const StormAlert* a : settled) {
    if (a->request_id.empty()) continue;
    auto [known, first] = storm_cmd.try_emplace(std::make_pair(std::string_view(a->ns),
                                                               std::string_view(a->alertname)),
                                                0);
    if (first) {
      std::string key = schema_.StormKey(family::kStormReplay, a->ns, a->alertname);
      auto [it, inserted] = by_storm.try_emplace(std::move(key), cmds.size());
      if (inserted) cmds.push_back({"HDEL", it->first});
      known->second = it->second;
    }
    cmds[known->second].push_back(a->request_id);
  }
  if (cmds.empty()) return Status::Ok();
  for (Result<Reply>& r : kv_.RunBatch(cmds)) {
    if (!r.ok()) return r.status().WithContext("storm replay list");
    if (r->is_error()) return StatusFromErrorReply(r->str()).WithContext("storm replay list");
  }
  return Status::Ok();
}

Result<std::optional<StormRecord>> StormAggregator::Get(std::string_view ns,
                                                        std::string_view alertname) {
  const std::string key = KeyFor(ns, alertname);
  auto corrupt = [&](std::string_view why) {
    return Status::Corruption("storm aggregation: " + std::string(LayoutName(options_.layout)) +
                              " record " + key + " " + std::string(why));
  };
  StormRecord rec;
  rec.layout = options_.layout;
  if (options_.layout == Layout::kCompact) {
    auto fields = kv_.HGetAll(key);
    if (!fields.ok()) return fields.status().WithContext("storm aggregation");
    if (fields->empty()) return std::optional<StormRecord>();
    int seen = 0;
    for (const auto& [f, v] : *fields) {
      if (!f.empty() && f[0] == '#') {
        if (f == "#p") {
          rec.pattern = v;
          ++seen;
          continue;
        }
        if (f == "#r") continue;  // the last added alert (replay detection)
        int64_t* dst = f == "#n"   ? &rec.alert_count
                       : f == "#f" ? &rec.first_seen_ms
                       : f == "#l" ? &rec.last_seen_ms
                       : f == "#o" ? &rec.overflow
                                   : nullptr;
        if (dst == nullptr || !ParseInt(v, dst)) return corrupt("has a bad field '" + f + "'");
        ++seen;
      } else {
        StormResource r{f, 0};
        if (!ParseInt(v, &r.alert_count)) return corrupt("has a bad count for '" + f + "'");
        rec.resources.push_back(std::move(r));
      }
    }
    if (seen != 5) return corrupt("lacks its fields");
    std::sort(rec.resources.begin(), rec.resources.end(),
              [](const StormResource& a, const StormResource& b) { return a.name < b.name; });
    return std::optional<StormRecord>(std::move(rec));
  }
  auto raw = kv_.Get(key);
  if (!raw.ok()) return raw.status().WithContext("storm aggregation");
  if (!raw->has_value()) return std::optional<StormRecord>();
  if (JsonNestingExceededAt(**raw, kMaxJsonNesting) != std::string_view::npos) {
    return corrupt("is nested deeper than " + std::to_string(kMaxJsonNesting) + " levels");
  }
  json v = json::parse(**raw, nullptr, false);
  if (v.is_discarded()) return corrupt("is not JSON");
  if (options_.layout == Layout::kJsonMeta) {
    const json* pattern = Member(v, "pattern");
    if (!GetInt(Member(v, "alert_count"), &rec.alert_count) ||
        !GetInt(Member(v, "first_seen"), &rec.first_seen_ms) ||
        !GetInt(Member(v, "last_seen"), &rec.last_seen_ms) ||
        !GetInt(Member(v, "overflow"), &rec.overflow) ||
        !GetResources(Member(v, "resources"), &rec.resources) || pattern == nullptr ||
        !pattern->is_string()) {
      return corrupt("does not have the json-meta shape");
    }
    rec.pattern = pattern->get<std::string>();
    return std::optional<StormRecord>(std::move(rec));
  }
  const json* spec = Member(v, "spec");
  const json* dedup = spec ? Member(*spec, "deduplication") : nullptr;
  const json* pattern = spec ? Member(*spec, "stormType") : nullptr;
  if (!GetInt(spec ? Member(*spec, "stormAlertCount") : nullptr, &rec.alert_count) ||
      !GetInt(spec ? Member(*spec, "stormOverflowCount") : nullptr, &rec.overflow) ||
      !GetInt(dedup ? Member(*dedup, "firstSeen") : nullptr, &rec.first_seen_ms) ||
      !GetInt(dedup ? Member(*dedup, "lastSeen") : nullptr, &rec.last_seen_ms) ||
      !GetResources(spec ? Member(*spec, "affectedResources") : nullptr, &rec.resources) ||
      pattern == nullptr || !pattern->is_string()) {
    return corrupt("does not have the full-crd shape");
  }
  rec.pattern = pattern->get<std::string>();
  rec.document = std::move(**raw);
  return std::optional<StormRecord>(std::move(rec));
}

}  // namespace stormkv
