// The native twins of the JSON layouts' scripts (lua/storm_agg_json_meta.lua and
// lua/storm_agg_full_crd.lua), line by line: stored records are read as Redis's cjson reads
// them (DecodeLikeCjson) and written with the canonical encoder the Lua text shares
// (CanonicalJsonText, byte for byte the prelude lua/prelude/canonical_json.lua).
#include <cmath>
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "stormkv/gateway/json_text.h"
#include "stormkv/gateway/twin_lua.h"

namespace stormkv::twin {
namespace {

using nlohmann::json;

// Lua's is_list(): a table that is empty or has an array part.
bool IsLuaList(const json* v) {
  return v != nullptr && (v->is_array() || (v->is_object() && v->empty()));
}

// t.name of a decoded table: nullptr when t is not an object or has no such member.
const json* Member(const json& t, const char* name) {
  if (!t.is_object()) return nullptr;
  auto it = t.find(name);
  return it == t.end() ? nullptr : &*it;
}

bool IsNumber(const json* v) { return v != nullptr && v->is_number(); }

// t.name as a Lua number (nil when absent or not a number).
LuaNum NumberAt(const json& t, const char* name) {
  const json* v = Member(t, name);
  return IsNumber(v) ? LuaNum(v->get<double>()) : std::nullopt;
}

// Sets t.name = v (a Lua assignment of nil removes the field).
void SetNumber(json& t, const char* name, LuaNum v) {
  if (v) {
    t[name] = *v;
  } else {
    t.erase(name);
  }
}

void SetString(json& t, const char* name, const std::string* v) {
  if (v) {
    t[name] = *v;
  } else {
    t.erase(name);
  }
}

// The scripts' "is the stored storm still open": now < last + inactivity and now < first + cap.
Result<bool> StillOpen(LuaNum now, LuaNum first, LuaNum last, LuaNum inactivity, LuaNum cap) {
  LUA_TRY(idle_at, LuaAdd(last, inactivity, 0));
  LUA_TRY(open, LuaLess(now, idle_at, 0));
  if (!open) return false;
  LUA_TRY(cap_at, LuaAdd(first, cap, 0));
  return LuaLess(now, cap_at, 0);
}

// The resource scan of both scripts: appends `resource` unless it is listed (a nil resource is
// never listed, and appending nil does nothing), or counts an overflow when the list is full.
// The comparison with ARGV[4] happens only when the resource is not listed, as in Lua.
Status AddResource(json& list, const std::string* resource, LuaNum max_resources, json& owner,
                   const char* overflow_field) {
  if (resource != nullptr) {
    for (const json& item : list) {
      if (item.is_string() && item.get_ref<const std::string&>() == *resource) return Status::Ok();
    }
  }
  LUA_TRY(room, LuaLess(static_cast<double>(list.size()), max_resources, 0));
  if (room) {
    if (resource != nullptr) list.push_back(*resource);
  } else {
    owner[overflow_field] = owner[overflow_field].get<double>() + 1;
  }
  return Status::Ok();
}

// The list of resources as a JSON array (an empty object decodes to the same Lua table).
json& AsList(json& v) {
  if (!v.is_array()) v = json::array();
  return v;
}

Reply Length(const json* list) {
  return Reply::Integer(list != nullptr && list->is_array() ? static_cast<int64_t>(list->size()) : 0);
}

}  // namespace

Result<Reply> StormAggJsonMetaTwin(ScriptContext& ctx, const Args& keys, const Args& argv) {
  const std::string* key = At(keys, 0);
  const LuaNum now = LuaToNumber(At(argv, 0));
  const LuaNum inactivity = LuaToNumber(At(argv, 1));
  const LuaNum cap = LuaToNumber(At(argv, 2));
  const std::string* resource = At(argv, 4);
  json rec;
  bool have = false;
  LUA_CALL(raw, "GET", key);
  if (!raw.is_nil()) {
    std::optional<json> v = raw.is_bulk() ? DecodeLikeCjson(raw.str()) : std::nullopt;
    if (!v || !v->is_object() || !IsNumber(Member(*v, "alert_count")) ||
        !IsNumber(Member(*v, "first_seen")) || !IsNumber(Member(*v, "last_seen")) ||
        !IsNumber(Member(*v, "overflow")) || !IsLuaList(Member(*v, "resources"))) {
      return StatusFromErrorReply("CORRUPT json-meta storm record does not decode");
    }
    LUA_TRY(open, StillOpen(now, NumberAt(*v, "first_seen"), NumberAt(*v, "last_seen"),
                            inactivity, cap));
    if (open) {
      rec = std::move(*v);
      have = true;
    } else if (const std::string* close = At(keys, 1)) {
      LUA_CALL(state, "HGET", close, "s");
      if (state.is_nil() || state.str() != "done:" + FormatD(*NumberAt(*v, "first_seen"))) {
        return Reply::Array({Reply::Integer(-1), LuaInt(*NumberAt(*v, "alert_count")),
                             Length(Member(*v, "resources")), LuaInt(*NumberAt(*v, "overflow")),
                             LuaInt(*NumberAt(*v, "first_seen")), LuaInt(*NumberAt(*v, "last_seen"))});
      }
    }
  }
  const std::string request = argv.size() > 6 ? argv[6] : std::string();
  if (have) {
    const json* r = Member(rec, "request");
    if (std::optional<int64_t> replay = r != nullptr && r->is_string()
                                            ? ReplayOf(r->get<std::string>(), request)
                                            : std::nullopt) {
      return Reply::Array({Reply::Integer(*replay), LuaInt(*NumberAt(rec, "alert_count")),
                           Length(Member(rec, "resources")), LuaInt(*NumberAt(rec, "overflow")),
                           LuaInt(*NumberAt(rec, "first_seen")),
                           LuaInt(*NumberAt(rec, "last_seen"))});
    }
  }
  const std::string* replay_list = At(keys, 2);
  if (have && !request.empty() && replay_list != nullptr) {
    LUA_CALL(prior, "HGET", replay_list, request);
    if (!prior.is_nil()) {
      const LuaNum was_new = LuaToNumber(prior.str());
      return Reply::Array({LuaInt(was_new ? *was_new : 0.0), LuaInt(*NumberAt(rec, "alert_count")),
                           Length(Member(rec, "resources")), LuaInt(*NumberAt(rec, "overflow")),
                           LuaInt(*NumberAt(rec, "first_seen")),
                           LuaInt(*NumberAt(rec, "last_seen"))});
    }
  }
  if (!have && !raw.is_nil() && replay_list != nullptr) LUA_DO("DEL", replay_list);
  if (!have) {
    rec = json::object({{"alert_count", 0.0}, {"overflow", 0.0}, {"resources", json::array()}});
    SetNumber(rec, "first_seen", now);
    SetNumber(rec, "last_seen", now);
    SetString(rec, "pattern", At(argv, 5));
  }
  json& list = AsList(rec["resources"]);
  if (Status s = AddResource(list, resource, LuaToNumber(At(argv, 3)), rec, "overflow"); !s.ok()) {
    return s;
  }
  rec["alert_count"] = rec["alert_count"].get<double>() + 1;
  LUA_TRY(later, LuaLess(NumberAt(rec, "last_seen"), now, 0));
  if (later) rec["last_seen"] = *now;
  if (!request.empty()) rec["request"] = (have ? "0" : "1") + request;
  const LuaNum first = NumberAt(rec, "first_seen"), last = NumberAt(rec, "last_seen");
  LUA_TRY(idle_at, LuaAdd(last, inactivity, 0));
  LUA_TRY(cap_at, LuaAdd(first, cap, 0));
  const LuaNum grace = LuaToNumber(At(argv, 7));  // (tonumber(ARGV[8]) or 0): the close grace
  const std::string ttl = FormatD(std::min(idle_at, cap_at) - *now + (grace ? *grace : 0.0));
  LUA_DO("SET", *key, CanonicalJsonText(rec), "PX", ttl);
  if (!request.empty() && replay_list != nullptr) {
    LUA_DO("HSET", replay_list, request, have ? "0" : "1");
    LUA_DO("PEXPIRE", replay_list, ttl);
  }
  return Reply::Array({Reply::Integer(have ? 0 : 1), LuaInt(rec["alert_count"].get<double>()),
                       Reply::Integer(static_cast<int64_t>(list.size())),
                       LuaInt(rec["overflow"].get<double>()), LuaInt(*first), LuaInt(*last)});
}

Result<Reply> StormAggFullCrdTwin(ScriptContext& ctx, const Args& keys, const Args& argv) {
  const std::string* key = At(keys, 0);
  const LuaNum now = LuaToNumber(At(argv, 0));
  const LuaNum inactivity = LuaToNumber(At(argv, 1));
  const LuaNum cap = LuaToNumber(At(argv, 2));
  const std::string* resource = At(argv, 4);
  json doc;
  bool have = false;
  LUA_CALL(raw, "GET", key);
  if (!raw.is_nil()) {
    std::optional<json> v = raw.is_bulk() ? DecodeLikeCjson(raw.str()) : std::nullopt;
    const json* s = v ? Member(*v, "spec") : nullptr;
    const json* d = s ? Member(*s, "deduplication") : nullptr;
    if (d == nullptr || !d->is_object() || !IsNumber(Member(*s, "stormAlertCount")) ||
        !IsNumber(Member(*s, "stormOverflowCount")) ||
        !IsLuaList(Member(*s, "affectedResources")) || !IsNumber(Member(*d, "firstSeen")) ||
        !IsNumber(Member(*d, "lastSeen"))) {
      return StatusFromErrorReply("CORRUPT full-crd storm document does not decode");
    }
    LUA_TRY(open, StillOpen(now, NumberAt(*d, "firstSeen"), NumberAt(*d, "lastSeen"),
                            inactivity, cap));
    if (open) {
      doc = std::move(*v);
      have = true;
    } else if (const std::string* close = At(keys, 1)) {
      LUA_CALL(state, "HGET", close, "s");
      if (state.is_nil() || state.str() != "done:" + FormatD(*NumberAt(*d, "firstSeen"))) {
        return Reply::Array({Reply::Integer(-1), LuaInt(*NumberAt(*s, "stormAlertCount")),
                             Length(Member(*s, "affectedResources")),
                             LuaInt(*NumberAt(*s, "stormOverflowCount")),
                             LuaInt(*NumberAt(*d, "firstSeen")), LuaInt(*NumberAt(*d, "lastSeen"))});
      }
    }
  }
  const std::string request = argv.size() > 7 ? argv[7] : std::string();
  if (have) {
    const json& spec = doc["spec"];
    const json* r = Member(spec, "stormRequest");
    if (std::optional<int64_t> replay = r != nullptr && r->is_string()
                                            ? ReplayOf(r->get<std::string>(), request)
                                            : std::nullopt) {
      const json& d = spec["deduplication"];
      return Reply::Array({Reply::Integer(*replay), LuaInt(*NumberAt(spec, "stormAlertCount")),
                           Length(Member(spec, "affectedResources")),
                           LuaInt(*NumberAt(spec, "stormOverflowCount")),
                           LuaInt(*NumberAt(d, "firstSeen")), LuaInt(*NumberAt(d, "lastSeen"))});
    }
  }
  const std::string* replay_list = At(keys, 2);
  if (have && !request.empty() && replay_list != nullptr) {
    LUA_CALL(prior, "HGET", replay_list, request);
    if (!prior.is_nil()) {
      const json& spec = doc["spec"];
      const json& d = spec["deduplication"];
      const LuaNum was_new = LuaToNumber(prior.str());
      return Reply::Array({LuaInt(was_new ? *was_new : 0.0),
                           LuaInt(*NumberAt(spec, "stormAlertCount")),
                           Length(Member(spec, "affectedResources")),
                           LuaInt(*NumberAt(spec, "stormOverflowCount")),
                           LuaInt(*NumberAt(d, "firstSeen")), LuaInt(*NumberAt(d, "lastSeen"))});
    }
  }
  // A template whose spec is a non-empty JSON array is a Lua table with an array part: the
  // script sets its storm fields on it, but the encoder writes only the array elements. The
  // twin keeps those fields in `shadow` and writes the array as it came.
  json shadow;
  bool spec_is_array = false;
  if (!have) {
    const std::string* tmpl = At(argv, 6);
    std::optional<json> v = tmpl ? DecodeLikeCjson(*tmpl) : std::nullopt;
    const json* s = v ? Member(*v, "spec") : nullptr;
    if (s == nullptr || !(s->is_object() || s->is_array())) {
      return StatusFromErrorReply("ERR full-crd template is not a JSON object with a spec");
    }
    doc = std::move(*v);
    if (!raw.is_nil() && replay_list != nullptr) LUA_DO("DEL", replay_list);
    json& spec_in_doc = doc["spec"];
    spec_is_array = spec_in_doc.is_array() && !spec_in_doc.empty();
    if (!spec_is_array && !spec_in_doc.is_object()) spec_in_doc = json::object();
    json& spec = spec_is_array ? shadow : spec_in_doc;
    if (spec_is_array) shadow = json::object();
    json dedup = json::object({{"occurrenceCount", 0.0}});
    SetNumber(dedup, "firstSeen", now);
    SetNumber(dedup, "lastSeen", now);
    spec["deduplication"] = std::move(dedup);
    spec["isStorm"] = true;
    SetString(spec, "stormType", At(argv, 5));
    spec["stormAlertCount"] = 0.0;
    spec["stormOverflowCount"] = 0.0;
    spec["affectedResources"] = json::array();
  }
  json& spec = spec_is_array ? shadow : doc["spec"];
  json& dedup = spec["deduplication"];
  json& list = AsList(spec["affectedResources"]);
  if (Status s = AddResource(list, resource, LuaToNumber(At(argv, 3)), spec, "stormOverflowCount");
      !s.ok()) {
    return s;
  }
  spec["stormAlertCount"] = spec["stormAlertCount"].get<double>() + 1;
  dedup["occurrenceCount"] = spec["stormAlertCount"];
  LUA_TRY(later, LuaLess(NumberAt(dedup, "lastSeen"), now, 0));
  if (later) dedup["lastSeen"] = *now;
  if (!request.empty()) spec["stormRequest"] = (have ? "0" : "1") + request;
  const LuaNum first = NumberAt(dedup, "firstSeen"), last = NumberAt(dedup, "lastSeen");
  LUA_TRY(idle_at, LuaAdd(last, inactivity, 0));
  LUA_TRY(cap_at, LuaAdd(first, cap, 0));
  const LuaNum grace = LuaToNumber(At(argv, 8));  // (tonumber(ARGV[9]) or 0): the close grace
  const std::string ttl = FormatD(std::min(idle_at, cap_at) - *now + (grace ? *grace : 0.0));
  LUA_DO("SET", *key, CanonicalJsonText(doc), "PX", ttl);
  if (!request.empty() && replay_list != nullptr) {
    LUA_DO("HSET", replay_list, request, have ? "0" : "1");
    LUA_DO("PEXPIRE", replay_list, ttl);
  }
  return Reply::Array({Reply::Integer(have ? 0 : 1), LuaInt(spec["stormAlertCount"].get<double>()),
                       Reply::Integer(static_cast<int64_t>(list.size())),
                       LuaInt(spec["stormOverflowCount"].get<double>()), LuaInt(*first),
                       LuaInt(*last)});
}

#undef LUA_CALL
#undef LUA_DO
#undef LUA_TRY

}  // namespace stormkv::twin
