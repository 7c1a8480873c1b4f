// tests/lua/lua_corpus.h — the engine-fidelity corpus: Lua scripts whose replies on real Redis
// 7.0 are the reference (label `lua`).
//
// Every case is a complete EVAL body (KEYS/ARGV empty). Library cases (`kLibrary`) use only what
// plain Lua 5.1 with Redis's libraries has — string, table, math, base, cjson, bit, struct,
// cmsgpack — and catch their own errors with pcall, so that they can be run on a bare
// lua_State with those libraries as well as through EVAL. Engine cases (`kEngine`) need the
// scripting engine itself (redis.*, the sandbox, reply conversion, error texts of EVAL).
#ifndef STORMKV_TESTS_LUA_LUA_CORPUS_H_
#define STORMKV_TESTS_LUA_LUA_CORPUS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace stormkv::testing_lua {

enum class CaseKind { kLibrary, kEngine };

struct LuaCase {
  std::string name;  // unique, [A-Za-z0-9_]
  CaseKind kind;
  std::string body;  // the EVAL body, prelude included
};

// The helpers every library case starts with: hx(s) (lower-case hex of a string) and dump(v)
// (a deterministic text of any value: sorted table keys, %.17g numbers, cjson.null as "null").
const std::string& CorpusPrelude();

// The whole corpus: hand-written cases, then `seed`-generated ones (struct and cmsgpack round
// trips and byte-exact packs, cjson texts with its leniencies, bit operations, conversions).
std::vector<LuaCase> BuildCorpus(uint32_t seed);

}  // namespace stormkv::testing_lua

#endif  // STORMKV_TESTS_LUA_LUA_CORPUS_H_
