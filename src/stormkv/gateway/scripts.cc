#include "stormkv/gateway/scripts.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "stormkv/gateway/json_text.h"
#include "stormkv/gateway/storm_closer.h"
#include "stormkv/lua_sources.h"

namespace stormkv {
namespace {

using Args = std::vector<std::string>;
using nlohmann::json;

// Lua 5.1 tonumber() of a string: strtod (decimal, hex, inf, nan), surrounding spaces allowed.
std::optional<double> LuaToNumber(const std::string& s) {
  // Fast path: a plain decimal integer of at most 15 digits is exactly representable.
  if (!s.empty() && s.size() <= 16) {
    std::size_t i = s[0] == '-' ? 1 : 0;
    if (i < s.size()) {
      int64_t v = 0;
      std::size_t j = i;
      for (; j < s.size() && s[j] >= '0' && s[j] <= '9'; ++j) v = v * 10 + (s[j] - '0');
      if (j == s.size() && j - i <= 15) return static_cast<double>(i ? -v : v);
    }
  }
  const char* begin = s.c_str();
  char* end = nullptr;
  double v = std::strtod(begin, &end);
  if (end == begin) return std::nullopt;
  while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r' || *end == '\f' ||
         *end == '\v') {
    ++end;
  }
  if (end != begin + s.size()) return std::nullopt;
  return v;
}

// tonumber() of a redis.call reply as Lua sees it: integers are numbers, bulks are parsed,
// nil (Lua false) and everything else give nil.
std::optional<double> LuaToNumber(const Reply& r) {
  if (r.is_integer()) return static_cast<double>(r.integer());
  if (r.is_bulk()) return LuaToNumber(r.str());
  return std::nullopt;
}

// C's (long long) cast of a double as Redis's Lua does it on x86-64: truncation, and INT64_MIN
// for NaN and values out of range (cvttsd2si), without undefined behaviour here.
int64_t LuaTruncate(double v) {
  if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) return INT64_MIN;
  return static_cast<int64_t>(v);
}

// A Lua number returned to Redis: truncated to an integer.
Reply LuaInt(double v) { return Reply::Integer(LuaTruncate(v)); }

// string.format('%d', v).
std::string FormatD(double v) { return std::to_string(LuaTruncate(v)); }

Status BadArgs(std::string_view script, std::string_view want) {
  return Status::ScriptError(std::string(script) + ": expects " + std::string(want));
}

std::optional<double> NumArg(const Args& argv, std::size_t i) {
  return i < argv.size() ? LuaToNumber(argv[i]) : std::nullopt;
}

