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

#include "stormkv/gateway/storm_closer.h"
#include "stormkv/gateway/twin_lua.h"
#include "stormkv/lua_sources.h"

namespace stormkv {
namespace {

using twin::Args;
using twin::At;
using twin::LuaArray;
using twin::LuaCall;
using twin::LuaLess;
using twin::LuaNum;
using twin::LuaToNumber;
using twin::ReplayOf;
using twin::StormAggFullCrdTwin;
using twin::StormAggJsonMetaTwin;

// lua/dedup.lua, line by line (see twin_lua.h for how nil and errors are followed).
Result<Reply> DedupTwin(ScriptContext& ctx, const Args& keys, const Args& argv) {
  const std::string* key = At(keys, 0);
  const std::string* now_arg = At(argv, 0);
  const LuaNum now = LuaToNumber(now_arg);
  const std::string* attempt = At(argv, 3);
  if (attempt == nullptr) {
    LUA_CALL(count_reply, "HINCRBY", key, "count", "1");
    const int64_t count = count_reply.integer();
    LuaNum first = now, last = now;
    const std::string* ref = At(argv, 2);
    Reply stored_ref;
    if (count == 1) {
      LUA_DO("HSET", key, "first", now_arg, "last", now_arg, "ref", At(argv, 2));
    } else {
      LUA_CALL(m, "HMGET", key, "first", "last", "ref");
      const auto& e = m.elements();
      first = LuaToNumber(e.at(0));
      if (!first) first = now;
      last = LuaToNumber(e.at(1));
      if (!last) last = now;
      if (!e.at(2).is_nil()) stored_ref = e.at(2);
      LUA_TRY(later, LuaLess(last, now, 28));
      if (later) {
        last = now;
        LUA_DO("HSET", key, "last", now_arg);
      }
    }
    LUA_DO("PEXPIRE", key, At(argv, 1));
    const int64_t dup = count > 1 ? 1 : 0;
    if (!stored_ref.is_nil()) {
      return LuaArray({Reply::Integer(dup), Reply::Integer(count), first, last, stored_ref});
    }
    return LuaArray({Reply::Integer(dup), Reply::Integer(count), first, last, ref});
  }
  LUA_CALL(m, "HMGET", key, "count", "first", "last", "ref", "p", "pt");
  const auto& e = m.elements();
  int64_t state = 0;
  LuaNum count = 1, first = now, last = now;
  Reply ref = Reply::Bulk(argv[2]);  // ARGV[4] is there, so ARGV[3] is too
  if (e.at(0).is_nil()) {
    LUA_DO("HSET", key, "count", "1", "first", now_arg, "last", now_arg, "ref", &argv[2], "p",
           attempt, "pt", now_arg);
  } else {
    first = LuaToNumber(e.at(1));
    if (!first) first = now;
    last = LuaToNumber(e.at(2));
    if (!last) last = now;
    if (!e.at(3).is_nil()) ref = e.at(3);
    if (!e.at(4).is_nil()) {
      count = LuaToNumber(e.at(0));
      if (!count) return StatusFromErrorReply("CORRUPT dedup record has a bad count");
      if (e.at(4).str() != *attempt) {
        LuaNum pt = LuaToNumber(e.at(5));
        LUA_TRY(deadline, twin::LuaAdd(pt ? pt : LuaNum(0), LuaToNumber(At(argv, 4)), 51));
        LUA_TRY(busy, LuaLess(now, deadline, 51));
        if (busy) return LuaArray({Reply::Integer(3), count, first, last, ref});
      }
      LUA_DO("HSET", key, "p", attempt, "pt", now_arg);
      state = 2;
    } else {
      LUA_CALL(c, "HINCRBY", key, "count", "1");
      count = static_cast<double>(c.integer());
      state = 1;
    }
    LUA_TRY(later, LuaLess(last, now, 60));
    if (later) {
      last = now;
      LUA_DO("HSET", key, "last", now_arg);
    }
  }
  LUA_DO("PEXPIRE", key, At(argv, 1));
  return LuaArray({Reply::Integer(state), count, first, last, ref});
}

// lua/dedup_finish.lua.
Result<Reply> DedupFinishTwin(ScriptContext& ctx, const Args& keys, const Args& argv) {
  LUA_CALL(p, "HGET", At(keys, 0), "p");
  const std::string* attempt = At(argv, 0);
  if (p.is_nil() || attempt == nullptr || p.str() != *attempt) return Reply::Integer(0);
  const std::string* how = At(argv, 1);
  if (how != nullptr && *how == "done") {
    LUA_DO("HDEL", keys[0], "p", "pt");
  } else {
    LUA_DO("HDEL", keys[0], "pt");
  }
  return Reply::Integer(1);
}

// lua/storm_detect.lua: INCR and PEXPIRE run before any argument is used as a number.
Result<Reply> StormDetectTwin(ScriptContext& ctx, const Args& keys, const Args& argv) {
  const std::string* now_arg = At(argv, 0);
  const LuaNum now = LuaToNumber(now_arg);
  const std::string* rate_key = At(keys, 0);
  const std::string* pattern_key = At(keys, 1);
  const std::string* resource = At(argv, 3);
  LUA_CALL(rate_reply, "INCR", rate_key);
  const int64_t rate = rate_reply.integer();
  LUA_DO("PEXPIRE", rate_key, At(argv, 1), "NX");
  LUA_TRY(horizon, twin::LuaSub(now, LuaToNumber(At(argv, 2)), 12));
  LUA_DO("ZREMRANGEBYSCORE", pattern_key, "-inf", twin::FormatD(horizon));
  LUA_CALL(card_reply, "ZCARD", pattern_key);
  int64_t card = card_reply.integer();
  LUA_CALL(seen, "ZSCORE", pattern_key, resource);
  if (!seen.is_nil()) {
    LUA_TRY(older, LuaLess(LuaToNumber(seen), now, 16));
    if (older) LUA_DO("ZADD", pattern_key, now_arg, resource);
  } else {
    LUA_TRY(room, LuaLess(static_cast<double>(card), LuaToNumber(At(argv, 4)), 19));
    if (room) {
      LUA_DO("ZADD", pattern_key, now_arg, resource);
      ++card;
    }
  }
  if (card > 0) LUA_DO("PEXPIRE", pattern_key, At(argv, 2));
  LUA_TRY(rate_storm, LuaLess(LuaToNumber(At(argv, 5)), static_cast<double>(rate), 27));
  LUA_TRY(pattern_storm, LuaLess(LuaToNumber(At(argv, 6)), static_cast<double>(card), 28));
  return Reply::Array({Reply::Integer(rate), Reply::Integer(card),
                       Reply::Integer(rate_storm ? 1 : 0), Reply::Integer(pattern_storm ? 1 : 0)});
}

// lua/rate_limit.lua.
Result<Reply> RateLimitTwin(ScriptContext& ctx, const Args& keys, const Args& argv) {
  LUA_TRY(now, twin::LuaMul(LuaToNumber(At(argv, 0)), 1000.0, 10));
  const LuaNum interval_arg = LuaToNumber(At(argv, 1));
  LUA_TRY(burst_offset, twin::LuaMul(interval_arg, LuaToNumber(At(argv, 2)), 12));
  const LuaNum cost_arg = LuaToNumber(At(argv, 3));
  LUA_CALL(stored, "GET", At(keys, 0));
  LuaNum tat_opt = LuaToNumber(stored);
  const bool usable = tat_opt && *tat_opt >= now && *tat_opt <= now + burst_offset;
  const double tat = usable ? *tat_opt : now;
  LUA_TRY(cost_time, twin::LuaMul(interval_arg, cost_arg, 16));
  const double interval = *interval_arg;
  const double cost = *cost_arg;
  const double new_tat = tat + cost_time;
  const double diff = now - (new_tat - burst_offset);
  if (diff < 0) {
    double remaining = std::floor((now - (tat - burst_offset)) / interval);
    if (remaining < 0) remaining = 0;
    return Reply::Array({Reply::Integer(0), twin::LuaInt(remaining),
                         twin::LuaInt(std::ceil(-diff / 1000)),
                         twin::LuaInt(std::ceil((tat - now) / 1000))});
  }
  const double reset_ms = std::ceil((new_tat - now) / 1000);
  if (cost > 0) {
    LUA_DO("SET", keys[0], twin::FormatD(new_tat), "PX", twin::FormatD(reset_ms));
  }
  return Reply::Array({Reply::Integer(1), twin::LuaInt(std::floor(diff / interval)),
                       Reply::Integer(0), twin::LuaInt(reset_ms)});
}

// lua/storm_agg_compact.lua.
Result<Reply> StormAggCompactTwin(ScriptContext& ctx, const Args& keys, const Args& argv) {
  const std::string* key = At(keys, 0);
  const std::string* now_arg = At(argv, 0);
  const LuaNum now = LuaToNumber(now_arg);
  const LuaNum inactivity = LuaToNumber(At(argv, 1));
  const LuaNum cap = LuaToNumber(At(argv, 2));
  const std::string request = argv.size() > 6 ? argv[6] : std::string();
  const std::string* replay_list = At(keys, 2);
  LUA_CALL(m, "HMGET", key, "#n", "#f", "#l", "#o", "#p", "#r");
  const auto& e = m.elements();
  LuaNum count = LuaToNumber(e.at(0)), first = LuaToNumber(e.at(1)), last = LuaToNumber(e.at(2)),
         overflow = LuaToNumber(e.at(3));
  int64_t reserved = e.at(5).is_nil() ? 5 : 6;
  bool is_new = false;
  bool any = false;
  for (const Reply& r : e) any = any || !r.is_nil();
  if (!any) {
    is_new = true;
  } else if (!(count && first && last && overflow && !e.at(4).is_nil())) {
    return StatusFromErrorReply("CORRUPT compact storm record lacks its fields");
  } else {
    // now >= last + inactivity or now >= first + cap (Lua: b <= a).
    LUA_TRY(idle_at, twin::LuaAdd(last, inactivity, 33));
    LUA_TRY(idle, twin::LuaLessEqual(idle_at, now, 33));
    bool expired = idle;
    if (!expired) {
      LUA_TRY(cap_at, twin::LuaAdd(first, cap, 33));
      LUA_TRY(capped, twin::LuaLessEqual(cap_at, now, 33));
      expired = capped;
    }
    if (expired) {
      // With its close record (KEYS[2]): an over storm waits until the record says
      // 'done:<first_seen>' (the stored text of '#f').
      if (const std::string* close = At(keys, 1)) {
        LUA_CALL(state, "HGET", close, "s");
        if (state.is_nil() || state.str() != "done:" + e.at(1).str()) {
          LUA_CALL(hlen, "HLEN", key);
          return Reply::Array({Reply::Integer(-1), twin::LuaInt(*count),
                               Reply::Integer(hlen.integer() - reserved),
                               twin::LuaInt(*overflow), twin::LuaInt(*first),
                               twin::LuaInt(*last)});
        }
      }
      is_new = true;
    } else if (std::optional<int64_t> replay =
                   e.at(5).is_nil() ? std::nullopt : ReplayOf(e.at(5).str(), request)) {
      LUA_CALL(hlen, "HLEN", key);
      return Reply::Array({Reply::Integer(*replay), twin::LuaInt(*count),
                           Reply::Integer(hlen.integer() - reserved), twin::LuaInt(*overflow),
                           twin::LuaInt(*first), twin::LuaInt(*last)});
    } else if (!request.empty() && replay_list != nullptr) {
      // The replay list (KEYS[3]): an add whose alert is still in flight.
      LUA_CALL(prior, "HGET", replay_list, request);
      if (!prior.is_nil()) {
        LUA_CALL(hlen, "HLEN", key);
        const LuaNum was_new = LuaToNumber(prior.str());
        return Reply::Array({twin::LuaInt(was_new ? *was_new : 0.0), twin::LuaInt(*count),
                             Reply::Integer(hlen.integer() - reserved), twin::LuaInt(*overflow),
                             twin::LuaInt(*first), twin::LuaInt(*last)});
      }
    }
  }
  if (is_new) {
    if (any) {
      LUA_DO("DEL", key);
      if (replay_list != nullptr) LUA_DO("DEL", replay_list);
    }
    LUA_DO("HSET", key, "#n", "0", "#f", now_arg, "#l", now_arg, "#p", At(argv, 5), "#o", "0");
    count = 0;
    first = now;
    last = now;
    overflow = 0;
    reserved = 5;
  }
  LUA_CALL(hlen, "HLEN", key);
  int64_t resources = hlen.integer() - reserved;
  const std::string* field = At(argv, 4);
  LUA_TRY(room, LuaLess(static_cast<double>(resources), LuaToNumber(At(argv, 3)), 56));
  if (room) {
    LUA_CALL(rc, "HINCRBY", key, field, "1");
    if (rc.integer() == 1) ++resources;
  } else {
    LUA_CALL(exists, "HEXISTS", key, field);
    if (exists.integer() == 1) {
      LUA_DO("HINCRBY", key, field, "1");
    } else {
      LUA_CALL(o, "HINCRBY", key, "#o", "1");
      overflow = static_cast<double>(o.integer());
    }
  }
  LUA_CALL(n, "HINCRBY", key, "#n", "1");
  LUA_TRY(later, LuaLess(last, now, 64));
  if (later) {
    last = now;
    LUA_DO("HSET", key, "#l", now_arg);
  }
  if (!request.empty()) LUA_DO("HSET", key, "#r", (is_new ? "1" : "0") + request);
  LUA_TRY(idle_at, twin::LuaAdd(last, inactivity, 69));
  LUA_TRY(cap_at, twin::LuaAdd(first, cap, 69));
  // + (tonumber(ARGV[8]) or 0): the close grace.
  const LuaNum grace = LuaToNumber(At(argv, 7));
  const std::string ttl = twin::FormatD(std::min(idle_at, cap_at) - *now + (grace ? *grace : 0.0));
  LUA_DO("PEXPIRE", key, ttl);
  if (!request.empty() && replay_list != nullptr) {
    LUA_DO("HSET", replay_list, request, is_new ? "1" : "0");
    LUA_DO("PEXPIRE", replay_list, ttl);
  }
  return Reply::Array({Reply::Integer(is_new ? 1 : 0), Reply::Integer(n.integer()),
                       Reply::Integer(resources), twin::LuaInt(*overflow), twin::LuaInt(*first),
                       twin::LuaInt(*last)});
}

#undef LUA_CALL
#undef LUA_DO
#undef LUA_TRY

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
