// backends/memory/lua_host.h — what an embedded store does around a script: the ScriptContext
// every script's commands go through (twin and Lua alike) and the LuaScriptHost of the Lua
// engine (Redis's work before and after an EVAL's body). Header-only over the store's call
// function and frame, so the in-process and the shared store share it. Private to
// backends/memory.
#ifndef STORMKV_BACKENDS_MEMORY_LUA_HOST_H_
#define STORMKV_BACKENDS_MEMORY_LUA_HOST_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>

#include "stormkv/kv_backend.h"
#include "stormkv/lua_engine.h"
#include "stormkv/script.h"
#include "store.h"

namespace stormkv::memstore {

// Commands Redis refuses inside scripts that the store does not implement at all (it would call
// them unknown): scripting, transactions, pub/sub, connection and admin commands (Redis 7.0's
// CMD_NOSCRIPT). Blocking commands are not among them: Redis runs them without blocking.
inline bool IsRedisNoScriptCommand(std::string_view name) {
  // Sorted, lower case: every command a script runs is checked, so a binary search of the
  // lower-cased name (4 to 12 characters) instead of a case-insensitive scan of the list.
  static constexpr std::string_view kNames[] = {
      "auth", "bgrewriteaof", "bgsave", "client", "discard", "eval", "eval_ro", "evalsha",
      "evalsha_ro", "exec", "fcall", "fcall_ro", "function", "hello", "monitor", "multi",
      "psubscribe", "psync", "punsubscribe", "quit", "replicaof", "reset", "save", "script",
      "shutdown", "slaveof", "ssubscribe", "subscribe", "sunsubscribe", "sync", "unsubscribe",
      "unwatch", "wait", "watch"};
  if (name.size() < 4 || name.size() > 12) return false;
  // Which (first letter, length) pairs the list holds, as a bit per length per letter: most
  // commands a script runs (HSET, ZADD, PEXPIRE, ...) match none and need no search.
  static constexpr auto kShapes = [] {
    std::array<uint16_t, 26> shapes{};
    for (std::string_view n : kNames) shapes[n[0] - 'a'] |= static_cast<uint16_t>(1u << n.size());
    return shapes;
  }();
  const unsigned letter = static_cast<unsigned char>(name[0] | 0x20) - 'a';
  if (letter >= 26 || (kShapes[letter] & (1u << name.size())) == 0) return false;
  char buf[12];
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    buf[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
  }
  return std::binary_search(std::begin(kNames), std::end(kNames), std::string_view(buf, name.size()));
}

// The ScriptContext of every script an embedded store runs: a native twin's Call and the Lua
// engine's redis.call both come here, then to `call` (Store::Call in process; the shared store's
// guarded call, which prepares the segment first, then Store::Call). Store::Call is thus the one
// place that sees each command a script runs, twin or Lua, before it runs: a check of which
// keys a script touches (cluster mode) belongs there (store.h).
// Adds what Redis says only inside scripts: "ERR This Redis command is not allowed from script"
// for the commands above, "ERR Unknown Redis command called from script" for unknown ones,
// "ERR Wrong number of args calling Redis command from script" for a wrong arity.
// `CallFn`: Result<Reply>(const Command&), an error reply returned as a non-ok Status.
template <class CallFn>
class StoreScriptContext final : public ScriptContext {
 public:
  explicit StoreScriptContext(CallFn call) : call_(std::move(call)) {}

  Result<Reply> Call(const Command& argv) override {
    if (!argv.empty() && IsRedisNoScriptCommand(argv[0])) {
      return StatusFromErrorReply("ERR This Redis command is not allowed from script");
    }
    Result<Reply> r = call_(argv);
    if (!r.ok()) {
      const std::string& m = r.status().message();
      if (m.rfind("ERR unknown command '", 0) == 0) {
        return StatusFromErrorReply("ERR Unknown Redis command called from script");
      }
      if (m.rfind("ERR wrong number of arguments for '", 0) == 0) {
        return StatusFromErrorReply("ERR Wrong number of args calling Redis command from script");
      }
    }
    return r;
  }

