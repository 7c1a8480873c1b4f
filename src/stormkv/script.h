// stormkv/script.h — a Script: a named Lua text plus its native C++ twin, and the one registry.
//
// Redis runs `lua` (EVALSHA). The embedded stores run `native_twin` by default, which must
// perform the same primitive commands in the same order through ScriptContext::Call, so that
// accounting, OOM and WRONGTYPE apply inside the script exactly as in Redis; in Lua mode (and
// for a script registered without a twin) they run `lua` itself on the embedded Lua engine
// (backends/lua, stormkv/lua_engine.h). Scripts receive the current
// time as an argument (never TIME inside the script), so both backends see the same `now`.
#ifndef STORMKV_SCRIPT_H_
#define STORMKV_SCRIPT_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "stormkv/kv_backend.h"
#include "stormkv/reply.h"
#include "stormkv/status.h"

namespace stormkv {

// What a native twin may do under the store's lock (redis.call), and all it may do: a twin that
// calls the backend running it (kv.Run/Get/Eval, any handle of that store) is refused (kInternal).
// On the embedded stores a twin may also run a scripting command (EVAL, EVALSHA..., SCRIPT)
// through Call: it runs as a script of its own on the store's Lua engine, inside the twin's atomic
// run (stormkv serve's EXEC does so for a transaction's EVAL); Lua's redis.call cannot, as on Redis.
class ScriptContext {
 public:
  virtual ~ScriptContext() = default;
  // Runs one command inside the running script, with the same semantics as Run(). An error
  // (WRONGTYPE, OOM...) is returned as a non-ok Status; a twin that mirrors redis.call returns
  // it unchanged so the script aborts with that error, as Lua's redis.call does.
  virtual Result<Reply> Call(const Command& argv) = 0;
};

// A twin receives KEYS and ARGV exactly as the Lua text does.
using NativeTwin = std::function<Result<Reply>(ScriptContext& ctx,
                                               const std::vector<std::string>& keys,
                                               const std::vector<std::string>& args)>;

class Script {
 public:
  // REQUIRES: name unique in the registry; lua non-empty. `twin` may be empty: the embedded
  // stores then run the Lua text.
  Script(std::string name, std::string lua, NativeTwin twin, bool read_only = false);

  const std::string& name() const { return name_; }
  const std::string& lua() const { return lua_; }
  // Lower-case hex SHA-1 of lua(), as SCRIPT LOAD returns it.
  const std::string& sha1() const { return sha1_; }
  // The native twin; empty when the script has none.
  const NativeTwin& native_twin() const { return twin_; }
  bool has_twin() const { return static_cast<bool>(twin_); }
  // True when the script never writes (then it runs even when over maxmemory): `read_only` was
  // given, or the Lua text starts with a Redis 7.0 shebang whose flags include no-writes
  // ("#!lua flags=no-writes"). Both backends hold a read-only script to it the same way: a
  // write command inside fails with "ERR Write commands are not allowed from read-only
  // scripts." (Redis runs it with EVALSHA_RO; a read_only script whose shebang lacks no-writes
  // is refused there with "Can not execute a script with write flag using *_ro command":
  // give such a script the flag in its shebang).
  bool read_only() const { return read_only_; }

 private:
  std::string name_;
  std::string lua_;
  std::string sha1_;
  NativeTwin twin_;
  bool read_only_;
};

// The process-wide registry of scripts. Scripts register once (at static-initialisation time or
// on first use) and are looked up by name. Thread-safe.
class ScriptRegistry {
 public:
  static ScriptRegistry& Global();

  // Registers `script` and returns the stored instance (stable address for the process lifetime).
  // Registering a second script with the same name returns the first one if its Lua text is the
  // same, and aborts the process otherwise (a programming error).
  const Script& Register(Script script);
  // The script named `name`, or nullptr.
  const Script* Find(std::string_view name) const;
  // All registered scripts, ordered by name.
  std::vector<const Script*> All() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Script>, std::less<>> scripts_;
};

// Lower-case hex SHA-1 / SHA-256 of `data` (OpenSSL).
std::string Sha1Hex(std::string_view data);
std::string Sha256Hex(std::string_view data);

}  // namespace stormkv

#endif  // STORMKV_SCRIPT_H_