#define TWIN_CALL(var, ...)                              \
  auto var##_result = ctx.Call(Command{__VA_ARGS__});    \
  if (!var##_result.ok()) return var##_result.status();  \
  Reply var = std::move(var##_result).value()

#define TWIN_DO(...)                                     \
  do {                                                   \
    auto r_ = ctx.Call(Command{__VA_ARGS__});            \
    if (!r_.ok()) return r_.status();                    \
  } while (0)

Result<Reply> DedupTwin(ScriptContext& ctx, const Args& keys, const Args& argv) {
  auto now_arg = NumArg(argv, 0);
  if (keys.size() != 1 || (argv.size() != 3 && argv.size() != 5) || !now_arg ||
      (argv.size() == 5 && !NumArg(argv, 4))) {
    return BadArgs("dedup", "1 key and 3 or 5 arguments (now, ttl_ms, ref[, attempt, lease_ms])");
  }
  const std::string& key = keys[0];
  const double now = *now_arg;
  if (argv.size() == 3) {
    TWIN_CALL(count_reply, "HINCRBY", key, "count", "1");
    const int64_t count = count_reply.integer();
    double first = now, last = now;
    Reply ref = Reply::Bulk(argv[2]);
    if (count == 1) {
      TWIN_DO("HSET", key, "first", argv[0], "last", argv[0], "ref", argv[2]);
    } else {
      TWIN_CALL(m, "HMGET", key, "first", "last", "ref");
      const auto& e = m.elements();
      first = LuaToNumber(e.at(0)).value_or(now);
      last = LuaToNumber(e.at(1)).value_or(now);
      if (!e.at(2).is_nil()) ref = e.at(2);
      if (now > last) {
        last = now;
        TWIN_DO("HSET", key, "last", argv[0]);
      }
    }
    TWIN_DO("PEXPIRE", key, argv[1]);
    return Reply::Array({Reply::Integer(count > 1 ? 1 : 0), Reply::Integer(count), LuaInt(first),
                         LuaInt(last), std::move(ref)});
  }
  const std::string& attempt = argv[3];
  const double lease = *NumArg(argv, 4);
  TWIN_CALL(m, "HMGET", key, "count", "first", "last", "ref", "p", "pt");
  const auto& e = m.elements();
  int64_t state = 0;
  double count = 1, first = now, last = now;
  Reply ref = Reply::Bulk(argv[2]);
  if (e.at(0).is_nil()) {
    TWIN_DO("HSET", key, "count", "1", "first", argv[0], "last", argv[0], "ref", argv[2], "p",
            attempt, "pt", argv[0]);
  } else {
    first = LuaToNumber(e.at(1)).value_or(now);
    last = LuaToNumber(e.at(2)).value_or(now);
    if (!e.at(3).is_nil()) ref = e.at(3);
    if (!e.at(4).is_nil()) {
      std::optional<double> c = LuaToNumber(e.at(0));
      if (!c) return StatusFromErrorReply("CORRUPT dedup record has a bad count");
      count = *c;
      if (e.at(4).str() != attempt && now < LuaToNumber(e.at(5)).value_or(0) + lease) {
        return Reply::Array({Reply::Integer(3), LuaInt(count), LuaInt(first), LuaInt(last),
                             std::move(ref)});
      }
      TWIN_DO("HSET", key, "p", attempt, "pt", argv[0]);
      state = 2;
    } else {
      TWIN_CALL(c, "HINCRBY", key, "count", "1");
      count = static_cast<double>(c.integer());
      state = 1;
    }
    if (now > last) {
      last = now;
      TWIN_DO("HSET", key, "last", argv[0]);
    }
  }
  TWIN_DO("PEXPIRE", key, argv[1]);
  return Reply::Array({Reply::Integer(state), LuaInt(count), LuaInt(first), LuaInt(last),
                       std::move(ref)});
}

Result<Reply> DedupFinishTwin(ScriptContext& ctx, const Args& keys, const Args& argv) {
  if (keys.size() != 1 || argv.size() != 2) {
    return BadArgs("dedup_finish", "1 key and 2 arguments (attempt, 'done' or 'abandon')");
  }
  TWIN_CALL(p, "HGET", keys[0], "p");
  if (p.is_nil() || p.str() != argv[0]) return Reply::Integer(0);
  if (argv[1] == "done") {
    TWIN_DO("HDEL", keys[0], "p", "pt");
  } else {
    TWIN_DO("HDEL", keys[0], "pt");
  }
  return Reply::Integer(1);
}

// The stored "last added alert" of a storm ('0'|'1' is_new, then its request id) when it names
// `request`: the is_new digit as Lua's tonumber(string.sub(v, 1, 1)) or 0 reads it.
std::optional<int64_t> ReplayOf(const std::string& stored, const std::string& request) {
  if (request.empty() || stored.size() < 1 || stored.compare(1, std::string::npos, request) != 0) {
    return std::nullopt;
  }
  return stored[0] >= '0' && stored[0] <= '9' ? stored[0] - '0' : 0;
}

Result<Reply> StormDetectTwin(ScriptContext& ctx, const Args& keys, const Args& argv) {
  auto now_arg = NumArg(argv, 0);
  auto pwin = NumArg(argv, 2);
  auto max_tracked = NumArg(argv, 4);
  auto rate_threshold = NumArg(argv, 5);
  auto pattern_threshold = NumArg(argv, 6);
  if (keys.size() != 2 || argv.size() != 7 || !now_arg || !pwin || !max_tracked ||
      !rate_threshold || !pattern_threshold) {
    return BadArgs("storm_detect",
                   "2 keys and 7 arguments (now, rate_window, pattern_window, resource, "
                   "max_tracked, rate_threshold, pattern_threshold)");
  }
  const double now = *now_arg;
  const std::string& rate_key = keys[0];
  const std::string& pattern_key = keys[1];
  const std::string& resource = argv[3];
  TWIN_CALL(rate_reply, "INCR", rate_key);
  const int64_t rate = rate_reply.integer();
  TWIN_DO("PEXPIRE", rate_key, argv[1], "NX");
  TWIN_DO("ZREMRANGEBYSCORE", pattern_key, "-inf", FormatD(now - *pwin));
  TWIN_CALL(card_reply, "ZCARD", pattern_key);
  int64_t card = card_reply.integer();
  TWIN_CALL(seen, "ZSCORE", pattern_key, resource);
  if (!seen.is_nil()) {
    if (LuaToNumber(seen).value_or(now) < now) TWIN_DO("ZADD", pattern_key, argv[0], resource);
  } else if (static_cast<double>(card) < *max_tracked) {
    TWIN_DO("ZADD", pattern_key, argv[0], resource);
    ++card;
  }
  if (card > 0) TWIN_DO("PEXPIRE", pattern_key, argv[2]);
  return Reply::Array({Reply::Integer(rate), Reply::Integer(card),
                       Reply::Integer(static_cast<double>(rate) > *rate_threshold ? 1 : 0),
                       Reply::Integer(static_cast<double>(card) > *pattern_threshold ? 1 : 0)});
}

Result<Reply> RateLimitTwin(ScriptContext& ctx, const Args& keys, const Args& argv) {
  auto now_arg = NumArg(argv, 0);
  auto interval_arg = NumArg(argv, 1);
  auto burst = NumArg(argv, 2);
  auto cost_arg = NumArg(argv, 3);
  if (keys.size() != 1 || argv.size() != 4 || !now_arg || !interval_arg || !burst || !cost_arg) {
    return BadArgs("rate_limit", "1 key and 4 arguments (now, interval_us, burst, cost)");
  }
  const double now = *now_arg * 1000;
  const double interval = *interval_arg;
  const double burst_offset = interval * *burst;
  const double cost = *cost_arg;
  TWIN_CALL(stored, "GET", keys[0]);
  std::optional<double> tat_opt = LuaToNumber(stored);
  const bool usable = tat_opt && *tat_opt >= now && *tat_opt <= now + burst_offset;
  const double tat = usable ? *tat_opt : now;
  const double new_tat = tat + interval * cost;
  const double diff = now - (new_tat - burst_offset);
  if (diff < 0) {
    double remaining = std::floor((now - (tat - burst_offset)) / interval);
    if (remaining < 0) remaining = 0;
    return Reply::Array({Reply::Integer(0), LuaInt(remaining), LuaInt(std::ceil(-diff / 1000)),
                         LuaInt(std::ceil((tat - now) / 1000))});
  }
  const double reset_ms = std::ceil((new_tat - now) / 1000);
  if (cost > 0) TWIN_DO("SET", keys[0], FormatD(new_tat), "PX", FormatD(reset_ms));
  return Reply::Array({Reply::Integer(1), LuaInt(std::floor(diff / interval)), Reply::Integer(0),
                       LuaInt(reset_ms)});
}

// Common arguments of the aggregation scripts.
struct AggArgs {
  double now, inactivity, cap, max_resources;
  std::string request;  // the optional request id ("" when absent)
  double grace = 0;     // the optional close grace (Lua: tonumber(ARGV[n]) or 0)
};

// `nargs` arguments, or one more: the optional request id (empty when absent), or two more: then
// the close grace. KEYS: the record, and optionally its close record (storm_closer.h).
std::optional<AggArgs> ParseAggArgs(const Args& keys, const Args& argv, std::size_t nargs) {
  auto now = NumArg(argv, 0), inactivity = NumArg(argv, 1), cap = NumArg(argv, 2),
       max_resources = NumArg(argv, 3);
  if (keys.empty() || keys.size() > 2 || argv.size() < nargs || argv.size() > nargs + 2 || !now ||
      !inactivity || !cap || !max_resources) {
    return std::nullopt;
  }
  return AggArgs{*now, *inactivity, *cap, *max_resources,
                 argv.size() > nargs ? argv[nargs] : std::string(),
                 argv.size() > nargs + 1 ? NumArg(argv, nargs + 1).value_or(0) : 0};
}

// An over storm with a close record that is not 'done:<first>': it must be closed before it is
// replaced (is_new -1). Mirrors the Lua HGET.
Result<bool> NeedsClose(ScriptContext& ctx, const Args& keys, double first) {
  if (keys.size() < 2) return false;
  Result<Reply> s = ctx.Call(Command{"HGET", keys[1], "s"});
  if (!s.ok()) return s.status();
  return s->is_nil() || s->str() != "done:" + FormatD(first);
}

Result<Reply> StormAggCompactTwin(ScriptContext& ctx, const Args& keys, const Args& argv) {
  auto a = ParseAggArgs(keys, argv, 6);
  if (!a) {
    return BadArgs("storm_agg_compact",
                   "1 key and 6 or 7 arguments (now, inactivity, cap, max_resources, field, "
                   "pattern[, request])");
  }
  const std::string& key = keys[0];
  const std::string& field = argv[4];
  TWIN_CALL(m, "HMGET", key, "#n", "#f", "#l", "#o", "#p", "#r");
  const auto& e = m.elements();
  std::optional<double> count = LuaToNumber(e.at(0)), first = LuaToNumber(e.at(1)),
                        last = LuaToNumber(e.at(2)), overflow = LuaToNumber(e.at(3));
  int64_t reserved = e.at(5).is_nil() ? 5 : 6;
  bool is_new = false;
  bool any = false;
  for (const Reply& r : e) any = any || !r.is_nil();
  if (!any) {
    is_new = true;
  } else if (!(count && first && last && overflow && !e.at(4).is_nil())) {
    return StatusFromErrorReply("CORRUPT compact storm record lacks its fields");
  } else if (a->now >= *last + a->inactivity || a->now >= *first + a->cap) {
    Result<bool> close = NeedsClose(ctx, keys, *first);
    if (!close.ok()) return close.status();
    if (*close) {
      TWIN_CALL(hlen, "HLEN", key);
      return Reply::Array({Reply::Integer(-1), LuaInt(*count),
                           Reply::Integer(hlen.integer() - reserved), LuaInt(*overflow),
                           LuaInt(*first), LuaInt(*last)});
    }
    is_new = true;
  } else if (std::optional<int64_t> replay =
                 e.at(5).is_nil() ? std::nullopt : ReplayOf(e.at(5).str(), a->request)) {
    TWIN_CALL(hlen, "HLEN", key);
    return Reply::Array({Reply::Integer(*replay), LuaInt(*count),
                         Reply::Integer(hlen.integer() - reserved), LuaInt(*overflow),
                         LuaInt(*first), LuaInt(*last)});
  }
  if (is_new) {
    if (any) TWIN_DO("DEL", key);
    TWIN_DO("HSET", key, "#n", "0", "#f", argv[0], "#l", argv[0], "#p", argv[5], "#o", "0");
    count = 0;
    first = a->now;
    last = a->now;
    overflow = 0;
    reserved = 5;
  }
  TWIN_CALL(hlen, "HLEN", key);
  int64_t resources = hlen.integer() - reserved;
  if (static_cast<double>(resources) < a->max_resources) {
    TWIN_CALL(rc, "HINCRBY", key, field, "1");
    if (rc.integer() == 1) ++resources;
  } else {
    TWIN_CALL(exists, "HEXISTS", key, field);
    if (exists.integer() == 1) {
      TWIN_DO("HINCRBY", key, field, "1");
    } else {
      TWIN_CALL(o, "HINCRBY", key, "#o", "1");
      overflow = static_cast<double>(o.integer());
    }
  }
  TWIN_CALL(n, "HINCRBY", key, "#n", "1");
  if (a->now > *last) {
    last = a->now;
    TWIN_DO("HSET", key, "#l", argv[0]);
  }
  if (!a->request.empty()) TWIN_DO("HSET", key, "#r", (is_new ? "1" : "0") + a->request);
  TWIN_DO("PEXPIRE", key,
          FormatD(std::min(*last + a->inactivity, *first + a->cap) - a->now + a->grace));
  return Reply::Array({Reply::Integer(is_new ? 1 : 0), Reply::Integer(n.integer()),
                       Reply::Integer(resources), LuaInt(*overflow), LuaInt(*first),
                       LuaInt(*last)});
}

// Lua's is_list(): a table that is empty or has an array part.
bool IsLuaList(const json* v) {
  return v != nullptr && (v->is_array() || (v->is_object() && v->empty()));
}

const json* Member(const json& obj, const char* name) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(name);
  return it == obj.end() ? nullptr : &*it;
}

bool IsNumber(const json* v) { return v != nullptr && v->is_number(); }

double Num(const json& v) { return v.get<double>(); }

// The list of resources as a JSON array (an empty object decodes to the same Lua table).
json& AsList(json& v) {
  if (!v.is_array()) v = json::array();
  return v;
}

// Appends `resource` to `list` unless present or full; bumps `overflow` when full.
void AddResource(json& list, const std::string& resource, double max_resources, json& overflow) {
  for (const json& item : list) {
    if (item.is_string() && item.get_ref<const std::string&>() == resource) return;
  }
  if (static_cast<double>(list.size()) < max_resources) {
    list.push_back(resource);
  } else {
    overflow = Num(overflow) + 1;
  }
}

// Decodes like cjson.decode: discarded when not JSON or nested deeper than cjson accepts.
json ParseJson(const std::string& text) {
  if (JsonNestingExceededAt(text, kMaxJsonNesting) != std::string_view::npos) {
    return json(json::value_t::discarded);
  }
  return json::parse(text, nullptr, false);
}

Result<Reply> StormAggJsonMetaTwin(ScriptContext& ctx, const Args& keys, const Args& argv) {
  auto a = ParseAggArgs(keys, argv, 6);
  if (!a) {
    return BadArgs("storm_agg_json_meta",
                   "1 key and 6 or 7 arguments (now, inactivity, cap, max_resources, resource, "
                   "pattern[, request])");
  }
  const std::string& key = keys[0];
  json rec;
  bool have = false;
  TWIN_CALL(raw, "GET", key);
  if (!raw.is_nil()) {
    json v = ParseJson(raw.str());
    if (v.is_discarded() || !v.is_object() || !IsNumber(Member(v, "alert_count")) ||
        !IsNumber(Member(v, "first_seen")) || !IsNumber(Member(v, "last_seen")) ||
        !IsNumber(Member(v, "overflow")) || !IsLuaList(Member(v, "resources"))) {
      return StatusFromErrorReply("CORRUPT json-meta storm record does not decode");
    }
    if (a->now < Num(v["last_seen"]) + a->inactivity && a->now < Num(v["first_seen"]) + a->cap) {
      rec = std::move(v);
      have = true;
    } else {
      Result<bool> close = NeedsClose(ctx, keys, Num(v["first_seen"]));
      if (!close.ok()) return close.status();
      if (*close) {
        const json* list = Member(v, "resources");
        return Reply::Array(
            {Reply::Integer(-1), LuaInt(Num(v["alert_count"])),
             Reply::Integer(list->is_array() ? static_cast<int64_t>(list->size()) : 0),
             LuaInt(Num(v["overflow"])), LuaInt(Num(v["first_seen"])),
             LuaInt(Num(v["last_seen"]))});
      }
    }
  }
  if (have) {
    const json* r = Member(rec, "request");
    if (std::optional<int64_t> replay = r != nullptr && r->is_string()
                                            ? ReplayOf(r->get<std::string>(), a->request)
                                            : std::nullopt) {
      const json* list = Member(rec, "resources");
      return Reply::Array({Reply::Integer(*replay), LuaInt(Num(rec["alert_count"])),
                           Reply::Integer(list->is_array() ? static_cast<int64_t>(list->size()) : 0),
                           LuaInt(Num(rec["overflow"])), LuaInt(Num(rec["first_seen"])),
                           LuaInt(Num(rec["last_seen"]))});
    }
  }
  if (!have) {
    rec = json::object({{"alert_count", 0},
                        {"first_seen", a->now},
                        {"last_seen", a->now},
                        {"overflow", 0},
                        {"pattern", argv[5]},
                        {"resources", json::array()}});
  }
  json& list = AsList(rec["resources"]);
  AddResource(list, argv[4], a->max_resources, rec["overflow"]);
  rec["alert_count"] = Num(rec["alert_count"]) + 1;
  if (a->now > Num(rec["last_seen"])) rec["last_seen"] = a->now;
  if (!a->request.empty()) rec["request"] = (have ? "0" : "1") + a->request;
  const double last = Num(rec["last_seen"]), first = Num(rec["first_seen"]);
  const double ttl = std::min(last + a->inactivity, first + a->cap) - a->now + a->grace;
  TWIN_DO("SET", key, CanonicalJsonText(rec), "PX", FormatD(ttl));
  return Reply::Array({Reply::Integer(have ? 0 : 1), LuaInt(Num(rec["alert_count"])),
                       Reply::Integer(static_cast<int64_t>(list.size())),
                       LuaInt(Num(rec["overflow"])), LuaInt(first), LuaInt(last)});
}

Result<Reply> StormAggFullCrdTwin(ScriptContext& ctx, const Args& keys, const Args& argv) {
  auto a = ParseAggArgs(keys, argv, 7);
  if (!a) {
    return BadArgs("storm_agg_full_crd",
                   "1 key and 7 or 8 arguments (now, inactivity, cap, max_resources, resource, "
                   "pattern, template[, request])");
  }
  const std::string& key = keys[0];
  json doc;
  bool have = false;
  TWIN_CALL(raw, "GET", key);
  if (!raw.is_nil()) {
    json v = ParseJson(raw.str());
    const json* s = v.is_discarded() ? nullptr : Member(v, "spec");
    const json* d = s ? Member(*s, "deduplication") : nullptr;
    if (d == nullptr || !d->is_object() || !IsNumber(Member(*s, "stormAlertCount")) ||
        !IsNumber(Member(*s, "stormOverflowCount")) ||
        !IsLuaList(Member(*s, "affectedResources")) || !IsNumber(Member(*d, "firstSeen")) ||
        !IsNumber(Member(*d, "lastSeen"))) {
      return StatusFromErrorReply("CORRUPT full-crd storm document does not decode");
    }
    if (a->now < Num((*d)["lastSeen"]) + a->inactivity &&
        a->now < Num((*d)["firstSeen"]) + a->cap) {
      doc = std::move(v);
      have = true;
    } else {
      Result<bool> close = NeedsClose(ctx, keys, Num((*d)["firstSeen"]));
      if (!close.ok()) return close.status();
      if (*close) {
        const json* list = Member(*s, "affectedResources");
        return Reply::Array(
            {Reply::Integer(-1), LuaInt(Num((*s)["stormAlertCount"])),
             Reply::Integer(list->is_array() ? static_cast<int64_t>(list->size()) : 0),
             LuaInt(Num((*s)["stormOverflowCount"])), LuaInt(Num((*d)["firstSeen"])),
             LuaInt(Num((*d)["lastSeen"]))});
      }
    }
  }
  if (have) {
    const json& spec = doc["spec"];
    const json* r = Member(spec, "stormRequest");
    if (std::optional<int64_t> replay = r != nullptr && r->is_string()
                                            ? ReplayOf(r->get<std::string>(), a->request)
                                            : std::nullopt) {
      const json* list = Member(spec, "affectedResources");
      const json& d = spec["deduplication"];
      return Reply::Array({Reply::Integer(*replay), LuaInt(Num(spec["stormAlertCount"])),
                           Reply::Integer(list->is_array() ? static_cast<int64_t>(list->size()) : 0),
                           LuaInt(Num(spec["stormOverflowCount"])), LuaInt(Num(d["firstSeen"])),
                           LuaInt(Num(d["lastSeen"]))});
    }
  }
  if (!have) {
    json v = ParseJson(argv[6]);
    const json* s = v.is_discarded() ? nullptr : Member(v, "spec");
    if (s == nullptr || !(s->is_object() || (s->is_array() && s->empty()))) {
      return StatusFromErrorReply("ERR full-crd template is not a JSON object with a spec");
    }
    doc = std::move(v);
    json& spec = doc["spec"];
    if (!spec.is_object()) spec = json::object();
    spec["deduplication"] =
        json::object({{"firstSeen", a->now}, {"lastSeen", a->now}, {"occurrenceCount", 0}});
    spec["isStorm"] = true;
    spec["stormType"] = argv[5];
    spec["stormAlertCount"] = 0;
    spec["stormOverflowCount"] = 0;
    spec["affectedResources"] = json::array();
  }
  json& spec = doc["spec"];
  json& dedup = spec["deduplication"];
  json& list = AsList(spec["affectedResources"]);
  AddResource(list, argv[4], a->max_resources, spec["stormOverflowCount"]);
  spec["stormAlertCount"] = Num(spec["stormAlertCount"]) + 1;
  dedup["occurrenceCount"] = spec["stormAlertCount"];
  if (a->now > Num(dedup["lastSeen"])) dedup["lastSeen"] = a->now;
  if (!a->request.empty()) spec["stormRequest"] = (have ? "0" : "1") + a->request;
  const double last = Num(dedup["lastSeen"]), first = Num(dedup["firstSeen"]);
  const double ttl = std::min(last + a->inactivity, first + a->cap) - a->now + a->grace;
  TWIN_DO("SET", key, CanonicalJsonText(doc), "PX", FormatD(ttl));
  return Reply::Array({Reply::Integer(have ? 0 : 1), LuaInt(Num(spec["stormAlertCount"])),
                       Reply::Integer(static_cast<int64_t>(list.size())),
                       LuaInt(Num(spec["stormOverflowCount"])), LuaInt(first), LuaInt(last)});
}

#undef TWIN_CALL
#undef TWIN_DO

struct ScriptDef {
  ScriptId id;
  std::string_view name;
  NativeTwin twin;
};

const std::array<const Script*, kAllScriptIds.size()>& Registered() {
  static const auto* scripts = [] {
    const ScriptDef defs[] = {
        {ScriptId::kDedup, "dedup", DedupTwin},
        {ScriptId::kStormDetect, "storm_detect", StormDetectTwin},
        {ScriptId::kStormAggCompact, "storm_agg_compact", StormAggCompactTwin},
        {ScriptId::kStormAggJsonMeta, "storm_agg_json_meta", StormAggJsonMetaTwin},
        {ScriptId::kStormAggFullCrd, "storm_agg_full_crd", StormAggFullCrdTwin},
        {ScriptId::kRateLimit, "rate_limit", RateLimitTwin},
        {ScriptId::kDedupFinish, "dedup_finish", DedupFinishTwin},
        {ScriptId::kStormClose, "storm_close", StormCloseTwin},
    };
    auto* out = new std::array<const Script*, kAllScriptIds.size()>{};
    for (const ScriptDef& def : defs) {
      std::string_view lua = LuaSource(def.name);
      if (lua.empty()) {
        std::fprintf(stderr, "stormkv: lua/%.*s.lua is not embedded\n",
                     static_cast<int>(def.name.size()), def.name.data());
        std::abort();
      }
      (*out)[static_cast<std::size_t>(def.id)] = &ScriptRegistry::Global().Register(
          Script(std::string(def.name), std::string(lua), def.twin));
    }
    return out;
  }();
  return *scripts;
}

}  // namespace

Status ScriptFailure(const Status& status, std::string_view context) {
  if (status.message().compare(0, kCorruptErrorPrefix.size(), kCorruptErrorPrefix) == 0) {
    return Status::Corruption(status.message()).WithContext(context);
  }
  return status.WithContext(context);
}

Status CheckReplyShape(const Reply& reply, std::size_t size, std::size_t integers,
                       std::string_view context) {
  bool ok = reply.is_array() && reply.elements().size() == size;
  for (std::size_t i = 0; ok && i < integers; ++i) ok = reply.elements()[i].is_integer();
  if (ok) return Status::Ok();
  return Status::Internal(std::string(context) + ": unexpected script reply " + reply.ToString());
}

std::string_view ScriptName(ScriptId id) { return GatewayScript(id).name(); }

const Script& GatewayScript(ScriptId id) { return *Registered()[static_cast<std::size_t>(id)]; }

ScriptId AggregationScript(Layout layout) {
  switch (layout) {
    case Layout::kFullCrd:
      return ScriptId::kStormAggFullCrd;
    case Layout::kJsonMeta:
      return ScriptId::kStormAggJsonMeta;
    case Layout::kCompact:
      break;
  }
  return ScriptId::kStormAggCompact;
}

}  // namespace stormkv
