// backends/lua/lua_sandbox.cc — the libraries a script sees and Redis 7.0's sandbox over them.
//
// Read-only tables: Debian's Lua 5.1 has no read-only flag (Redis patches its bundled Lua), so
// every protected table T is replaced by an empty proxy P whose metatable is
// {__index = T, __newindex = <raise "Attempt to modify a readonly table">}. The globals table
// itself is such a proxy (LUA_GLOBALSINDEX), behind it the real globals G whose own metatable
// raises "Script attempted to access nonexistent global variable". The base functions that
// bypass metamethods (rawget, rawset, next, pairs, setmetatable, getmetatable) and the table
// functions that write raw (insert, remove, sort) see through the proxies, with Redis's errors.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "lua_internal.h"
#include "lua_libs.h"

extern "C" {
int luaopen_cjson(lua_State* L);
int luaopen_bit(lua_State* L);
}

namespace stormkv {
namespace {

// Registry keys (addresses unique to this file).
char kProxyTargets;   // proxy -> target table
char kProxyVisible;   // proxy -> what getmetatable(proxy) returns (absent: nil)

constexpr char kReadonly[] = "Attempt to modify a readonly table";

int ReadonlyNewIndex(lua_State* L) { return luaL_error(L, kReadonly); }

// Raised without a position, as Redis's VM does when a C function writes a read-only table.
int RaiseReadonly(lua_State* L) {
  lua_pushstring(L, kReadonly);
  return lua_error(L);
}

int NonexistentGlobal(lua_State* L) {
  const char* name = lua_tostring(L, 2);  // numbers become their text, as in Redis
  if (name == nullptr) name = luaL_typename(L, 2);
  return luaL_error(L, "Script attempted to access nonexistent global variable '%s'", name);
}

bool IsProxy(lua_State* L, int idx) {
  if (lua_type(L, idx) != LUA_TTABLE) return false;
  bool found = luaimpl::PushProxyTarget(L, idx);
  if (found) lua_pop(L, 1);
  return found;
}

// Replaces the table argument at `idx` (absolute) by its proxy's target, if it is a proxy.
void Unproxy(lua_State* L, int idx) {
  if (lua_type(L, idx) == LUA_TTABLE && luaimpl::PushProxyTarget(L, idx)) lua_replace(L, idx);
}

// Calls upvalue 1 (the original function) with the current arguments; returns all results.
int CallOriginal(lua_State* L) {
  int n = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, n, LUA_MULTRET);
  return lua_gettop(L);
}

int WrapNext(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  Unproxy(L, 1);
  lua_settop(L, 2);
  return lua_next(L, 1) ? 2 : (lua_pushnil(L), 1);
}

int WrapPairs(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_pushvalue(L, lua_upvalueindex(1));  // our next
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

int WrapRawget(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkany(L, 2);
  Unproxy(L, 1);
  lua_settop(L, 2);
  lua_rawget(L, 1);
  return 1;
}

int WrapRawset(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkany(L, 2);
  luaL_checkany(L, 3);
  if (IsProxy(L, 1)) return RaiseReadonly(L);
  lua_settop(L, 3);
  lua_rawset(L, 1);
  return 1;
}

int WrapSetmetatable(lua_State* L) {
  int t = lua_type(L, 2);
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_argcheck(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table expected");
  if (IsProxy(L, 1)) return RaiseReadonly(L);
  return CallOriginal(L);
}

int WrapGetmetatable(lua_State* L) {
  luaL_checkany(L, 1);
  if (IsProxy(L, 1)) {
    lua_pushlightuserdata(L, &kProxyVisible);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_pushvalue(L, 1);
    lua_rawget(L, -2);
    return 1;
  }
  return CallOriginal(L);
}

int WrapTableInsert(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  if (lua_gettop(L) == 3) luaL_checkint(L, 2);
  if (IsProxy(L, 1)) return RaiseReadonly(L);
  return CallOriginal(L);
}

int WrapTableRemove(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  if (!lua_isnoneornil(L, 2)) luaL_checkint(L, 2);
  if (IsProxy(L, 1)) return RaiseReadonly(L);
  return CallOriginal(L);
}

int WrapTableSort(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
  if (IsProxy(L, 1)) return RaiseReadonly(L);
  return CallOriginal(L);
}

// Redis's Lua refuses precompiled chunks by parsing them as text: the first byte (ESC) is a
// syntax error. Pushes nil and that message (with the chunk's name) when `s` starts with ESC.
bool RefuseBinaryChunk(lua_State* L, const char* s, size_t len, const char* chunkname) {
  if (len == 0 || s[0] != '\033') return false;
  // Let the parser name the chunk: "@" fails at the same place with the same prefix.
  luaL_loadbuffer(L, "@", 1, chunkname);
  size_t mlen = 0;
  const char* m = lua_tolstring(L, -1, &mlen);
  static constexpr char kTail[] = "'@'";
  size_t keep = mlen >= sizeof(kTail) - 1 ? mlen - (sizeof(kTail) - 1) : mlen;
  lua_pushnil(L);
  lua_pushlstring(L, m, keep);
  lua_pushliteral(L, "'char(27)'");
  lua_concat(L, 2);
  lua_remove(L, -3);
  return true;
}

int WrapLoadstring(lua_State* L) {
  size_t len = 0;
  const char* s = luaL_checklstring(L, 1, &len);
  const char* chunkname = luaL_optstring(L, 2, s);
  if (RefuseBinaryChunk(L, s, len, chunkname)) return 2;
  if (luaL_loadbuffer(L, s, len, chunkname) == 0) return 1;
  lua_pushnil(L);
  lua_insert(L, -2);
  return 2;
}

int WrapLoad(lua_State* L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  const char* chunkname = luaL_optstring(L, 2, "=(load)");
  lua_settop(L, 2);
  int pieces = 0;
  for (;;) {
    luaL_checkstack(L, 2, "too many pieces");
    lua_pushvalue(L, 1);
    lua_call(L, 0, 1);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      break;
    }
    if (!lua_isstring(L, -1)) return luaL_error(L, "reader function must return a string");
    if (lua_objlen(L, -1) == 0) {
      lua_pop(L, 1);
      break;
    }
    if (++pieces > 32) {  // keep the stack small: fold into one string as we go
      lua_concat(L, pieces);
      pieces = 1;
    }
  }
  if (pieces == 0) lua_pushliteral(L, "");
  else lua_concat(L, pieces);
  size_t len = 0;
  const char* s = lua_tolstring(L, -1, &len);
  if (RefuseBinaryChunk(L, s, len, chunkname)) return 2;
  if (luaL_loadbuffer(L, s, len, chunkname) == 0) return 1;
  lua_pushnil(L);
  lua_insert(L, -2);
  return 2;
}

// pcall as Redis 7.0 has it: an error table with a string `err` becomes that string.
int RedisPcall(lua_State* L) {
  luaL_checkany(L, 1);
  int n = lua_gettop(L);
  int status = lua_pcall(L, n - 1, LUA_MULTRET, 0);
  if (status != 0) {
    if (lua_type(L, -1) == LUA_TTABLE) {
      lua_getfield(L, -1, "err");
      if (lua_type(L, -1) == LUA_TSTRING) lua_replace(L, -2);
      else lua_pop(L, 1);
    }
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
  }
  lua_pushboolean(L, 1);
  lua_insert(L, 1);
  return lua_gettop(L);
}

// xpcall's message handler runs before the stack unwinds; for an error raised by the runaway
// hook, Lua 5.1 runs it with hooks disabled, so a looping handler could never be stopped. Once
// the script is killed the user's handler is skipped and the error passes through unchanged.
int KillAwareHandler(lua_State* L) {
  if (LuaEngine::Impl::From(L)->killed_) return 1;
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

int WrapXpcall(lua_State* L) {
  luaL_checkany(L, 2);
  lua_settop(L, 2);
  lua_pushcclosure(L, KillAwareHandler, 1);  // the user's handler as upvalue
  lua_insert(L, 1);
  int status = lua_pcall(L, 0, LUA_MULTRET, 1);
  lua_pushboolean(L, status == 0);
  lua_replace(L, 1);
  return lua_gettop(L);
}

int MathRandom(lua_State* L) {
  double r = LuaEngine::Impl::From(L)->NextRandom();
  switch (lua_gettop(L)) {
    case 0:
      lua_pushnumber(L, r);
      break;
    case 1: {
      int u = luaL_checkint(L, 1);
      luaL_argcheck(L, 1 <= u, 1, "interval is empty");
      lua_pushnumber(L, std::floor(r * u) + 1);
      break;
    }
    case 2: {
      int l = luaL_checkint(L, 1);
      int u = luaL_checkint(L, 2);
      luaL_argcheck(L, l <= u, 2, "interval is empty");
      lua_pushnumber(L, std::floor(r * (u - l + 1)) + l);
      break;
    }
    default:
      return luaL_error(L, "wrong number of arguments");
  }
  return 1;
}

int MathRandomseed(lua_State* L) {
  LuaEngine::Impl::From(L)->SeedRandom(luaL_checkint(L, 1));
  return 0;
}

void OpenLib(lua_State* L, lua_CFunction open, const char* name) {
  lua_pushcfunction(L, open);
  lua_pushstring(L, name);
  lua_call(L, 1, 0);
}

// Replaces table[name] (table at stack top) by a C closure over the original.
void WrapField(lua_State* L, const char* name, lua_CFunction fn) {
  lua_getfield(L, -1, name);
  lua_pushcclosure(L, fn, 1);
  lua_setfield(L, -2, name);
}

// Makes a proxy for the table at stack top and replaces it by the proxy. `visible` (a stack
// index, 0 = none) is what getmetatable(proxy) will return.
void PushProxyFor(lua_State* L, int visible) {
  int target = lua_gettop(L);
  lua_newtable(L);                     // proxy
  lua_createtable(L, 0, 3);            // its metatable
  lua_pushvalue(L, target);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, ReadonlyNewIndex);
  lua_setfield(L, -2, "__newindex");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");  // the original setmetatable refuses it too
  lua_setmetatable(L, -2);
  lua_pushlightuserdata(L, &kProxyTargets);
  lua_rawget(L, LUA_REGISTRYINDEX);
  lua_pushvalue(L, -2);
  lua_pushvalue(L, target);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  if (visible != 0) {
    lua_pushlightuserdata(L, &kProxyVisible);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_pushvalue(L, -2);
    lua_pushvalue(L, visible);
    lua_rawset(L, -3);
    lua_pop(L, 1);
  }
  lua_replace(L, target);
}

void NewRegistryTable(lua_State* L, char* key) {
  lua_pushlightuserdata(L, key);
  lua_newtable(L);
  lua_rawset(L, LUA_REGISTRYINDEX);
}

}  // namespace

namespace luaimpl {
bool PushProxyTarget(lua_State* L, int idx) {
  if (idx < 0 && idx > LUA_REGISTRYINDEX) idx = lua_gettop(L) + idx + 1;
  lua_pushlightuserdata(L, &kProxyTargets);
  lua_rawget(L, LUA_REGISTRYINDEX);
  lua_pushvalue(L, idx);
  lua_rawget(L, -2);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 2);
    return false;
  }
  lua_remove(L, -2);
  return true;
}
}  // namespace luaimpl

