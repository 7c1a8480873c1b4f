// stormkv/gateway/twin_lua.h — internal to stormkv_gateway: what the native twins need to do
// exactly what their Lua text does, malformed input included.
//
// A twin follows its script line by line. A missing KEYS/ARGV element is Lua's nil, a number is
// what Lua's tonumber() makes of the argument (nil when it is not one), and each step that can
// fail in Lua fails in the twin at the same point, after the same writes:
//   * a redis.call with a nil argument: "Lua redis lib command arguments must be strings or
//     integers" (LuaCall);
//   * arithmetic on nil: "user_script:<line>: attempt to perform arithmetic on a nil value";
//   * an order comparison with nil: "user_script:<line>: attempt to compare number with nil"
//     (and the other texts Lua 5.1 gives), from LuaLess / LuaLessEqual;
//   * a reply table holding nil ends at the first nil, as Redis converts it (LuaArray).
// The error texts are Lua's without Redis's " script: <sha>, on @user_script:<line>." suffix;
// their class (a script error) is what callers and the equivalence tests rely on.
#ifndef STORMKV_GATEWAY_TWIN_LUA_H_
#define STORMKV_GATEWAY_TWIN_LUA_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stormkv/kv_backend.h"
#include "stormkv/reply.h"
#include "stormkv/script.h"
#include "stormkv/status.h"

namespace stormkv::twin {

using Args = std::vector<std::string>;
// A Lua value that is a number or nil.
using LuaNum = std::optional<double>;

// KEYS[i+1] / ARGV[i+1]: nullptr when absent (nil).
inline const std::string* At(const Args& v, std::size_t i) { return i < v.size() ? &v[i] : nullptr; }

// Lua 5.1 tonumber() of a string (strtod: decimal, hex, inf, nan; surrounding spaces; the text
// ends at its first NUL byte, as Lua reads it as a C string).
LuaNum LuaToNumber(const std::string& s);
// tonumber() of an optional argument (nil stays nil).
inline LuaNum LuaToNumber(const std::string* s) { return s ? LuaToNumber(*s) : std::nullopt; }
// tonumber() of a redis.call reply: integers are numbers, bulks are parsed, the rest is nil.
LuaNum LuaToNumber(const Reply& r);

// C's (long long) cast of a double as x86-64 does it: truncation, INT64_MIN for NaN and out of
// range values (what Redis's Lua reply conversion and string.format('%d') give).
int64_t LuaTruncate(double v);
// string.format('%d', v).
std::string FormatD(double v);
// A Lua number returned to Redis: truncated to an integer.
inline Reply LuaInt(double v) { return Reply::Integer(LuaTruncate(v)); }

// A Lua runtime error raised at `line` of the script (0: a line the twin does not track, e.g.
// in a script whose text has the shared prelude spliced in).
Status LuaError(int line, std::string_view what);

// a + b, a - b, a * b: an arithmetic error on nil.
Result<double> LuaAdd(LuaNum a, LuaNum b, int line);
Result<double> LuaSub(LuaNum a, LuaNum b, int line);
Result<double> LuaMul(LuaNum a, LuaNum b, int line);
// a < b and a <= b (Lua compiles a > b as b < a, a >= b as b <= a): a compare error on nil.
Result<bool> LuaLess(LuaNum a, LuaNum b, int line);
Result<bool> LuaLessEqual(LuaNum a, LuaNum b, int line);

// One element of a reply table: a Reply, or nil (ends the array).
struct LuaItem {
  std::optional<Reply> value;
  LuaItem(Reply r) : value(std::move(r)) {}                          // NOLINT: implicit on purpose
  LuaItem(LuaNum n)                                                   // NOLINT
      : value(n ? std::optional<Reply>(Reply::Integer(LuaTruncate(*n))) : std::nullopt) {}
  LuaItem(const std::string* s)                                       // NOLINT
      : value(s ? std::optional<Reply>(Reply::Bulk(*s)) : std::nullopt) {}
};
// The array Redis makes of a Lua table literal: up to the first nil.
Reply LuaArray(std::initializer_list<LuaItem> items);

// redis.call(args...) through `ctx`: each argument is a string, a const char*, or a
// `const std::string*` that is nil when null — then the call fails as redis.call does, without
// running anything.
//
// The argument vector comes from a per-thread pool of vectors by argument count, whose strings
// keep their capacity: a call copies its arguments into buffers allocated by earlier calls
// instead of allocating a vector and a string per argument each time. A vector is taken for
// the duration of the call and given back after it, so calls that nest (a command that runs a
// script) each have their own.
inline bool IsNil(const std::string* s) { return s == nullptr; }
inline bool IsNil(const std::string&) { return false; }
inline bool IsNil(const char*) { return false; }

class PooledArgv {
 public:
  explicit PooledArgv(std::size_t n) : n_(n) {
    Pool* pool = n < kMaxPooled ? ThePool() : nullptr;
    if (pool != nullptr && !pool->free[n].empty()) {
      argv_ = std::move(pool->free[n].back());
      pool->free[n].pop_back();
    } else {
      argv_ = std::make_unique<Command>(n);
    }
  }
  ~PooledArgv() {
    Pool* pool = n_ < kMaxPooled ? ThePool() : nullptr;
    if (pool == nullptr) return;
    // A large argument (a big value) is not kept: the pool holds small buffers only, so a
    // thread's pool stays a few KiB whatever it once carried.
    for (std::string& s : *argv_) {
      if (s.capacity() > kMaxKeptCapacity) std::string().swap(s);
    }
    pool->free[n_].push_back(std::move(argv_));
  }
  PooledArgv(const PooledArgv&) = delete;
  PooledArgv& operator=(const PooledArgv&) = delete;
  Command& argv() { return *argv_; }

