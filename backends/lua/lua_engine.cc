// backends/lua/lua_engine.cc — LuaEngine: the lua_State, the script cache, one run, and the
// EVAL / EVALSHA / *_RO / SCRIPT commands.
#include "stormkv/lua_engine.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <strings.h>

#include "lua_internal.h"

namespace stormkv {
namespace {

constexpr char kChunkName[] = "@user_script";
constexpr int kMaxHookPeriod = 100000;

void* LuaAlloc(void* ud, void* ptr, size_t osize, size_t nsize) {
  auto* e = static_cast<LuaEngine::Impl*>(ud);
  if (nsize == 0) {
    std::free(ptr);
    e->heap_bytes_ -= static_cast<int64_t>(osize);
    return nullptr;
  }
  if (nsize > osize && e->heap_limit_ > 0 &&
      e->heap_bytes_ + static_cast<int64_t>(nsize - osize) > e->heap_limit_) {
    e->heap_exceeded_ = true;
    return nullptr;
  }
  void* p = std::realloc(ptr, nsize);
  if (p == nullptr) return nullptr;
  e->heap_bytes_ += static_cast<int64_t>(nsize) - static_cast<int64_t>(osize);
  return p;
}

int Panic(lua_State* L) {
  const char* m = lua_tostring(L, -1);
  std::fprintf(stderr, "stormkv: unprotected Lua error: %s\n", m ? m : "(not a string)");
  std::abort();
}

void Hook(lua_State* L, lua_Debug*) {
  LuaEngine::Impl* e = LuaEngine::Impl::From(L);
  if (e->running_ == nullptr) return;
  if (!e->killed_) {
    if (e->hook_limit_ == 0 || ++e->hook_calls_ < e->hook_limit_) return;
    e->killed_ = true;
  }
  // From now on every instruction of every thread that reaches here raises again, so a pcall
  // that catches the kill does not let the script go on.
  lua_sethook(L, Hook, LUA_MASKCOUNT, 1);
  if (L != e->L_) lua_sethook(e->L_, Hook, LUA_MASKCOUNT, 1);  // and coroutines it creates
  lua_pushliteral(L, "Script killed by the runaway-script limit");
  lua_error(L);
}

// Pushes "ERR <tostring(v)>" for the value at `idx`.
void PushErrPrefixed(lua_State* L, int idx) {
  lua_pushliteral(L, "ERR ");
  switch (lua_type(L, idx)) {
    case LUA_TSTRING:
    case LUA_TNUMBER:
      lua_pushvalue(L, idx);
      lua_tostring(L, -1);
      break;
    case LUA_TNIL:
      lua_pushliteral(L, "nil");
      break;
    case LUA_TBOOLEAN:
      lua_pushstring(L, lua_toboolean(L, idx) ? "true" : "false");
      break;
    default:
      lua_pushfstring(L, "%s: %p", luaL_typename(L, idx), lua_topointer(L, idx));
      break;
  }
  lua_concat(L, 2);
}

// The top-level message handler: Redis's __redis__err__handler plus the final formatting.
// Returns the complete error text "<msg> script: <sha>, on <source>:<line>.".
int ErrorHandler(lua_State* L) {
  LuaEngine::Impl* e = LuaEngine::Impl::From(L);
  e->heap_limit_ = 0;  // the script is over: formatting the error must not fail for the cap
  lua_Debug ar;
  bool where = false;
  if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar)) {
    where = true;
    if (std::strcmp(ar.what, "C") == 0) {
      where = lua_getstack(L, 2, &ar) && lua_getinfo(L, "Sl", &ar);
    }
  }
  int err = 1;
  if (e->killed_) {
    char buf[160];
    std::snprintf(buf, sizeof(buf),
                  "ERR Script killed by the runaway-script limit: it ran more than %lld Lua "
                  "instructions (LuaEngineOptions::max_instructions)",
                  static_cast<long long>(e->options_.max_instructions));
    lua_pushstring(L, buf);
  } else if (lua_type(L, err) == LUA_TTABLE) {
    lua_getfield(L, err, "err");
    if (lua_type(L, -1) != LUA_TSTRING && !lua_isnumber(L, -1)) {
      lua_pop(L, 1);
      if (where) {
        lua_pushfstring(L, "ERR %s:%d: (error object is a table value)", ar.short_src,
                        ar.currentline);
      } else {
        lua_pushliteral(L, "ERR (error object is a table value)");
      }
    } else {
      lua_tostring(L, -1);
    }
  } else {
    PushErrPrefixed(L, err);
  }
  const char* sha = e->running_ ? e->running_->sha.c_str() : "?";
  if (where) {
    lua_pushfstring(L, " script: %s, on %s:%d.", sha, ar.source, ar.currentline);
  } else {
    lua_pushfstring(L, " script: %s", sha);
  }
  lua_concat(L, 2);
  return 1;
}

