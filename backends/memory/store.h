// backends/memory/store.h — Store<A>: the embedded store's state and command engine.
//
// One Store is one Redis-like database (db0) plus server-wide state (config, stats, accounting).
// It is templated on an allocator of char so the whole object graph can be placed in a
// Boost.Interprocess segment. The members are defined in .cc files by concern (store_*.cc,
// cmd_*.cc; store_internal.h says which) and instantiated there for exactly two allocators:
// std::allocator<char> (memory_backend.cc) and shm::Allocator<char> (shm_backend.cc, offset
// pointers into a shared segment).
// Time is passed in with every command (no Clock pointer inside), the RNG is a plain integer.
//
// Not thread-safe: the owner (MemoryBackend) holds one mutex around every Execute/Eval call.
#ifndef STORMKV_BACKENDS_MEMORY_STORE_H_
#define STORMKV_BACKENDS_MEMORY_STORE_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "objects.h"
#include "stormkv/kv_backend.h"
#include "stormkv/memory_model.h"
#include "stormkv/reply.h"

namespace stormkv::memstore {

enum class Policy : uint8_t {
  kNoEviction,
  kAllkeysLru,
  kVolatileLru,
  kAllkeysLfu,
  kVolatileLfu,
  kAllkeysRandom,
  kVolatileRandom,
  kVolatileTtl,
};

// "allkeys-lru" -> kAllkeysLru (case-insensitive); false when unknown.
bool ParsePolicy(std::string_view name, Policy* out);
// The known policy names, comma-separated (for error messages).
std::string PolicyNames();
std::string_view PolicyName(Policy p);

// Static configuration of a store (CONFIG SET can change some of it later).
struct StoreConfig {
  AllocatorProfile allocator = AllocatorProfile::kDebian;
  uint64_t maxmemory = 0;
  Policy policy = Policy::kNoEviction;
  uint64_t seed = 1;
  bool active_expiry = true;
  int64_t baseline_used_memory = -1;  // -1: model::EmptyServer(allocator).used_memory
  // Start like a freshly started server (model::FreshServerUsedMemory) and add what Redis 7.0
  // allocates as a workload begins: a latency histogram per command name on its first call, the
  // script cache per script (NoteScript). baseline_used_memory, when set, still wins as start.
  bool fresh_server = false;
  bool shared = false;                // placed in a shared segment (INFO server says "shm")
  // Redis's per-process randomness the memory model depends on: the dict hash seed (which
  // buckets a hash's, set's or sorted set's elements occupy, hence when an incremental rehash
  // finishes) and the seed of random(), which draws skiplist node levels. A real server draws
  // both at start; the defaults are arbitrary fixed values.
  std::array<uint8_t, 16> dict_hash_seed{};
  uint32_t zset_level_seed = 1;
  // A Redis Cluster node (cluster_*.cc): every main-dict entry carries 16 bytes of slot-to-key
  // links (model::kClusterDictEntryMetadata; MEMORY USAGE counts them too), the empty node holds
  // the cluster's slot tables (model::ClusterNodeEmptyBytes, added to the baseline unless
  // baseline_used_memory is given), and INFO says redis_mode:cluster.
  bool cluster_node = false;
};

// A check on the commands a script runs, for cluster mode (backends/memory/cluster_node.cc).
// Every command a script sends -- a twin's ScriptContext::Call and the Lua engine's redis.call
// alike -- passes through Store::Call, and with a hook set through hook(ctx, argv) first:
// nullopt lets the command run; a reply (an error, or the answer to a command the hook serves
// itself, such as SELECT 0) becomes the command's reply and the store runs nothing (an error is
// counted in errorstats). Process-local: only the in-process store sets one.
using ScriptCallHook = std::optional<Reply> (*)(void* ctx, const Command& argv);

// Where a command runs: directly from a client, or through ScriptContext::Call.
enum class CallMode : uint8_t { kClient, kScript };

// Command flags (Redis command table).
enum CmdFlag : uint32_t {
  kWrite = 1,
  kDenyOom = 2,
  kNoScript = 4,
  kAddsElements = 8,  // may add elements to the collection at argv[1] (HSET, SADD, ZADD...)
};

// How a script starts (Store::BeginScript): its Redis 7.0 flags.
struct ScriptStart {
  bool read_only = false;  // EVAL_RO/EVALSHA_RO, a no-writes shebang, Script::read_only
  bool shebang = false;    // a `#!lua` script (else a legacy one)
  bool allow_oom = false;  // flags=allow-oom
};

template <class A>
class Store {
 public:
  explicit Store(const StoreConfig& cfg, const A& alloc = A());
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Runs one command at time `now_us` (microseconds since the epoch; earlier times are
  // ignored). Error replies come back as Reply::Error with Redis's exact text.
  Reply Execute(const Command& argv, int64_t now_us);

  // Script support: BeginScript() does the pre-command work of EVAL (clock, cron, eviction) and
  // records the OOM state once; Call() runs a command inside the script; EndScript() counts
  // the script's final error (if it did not come from a Call).
  //
  // Call() is the one path of every command a script runs: a twin's ScriptContext::Call and
  // Lua's redis.call both end here (through lua_host.h's StoreScriptContext, which adds the
  // script-only texts for unknown and no-script commands and wrong arities). A check of which
  // keys a script touches (cluster mode: undeclared or non-local keys) belongs here.
  //
  // `start`: the script's Redis 7.0 flags. With `start.shebang` (a `#!lua` script) that may write
  // (not read_only) and lacks allow_oom, BeginScript refuses the script while the store is over
  // maxmemory, as Redis's processCommand does: it returns false, counts the OOM error reply, and
  // no script is running (do not call Call or EndScript). allow_oom: deny-oom commands inside run
  // even over maxmemory. Without a shebang (legacy), the first deny-oom command of a script
  // that has not written yet fails with kErrOom instead.
  bool BeginScript(int64_t now_us, const ScriptStart& start);
  void BeginScript(int64_t now_us, bool read_only) {
    ScriptStart s;
    s.read_only = read_only;
    BeginScript(now_us, s);
  }
  Reply Call(const Command& argv);
  void EndScript(const Status& result);
  // The running script's state, while a native twin runs a scripting command (EVAL, EVALSHA...,
  // SCRIPT) through its ScriptContext as a script of its own (lua_host.h, TwinScriptContext):
  // SuspendScript() takes it and leaves no script running, ResumeScript() puts it back.
  struct ScriptState {
    bool in_script = false, oom = false, read_only = false, error_counted = false, dirty = false;
  };
  ScriptState SuspendScript() {
    ScriptState s{in_script_, script_oom_, script_read_only_, script_error_counted_, script_dirty_};
    in_script_ = script_oom_ = script_read_only_ = script_error_counted_ = script_dirty_ = false;
    return s;
  }
  void ResumeScript(const ScriptState& s) {
    in_script_ = s.in_script;
    script_oom_ = s.oom;
    script_read_only_ = s.read_only;
    script_error_counted_ = s.error_counted;
    script_dirty_ = s.dirty;
  }
  // Installs the script-call hook (nullptr = none). Call before the store is shared.
  void SetScriptCallHook(ScriptCallHook hook, void* ctx) {
    script_hook_ = hook;
    script_hook_ctx_ = ctx;
  }

  // Modelled used_memory (bytes) and peak.
  int64_t UsedMemory() const { return baseline_ + server_overhead_ + dataset_; }
  // A fresh server's one-time allocations (fresh_server only; else no-ops): the latency histogram
  // of command `name` ("evalsha", "script|load"...) on its first call, and the script cache entry
  // of a script (by SHA-1) the first time it is loaded.
  void NoteCommand(std::string_view name);
  void NoteScript(std::string_view sha1, size_t body_len);
  int64_t PeakMemory() const { return peak_; }
  // The store's own heap footprint, estimated by walking its structures (O(keys)).
  int64_t RealBytes() const;
  size_t KeyCount() const { return live_; }

  // ---- shared-segment support (the shm backend; the in-process backend never calls these) ----

  // The command-table flags (kWrite, kDenyOom, kNoScript, kAddsElements) of command `name`; 0
  // when unknown.
  static uint32_t CommandFlags(std::string_view name);
  // Grows every container that the write command `argv` could grow — the keyspace vectors and
  // index (room for one more key, and free/volatile lists as large as the slot vector) and, for
  // kAddsElements commands, the collections of the value at argv[1] (room for as many elements
  // as the arguments can name) — so that
  // running it afterwards allocates only blocks bounded by its argument sizes. Changes
  // capacities, never contents. May throw the allocator's exception (contents still unchanged).
  // `flags` = CommandFlags(argv[0]).
  void ReserveForWrite(const Command& argv, uint32_t flags);
  // Counts an error reply made outside the store (e.g. a full segment) in INFO stats and
  // errorstats, like the store's own errors.
  void RecordError(std::string_view text) { CountError(text); }
  // A counter incremented before every change to the stored data (a write command or a
  // capacity reservation, a key expired or evicted). Equal values before and after an
  // interrupted operation prove the operation changed nothing.
  uint64_t Mutations() const { return mutations_; }
  // Walks every structure and checks its invariants: slots, index, expiry list, collections
  // and their indexes, sorted-set ranks, and the modelled dataset bytes. Returns "" when all
  // hold, else a description of the first violation. O(keys + elements).
  std::string CheckIntegrity() const;
  // Recomputes what is derived from the stored data — each collection's encoding tag and
  // modelled cost, the modelled dataset bytes, the expiry sum — after an interrupted command
  // left them out of date. Does not touch the structures themselves (CheckIntegrity judges them).
  void RepairAccounting();

 private:
  using String = BasicString<A>;
  using EntryT = Entry<A>;
  using HashT = HashObj<A>;
  using SetT = SetObj<A>;
  using ZsetT = ZsetObj<A>;
  using Handler = Reply (Store::*)(const Command&);

  struct CmdSpec {
    const char* name;
    int arity;  // Redis convention: > 0 exact, < 0 at least -arity
    uint32_t flags;
    Handler handler;
  };
  struct PoolEntry {
    uint64_t idle = 0;
    uint32_t slot = kNoPos;
    uint32_t gen = 0;
  };

  static const CmdSpec* LookupCommand(std::string_view name);

  Reply Dispatch(const Command& argv, CallMode mode);
  void Tick(int64_t now_us);
  void Cron();
  void ShrinkDbDicts();
  void ActiveExpire(int64_t cycles);
  void CountError(std::string_view text);
  void UpdatePeak() {
    if (UsedMemory() > peak_) peak_ = UsedMemory();
  }

  // ---- keyspace ----
  uint32_t FindSlot(std::string_view key) const;
  bool IsExpired(const EntryT& e) const { return e.expire_ms != kNoExpire && now_ms_ > e.expire_ms; }
  // Lookup with lazy expiry. `read`: counts hits/misses; `touch`: updates LRU/LFU.
  EntryT* Lookup(std::string_view key, bool read, bool touch);
  EntryT* LookupRead(std::string_view key) { return Lookup(key, true, true); }
  EntryT* LookupWrite(std::string_view key) { return Lookup(key, false, true); }
  // The lookup every typed command starts with (Lookup's lazy expiry, hit/miss counting and
  // LRU/LFU touch): `e` is the live entry, or nullptr when the key is missing or holds another
  // type; `wrongtype` tells the two apart (the command then answers kErrWrongType).
  struct Found {
    EntryT* e = nullptr;
    bool wrongtype = false;
  };
  Found FindTyped(std::string_view key, ObjType type, bool read);
  Found FindRead(std::string_view key, ObjType type) { return FindTyped(key, type, true); }
  Found FindWrite(std::string_view key, ObjType type) { return FindTyped(key, type, false); }
  // After elements were removed from the collection at `e`: deletes the key when the collection
  // is empty (Redis keeps no empty collection), else brings its modelled cost up to date.
  void DeleteIfEmpty(EntryT& e);
  EntryT& AddKey(std::string_view key, ObjType type);
  void DeleteSlot(uint32_t slot);
  void DeleteEntry(EntryT& e) { DeleteSlot(SlotOf(e)); }
  uint32_t SlotOf(const EntryT& e) const { return static_cast<uint32_t>(&e - entries_.data()); }
  void ExpireSlot(uint32_t slot);  // deletes an expired key, counting expired_keys
  void SetExpire(EntryT& e, int64_t when_ms);
  bool RemoveExpire(EntryT& e);
  void Touch(EntryT& e);
  void FlushAll();
  void FreeValue(EntryT& e);
  void SetValueCost(EntryT& e, uint64_t cost) {
    dataset_ += static_cast<int64_t>(cost) - static_cast<int64_t>(e.value_cost);
    e.value_cost = cost;
  }
  void GrowDict(uint64_t* slots, uint64_t used_before);
  bool SharedIntegersAllowed() const;
  uint64_t Je(uint64_t n) const { return model::JeSize(n, cfg_.allocator); }
  uint64_t Sds(uint64_t n) const { return model::SdsAlloc(n, cfg_.allocator); }
  // sizeof a main-dict entry: 24, 40 on a cluster node (slot-to-key links).
  uint64_t MainDictEntry() const {
    return model::kDictEntry + (cfg_.cluster_node ? model::kClusterDictEntryMetadata : 0);
  }
  uint64_t KeyCost(size_t klen) const { return Je(MainDictEntry()) + Sds(klen); }
  uint64_t NextRandom();

  // ---- values ----
  void SetString(EntryT& e, std::string_view v);
  // SetString of v's decimal text (INCR/DECR's result), without re-parsing it.
  void SetInteger(EntryT& e, int64_t v);
  uint64_t DictBytes(const DictSim<A>& d) const;
  uint32_t DictHash(std::string_view s) const {
    return static_cast<uint32_t>(model::SipHash12(cfg_.dict_hash_seed.data(), s));
  }
  void ZsetDictAdd(ZsetT& z, uint32_t mpos, size_t in_dict);
  void ZsetUnlink(ZsetT& z, uint32_t mpos);
  bool ZsetNodeStays(const ZsetT& z, uint32_t mpos, double score) const;
  Reply CmdDebug(const Command& a);
  uint64_t HashCost(const HashT& h) const;
  uint64_t SetCost(const SetT& s) const;
  uint64_t ZsetCost(const ZsetT& z) const;
  // The cost of the collection at `e` in its current encoding (HashCost / SetCost / ZsetCost).
  uint64_t CollectionCost(const EntryT& e) const;
  bool CollectionEmpty(const EntryT& e) const;
  HashT& NewHash(EntryT& e);
  SetT& NewSet(EntryT& e, bool intset);
  ZsetT& NewZset(EntryT& e, bool skiplist);
  bool HashSetField(EntryT& e, std::string_view f, std::string_view v);  // true when added
  bool HashDelField(HashT& h, std::string_view f);
  void HashConvert(HashT& h);
  bool SetAddMember(EntryT& e, std::string_view m);
  bool SetRemMember(SetT& s, std::string_view m);
  void SetConvert(SetT& s);
  void ZsetInsert(ZsetT& z, std::string_view m, double score);
  void ZsetInsertLevel(ZsetT& z, std::string_view m, double score, uint8_t keep_level);
  void ZsetRemoveAt(ZsetT& z, uint32_t mpos);
  void ZsetConvert(ZsetT& z);
  size_t ZRankFind(const ZsetT& z, double score, std::string_view m) const;
  uint8_t RandomZslLevel();
  void StepDict(EntryT& e);
  int64_t MemoryUsage(const EntryT& e, int64_t samples) const;
  uint64_t EntryRealBytes(const EntryT& e) const;

  // ---- eviction ----
  // Frees memory until used <= maxmemory. false when that is impossible (no candidate left).
  bool PerformEvictions();
  uint32_t PickEvictionVictim();
  void PoolPopulate(bool volatile_only);
  uint64_t EvictionScore(const EntryT& e) const;
  void UpdateLfu(EntryT& e);
  uint8_t LfuDecayed(const EntryT& e) const;

  // ---- commands ----
  Reply CmdGet(const Command& a);
  Reply CmdSet(const Command& a);
  Reply CmdDel(const Command& a);
  Reply CmdExists(const Command& a);
  Reply CmdType(const Command& a);
  Reply CmdIncr(const Command& a);
  Reply CmdDecr(const Command& a);
  Reply CmdIncrBy(const Command& a);
  Reply CmdDecrBy(const Command& a);
  Reply IncrDecr(const Command& a, int64_t by);
  Reply CmdExpire(const Command& a);
  Reply CmdPExpire(const Command& a);
  Reply CmdExpireAt(const Command& a);
  Reply CmdPExpireAt(const Command& a);
  Reply ExpireGeneric(const Command& a, int64_t basetime, bool seconds);
  Reply CmdTtl(const Command& a);
  Reply CmdPttl(const Command& a);
  Reply TtlGeneric(const Command& a, bool ms);
  Reply CmdPersist(const Command& a);
  Reply CmdHSet(const Command& a);
  Reply CmdHSetNx(const Command& a);
  Reply CmdHGet(const Command& a);
  Reply CmdHMGet(const Command& a);
  Reply CmdHGetAll(const Command& a);
  Reply CmdHIncrBy(const Command& a);
  Reply CmdHDel(const Command& a);
  Reply CmdHLen(const Command& a);
  Reply CmdHExists(const Command& a);
  Reply CmdSAdd(const Command& a);
  Reply CmdSRem(const Command& a);
  Reply CmdSIsMember(const Command& a);
  Reply CmdSCard(const Command& a);
  Reply CmdSMembers(const Command& a);
  Reply CmdZAdd(const Command& a);
  Reply CmdZRem(const Command& a);
  Reply CmdZCard(const Command& a);
  Reply CmdZScore(const Command& a);
  Reply CmdZRangeByScore(const Command& a);
  Reply CmdZRemRangeByScore(const Command& a);
  Reply CmdScan(const Command& a);
  Reply CmdDbSize(const Command& a);
  Reply CmdFlushDb(const Command& a);
  Reply CmdTime(const Command& a);
  Reply CmdPing(const Command& a);
  Reply CmdEcho(const Command& a);
  Reply CmdMemory(const Command& a);
  Reply CmdObject(const Command& a);
  Reply CmdInfo(const Command& a);
  Reply CmdConfig(const Command& a);
  Reply ConfigGet(const Command& a);
  Reply ConfigSet(const Command& a);
  std::string InfoSection(std::string_view name) const;

  static const std::vector<CmdSpec>& Commands();

  StoreConfig cfg_;
  A alloc_;
  Vec<A, EntryT> entries_;
  Vec<A, uint32_t> free_slots_;
  Vec<A, uint32_t> volatile_;  // slots of keys with an expiry
  HashIndex<A> index_;
  size_t live_ = 0;

  // Modelled memory.
  int64_t baseline_ = 0;
  int64_t server_overhead_ = 0;             // histograms + script cache (fresh_server)
  std::array<uint32_t, 128> histograms_{};  // hashes of the command names seen (fresh_server)
  uint32_t histogram_count_ = 0;
  std::array<uint32_t, 256> scripts_{};     // hashes of the SHA-1s loaded (fresh_server)
  uint32_t script_count_ = 0;
  int64_t dataset_ = 0;  // bytes above the empty-server baseline
  int64_t peak_ = 0;
  uint64_t main_slots_ = 0;
  uint64_t expire_slots_ = 0;
  // Sum of expire_ms over volatile keys (avg_ttl): a 128-bit integer kept as two words, since
  // a segment allocator may only guarantee 8-byte alignment.
  struct WideSum {
    uint64_t lo = 0;
    uint64_t hi = 0;
    __int128 get() const {
      return static_cast<__int128>((static_cast<unsigned __int128>(hi) << 64) | lo);
    }
    void add(__int128 v) {
      unsigned __int128 r = static_cast<unsigned __int128>(get()) + static_cast<unsigned __int128>(v);
      lo = static_cast<uint64_t>(r);
      hi = static_cast<uint64_t>(r >> 64);
    }
  };
  WideSum expire_sum_;

  // Config beyond StoreConfig.
  uint64_t maxmemory_samples_ = 5;
  uint64_t hash_max_listpack_entries_ = model::kHashMaxListpackEntries;
  uint64_t hash_max_listpack_value_ = model::kHashMaxListpackValue;
  uint64_t set_max_intset_entries_ = model::kSetMaxIntsetEntries;
  uint64_t zset_max_listpack_entries_ = model::kZsetMaxListpackEntries;
  uint64_t zset_max_listpack_value_ = model::kZsetMaxListpackValue;
  uint64_t lfu_log_factor_ = 10;
  uint64_t lfu_decay_time_ = 1;

  // Clock and cron.
  int64_t now_ms_ = 0;
  int64_t now_us_ = 0;
  int64_t last_cron_ms_ = -1;
  uint32_t expire_cursor_ = 0;
  uint64_t rng_ = 0;
  uint64_t mutations_ = 0;
  model::GlibcRandom zsl_rng_;  // random() of the server: skiplist levels
  bool cron_paused_ = false;    // DEBUG PAUSE-CRON

  // Scripts.
  bool in_script_ = false;
  bool script_oom_ = false;
  bool script_read_only_ = false;
  bool script_error_counted_ = false;
  bool script_dirty_ = false;  // the script has run a write command (Redis SCRIPT_WRITE_DIRTY)
  ScriptCallHook script_hook_ = nullptr;  // cluster mode (SetScriptCallHook); in-process only
  void* script_hook_ctx_ = nullptr;

  // Eviction pool (Redis's EVPOOL_SIZE = 16), sorted by ascending idle score.
  std::array<PoolEntry, 16> pool_{};
  size_t pool_size_ = 0;

  // Stats.
  uint64_t stat_commands_ = 0;
  uint64_t stat_expired_ = 0;
  uint64_t stat_evicted_ = 0;
  uint64_t stat_hits_ = 0;
  uint64_t stat_misses_ = 0;
  uint64_t stat_error_replies_ = 0;
  uint64_t err_oom_ = 0, err_wrongtype_ = 0, err_err_ = 0, err_other_ = 0;
};

}  // namespace stormkv::memstore

#endif  // STORMKV_BACKENDS_MEMORY_STORE_H_
