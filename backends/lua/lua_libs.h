// backends/lua/lua_libs.h — the two Lua libraries Redis 7.0 loads that Debian does not package:
// `struct` (binary packing) and `cmsgpack` (MessagePack), written for stormkv to behave as
// Redis 7.0.15's do: same accepted formats, same bytes, same results, same error texts.
//
// Each opener follows the Lua 5.1 luaopen_* convention: it creates the library table, stores it
// in the global of that name ("struct" / "cmsgpack") and leaves it on the stack (returns 1).
// The engine calls them while it builds its sandbox, before it protects the globals.
//
// Errors are raised with lua_error (luaL_error / luaL_argerror), so these functions keep no
// object with a destructor alive across a call that may raise: they are safe with the C build
// of Lua 5.1 (longjmp) as well as with the C++ one.
//
// What Redis's versions do that is worth knowing (and is reproduced here):
//  * struct: formats "<" ">" "!" [n] " ", "b B h H l L T i[n] I[n] f d s c[n] x"; "=" is an
//    invalid option; struct.size ignores unknown letters and digits (but not other bytes);
//    integers wider than 8 bytes keep only the low 8 bytes of the value; a number outside an
//    integer type's range packs as x86-64 converts it (cvttsd2si: 0x8000000000000000).
//  * cmsgpack (lua-cmsgpack 0.4.0): pack(...) encodes each argument; tables nested 16 deep are
//    encoded as nil; a table is an array when its keys are exactly 1..n (the empty table is an
//    empty array); numbers are integers when they are int64-exact, else float32 when exact,
//    else float64; unpack(s) returns every object; unpack_one(s [,offset]) and
//    unpack_limit(s, limit [,offset]) return the next offset first (-1 at the end), and
//    unpack_limit(s, 0) decodes everything without an offset, as Redis's does.
#ifndef STORMKV_BACKENDS_LUA_LUA_LIBS_H_
#define STORMKV_BACKENDS_LUA_LUA_LIBS_H_

#include <lua.hpp>

namespace stormkv {

// Opens Redis's `struct` library: struct.pack, struct.unpack, struct.size.
int stormkv_luaopen_struct(lua_State* L);

// Opens Redis's `cmsgpack` library: cmsgpack.pack, unpack, unpack_one, unpack_limit, and the
// _NAME/_VERSION/_COPYRIGHT/_DESCRIPTION strings Redis 7.0 exposes.
int stormkv_luaopen_cmsgpack(lua_State* L);

}  // namespace stormkv

#endif  // STORMKV_BACKENDS_LUA_LUA_LIBS_H_
