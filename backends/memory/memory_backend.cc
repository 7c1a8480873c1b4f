#include "stormkv/memory_backend.h"

#include <cstdio>
#include <exception>
#include <mutex>

#include "lua_host.h"
#include "memory_node.h"
#include "running_twin.h"
#include "store_internal.h"
#include "stormkv/lua_engine.h"
#include "stormkv/memory_cluster.h"
#include "stormkv/script.h"

namespace stormkv {

namespace {

using InProcessStore = memstore::Store<std::allocator<char>>;

Result<Reply> ToResult(Reply r) {
  if (r.is_error()) return StatusFromErrorReply(r.str());
  return r;
}

// Every command a script runs (twin or Lua): Store::Call.
struct InProcessCall {
  InProcessStore* store;
  Result<Reply> operator()(const Command& argv) const { return ToResult(store->Call(argv)); }
};
using InProcessScriptContext = memstore::StoreScriptContext<InProcessCall>;

class MemoryBackend final : public KvBackend {
 public:
  MemoryBackend(std::shared_ptr<const Clock> clock, const memstore::StoreConfig& cfg,
                ScriptMode mode, LuaEngineOptions lua)
      : clock_(std::move(clock)),
        store_(cfg),
        mode_(mode),
        fresh_server_(cfg.fresh_server),
        lua_options_(std::move(lua)) {
    char id[64];
    std::snprintf(id, sizeof id, "the memory store %p", static_cast<const void*>(this));
    id_ = id;
  }

  Result<Reply> Run(const Command& argv) override {
    STORMKV_RETURN_IF_ERROR(memstore::RunningTwin::CheckNotInsideOwnScript(id_, "Run"));
    std::lock_guard<std::mutex> lock(mu_);
    return RunLocked(argv);
  }

  std::vector<Result<Reply>> RunBatch(const std::vector<Command>& cmds) override {
    std::vector<Result<Reply>> out;
    out.reserve(cmds.size());
    if (Status s = memstore::RunningTwin::CheckNotInsideOwnScript(id_, "RunBatch"); !s.ok()) {
      out.assign(cmds.size(), s);
      return out;
    }
    std::lock_guard<std::mutex> lock(mu_);
    for (const Command& c : cmds) out.push_back(RunLocked(c));
    return out;
  }

  Result<Reply> Eval(const Script& script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args) override {
    STORMKV_RETURN_IF_ERROR(memstore::RunningTwin::CheckNotInsideOwnScript(id_, "Eval"));
    std::lock_guard<std::mutex> lock(mu_);
    // What the Redis backend sends for a script: EVALSHA, and SCRIPT LOAD the first time
    // (NOSCRIPT); a fresh-server store counts their histograms and the script cache.
    store_.NoteCommand("evalsha");
    store_.NoteCommand("script|load");
    store_.NoteScript(script.sha1(), script.lua().size());
    if (mode_ == ScriptMode::kLua || !script.has_twin()) {
      Frame frame(*this);
      memstore::StoreLuaHost<Frame> host(frame, script.read_only());
      return ToResult(Engine().Run(script, keys, args, host));
    }
    Result<memstore::ScriptStart> start = memstore::TwinScriptStart(script);
    if (!start.ok()) return start.status();
    if (!store_.BeginScript(clock_->NowUs(), *start)) {
      return StatusFromErrorReply(std::string(memstore::kErrOom));
    }
    InProcessScriptContext inner(InProcessCall{&store_});
    memstore::TwinScriptContext ctx(inner, [this](const Command& argv) {
      auto outer = store_.SuspendScript();
      Result<Reply> nested = RunLocked(argv);
      store_.ResumeScript(outer);
      return nested;
    }, start->read_only);
    Result<Reply> r = [&]() -> Result<Reply> {
      try {
        memstore::RunningTwin running(id_, script.name());
        return script.native_twin()(ctx, keys, args);
      } catch (const std::exception& e) {
        return Status::ScriptError("script " + script.name() + " threw: " + e.what());
      }
    }();
    if (r.ok() && r->is_error()) r = StatusFromErrorReply(r->str());
    store_.EndScript(r.status());
    return r;
  }

  std::string Describe() const override { return "memory"; }

  void SetScriptCallHook(memstore::ScriptCallHook hook, void* ctx) {
    std::lock_guard<std::mutex> lock(mu_);
    store_.SetScriptCallHook(hook, ctx);
  }

 private:
  // One Lua run's frame on the store (memstore::StoreLuaHost).
  class Frame {
   public:
    explicit Frame(MemoryBackend& b) : b_(b), ctx_(InProcessCall{&b.store_}) {}
    Status Begin(const memstore::ScriptStart& s) {
      if (b_.store_.BeginScript(b_.clock_->NowUs(), s)) return Status::Ok();
      return StatusFromErrorReply(std::string(memstore::kErrOom));
    }
    void End(const Status& result) { b_.store_.EndScript(result); }
    ScriptContext& Context() { return ctx_; }

   private:
    MemoryBackend& b_;
    InProcessScriptContext ctx_;
  };