struct SetupArgs {
  LuaEngine::Impl* impl;
};

int Setup(lua_State* L) {
  auto* args = static_cast<SetupArgs*>(lua_touserdata(L, 1));
  LuaEngine::Impl* e = args->impl;
  e->OpenLibraries();
  e->OpenRedisLibrary();
  lua_pushcfunction(L, ErrorHandler);
  lua_pushvalue(L, -1);
  lua_setglobal(L, "__redis__err__handler");
  e->err_handler_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  e->Protect();
  return 0;
}

bool EqualsIgnoreCase(std::string_view a, const char* b) {
  return a.size() == std::strlen(b) && strncasecmp(a.data(), b, a.size()) == 0;
}

bool ParseInt64(const std::string& s, int64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  size_t i = 0;
  bool neg = false;
  if (s[0] == '-') {
    neg = true;
    i = 1;
    if (s.size() == 1) return false;
  }
  if (s[i] == '0' && s.size() > i + 1) return false;
  unsigned long long v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    unsigned long long d = static_cast<unsigned long long>(s[i] - '0');
    if (v > (18446744073709551615ULL - d) / 10) return false;
    v = v * 10 + d;
  }
  if (neg) {
    if (v > 9223372036854775808ULL) return false;
    *out = v == 9223372036854775808ULL ? INT64_MIN : -static_cast<int64_t>(v);
  } else {
    if (v > 9223372036854775807ULL) return false;
    *out = static_cast<int64_t>(v);
  }
  return true;
}

std::string LowerSha(std::string_view sha) {
  std::string s(sha);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Status StatusOfReply(const Reply& r) {
  return r.is_error() ? StatusFromErrorReply(r.str()) : Status::Ok();
}

}  // namespace

// ---- shebang ----------------------------------------------------------------------------------

Result<LuaScriptFlags> ParseLuaShebang(std::string_view body) {
  LuaScriptFlags flags;
  if (body.substr(0, 2) != "#!") return flags;
  size_t eol = body.find('\n');
  std::string_view line = body.substr(0, eol);
  size_t sp = line.find(' ');
  std::string_view engine = line.substr(2, sp == std::string_view::npos ? sp : sp - 2);
  if (engine != "lua") {
    return Status::InvalidArgument("ERR Unexpected engine in script shebang: " + std::string(line));
  }
  flags.shebang = true;
  std::string_view rest = sp == std::string_view::npos ? std::string_view() : line.substr(sp);
  while (!rest.empty()) {
    size_t start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    size_t end = rest.find(' ');
    std::string_view opt = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    if (opt.substr(0, 6) != "flags=") {
      return Status::InvalidArgument("ERR Unknown lua shebang option: " + std::string(opt));
    }
    std::string_view list = opt.substr(6);
    while (!list.empty()) {
      size_t comma = list.find(',');
      std::string_view f = list.substr(0, comma);
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      if (f == "no-writes") flags.no_writes = true;
      else if (f == "allow-oom") flags.allow_oom = true;
      else if (f == "allow-stale") flags.allow_stale = true;
      else if (f == "no-cluster") flags.no_cluster = true;
      else if (f == "allow-cross-slot-keys") flags.allow_cross_slot_keys = true;
      else if (!f.empty()) {
        return Status::InvalidArgument("ERR Unexpected flag in script shebang: " + std::string(f));
      }
    }
  }
  return flags;
}

