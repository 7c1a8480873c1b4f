// backends/lua/lua_internal.h — LuaEngine::Impl, shared by the engine's .cc files.
//
// Longjmp discipline (Debian's Lua 5.1 is C: lua_error longjmps): a lua_CFunction of ours keeps
// no object with a destructor alive across a Lua API call that may raise. Work that needs C++
// objects (the command's argv, the store's Reply) lives in Impl's scratch members, so a raise
// skips no destructor. Outside a running script the heap cap is lifted, so the engine's own
// pushes (KEYS/ARGV, reply conversion) cannot fail for the cap.
#ifndef STORMKV_BACKENDS_LUA_LUA_INTERNAL_H_
#define STORMKV_BACKENDS_LUA_LUA_INTERNAL_H_

#include <lua.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stormkv/lua_engine.h"

namespace stormkv {

struct LuaCachedScript {
  std::string sha;
  LuaScriptFlags flags;
  int fn_ref = LUA_NOREF;  // the compiled function, in the registry
};

class LuaEngine::Impl {
 public:
  explicit Impl(LuaEngineOptions options);
  ~Impl();

  // ---- cache (lua_engine.cc) ----
  Result<LuaCachedScript*> Compile(std::string_view body, const std::string& sha);
  LuaCachedScript* Find(std::string_view sha);
  void Flush();

  // ---- running (lua_engine.cc) ----
  // Runs `s` with KEYS/ARGV against `ctx`. The reply (Reply::Error for any failure).
  Reply RunScript(const LuaCachedScript& s, const std::vector<std::string>& keys,
                  const std::vector<std::string>& args, ScriptContext& ctx);

  // ---- sandbox (lua_sandbox.cc) ----
  void OpenLibraries();   // libraries, removed functions, Redis's math.random, pcall
  void Protect();         // read-only proxies for _G, the library tables, the string metatable
  // Redis's rand48.
  void SeedRandom(int32_t seed);
  double NextRandom();

  // ---- redis.* and conversions (lua_redis.cc) ----
  void OpenRedisLibrary();  // the `redis` table
  // Lua value at stack top -> Reply, RESP2 client (consumes nothing).
  Reply LuaToReply(lua_State* L, int depth, int64_t* budget);
  // Pushes `r` as redis.call returns it (RESP2 or RESP3 per resp_). `cmd`: the command name
  // (RESP3 shapes: HGETALL -> map, SMEMBERS -> set, ZSCORE -> double).
  void PushReply(lua_State* L, const Reply& r, std::string_view cmd, int depth);
  // Pushes an error table {err = Redis-normalised text}.
  void PushErrorTable(lua_State* L, std::string_view text);

  // The Impl that owns L (stored in the registry).
  static Impl* From(lua_State* L);

  LuaEngineOptions options_;
  lua_State* L_ = nullptr;
  std::unordered_map<std::string, LuaCachedScript> cache_;
  LuaCachedScript* last_ = nullptr;  // one-entry memo for repeated runs of the same sha

  // Heap accounting (the lua_Alloc).
  int64_t heap_bytes_ = 0;
  int64_t heap_limit_ = 0;     // 0 = unlimited; set only while a script runs
  bool heap_exceeded_ = false;  // an allocation failed for the cap during this run

  // State of the running script.
  ScriptContext* ctx_ = nullptr;
  const LuaCachedScript* running_ = nullptr;
  int resp_ = 2;
  int64_t hook_calls_ = 0;
  int64_t hook_limit_ = 0;   // hook calls allowed for this run (0 = unlimited)
  int hook_period_ = 0;      // instructions between hook calls
  bool killed_ = false;
  uint64_t rand_state_ = 0;

  // Registry references made at setup.
  int globals_ref_ = LUA_NOREF;      // the real globals table (behind the read-only proxy)
  int err_handler_ref_ = LUA_NOREF;  // the top-level error handler

  // Scratch for redis.call (see the longjmp discipline above).
  Command argv_;
  Result<Reply> call_result_ = Reply();
  std::string scratch_;
};

// Lua-facing helpers shared by the .cc files.
namespace luaimpl {
// Raises a Lua error whose object is the table {err = text} (Redis 7.0's luaPushError + lua_error).
int RaiseErrorTable(lua_State* L, std::string_view text);
// Formats a double as Redis does for command arguments and RESP2 doubles ("%.17g").
size_t FormatDouble17(double d, char* buf, size_t cap);
// The table at `idx` is one of the read-only proxies; pushes the table behind it (or nothing).
bool PushProxyTarget(lua_State* L, int idx);
}  // namespace luaimpl

}  // namespace stormkv

#endif  // STORMKV_BACKENDS_LUA_LUA_INTERNAL_H_