 private:
  static constexpr std::size_t kMaxPooled = 24;
  static constexpr std::size_t kMaxKeptCapacity = 4096;
  struct Pool {
    std::vector<std::unique_ptr<Command>> free[kMaxPooled];
    Pool() { Alive() = true; }
    ~Pool() { Alive() = false; }
  };
  static bool& Alive() {
    static thread_local bool alive = false;
    return alive;
  }
  // This thread's pool; nullptr once thread-exit destruction has taken it (then vectors are
  // allocated and freed per call, as without a pool).
  static Pool* ThePool() {
    static thread_local bool created = false;
    if (created && !Alive()) return nullptr;
    created = true;
    static thread_local Pool pool;
    return &pool;
  }
  std::size_t n_;
  std::unique_ptr<Command> argv_;
};

// Only called once no argument is nil (LuaCall checks first).
inline void PutArg(Command& argv, std::size_t& i, const std::string* s) { argv[i++].assign(*s); }
inline void PutArg(Command& argv, std::size_t& i, const std::string& s) { argv[i++].assign(s); }
inline void PutArg(Command& argv, std::size_t& i, const char* s) { argv[i++].assign(s); }
Status NilArgumentError();

template <class... A>
Result<Reply> LuaCall(ScriptContext& ctx, A&&... args) {
  if ((IsNil(args) || ...)) return NilArgumentError();
  PooledArgv pooled(sizeof...(A));
  Command& argv = pooled.argv();
  std::size_t i = 0;
  (PutArg(argv, i, args), ...);
  return ctx.Call(argv);
}

// The stored "last added alert" of a storm ('0'|'1' is_new, then its request id) when it names
// `request` (non-empty): the is_new digit as Lua's tonumber(string.sub(v, 1, 1)) or 0 reads it.
std::optional<int64_t> ReplayOf(const std::string& stored, const std::string& request);

// The twins of the JSON layouts (scripts_json.cc).
Result<Reply> StormAggJsonMetaTwin(ScriptContext& ctx, const Args& keys, const Args& argv);
Result<Reply> StormAggFullCrdTwin(ScriptContext& ctx, const Args& keys, const Args& argv);

}  // namespace stormkv::twin

// How a twin follows a Lua line that calls redis.call: the call's error ends the script with that
// error, as Redis's redis.call raises it. Inside a twin (a function with a ScriptContext& ctx):
//   LUA_CALL(count, "HINCRBY", key, "count", "1");   // Reply count = ..., or return the error
//   LUA_DO("PEXPIRE", key, ttl);                     // the same, the reply unused
//   LUA_TRY(n, ParseSomething(...));                 // auto n = *Result<T>, or return its error
#define LUA_CALL(var, ...)                               \
  auto var##_result = ::stormkv::twin::LuaCall(ctx, __VA_ARGS__); \
  if (!var##_result.ok()) return var##_result.status();  \
  Reply var = std::move(var##_result).value()

#define LUA_DO(...)                                      \
  do {                                                   \
    auto r_ = ::stormkv::twin::LuaCall(ctx, __VA_ARGS__); \
    if (!r_.ok()) return r_.status();                    \
  } while (0)

#define LUA_TRY(var, expr)                               \
  auto var##_try = (expr);                               \
  if (!var##_try.ok()) return var##_try.status();        \
  auto var = *var##_try

#endif  // STORMKV_GATEWAY_TWIN_LUA_H_