// ---- Impl ---------------------------------------------------------------------------------------

LuaEngine::Impl* LuaEngine::Impl::From(lua_State* L) {
  void* ud = nullptr;
  lua_getallocf(L, &ud);
  return static_cast<Impl*>(ud);
}

LuaEngine::Impl::Impl(LuaEngineOptions options) : options_(std::move(options)) {
  L_ = lua_newstate(LuaAlloc, this);
  if (L_ == nullptr) {
    std::fprintf(stderr, "stormkv: cannot create a Lua state\n");
    std::abort();
  }
  lua_atpanic(L_, Panic);
  SetupArgs args{this};
  if (lua_cpcall(L_, Setup, &args) != 0) {
    std::fprintf(stderr, "stormkv: Lua engine setup failed: %s\n", lua_tostring(L_, -1));
    std::abort();
  }
  if (options_.max_instructions > 0) {
    hook_period_ = static_cast<int>(std::min<int64_t>(options_.max_instructions, kMaxHookPeriod));
    hook_limit_ = std::max<int64_t>(1, options_.max_instructions / hook_period_);
    lua_sethook(L_, Hook, LUA_MASKCOUNT, hook_period_);
  }
  lua_gc(L_, LUA_GCCOLLECT, 0);
}

LuaEngine::Impl::~Impl() {
  if (L_ != nullptr) lua_close(L_);
}

Result<LuaCachedScript*> LuaEngine::Impl::Compile(std::string_view body, const std::string& sha) {
  Result<LuaScriptFlags> flags = ParseLuaShebang(body);
  if (!flags.ok()) return flags.status();
  std::string_view code = body;
  if (flags->shebang) {
    size_t eol = body.find('\n');
    code = eol == std::string_view::npos ? std::string_view() : body.substr(eol);
  }
  lua_State* L = L_;
  int top = lua_gettop(L);
  int rc;
  if (!code.empty() && code[0] == '\033') {
    rc = luaL_loadbuffer(L, "@", 1, kChunkName);  // Redis's Lua parses bytecode as text
    if (rc != 0) {
      std::string m = lua_tostring(L, -1);
      lua_settop(L, top);
      m.replace(m.size() - 3, 3, "'char(27)'");
      return Status::ScriptError("ERR Error compiling script (new function): " + m);
    }
  }
  rc = luaL_loadbuffer(L, code.data(), code.size(), kChunkName);
  if (rc != 0) {
    const char* m = lua_tostring(L, -1);
    std::string msg = "ERR Error compiling script (new function): " + std::string(m ? m : "?");
    lua_settop(L, top);
    return Status::ScriptError(std::move(msg));
  }
  int ref = luaL_ref(L, LUA_REGISTRYINDEX);
  auto [it, inserted] = cache_.try_emplace(sha);
  if (!inserted) luaL_unref(L, LUA_REGISTRYINDEX, it->second.fn_ref);
  it->second.sha = sha;
  it->second.flags = *flags;
  it->second.fn_ref = ref;
  return &it->second;
}

LuaCachedScript* LuaEngine::Impl::Find(std::string_view sha) {
  if (last_ != nullptr && last_->sha == sha) return last_;
  auto it = cache_.find(std::string(sha));
  if (it == cache_.end()) return nullptr;
  last_ = &it->second;
  return last_;
}

void LuaEngine::Impl::Flush() {
  for (auto& [sha, s] : cache_) luaL_unref(L_, LUA_REGISTRYINDEX, s.fn_ref);
  cache_.clear();
  last_ = nullptr;
  lua_gc(L_, LUA_GCCOLLECT, 0);
}

