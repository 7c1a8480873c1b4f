// tests/common/test_scripts.h — scripts that tests and benches share (header-only, so the benches
// use it without the test support library).
#ifndef STORMKV_TESTS_COMMON_TEST_SCRIPTS_H_
#define STORMKV_TESTS_COMMON_TEST_SCRIPTS_H_

#include <string>
#include <vector>

#include "stormkv/script.h"

namespace stormkv {

// INCR KEYS[1], then PEXPIRE it to ARGV[1] ms; returns the new count. The smallest script with a
// write, a TTL and a reply (the shape of a rate counter), in Lua and as its native twin.
inline const Script& IncrPExpireScript() {
  static const Script& s = ScriptRegistry::Global().Register(Script(
      "test_incr_pexpire",
      "local n = redis.call('INCR', KEYS[1]) redis.call('PEXPIRE', KEYS[1], ARGV[1]) return n",
      [](ScriptContext& ctx, const std::vector<std::string>& keys,
         const std::vector<std::string>& args) -> Result<Reply> {
        Result<Reply> n = ctx.Call({"INCR", keys[0]});
        if (!n.ok()) return n;
        Result<Reply> e = ctx.Call({"PEXPIRE", keys[0], args[0]});
        if (!e.ok()) return e.status();
        return n;
      }));
  return s;
}

}  // namespace stormkv

#endif  // STORMKV_TESTS_COMMON_TEST_SCRIPTS_H_