void LuaEngine::Impl::SeedRandom(int32_t seed) {
  rand_state_ = ((static_cast<uint64_t>(static_cast<uint32_t>(seed)) << 16) | 0x330E) &
                ((uint64_t{1} << 48) - 1);
}

double LuaEngine::Impl::NextRandom() {
  rand_state_ = (rand_state_ * 0x5DEECE66DULL + 0xB) & ((uint64_t{1} << 48) - 1);
  int32_t r = static_cast<int32_t>(rand_state_ >> 17);
  constexpr int32_t kMax = 2147483647;
  return static_cast<double>(r % kMax) / kMax;
}

void LuaEngine::Impl::OpenLibraries() {
  lua_State* L = L_;
  NewRegistryTable(L, &kProxyTargets);
  NewRegistryTable(L, &kProxyVisible);
  OpenLib(L, luaopen_base, "");
  OpenLib(L, luaopen_table, LUA_TABLIBNAME);
  OpenLib(L, luaopen_string, LUA_STRLIBNAME);
  OpenLib(L, luaopen_math, LUA_MATHLIBNAME);
  lua_pushcfunction(L, luaopen_cjson);
  lua_call(L, 0, 1);
  lua_setglobal(L, "cjson");
  lua_pushcfunction(L, luaopen_bit);
  lua_call(L, 0, 0);
  lua_pushcfunction(L, stormkv_luaopen_struct);
  lua_call(L, 0, 0);
  lua_pushcfunction(L, stormkv_luaopen_cmsgpack);
  lua_call(L, 0, 0);

  for (const char* name : {"dofile", "loadfile", "print", "getfenv", "setfenv", "newproxy"}) {
    lua_pushnil(L);
    lua_setglobal(L, name);
  }
  lua_pushvalue(L, LUA_GLOBALSINDEX);
  lua_pushcfunction(L, WrapNext);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "next");
  lua_pushcclosure(L, WrapPairs, 1);
  lua_setfield(L, -2, "pairs");
  lua_pushcfunction(L, WrapRawget);
  lua_setfield(L, -2, "rawget");
  lua_pushcfunction(L, WrapRawset);
  lua_setfield(L, -2, "rawset");
  WrapField(L, "setmetatable", WrapSetmetatable);
  WrapField(L, "getmetatable", WrapGetmetatable);
  lua_pushcfunction(L, WrapLoadstring);
  lua_setfield(L, -2, "loadstring");
  lua_pushcfunction(L, WrapLoad);
  lua_setfield(L, -2, "load");
  lua_pushcfunction(L, RedisPcall);
  lua_setfield(L, -2, "pcall");
  lua_pushcfunction(L, WrapXpcall);
  lua_setfield(L, -2, "xpcall");
  lua_pop(L, 1);

  lua_getglobal(L, LUA_TABLIBNAME);
  WrapField(L, "insert", WrapTableInsert);
  WrapField(L, "remove", WrapTableRemove);
  WrapField(L, "sort", WrapTableSort);
  lua_pop(L, 1);

  lua_getglobal(L, LUA_MATHLIBNAME);
  lua_pushcfunction(L, MathRandom);
  lua_setfield(L, -2, "random");
  lua_pushcfunction(L, MathRandomseed);
  lua_setfield(L, -2, "randomseed");
  lua_pop(L, 1);
}

