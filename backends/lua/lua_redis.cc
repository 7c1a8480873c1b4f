// backends/lua/lua_redis.cc — the `redis` table and the conversions between Lua values and
// Redis replies, as Redis 7.0's script_lua.c behaves (observed on 7.0.15, never copied).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <strings.h>

#include "lua_internal.h"

namespace stormkv {
namespace {

// ---- redis.call / redis.pcall ----------------------------------------------------------------

int GenericCall(lua_State* L, bool raise) {
  LuaEngine::Impl* e = LuaEngine::Impl::From(L);
  int argc = lua_gettop(L);
  if (argc == 0) {
    e->PushErrorTable(L, "ERR Please specify at least one argument for this redis lib call");
    return raise ? lua_error(L) : 1;
  }
  if (e->argv_.size() != static_cast<size_t>(argc)) e->argv_.resize(static_cast<size_t>(argc));
  for (int i = 1; i <= argc; ++i) {
    int t = lua_type(L, i);
    if (t == LUA_TSTRING) {
      size_t len = 0;
      const char* s = lua_tolstring(L, i, &len);
      e->argv_[static_cast<size_t>(i - 1)].assign(s, len);
    } else if (t == LUA_TNUMBER) {
      char buf[64];
      size_t n = luaimpl::FormatDouble17(lua_tonumber(L, i), buf, sizeof(buf));
      e->argv_[static_cast<size_t>(i - 1)].assign(buf, n);
    } else {
      e->PushErrorTable(L, "ERR Lua redis lib command arguments must be strings or integers");
      return raise ? lua_error(L) : 1;
    }
  }
  if (e->ctx_ == nullptr) {
    e->PushErrorTable(L, "ERR redis.call used outside of a running script");
    return raise ? lua_error(L) : 1;
  }
  e->call_result_ = e->ctx_->Call(e->argv_);
  if (!e->call_result_.ok()) {
    const std::string& m = e->call_result_.status().message();
    e->PushErrorTable(L, m);
    return raise ? lua_error(L) : 1;
  }
  const Reply& r = e->call_result_.value();
  if (r.is_error()) {
    e->PushErrorTable(L, r.str());
    return raise ? lua_error(L) : 1;
  }
  e->PushReply(L, r, e->argv_[0], 0);
  return 1;
}

int RedisCall(lua_State* L) { return GenericCall(L, true); }
int RedisPcallCommand(lua_State* L) { return GenericCall(L, false); }

// ---- the small functions -----------------------------------------------------------------------

int ErrorReply(lua_State* L) {
  LuaEngine::Impl* e = LuaEngine::Impl::From(L);
  if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TSTRING) {
    e->PushErrorTable(L, "ERR wrong number or type of arguments");
    return 1;
  }
  size_t len = 0;
  const char* s = lua_tolstring(L, 1, &len);
  std::string_view text(s, len);
  if (!text.empty() && text[0] == '-') {
    text.remove_prefix(1);
    e->PushErrorTable(L, text);
  } else {
    e->PushErrorTable(L, text);
  }
  return 1;
}

int StatusReply(lua_State* L) {
  LuaEngine::Impl* e = LuaEngine::Impl::From(L);
  if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TSTRING) {
    e->PushErrorTable(L, "ERR wrong number or type of arguments");
    return 1;
  }
  lua_createtable(L, 0, 1);
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "ok");
  return 1;
}

int Sha1hex(lua_State* L) {
  if (lua_gettop(L) != 1) return luaimpl::RaiseErrorTable(L, "ERR wrong number of arguments");
  size_t len = 0;
  const char* s = lua_tolstring(L, 1, &len);
  char hex[41];
  {
    std::string h = Sha1Hex(std::string_view(s ? s : "", s ? len : 0));
    std::memcpy(hex, h.data(), 40);
  }
  lua_pushlstring(L, hex, 40);
  return 1;
}