Reply LuaEngine::Impl::RunScript(const LuaCachedScript& s, const std::vector<std::string>& keys,
                                 const std::vector<std::string>& args, ScriptContext& ctx) {
  lua_State* L = L_;
  if (options_.memory_limit_bytes > 0 && heap_bytes_ > options_.memory_limit_bytes / 2) {
    lua_gc(L, LUA_GCRESTART, 0);  // also undoes a script's collectgarbage("stop")
    lua_gc(L, LUA_GCCOLLECT, 0);
  }
  ctx_ = &ctx;
  running_ = &s;
  resp_ = 2;
  killed_ = false;
  heap_exceeded_ = false;
  hook_calls_ = 0;
  SeedRandom(0);
  int base = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, err_handler_ref_);
  lua_rawgeti(L, LUA_REGISTRYINDEX, s.fn_ref);
  lua_rawgeti(L, LUA_REGISTRYINDEX, globals_ref_);
  lua_pushliteral(L, "KEYS");
  lua_createtable(L, static_cast<int>(keys.size()), 0);
  for (size_t i = 0; i < keys.size(); ++i) {
    lua_pushlstring(L, keys[i].data(), keys[i].size());
    lua_rawseti(L, -2, static_cast<int>(i + 1));
  }
  lua_rawset(L, -3);
  lua_pushliteral(L, "ARGV");
  lua_createtable(L, static_cast<int>(args.size()), 0);
  for (size_t i = 0; i < args.size(); ++i) {
    lua_pushlstring(L, args[i].data(), args[i].size());
    lua_rawseti(L, -2, static_cast<int>(i + 1));
  }
  lua_rawset(L, -3);
  lua_pop(L, 1);
  if (hook_period_ > 0) lua_sethook(L, Hook, LUA_MASKCOUNT, hook_period_);
  heap_limit_ = options_.memory_limit_bytes;
  int rc = lua_pcall(L, 0, 1, base + 1);
  heap_limit_ = 0;
  Reply out;
  if (rc == 0) {
    int64_t budget = options_.max_reply_bytes > 0 ? options_.max_reply_bytes : INT64_MAX;
    out = LuaToReply(L, 0, &budget);
    if (budget < 0) {
      char buf[200];
      std::snprintf(buf, sizeof(buf),
                    "ERR Script reply is too large: more than %lld bytes "
                    "(LuaEngineOptions::max_reply_bytes) script: %s",
                    static_cast<long long>(options_.max_reply_bytes), s.sha.c_str());
      out = Reply::Error(buf);
    }
  } else if (rc == LUA_ERRRUN && lua_type(L, -1) == LUA_TSTRING) {
    size_t len = 0;
    const char* m = lua_tolstring(L, -1, &len);
    std::string text(m, len);
    for (char& c : text) {
      if (c == '\r' || c == '\n') c = ' ';
    }
    out = Reply::Error(std::move(text));
  } else {
    char buf[240];
    if (killed_) {
      std::snprintf(buf, sizeof(buf),
                    "ERR Script killed by the runaway-script limit: it ran more than %lld Lua "
                    "instructions (LuaEngineOptions::max_instructions) script: %s",
                    static_cast<long long>(options_.max_instructions), s.sha.c_str());
    } else if (heap_exceeded_) {
      std::snprintf(buf, sizeof(buf),
                    "ERR Script exceeded the Lua memory limit of %lld bytes "
                    "(LuaEngineOptions::memory_limit_bytes) script: %s",
                    static_cast<long long>(options_.memory_limit_bytes), s.sha.c_str());
    } else if (rc == LUA_ERRMEM) {
      std::snprintf(buf, sizeof(buf), "ERR not enough memory script: %s", s.sha.c_str());
    } else {
      std::snprintf(buf, sizeof(buf), "ERR error in error handling script: %s", s.sha.c_str());
    }
    out = Reply::Error(buf);
  }
  lua_settop(L, base);
  ctx_ = nullptr;
  running_ = nullptr;
  call_result_ = Reply();
  if (heap_exceeded_) lua_gc(L, LUA_GCCOLLECT, 0);
  return out;
}

