// stormkv/lua_engine.h — a Lua 5.1 scripting engine that runs scripts as Redis 7.0 does.
//
// One LuaEngine owns one lua_State, its sandbox and a script cache (sha -> compiled function).
// A store calls it for EVAL / EVALSHA / EVAL_RO / EVALSHA_RO / SCRIPT, and for KvBackend::Eval
// in Lua mode; every redis.call of a script goes to the store through a ScriptContext.
//
// What a script sees is what Redis 7.0.15 gives it:
//  * libraries base (without dofile, loadfile, print, getfenv, setfenv, newproxy), table, string,
//    math, coroutine, cjson (Debian's lua-cjson), bit (Lua BitOp), struct and cmsgpack; no os,
//    io, package, require, debug;
//  * globals and library tables read-only ("Attempt to modify a readonly table"); reading an
//    undefined global fails ("Script attempted to access nonexistent global variable 'x'");
//    KEYS and ARGV are fresh writable tables on every run;
//  * redis.call / pcall / error_reply / status_reply / sha1hex / log / setresp / set_repl /
//    replicate_commands / breakpoint / debug / acl_check_cmd, redis.LOG_* / REPL_* /
//    REDIS_VERSION(_NUM), pcall that turns error tables into their `err` string;
//  * reply conversion both ways (nil bulk -> false, status -> {ok=}, error -> {err=}, numbers
//    truncated to integers, arrays cut at the first nil, RESP3 types after redis.setresp(3));
//  * errors with the 7.0 suffix " script: <sha>, on @user_script:<line>."; compile errors as
//    "ERR Error compiling script (new function): user_script:<line>: ...";
//  * `#!lua flags=...` shebangs (no-writes, allow-oom, allow-stale, no-cluster,
//    allow-cross-slot-keys) with Redis's error texts for a bad engine, flag or option.
//
// Where it differs from Redis on purpose (all documented in README "Scripting"):
//  * math.random uses Redis's generator (rand48) but is reseeded with 0 at the start of every
//    run, so a script's random numbers are deterministic; Redis 7.0 seeds it once at startup
//    from a random value. After math.randomseed(n) both produce the same sequence.
//  * Runaway scripts: Redis lets a script run past lua-time-limit, answers BUSY to other
//    clients and waits for SCRIPT KILL (or SHUTDOWN NOSAVE). Here the script is aborted after
//    `max_instructions` Lua VM instructions with "ERR Script killed by the runaway-script
//    limit ..."; the writes it completed stay. (Redis cannot kill a script that has written:
//    SCRIPT KILL answers UNKILLABLE and only SHUTDOWN NOSAVE stops it.) C functions that run
//    long without executing Lua instructions (a pathological string.find) are not interrupted.
//  * The Lua heap is capped (`memory_limit_bytes`); an allocation beyond it fails inside the
//    script like Lua's "not enough memory" (catchable by pcall); an uncaught one aborts the
//    script with "ERR Script exceeded the Lua memory limit ...". Redis has no such cap.
//  * A reply larger than `max_reply_bytes` (or nested deeper than Lua's C stack allows, as in
//    Redis: "ERR reached lua stack limit") becomes an error reply instead of being sent.
//  * A raised error that is a table without a string `err` field (Redis 7.0.15 crashes on
//    error({})) becomes "ERR user_script:<line>: (error object is a table value)".
//  * String-library lookups through read-only proxies: pairs/next/rawget/rawset/setmetatable/
//    getmetatable/table.insert/remove/sort see through them; other functions that walk a library
//    table (table.foreach, cjson.encode(string)) see it empty.
//
// Thread-safety: none. A LuaEngine is used by one thread at a time (the store calls it under
// its lock). Scripts cannot reenter the engine (EVAL inside a script is refused by the store).
#ifndef STORMKV_LUA_ENGINE_H_
#define STORMKV_LUA_ENGINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stormkv/kv_backend.h"
#include "stormkv/reply.h"
#include "stormkv/script.h"
#include "stormkv/status.h"

