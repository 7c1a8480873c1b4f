// tests/lua/fake_context.h — a tiny in-memory ScriptContext and LuaScriptHost for the engine's
// unit tests: strings and hashes, the script-mode error texts the stores give redis.call, a
// trace of every command, and a host that records what the engine asked for.
#ifndef STORMKV_TESTS_LUA_FAKE_CONTEXT_H_
#define STORMKV_TESTS_LUA_FAKE_CONTEXT_H_

#include <map>
#include <string>
#include <vector>

#include "stormkv/lua_engine.h"
#include "stormkv/script.h"

namespace stormkv::luatest {

class FakeContext : public ScriptContext {
 public:
  Result<Reply> Call(const Command& argv) override;

  std::map<std::string, std::string> strings;
  std::map<std::string, std::map<std::string, std::string>> hashes;
  std::vector<Command> trace;
  bool read_only = false;
  bool oom = false;  // deny-oom commands fail (legacy scripts' first write), unless allow_oom
  bool allow_oom = false;
};

class FakeHost : public LuaScriptHost {
 public:
  Result<ScriptContext*> BeginScript(const LuaScriptFlags& flags, bool read_only) override;
  void EndScript(const Status& result) override {
    ++ended;
    last_result = result;
  }

  FakeContext ctx;
  bool over_maxmemory = false;
  LuaScriptFlags last_flags;
  bool last_read_only = false;
  int begun = 0;
  int ended = 0;
  Status last_result;
};

// Runs EVAL `body` with keys/args on `engine` through `host`.
Reply Eval(LuaEngine& engine, FakeHost& host, const std::string& body,
           const std::vector<std::string>& keys = {}, const std::vector<std::string>& args = {},
           const char* command = "EVAL");

}  // namespace stormkv::luatest

#endif  // STORMKV_TESTS_LUA_FAKE_CONTEXT_H_