// ---- LuaEngine ------------------------------------------------------------------------------------

LuaEngine::LuaEngine(LuaEngineOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
LuaEngine::~LuaEngine() = default;

bool LuaEngine::IsScriptingCommand(std::string_view name) {
  return EqualsIgnoreCase(name, "EVAL") || EqualsIgnoreCase(name, "EVALSHA") ||
         EqualsIgnoreCase(name, "EVAL_RO") || EqualsIgnoreCase(name, "EVALSHA_RO") ||
         EqualsIgnoreCase(name, "SCRIPT");
}

Result<std::string> LuaEngine::Load(std::string_view body) {
  std::string sha = Sha1Hex(body);
  if (impl_->Find(sha) != nullptr) return sha;
  Result<LuaCachedScript*> s = impl_->Compile(body, sha);
  if (!s.ok()) return s.status();
  return sha;
}

bool LuaEngine::Exists(std::string_view sha) const {
  if (sha.size() != 40) return false;
  return impl_->Find(LowerSha(sha)) != nullptr;
}

void LuaEngine::Flush() { impl_->Flush(); }

int64_t LuaEngine::LuaHeapBytes() const { return impl_->heap_bytes_; }
size_t LuaEngine::CachedScripts() const { return impl_->cache_.size(); }

Reply LuaEngine::RunCached(std::string_view sha, const std::vector<std::string>& keys,
                           const std::vector<std::string>& args, ScriptContext& ctx) {
  LuaCachedScript* s = sha.size() == 40 ? impl_->Find(LowerSha(sha)) : nullptr;
  if (s == nullptr) return Reply::Error("NOSCRIPT No matching script. Please use EVAL.");
  return impl_->RunScript(*s, keys, args, ctx);
}

namespace {

Reply RunWithHost(LuaEngine::Impl& impl, const LuaCachedScript& s, bool ro_command,
                  const std::vector<std::string>& keys, const std::vector<std::string>& args,
                  LuaScriptHost& host) {
  if (ro_command && s.flags.shebang && !s.flags.no_writes) {
    return Reply::Error("ERR Can not execute a script with write flag using *_ro command.");
  }
  bool read_only = ro_command || s.flags.no_writes;
  Result<ScriptContext*> ctx = host.BeginScript(s.flags, read_only);
  if (!ctx.ok()) return Reply::Error(ctx.status().message());
  Reply r = impl.RunScript(s, keys, args, **ctx);
  host.EndScript(StatusOfReply(r));
  return r;
}

}  // namespace

Reply LuaEngine::Run(const Script& script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args, LuaScriptHost& host) {
  LuaCachedScript* s = impl_->Find(script.sha1());
  if (s == nullptr) {
    Result<LuaCachedScript*> c = impl_->Compile(script.lua(), script.sha1());
    if (!c.ok()) return Reply::Error(c.status().message());
    s = *c;
  }
  return RunWithHost(*impl_, *s, false, keys, args, host);
}

Reply LuaEngine::Execute(const Command& argv, LuaScriptHost& host) {
  const std::string& name = argv.empty() ? std::string() : argv[0];
  if (EqualsIgnoreCase(name, "SCRIPT")) {
    if (argv.size() < 2) return Reply::Error("ERR wrong number of arguments for 'script' command");
    const std::string& sub = argv[1];
    if (EqualsIgnoreCase(sub, "LOAD")) {
      if (argv.size() != 3) {
        return Reply::Error("ERR wrong number of arguments for 'script|load' command");
      }
      Result<std::string> sha = Load(argv[2]);
      if (!sha.ok()) return Reply::Error(sha.status().message());
      return Reply::Bulk(*sha);
    }
    if (EqualsIgnoreCase(sub, "EXISTS")) {
      if (argv.size() < 3) {
        return Reply::Error("ERR wrong number of arguments for 'script|exists' command");
      }
      std::vector<Reply> out;
      out.reserve(argv.size() - 2);
      for (size_t i = 2; i < argv.size(); ++i) out.push_back(Reply::Integer(Exists(argv[i]) ? 1 : 0));
      return Reply::Array(std::move(out));
    }
    if (EqualsIgnoreCase(sub, "FLUSH")) {
      if (argv.size() > 3 ||
          (argv.size() == 3 && !EqualsIgnoreCase(argv[2], "ASYNC") && !EqualsIgnoreCase(argv[2], "SYNC"))) {
        return Reply::Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
      }
      Flush();
      return Reply::Ok();
    }
    if (EqualsIgnoreCase(sub, "KILL")) {
      if (argv.size() != 2) return Reply::Error("ERR wrong number of arguments for 'script|kill' command");
      return Reply::Error("NOTBUSY No scripts in execution right now.");
    }
    if (EqualsIgnoreCase(sub, "HELP")) {
      std::vector<Reply> out;
      for (const char* line : {
               "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
               "EXISTS <sha1> [<sha1> ...]", "    Return information about the existence of the scripts in the script cache.",
               "FLUSH [ASYNC|SYNC]", "    Flush the Lua scripts cache. Very dangerous on replicas.",
               "    When called without the optional mode argument, the behavior is determined by the",
               "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
               "    * ASYNC: Asynchronously flush the scripts cache.",
               "    * SYNC: Synchronously flush the scripts cache.",
               "KILL", "    Kill the currently executing Lua script.",
               "LOAD <script>", "    Load a script into the scripts cache without executing it.",
               "HELP", "    Print this help."}) {
        out.push_back(Reply::StatusText(line));
      }
      return Reply::Array(std::move(out));
    }
    std::string s(sub.substr(0, 128));
    for (char& c : s) {
      if (c == '\r' || c == '\n') c = ' ';
    }
    return Reply::Error("ERR unknown subcommand '" + s + "'. Try SCRIPT HELP.");
  }

  bool by_sha = EqualsIgnoreCase(name, "EVALSHA") || EqualsIgnoreCase(name, "EVALSHA_RO");
  bool ro = EqualsIgnoreCase(name, "EVAL_RO") || EqualsIgnoreCase(name, "EVALSHA_RO");
  if (argv.size() < 3) {
    return Reply::Error("ERR wrong number of arguments for '" + LowerSha(name) + "' command");
  }
  int64_t numkeys = 0;
  if (!ParseInt64(argv[2], &numkeys)) return Reply::Error("ERR value is not an integer or out of range");
  if (numkeys < 0) return Reply::Error("ERR Number of keys can't be negative");
  if (numkeys > static_cast<int64_t>(argv.size() - 3)) {
    return Reply::Error("ERR Number of keys can't be greater than number of args");
  }
  LuaCachedScript* s = nullptr;
  if (by_sha) {
    if (argv[1].size() == 40) s = impl_->Find(LowerSha(argv[1]));
    if (s == nullptr) return Reply::Error("NOSCRIPT No matching script. Please use EVAL.");
  } else {
    std::string sha = Sha1Hex(argv[1]);
    s = impl_->Find(sha);
    if (s == nullptr) {
      Result<LuaCachedScript*> c = impl_->Compile(argv[1], sha);
      if (!c.ok()) return Reply::Error(c.status().message());
      s = *c;
    }
  }
  auto kb = argv.begin() + 3;
  auto ke = kb + numkeys;
  std::vector<std::string> keys(kb, ke);
  std::vector<std::string> args(ke, argv.end());
  return RunWithHost(*impl_, *s, ro, keys, args, host);
}

}  // namespace stormkv