  Result<Reply> RunLocked(const Command& argv) {
    // EVAL... and SCRIPT start with e or s: most commands need no comparison at all.
    const char c0 = argv.empty() || argv[0].empty() ? '\0' : static_cast<char>(argv[0][0] | 0x20);
    if ((c0 == 'e' || c0 == 's') && LuaEngine::IsScriptingCommand(argv[0])) {
      Frame frame(*this);
      memstore::StoreLuaHost<Frame> host(frame, false);
      Reply r = Engine().Execute(argv, host);
      // An error the engine answered by itself (NOSCRIPT, a compile error, bad arguments)
      // counts like any error reply; a script's own outcome was counted by EndScript.
      if (r.is_error() && !host.began()) store_.RecordError(r.str());
      NoteScripting(argv, r);
      return ToResult(std::move(r));
    }
    return ToResult(store_.Execute(argv, clock_->NowUs()));
  }

  // A fresh-server store's one-time allocations of a scripting command: its histogram, and the
  // script cache entry of a script EVAL or SCRIPT LOAD compiled.
  void NoteScripting(const Command& argv, const Reply& r) {
    if (!fresh_server_ || argv.size() < 2) return;
    const std::string name = memstore::ScriptingHistogramName(argv);
    store_.NoteCommand(name);
    const std::string* body = nullptr;
    if (name == "eval" || name == "eval_ro") body = &argv[1];
    if (name == "script|load" && argv.size() == 3) body = &argv[2];
    if (body == nullptr) return;
    std::string sha = Sha1Hex(*body);
    if (!r.is_error() || Engine().Exists(sha)) store_.NoteScript(sha, body->size());
  }

  LuaEngine& Engine() {
    if (!lua_) lua_ = std::make_unique<LuaEngine>(lua_options_);
    return *lua_;
  }

  std::mutex mu_;
  std::string id_;  // names this store to RunningTwin
  std::shared_ptr<const Clock> clock_;
  InProcessStore store_;  // guarded by mu_
  const ScriptMode mode_;
  const bool fresh_server_;
  const LuaEngineOptions lua_options_;
  std::unique_ptr<LuaEngine> lua_;  // guarded by mu_; created on first use
};

}  // namespace

namespace memstore {

Result<StoreConfig> StoreConfigFor(const MemoryBackendOptions& o) {
  StoreConfig cfg;
  if (o.allocator != AllocatorProfile::kDebian && o.allocator != AllocatorProfile::kUpstream) {
    return Status::InvalidArgument("allocator: unknown allocator profile " +
                                   std::to_string(static_cast<int>(o.allocator)));
  }
  cfg.allocator = o.allocator;
  if (o.maxmemory < 0) {
    return Status::InvalidArgument("maxmemory " + std::to_string(o.maxmemory) +
                                   " is negative (0 = no limit)");
  }
  cfg.maxmemory = static_cast<uint64_t>(o.maxmemory);
  if (!ParsePolicy(o.maxmemory_policy, &cfg.policy)) {
    return Status::InvalidArgument("maxmemory_policy: unknown policy '" + o.maxmemory_policy +
                                   "' (" + PolicyNames() + ")");
  }
  if (o.baseline_used_memory < -1) {
    return Status::InvalidArgument("baseline_used_memory " +
                                   std::to_string(o.baseline_used_memory) +
                                   " is negative (-1 = the calibrated empty server)");
  }
  cfg.seed = o.seed;
  cfg.active_expiry = o.active_expiry;
  cfg.dict_hash_seed = o.dict_hash_seed;
  cfg.zset_level_seed = o.zset_level_seed;
  cfg.baseline_used_memory = o.baseline_used_memory;
  cfg.fresh_server = o.fresh_server;
  return cfg;
}

Result<std::unique_ptr<KvBackend>> NewMemoryClusterNodeStore(const MemoryBackendOptions& options,
                                                             ScriptCallHook hook, void* ctx) {
  Result<StoreConfig> cfg = StoreConfigFor(options);
  if (!cfg.ok()) return cfg.status().WithContext("the embedded store");
  cfg->cluster_node = true;
  std::shared_ptr<const Clock> clock = options.clock;
  if (!clock) clock = SystemClock::Shared();
  auto node = std::make_unique<MemoryBackend>(std::move(clock), *cfg, options.script_mode, options.lua);
  node->SetScriptCallHook(hook, ctx);
  return std::unique_ptr<KvBackend>(std::move(node));
}

}  // namespace memstore

Result<std::unique_ptr<KvBackend>> NewMemoryBackend(MemoryBackendOptions options) {
  if (options.cluster_nodes != 0) return NewMemoryClusterBackend(std::move(options));
  Result<memstore::StoreConfig> cfg = memstore::StoreConfigFor(options);
  if (!cfg.ok()) return cfg.status().WithContext("the embedded store");
  std::shared_ptr<const Clock> clock = options.clock;
  if (!clock) clock = SystemClock::Shared();
  return std::unique_ptr<KvBackend>(std::make_unique<MemoryBackend>(
      std::move(clock), *cfg, options.script_mode, std::move(options.lua)));
}

}  // namespace stormkv
