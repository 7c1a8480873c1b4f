#include "stormkv/memory_backend.h"

#include <cstdio>
#include <exception>
#include <mutex>

#include "running_twin.h"
#include "store_internal.h"
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
      : clock_(std::move(clock)), store_(cfg) {
    char id[64];
    std::snprintf(id, sizeof id, "the memory store %p", static_cast<const void*>(this));
    id_ = id;
  }

  Result<Reply> Run(const Command& argv) override {
    STORMKV_RETURN_IF_ERROR(memstore::RunningTwin::CheckNotInsideOwnScript(id_, "Run"));
    std::lock_guard<std::mutex> lock(mu_);
    return ToResult(store_.Execute(argv, clock_->NowUs()));
  }

  std::vector<Result<Reply>> RunBatch(const std::vector<Command>& cmds) override {
    std::vector<Result<Reply>> out;
    out.reserve(cmds.size());
    if (Status s = memstore::RunningTwin::CheckNotInsideOwnScript(id_, "RunBatch"); !s.ok()) {
      out.assign(cmds.size(), s);
      return out;
    }
    std::lock_guard<std::mutex> lock(mu_);
    for (const Command& c : cmds) out.push_back(ToResult(store_.Execute(c, clock_->NowUs())));
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
    store_.BeginScript(clock_->NowUs(), script.read_only());
    StoreScriptContext ctx(store_);
    Result<Reply> r = Status::ScriptError("script " + script.name() + " has no native twin");
    if (script.native_twin()) {
      try {
        memstore::RunningTwin running(id_, script.name());
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

 private:
  std::mutex mu_;
  std::string id_;  // names this store to RunningTwin
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

}  // namespace memstore

Result<std::unique_ptr<KvBackend>> NewMemoryBackend(MemoryBackendOptions options) {
  Result<memstore::StoreConfig> cfg = memstore::StoreConfigFor(options);
  if (!cfg.ok()) return cfg.status().WithContext("the embedded store");
  std::shared_ptr<const Clock> clock = options.clock;
  if (!clock) clock = SystemClock::Shared();
  return std::unique_ptr<KvBackend>(std::make_unique<MemoryBackend>(std::move(clock), *cfg));
}

}  // namespace stormkv