int Log(lua_State* L) {
  LuaEngine::Impl* e = LuaEngine::Impl::From(L);
  int argc = lua_gettop(L);
  if (argc < 2) return luaimpl::RaiseErrorTable(L, "ERR redis.log() requires two arguments or more.");
  if (!lua_isnumber(L, 1)) return luaimpl::RaiseErrorTable(L, "ERR First argument must be a number (log level).");
  int level = static_cast<int>(lua_tonumber(L, 1));
  if (level < 0 || level > 3) return luaimpl::RaiseErrorTable(L, "ERR Invalid debug level.");
  if (!e->options_.log) return 0;
  e->scratch_.clear();
  for (int i = 2; i <= argc; ++i) {
    size_t len = 0;
    const char* s = lua_tolstring(L, i, &len);
    if (s == nullptr) continue;
    if (i > 2) e->scratch_ += ' ';
    e->scratch_.append(s, len);
  }
  try {
    e->options_.log(level, e->scratch_);
  } catch (...) {
    // A logging sink that throws loses the line; the script goes on, as with Redis's log.
  }
  return 0;
}

int Setresp(lua_State* L) {
  LuaEngine::Impl* e = LuaEngine::Impl::From(L);
  if (lua_gettop(L) != 1) return luaimpl::RaiseErrorTable(L, "ERR redis.setresp() requires one argument.");
  int v = static_cast<int>(lua_tonumber(L, 1));
  if (v != 2 && v != 3) return luaimpl::RaiseErrorTable(L, "ERR RESP version must be 2 or 3.");
  e->resp_ = v;
  return 0;
}

int SetRepl(lua_State* L) {
  if (lua_gettop(L) != 1) return luaimpl::RaiseErrorTable(L, "ERR redis.set_repl() requires two arguments.");
  int flags = static_cast<int>(lua_tonumber(L, 1));
  if (flags < 0 || flags > 3) {
    return luaimpl::RaiseErrorTable(
        L, "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
  }
  return 0;
}

int ReplicateCommands(lua_State* L) {
  lua_pushboolean(L, 1);
  return 1;
}

int Breakpoint(lua_State* L) {
  lua_pushboolean(L, 0);
  return 1;
}

int Debug(lua_State*) { return 0; }

int AclCheckCmd(lua_State* L) {
  if (lua_gettop(L) == 0) {
    return luaimpl::RaiseErrorTable(L, "ERR Please specify at least one argument for this redis lib call");
  }
  lua_pushboolean(L, 1);  // no ACLs on an embedded store: every command is allowed
  return 1;
}

void SetIntField(lua_State* L, const char* name, lua_Number v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, name);
}

void SetFn(lua_State* L, const char* name, lua_CFunction fn) {
  lua_pushcfunction(L, fn);
  lua_setfield(L, -2, name);
}

bool IsCommand(std::string_view cmd, const char* name) {
  return cmd.size() == std::strlen(name) && strncasecmp(cmd.data(), name, cmd.size()) == 0;
}

// Truncation of a Lua number to a Redis integer (x86-64's cvttsd2si: out of range -> INT64_MIN).
int64_t TruncateNumber(double d) {
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return INT64_MIN;
  return static_cast<int64_t>(d);
}

std::string Sanitized(const char* s, size_t len) {
  std::string out(s, len);
  for (char& c : out) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return out;
}

}  // namespace

namespace luaimpl {

int RaiseErrorTable(lua_State* L, std::string_view text) {
  LuaEngine::Impl::From(L)->PushErrorTable(L, text);
  return lua_error(L);
}

size_t FormatDouble17(double d, char* buf, size_t cap) {
  int n = std::snprintf(buf, cap, "%.17g", d);
  if (n < 0) return 0;
  return static_cast<size_t>(n) < cap ? static_cast<size_t>(n) : cap - 1;
}

}  // namespace luaimpl

void LuaEngine::Impl::PushErrorTable(lua_State* L, std::string_view text) {
  // Redis derives "<CODE> <message>" from the text: without a space there is no code, and
  // the code becomes ERR. Newlines at the ends are trimmed.
  while (!text.empty() && (text.back() == '\r' || text.back() == '\n')) text.remove_suffix(1);
  lua_createtable(L, 0, 1);
  if (text.find(' ') == std::string_view::npos) {
    lua_pushliteral(L, "ERR ");
    lua_pushlstring(L, text.data(), text.size());
    lua_concat(L, 2);
  } else {
    lua_pushlstring(L, text.data(), text.size());
  }
  lua_setfield(L, -2, "err");
}

