#include "stormkv/memory_backend.h"

#include <exception>
#include <mutex>

#include "memory_node.h"
#include "store_internal.h"
#include "stormkv/memory_cluster.h"
#include "stormkv/script.h"

namespace stormkv {

namespace {

using InProcessStore = memstore::Store<std::allocator<char>>;

Result<Reply> ToResult(Reply r) {
  if (r.is_error()) return StatusFromErrorReply(r.str());
  return r;
}

class StoreScriptContext final : public ScriptContext {
 public:
  explicit StoreScriptContext(InProcessStore& store) : store_(store) {}
  Result<Reply> Call(const Command& argv) override { return ToResult(store_.Call(argv)); }

 private:
  InProcessStore& store_;
};

class MemoryBackend final : public KvBackend {
 public:
  MemoryBackend(std::shared_ptr<const Clock> clock, const memstore::StoreConfig& cfg)
      : clock_(std::move(clock)), store_(cfg) {}

  Result<Reply> Run(const Command& argv) override {
    std::lock_guard<std::mutex> lock(mu_);
    return ToResult(store_.Execute(argv, clock_->NowUs()));
  }

  std::vector<Result<Reply>> RunBatch(const std::vector<Command>& cmds) override {
    std::vector<Result<Reply>> out;
    out.reserve(cmds.size());
    std::lock_guard<std::mutex> lock(mu_);
    for (const Command& c : cmds) out.push_back(ToResult(store_.Execute(c, clock_->NowUs())));
    return out;
  }

  Result<Reply> Eval(const Script& script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args) override {
    std::lock_guard<std::mutex> lock(mu_);
    // What the Redis backend sends for a script: EVALSHA, and SCRIPT LOAD the first time
    // (NOSCRIPT); a fresh-server store counts their histograms and the script cache.
    store_.NoteCommand("evalsha");
    store_.NoteCommand("script|load");
    store_.NoteScript(script.sha1(), script.lua().size());
    store_.BeginScript(clock_->NowUs(), script.read_only());
    StoreScriptContext ctx(store_);
    Result<Reply> r = Status::ScriptError("script " + script.name() + " has no native twin");
    if (script.native_twin()) {
      try {
        r = script.native_twin()(ctx, keys, args);
      } catch (const std::exception& e) {
        r = Status::ScriptError("script " + script.name() + " threw: " + e.what());
      }
    }
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
  std::mutex mu_;
  std::shared_ptr<const Clock> clock_;
  InProcessStore store_;  // guarded by mu_
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
  auto node = std::make_unique<MemoryBackend>(std::move(clock), *cfg);
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
  return std::unique_ptr<KvBackend>(std::make_unique<MemoryBackend>(std::move(clock), *cfg));
}

}  // namespace stormkv