 private:
  CallFn call_;
};

// The ScriptContext of a native twin on an embedded store: its commands go to `inner` (the
// StoreScriptContext above), except the scripting commands (EVAL, EVALSHA, EVAL_RO, EVALSHA_RO,
// SCRIPT), which `nested` runs as a script of their own on the store's Lua engine, the twin's
// script suspended meanwhile (Store::SuspendScript) -- stormkv serve's EXEC, a twin, runs a
// transaction's EVAL of any script so, as Redis runs EVAL inside MULTI. Lua's redis.call has no
// such path: Redis refuses EVAL from a script, and so does StoreScriptContext.
// `NestedFn`: Result<Reply>(const Command&), with the store's lock held. `read_only`: the twin's
// script is read-only (ScriptStart::read_only), so a script it runs is too: EVAL and EVALSHA go
// as EVAL_RO and EVALSHA_RO, and a nested write gets Redis's read-only script error.
template <class NestedFn>
class TwinScriptContext final : public ScriptContext {
 public:
  TwinScriptContext(ScriptContext& inner, NestedFn nested, bool read_only)
      : inner_(inner), nested_(std::move(nested)), read_only_(read_only) {}
  Result<Reply> Call(const Command& argv) override {
    // EVAL... and SCRIPT start with e or s: most commands need no comparison at all.
    const char c0 = argv.empty() || argv[0].empty() ? '\0' : static_cast<char>(argv[0][0] | 0x20);
    if ((c0 == 'e' || c0 == 's') && LuaEngine::IsScriptingCommand(argv[0])) {
      if (read_only_ && (EqualsNoCase(argv[0], "eval") || EqualsNoCase(argv[0], "evalsha"))) {
        Command ro = argv;
        ro[0] += "_RO";
        return nested_(ro);
      }
      return nested_(argv);
    }
    return inner_.Call(argv);
  }

 private:
  static bool EqualsNoCase(const std::string& a, const char* b) {
    size_t i = 0;
    for (; i < a.size() && b[i] != '\0'; ++i) {
      if ((a[i] | 0x20) != b[i]) return false;
    }
    return i == a.size() && b[i] == '\0';
  }
  ScriptContext& inner_;
  NestedFn nested_;
  bool read_only_;
};

// The flags a registered script's twin runs with: its Lua text's shebang, as the engine reads
// it, plus Script::read_only. A script without a shebang is a legacy one.
inline Result<ScriptStart> TwinScriptStart(const Script& script) {
  ScriptStart s;
  s.read_only = script.read_only();
  if (script.lua().rfind("#!", 0) == 0) {
    Result<LuaScriptFlags> f = ParseLuaShebang(script.lua());
    if (!f.ok()) return f.status();
    s.shebang = f->shebang;
    s.allow_oom = f->allow_oom;
    s.read_only = s.read_only || f->no_writes;
  }
  return s;
}

// EVAL's frame on a store for the Lua engine. `Frame` provides
//   Status Begin(const ScriptStart&)   // Store::BeginScript; non-ok refuses the script
//   void End(const Status&)            // Store::EndScript
//   ScriptContext& Context()           // the StoreScriptContext of the run
// `force_read_only`: Script::read_only of a registered script run by Eval (the engine itself
// knows only EVAL_RO and the shebang). began() tells whether a script started (else an error
// reply of the engine came from the command itself: NOSCRIPT, compile error, bad arguments).
template <class Frame>
class StoreLuaHost final : public LuaScriptHost {
 public:
  StoreLuaHost(Frame& frame, bool force_read_only)
      : frame_(frame), force_read_only_(force_read_only) {}

  Result<ScriptContext*> BeginScript(const LuaScriptFlags& flags, bool read_only) override {
    ScriptStart s;
    s.read_only = read_only || force_read_only_;
    s.shebang = flags.shebang;
    s.allow_oom = flags.allow_oom;
    began_ = true;
    Status st = frame_.Begin(s);
    if (!st.ok()) return st;
    return &frame_.Context();
  }
  void EndScript(const Status& result) override { frame_.End(result); }
  bool began() const { return began_; }

 private:
  Frame& frame_;
  bool force_read_only_;
  bool began_ = false;
};

// The histogram name a fresh-server store notes for a scripting command ("eval", "script|load").
inline std::string ScriptingHistogramName(const Command& argv) {
  std::string name;
  auto lower = [&name](std::string_view s) {
    for (char c : s) name += (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  };
  lower(argv[0]);
  if (name == "script" && argv.size() > 1) {
    name += '|';
    lower(argv[1]);
  }
  return name;
}

}  // namespace stormkv::memstore

#endif  // STORMKV_BACKENDS_MEMORY_LUA_HOST_H_