void LuaEngine::Impl::PushReply(lua_State* L, const Reply& r, std::string_view cmd, int depth) {
  if (!lua_checkstack(L, 4)) luaL_error(L, "reached lua stack limit");
  switch (r.type()) {
    case Reply::Type::kNil:
      if (resp_ == 3) lua_pushnil(L);
      else lua_pushboolean(L, 0);
      return;
    case Reply::Type::kInteger:
      lua_pushnumber(L, static_cast<lua_Number>(r.integer()));
      return;
    case Reply::Type::kBulk:
      if (resp_ == 3 && depth == 0 && (IsCommand(cmd, "ZSCORE") || IsCommand(cmd, "ZINCRBY"))) {
        lua_createtable(L, 0, 1);
        lua_pushnumber(L, std::strtod(r.str().c_str(), nullptr));
        lua_setfield(L, -2, "double");
        return;
      }
      lua_pushlstring(L, r.str().data(), r.str().size());
      return;
    case Reply::Type::kStatus:
      lua_createtable(L, 0, 1);
      lua_pushlstring(L, r.str().data(), r.str().size());
      lua_setfield(L, -2, "ok");
      return;
    case Reply::Type::kError:
      PushErrorTable(L, r.str());
      return;
    case Reply::Type::kArray:
      break;
  }
  const auto& el = r.elements();
  if (resp_ == 3 && depth == 0 &&
      (IsCommand(cmd, "HGETALL") || IsCommand(cmd, "CONFIG")) && el.size() % 2 == 0) {
    lua_createtable(L, 0, 1);
    lua_createtable(L, 0, static_cast<int>(el.size() / 2));
    for (size_t i = 0; i + 1 < el.size(); i += 2) {
      PushReply(L, el[i], cmd, depth + 1);
      PushReply(L, el[i + 1], cmd, depth + 1);
      lua_rawset(L, -3);
    }
    lua_setfield(L, -2, "map");
    return;
  }
  if (resp_ == 3 && depth == 0 && IsCommand(cmd, "SMEMBERS")) {
    lua_createtable(L, 0, 1);
    lua_createtable(L, 0, static_cast<int>(el.size()));
    for (const Reply& m : el) {
      PushReply(L, m, cmd, depth + 1);
      lua_pushboolean(L, 1);
      lua_rawset(L, -3);
    }
    lua_setfield(L, -2, "set");
    return;
  }
  lua_createtable(L, static_cast<int>(el.size()), 0);
  for (size_t i = 0; i < el.size(); ++i) {
    PushReply(L, el[i], cmd, depth + 1);
    lua_rawseti(L, -2, static_cast<int>(i + 1));
  }
}

