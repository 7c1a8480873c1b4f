// stormkv/lua_sources.h — the Lua scripts of lua/, embedded into the library at build time.
#ifndef STORMKV_LUA_SOURCES_H_
#define STORMKV_LUA_SOURCES_H_

#include <string_view>
#include <utility>
#include <vector>

namespace stormkv {

// Text of lua/<name>.lua, or "" when there is no such script.
std::string_view LuaSource(std::string_view name);
// Every embedded script as (name, text), ordered by name.
const std::vector<std::pair<std::string_view, std::string_view>>& EmbeddedLuaSources();

}  // namespace stormkv

#endif  // STORMKV_LUA_SOURCES_H_
