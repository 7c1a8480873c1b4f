#include "stormkv/gateway/storm_detector.h"

#include <map>
#include <utility>

#include "stormkv/gateway/scripts.h"
#include "stormkv/script.h"

namespace stormkv {

std::string_view StormTypeName(StormType type) {
  return type == StormType::kPattern ? "pattern" : "rate";
}

Result<StormType> ParseStormType(std::string_view name) {
  if (name == "rate") return StormType::kRate;
  if (name == "pattern") return StormType::kPattern;
  return Status::InvalidArgument("unknown storm type '" + std::string(name) +
                                 "' (expected rate or pattern)");
}

std::optional<StormType> StormCheck::type() const {
  if (rate_storm) return StormType::kRate;
  if (pattern_storm) return StormType::kPattern;
  return std::nullopt;
}

StormDetector::StormDetector(KvBackend& kv, std::shared_ptr<const Clock> clock, KeySchema schema,
                             StormDetectionOptions options)
    : kv_(kv), clock_(std::move(clock)), schema_(std::move(schema)), options_(options) {}

std::string StormDetector::RateKey(std::string_view ns, std::string_view alertname) const {
  return schema_.StormKey(family::kStormRate, ns, alertname);
}

std::string StormDetector::PatternKey(std::string_view ns, std::string_view alertname) const {
  return schema_.StormKey(family::kStormPattern, ns, alertname);
}

namespace {

Result<StormCheck> DecodeCheck(const Result<Reply>& reply) {
  if (!reply.ok()) return ScriptFailure(reply.status(), "storm detection");
  STORMKV_RETURN_IF_ERROR(CheckReplyShape(*reply, 4, 4, "storm detection"));
  const auto& e = reply->elements();
  StormCheck out;
  out.rate_count = e[0].integer();
  out.distinct_resources = e[1].integer();
  out.rate_storm = e[2].integer() != 0;
  out.pattern_storm = e[3].integer() != 0;
  return out;
}

}  // namespace

Status StormDetector::Check(std::string_view ns, std::string_view alertname) const {
  if (ns.empty() || alertname.empty()) {
    return Status::InvalidArgument("storm detection: empty namespace or alert name");
  }
  const StormDetectionOptions& o = options_;
  if (o.rate_window.count() <= 0 || o.pattern_window.count() <= 0 ||
      o.max_tracked_resources < 1) {
    return Status::InvalidArgument(
        "storm detection: windows must be > 0 and max_tracked_resources >= 1");
  }
  return Status::Ok();
}

ScriptCall StormDetector::Call(std::string_view ns, std::string_view alertname,
                               std::string_view resource, const std::string& now,
                               const ScriptCall* same_storm) const {
  // The script's arguments: ARGV[1] now, ARGV[4] the resource; the rest are the options.
  constexpr std::size_t kNowArg = 0, kResourceArg = 3;
  // Built in place: a braced list (or a copy of `same_storm` whose now and resource are then
  // replaced) would copy strings only to drop them.
  ScriptCall c;
  if (same_storm != nullptr) {
    c.script = same_storm->script;
    c.keys = same_storm->keys;
    c.args.reserve(same_storm->args.size());
    for (std::size_t i = 0; i < same_storm->args.size(); ++i) {
      if (i == kNowArg) {
        c.args.push_back(now);
      } else if (i == kResourceArg) {
        c.args.push_back(schema_.EscapePart(resource));
      } else {
        c.args.push_back(same_storm->args[i]);
      }
    }
    return c;
  }
  const StormDetectionOptions& o = options_;
  c.script = &GatewayScript(ScriptId::kStormDetect);
  c.keys.reserve(2);
  c.keys.push_back(RateKey(ns, alertname));
  c.keys.push_back(PatternKey(ns, alertname));
  c.args.reserve(7);
  c.args.push_back(now);
  c.args.push_back(std::to_string(o.rate_window.count()));
  c.args.push_back(std::to_string(o.pattern_window.count()));
  c.args.push_back(schema_.EscapePart(resource));
  c.args.push_back(std::to_string(o.max_tracked_resources));
  c.args.push_back(std::to_string(o.rate_threshold));
  c.args.push_back(std::to_string(o.pattern_threshold));
  return c;
}

Result<StormCheck> StormDetector::Observe(std::string_view ns, std::string_view alertname,
                                          std::string_view resource) {
  STORMKV_RETURN_IF_ERROR(Check(ns, alertname));
  ScriptCall c = Call(ns, alertname, resource, std::to_string(clock_->NowMs()));
  return DecodeCheck(kv_.Eval(*c.script, c.keys, c.args));
}

std::vector<Result<StormCheck>> StormDetector::ObserveBatch(
    const std::vector<Observation>& items) {
  std::vector<Result<StormCheck>> out(items.size(), Status::Internal("storm detection: not run"));
  const std::string now = std::to_string(clock_->NowMs());
  std::vector<ScriptCall> calls;
  std::vector<std::size_t> at;
  calls.reserve(items.size());
  at.reserve(items.size());
  // (ns, alertname) -> the first call of that storm in `calls`.
  std::map<std::pair<std::string_view, std::string_view>, std::size_t> storms;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (Status ok = Check(items[i].ns, items[i].alertname); !ok.ok()) {
      out[i] = ok;
      continue;
    }
    // The keys of a storm are built once per batch (a payload holds a few storms, many alerts).
    auto [seen, first] =
        storms.try_emplace(std::make_pair(items[i].ns, items[i].alertname), calls.size());
    ScriptCall c = Call(items[i].ns, items[i].alertname, items[i].resource, now,
                        first ? nullptr : &calls[seen->second]);
    calls.push_back(std::move(c));
    at.push_back(i);
  }
  std::vector<Result<Reply>> replies = kv_.EvalBatch(calls);
  for (std::size_t k = 0; k < at.size(); ++k) out[at[k]] = DecodeCheck(replies[k]);
  return out;
}

}  // namespace stormkv
