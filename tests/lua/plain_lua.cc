#include "lua/plain_lua.h"

#include <cstdint>
#include <vector>

#include "lua_libs.h"

extern "C" {
int luaopen_cjson(lua_State* L);
int luaopen_bit(lua_State* L);
}

namespace stormkv::testing_lua {
namespace {

int64_t Truncate(double v) {
  if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) return INT64_MIN;
  return static_cast<int64_t>(v);
}

// Converts the value at the top of the stack (and leaves the stack as it was).
Reply ToReply(lua_State* L, int depth) {
  switch (lua_type(L, -1)) {
    case LUA_TNUMBER: return Reply::Integer(Truncate(lua_tonumber(L, -1)));
    case LUA_TSTRING: {
      std::size_t len = 0;
      const char* s = lua_tolstring(L, -1, &len);
      return Reply::Bulk(std::string(s, len));
    }
    case LUA_TBOOLEAN: return lua_toboolean(L, -1) ? Reply::Integer(1) : Reply::Nil();
    case LUA_TTABLE: {
      lua_getfield(L, -1, "err");
      if (lua_type(L, -1) == LUA_TSTRING) {
        Reply r = Reply::Error(lua_tostring(L, -1));
        lua_pop(L, 1);
        return r;
      }
      lua_pop(L, 1);
      lua_getfield(L, -1, "ok");
      if (lua_type(L, -1) == LUA_TSTRING) {
        Reply r = Reply::StatusText(lua_tostring(L, -1));
        lua_pop(L, 1);
        return r;
      }
      lua_pop(L, 1);
      std::vector<Reply> items;
      for (int i = 1; depth < 100; ++i) {
        lua_rawgeti(L, -1, i);
        if (lua_isnil(L, -1)) {
          lua_pop(L, 1);
          break;
        }
        items.push_back(ToReply(L, depth + 1));
        lua_pop(L, 1);
      }
      return Reply::Array(std::move(items));
    }
    default: return Reply::Nil();
  }
}

}  // namespace

Result<Reply> RunPlainLua(const std::string& body) {
  lua_State* L = luaL_newstate();
  if (L == nullptr) return Status::Internal("luaL_newstate failed");
  struct Lib {
    const char* name;
    lua_CFunction open;
  };
  const Lib libs[] = {{"", luaopen_base},       {"table", luaopen_table},
                      {"string", luaopen_string}, {"math", luaopen_math},
                      {"debug", luaopen_debug},   {"cjson", luaopen_cjson},
                      {"bit", luaopen_bit},       {"struct", stormkv_luaopen_struct},
                      {"cmsgpack", stormkv_luaopen_cmsgpack}};
  for (const Lib& lib : libs) {
    lua_pushcfunction(L, lib.open);
    lua_call(L, 0, 1);
    // Debian's cjson returns its table without setting the global Redis has.
    if (lib.name[0] != '\0' && lua_istable(L, -1)) {
      lua_setglobal(L, lib.name);
    } else {
      lua_pop(L, 1);
    }
  }
  Result<Reply> out = Reply::Nil();
  if (luaL_loadbuffer(L, body.data(), body.size(), "@user_script") != 0 ||
      lua_pcall(L, 0, 1, 0) != 0) {
    out = Status::ScriptError(lua_tostring(L, -1) ? lua_tostring(L, -1) : "(error object)");
  } else {
    out = ToReply(L, 0);
  }
  lua_close(L);
  return out;
}

}  // namespace stormkv::testing_lua