void LuaEngine::Impl::Protect() {
  lua_State* L = L_;
  int top = lua_gettop(L);
  lua_pushvalue(L, LUA_GLOBALSINDEX);  // G
  int g = lua_gettop(L);
  // Library tables.
  for (const char* name : {"string", "table", "math", "coroutine", "cjson", "bit", "struct",
                           "cmsgpack", "redis"}) {
    lua_getfield(L, g, name);
    if (lua_type(L, -1) != LUA_TTABLE) {
      lua_pop(L, 1);
      continue;
    }
    PushProxyFor(L, 0);
    lua_setfield(L, g, name);
  }
  // The string metatable: its __index is the string proxy, and getmetatable("") returns a
  // read-only view of it.
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);
  lua_remove(L, -2);
  int smt = lua_gettop(L);
  lua_getfield(L, g, "string");
  lua_setfield(L, smt, "__index");
  lua_pushvalue(L, smt);
  PushProxyFor(L, 0);
  lua_setfield(L, smt, "__metatable");
  lua_settop(L, g);
  // G's metatable: reading a missing global fails. getmetatable(_G) returns a view of it.
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, NonexistentGlobal);
  lua_setfield(L, -2, "__index");
  lua_pushvalue(L, -1);
  lua_setmetatable(L, g);
  int gmt = lua_gettop(L);
  lua_pushvalue(L, gmt);
  PushProxyFor(L, 0);           // the view of G's metatable
  int gmt_view = lua_gettop(L);
  lua_pushvalue(L, g);
  PushProxyFor(L, gmt_view);    // the globals proxy
  lua_pushvalue(L, -1);
  lua_setfield(L, g, "_G");     // raw: G has no __newindex
  lua_pushvalue(L, g);
  globals_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_replace(L, LUA_GLOBALSINDEX);
  lua_settop(L, top);
}

}  // namespace stormkv