Reply LuaEngine::Impl::LuaToReply(lua_State* L, int depth, int64_t* budget) {
  if (*budget < 0) return Reply();
  *budget -= 16;
  switch (lua_type(L, -1)) {
    case LUA_TSTRING: {
      size_t len = 0;
      const char* s = lua_tolstring(L, -1, &len);
      *budget -= static_cast<int64_t>(len);
      if (*budget < 0) return Reply();
      return Reply::Bulk(std::string(s, len));
    }
    case LUA_TBOOLEAN:
      if (lua_toboolean(L, -1)) return Reply::Integer(1);
      return resp_ == 3 ? Reply::Integer(0) : Reply();
    case LUA_TNUMBER:
      return Reply::Integer(TruncateNumber(lua_tonumber(L, -1)));
    case LUA_TTABLE:
      break;
    default:
      return Reply();
  }
  if (depth > 10000 || !lua_checkstack(L, 4)) return Reply::Error("ERR reached lua stack limit");
  int t = lua_gettop(L);
  size_t len = 0;
  // t[name] on top of t when it has that Lua type (RESP3 tables are {err=..}, {ok=..}, {map=..}...).
  auto field = [L, t](const char* name, int type) {
    lua_settop(L, t);
    lua_pushstring(L, name);
    lua_rawget(L, t);
    return lua_type(L, -1) == type;
  };
  if (field("err", LUA_TSTRING)) {
    const char* s = lua_tolstring(L, -1, &len);
    Reply out = Reply::Error(Sanitized(s, len));
    lua_settop(L, t);
    return out;
  }
  if (field("ok", LUA_TSTRING)) {
    const char* s = lua_tolstring(L, -1, &len);
    Reply out = Reply::StatusText(Sanitized(s, len));
    lua_settop(L, t);
    return out;
  }
  if (field("double", LUA_TNUMBER)) {
    char buf[64];
    size_t n = luaimpl::FormatDouble17(lua_tonumber(L, -1), buf, sizeof(buf));
    lua_settop(L, t);
    *budget -= static_cast<int64_t>(n);
    return Reply::Bulk(std::string(buf, n));
  }
  if (field("big_number", LUA_TSTRING)) {
    const char* s = lua_tolstring(L, -1, &len);
    *budget -= static_cast<int64_t>(len);
    Reply out = *budget < 0 ? Reply() : Reply::Bulk(std::string(s, len));
    lua_settop(L, t);
    return out;
  }
  if (field("map", LUA_TTABLE)) {
    int m = lua_gettop(L);
    std::vector<Reply> out;
    lua_pushnil(L);
    while (lua_next(L, m) != 0) {
      lua_pushvalue(L, -2);
      out.push_back(LuaToReply(L, depth + 1, budget));
      lua_pop(L, 1);
      out.push_back(LuaToReply(L, depth + 1, budget));
      lua_pop(L, 1);
      if (*budget < 0) {
        lua_settop(L, t);
        return Reply();
      }
    }
    lua_settop(L, t);
    return Reply::Array(std::move(out));
  }
  if (field("set", LUA_TTABLE)) {
    int m = lua_gettop(L);
    std::vector<Reply> out;
    lua_pushnil(L);
    while (lua_next(L, m) != 0) {
      lua_pop(L, 1);
      out.push_back(LuaToReply(L, depth + 1, budget));
      if (*budget < 0) {
        lua_settop(L, t);
        return Reply();
      }
    }
    lua_settop(L, t);
    return Reply::Array(std::move(out));
  }
  if (field("verbatim_string", LUA_TTABLE)) {
    lua_getfield(L, -1, "string");
    if (lua_type(L, -1) == LUA_TSTRING) {
      const char* s = lua_tolstring(L, -1, &len);
      *budget -= static_cast<int64_t>(len);
      Reply out = *budget < 0 ? Reply() : Reply::Bulk(std::string(s, len));
      lua_settop(L, t);
      return out;
    }
  }
  lua_settop(L, t);
  std::vector<Reply> out;
  for (int j = 1;; ++j) {
    lua_rawgeti(L, t, j);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      break;
    }
    out.push_back(LuaToReply(L, depth + 1, budget));
    lua_pop(L, 1);
    if (*budget < 0) {
      lua_settop(L, t);
      return Reply();
    }
  }
  return Reply::Array(std::move(out));
}

void LuaEngine::Impl::OpenRedisLibrary() {
  lua_State* L = L_;
  lua_newtable(L);
  SetFn(L, "call", RedisCall);
  SetFn(L, "pcall", RedisPcallCommand);
  SetFn(L, "error_reply", ErrorReply);
  SetFn(L, "status_reply", StatusReply);
  SetFn(L, "sha1hex", Sha1hex);
  SetFn(L, "log", Log);
  SetFn(L, "setresp", Setresp);
  SetFn(L, "set_repl", SetRepl);
  SetFn(L, "replicate_commands", ReplicateCommands);
  SetFn(L, "breakpoint", Breakpoint);
  SetFn(L, "debug", Debug);
  SetFn(L, "acl_check_cmd", AclCheckCmd);
  SetIntField(L, "LOG_DEBUG", 0);
  SetIntField(L, "LOG_VERBOSE", 1);
  SetIntField(L, "LOG_NOTICE", 2);
  SetIntField(L, "LOG_WARNING", 3);
  SetIntField(L, "REPL_NONE", 0);
  SetIntField(L, "REPL_AOF", 1);
  SetIntField(L, "REPL_SLAVE", 2);
  SetIntField(L, "REPL_REPLICA", 2);
  SetIntField(L, "REPL_ALL", 3);
  lua_pushliteral(L, "7.0.15");
  lua_setfield(L, -2, "REDIS_VERSION");
  SetIntField(L, "REDIS_VERSION_NUM", 0x07000f);
  lua_setglobal(L, "redis");
}

}  // namespace stormkv
