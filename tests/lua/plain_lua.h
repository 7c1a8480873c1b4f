// tests/lua/plain_lua.h — a bare Lua 5.1 state with Redis's libraries (base, table, string, math,
// cjson, bit, and stormkv's struct and cmsgpack), for running the corpus's library cases
// without the scripting engine. Not a sandbox: only for trusted test scripts.
#ifndef STORMKV_TESTS_LUA_PLAIN_LUA_H_
#define STORMKV_TESTS_LUA_PLAIN_LUA_H_

#include <string>

#include "stormkv/reply.h"
#include "stormkv/status.h"

namespace stormkv::testing_lua {

// Runs `body` as Redis runs an EVAL body (chunk name "@user_script", no arguments) in a fresh
// state and converts what it returns as Redis 7.0 does in RESP2 (numbers truncated to
// integers, true -> 1, false/nil -> nil, {err=...} / {ok=...}, arrays up to the first nil).
// A Lua error becomes a ScriptError with the raw Lua message (no EVAL suffix).
Result<Reply> RunPlainLua(const std::string& body);

}  // namespace stormkv::testing_lua

#endif  // STORMKV_TESTS_LUA_PLAIN_LUA_H_
