#include "stormkv/memory_backend.h"

#include <exception>
#include <mutex>

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

 private:
  std::mutex mu_;
  std::shared_ptr<const Clock> clock_;
  InProcessStore store_;  // guarded by mu_
};

}  // namespace

std::unique_ptr<KvBackend> NewMemoryBackend(MemoryBackendOptions options) {
  memstore::StoreConfig cfg;
  cfg.allocator = options.allocator;
  cfg.maxmemory = options.maxmemory > 0 ? static_cast<uint64_t>(options.maxmemory) : 0;
  if (!memstore::ParsePolicy(options.maxmemory_policy, &cfg.policy)) {
    cfg.policy = memstore::Policy::kNoEviction;
  }
  cfg.seed = options.seed;
  cfg.active_expiry = options.active_expiry;
  cfg.dict_hash_seed = options.dict_hash_seed;
  cfg.zset_level_seed = options.zset_level_seed;
  cfg.baseline_used_memory = options.baseline_used_memory;
  cfg.fresh_server = options.fresh_server;
  std::shared_ptr<const Clock> clock = options.clock;
  if (!clock) clock = SystemClock::Shared();
  return std::make_unique<MemoryBackend>(std::move(clock), cfg);
}

}  // namespace stormkv