namespace stormkv {

struct LuaEngineOptions {
  // The runaway-script limit: Lua VM instructions one run may execute (0 = unlimited). The
  // default (~1-2 s of tight Lua on this machine) is far above any gateway script.
  int64_t max_instructions = 2'000'000'000;
  // Cap on the Lua heap in bytes (all scripts and the cache; 0 = unlimited).
  int64_t memory_limit_bytes = int64_t{256} << 20;
  // Largest reply a script may return, counted as its bulk bytes plus 16 per element.
  int64_t max_reply_bytes = int64_t{64} << 20;
  // redis.log(level, ...) goes here (level 0..3 = LOG_DEBUG..LOG_WARNING). Empty: discarded.
  std::function<void(int level, std::string_view message)> log;
};

// The `#!lua` shebang of a script. A script without one is a "legacy" script (Redis 7.0 runs
// it as it did before: no start-time OOM refusal; each deny-oom command checks instead).
struct LuaScriptFlags {
  bool shebang = false;     // the script starts with "#!lua"
  bool no_writes = false;   // flags=no-writes: runs read-only (also under OOM, and by *_RO)
  bool allow_oom = false;   // flags=allow-oom: deny-oom commands run even over maxmemory
  bool allow_stale = false;
  bool no_cluster = false;
  bool allow_cross_slot_keys = false;
};

// Parses the shebang of `body`. Errors have Redis's texts ("ERR Unexpected engine in script
// shebang: ...", "ERR Unknown lua shebang option: ...", "ERR Unexpected flag in script shebang:
// ..."), code kInvalidArgument.
Result<LuaScriptFlags> ParseLuaShebang(std::string_view body);

// What the store does around one script run (Redis's EVAL before and after the script body).
class LuaScriptHost {
 public:
  virtual ~LuaScriptHost() = default;
  // Called when the script is compiled, before it runs. `read_only`: EVAL_RO/EVALSHA_RO or a
  // no-writes shebang (write commands are then refused inside the script). Non-ok refuses the
  // script with that error (e.g. OOM for a shebang script that may write while over maxmemory;
  // then EndScript is not called). The ScriptContext must stay valid until EndScript.
  virtual Result<ScriptContext*> BeginScript(const LuaScriptFlags& flags, bool read_only) = 0;
  // Called after the run with its outcome (the reply is not passed: it may be large).
  virtual void EndScript(const Status& result) = 0;
};

class LuaEngine {
 public:
  explicit LuaEngine(LuaEngineOptions options = {});
  ~LuaEngine();
  LuaEngine(const LuaEngine&) = delete;
  LuaEngine& operator=(const LuaEngine&) = delete;

  // Runs the scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO (argv = name, script or
  // sha, numkeys, keys..., args...) and SCRIPT LOAD / EXISTS / FLUSH [ASYNC|SYNC] / HELP.
  // Argument errors, NOSCRIPT and compile errors have Redis's texts and do not call the host.
  // A script's reply comes back as the Reply (an error reply as Reply::Error, Redis's text).
  // REQUIRES: IsScriptingCommand(argv[0]).
  Reply Execute(const Command& argv, LuaScriptHost& host);
  // True for EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (any case).
  static bool IsScriptingCommand(std::string_view name);

  // Runs `script`'s Lua text (KvBackend::Eval in Lua mode): cached by script.sha1(), compiled
  // on first use. Same reply as EVALSHA of it; read-only when its shebang says no-writes.
  Reply Run(const Script& script, const std::vector<std::string>& keys,
            const std::vector<std::string>& args, LuaScriptHost& host);

  // The lower-level pieces, for tests and other hosts.
  // Compiles `body` into the cache (SCRIPT LOAD). Returns its sha, or the compile/shebang error.
  Result<std::string> Load(std::string_view body);
  // True when a script with this sha (40 hex digits, any case) is cached.
  bool Exists(std::string_view sha) const;
  // Empties the cache (SCRIPT FLUSH) and collects the Lua heap.
  void Flush();
  // Runs the cached script `sha` with `ctx` as its redis.call target, without a host.
  // NOSCRIPT when not cached.
  Reply RunCached(std::string_view sha, const std::vector<std::string>& keys,
                  const std::vector<std::string>& args, ScriptContext& ctx);

  // Bytes of the Lua heap now, and the number of cached scripts.
  int64_t LuaHeapBytes() const;
  size_t CachedScripts() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace stormkv

#endif  // STORMKV_LUA_ENGINE_H_
