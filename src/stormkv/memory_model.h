// stormkv/memory_model.h — the Redis 7.0 memory model (standalone, 64-bit), calibrated on a real
// server (see ../shared/redis-memory/: model.py is the reference this file ports).
//
// Pure functions: byte costs of allocations (jemalloc size classes), sds strings, robj values,
// listpacks, intsets, dicts, and whole keys. The memory backend composes them incrementally;
// `stormkv simulate` and the fidelity tests use them directly.
#ifndef STORMKV_MEMORY_MODEL_H_
#define STORMKV_MEMORY_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace stormkv {

// Which Redis build is imitated.
enum class AllocatorProfile {
  kDebian,    // Debian/Ubuntu redis-server package, system libjemalloc: quantum 16
  kUpstream,  // upstream `make` / official images, bundled jemalloc --with-lg-quantum=3: quantum 8
};

// "debian" / "upstream".
std::string_view AllocatorProfileName(AllocatorProfile p);

namespace model {

inline constexpr std::size_t kDictEntry = 24;   // sizeof(dictEntry)
// Redis 7.0 in cluster mode: each main-dict entry carries dictEntry metadata, the slot-to-key
// links (clusterDictEntryMetadata: prev and next pointers), so a key's entry is 24 + 16 = 40
// bytes (jemalloc class 48 on Debian, 40 on quantum 8) and MEMORY USAGE counts 40. The expires
// dict's entries have none.
inline constexpr std::size_t kClusterDictEntryMetadata = 16;
inline constexpr std::size_t kRobj = 16;        // sizeof(robj)
inline constexpr std::size_t kDictStruct = 56;  // sizeof(dict) in 7.0
inline constexpr std::size_t kEmbstrLimit = 44;
inline constexpr int64_t kSharedIntegers = 10000;
// Redis 7.0 default conversion thresholds, as `CONFIG GET` reports them on redis-server 7.0.15
// (Debian package, with or without its redis.conf): hash-max-listpack-entries is 512 in 7.0
// (config.c and the shipped redis.conf agree), not 128.
inline constexpr std::size_t kHashMaxListpackEntries = 512;
inline constexpr std::size_t kHashMaxListpackValue = 64;
inline constexpr std::size_t kSetMaxIntsetEntries = 512;
inline constexpr std::size_t kZsetMaxListpackEntries = 128;
inline constexpr std::size_t kZsetMaxListpackValue = 64;

// Sorted-set skiplist sizes (t_zset.c, 64-bit): sizeof(zset), sizeof(zskiplist), a node of
// `level` levels is kZslNodeBase + level * kZslLevel bytes (zslCreateNode), the header node has
// kZslMaxLevel levels, and levels are drawn with P = 1/4 (zslRandomLevel).
inline constexpr std::size_t kZsetStruct = 16;
inline constexpr std::size_t kZskiplistStruct = 32;
inline constexpr std::size_t kZslNodeBase = 24;
inline constexpr std::size_t kZslLevel = 16;
inline constexpr int kZslMaxLevel = 32;
// sizeof(intset) header and the listpack header + terminator.
inline constexpr std::size_t kIntsetHeader = 8;
inline constexpr std::size_t kListpackOverhead = 7;

// used_memory figures of an empty server, from the calibration (results-*.json,
// "empty_after_warmup_fresh_conn": an empty server after every command has run once, so the
// per-command latency histograms are allocated, with one idle connection). The memory backend
// starts at used_memory = EmptyServer(p).used_memory.
struct EmptyServerFigures {
  int64_t used_memory;
  int64_t used_memory_startup;
  int64_t used_memory_overhead;  // of the empty server (startup + the one client, scripts dicts)
};
EmptyServerFigures EmptyServer(AllocatorProfile p);

// A freshly started server instead (redis-server 7.0.15 measured: one connected client, before
// its first command): no latency histogram yet, no script. As a workload begins Redis 7.0
// allocates, once each, a latency histogram per command name (subcommands count apart, e.g.
// "memory|usage"; commands a script calls too) and an entry per cached script.
int64_t FreshServerUsedMemory(AllocatorProfile p);
// Bytes of one command's latency histogram (hdr_histogram, latency-tracking yes), allocated after
// the command's first call; the same on both profiles (measured).
inline constexpr int64_t kLatencyHistogramBytes = 24688;
// Bytes one more script adds to the Lua script cache (model.py predict_script_cache): the sha sds,
// the luaScript struct, the dict entry and the body's robj; plus 8 bytes per bucket when the dict
// of `scripts_before` + 1 scripts grows.
int64_t ScriptCacheBytes(std::size_t body_len, std::size_t scripts_before, AllocatorProfile p);

// What an empty Redis 7.0 cluster node holds beyond an empty standalone server: the
// slots_to_keys table (16384 x 16 B, a 256 KiB class), clusterState's per-slot arrays (a
// 448 KiB class) and the small cluster structures. Measured on 7.0.15 (Debian) as the difference
// of used_memory between an empty one-node cluster and an empty standalone server: 723,976
// bytes. The two large blocks are whole jemalloc classes on both profiles; the upstream figure
// assumes the ~3 KB of small structures round the same (not measured on an upstream build).
int64_t ClusterNodeEmptyBytes(AllocatorProfile p);

// jemalloc quantum of a profile (16 or 8).
std::size_t Quantum(AllocatorProfile p);
// jemalloc usable size (size class) of a request of n bytes.
std::size_t JeSize(std::size_t n, AllocatorProfile p);
// sds header size for a string of n bytes (sdsnewlen's type choice).
std::size_t SdsHeader(std::size_t n);
// Allocation of sdsnewlen(n): header + n + NUL, rounded to a size class.
std::size_t SdsAlloc(std::size_t n, AllocatorProfile p);
// Bucket count of a dict grown from empty by n inserts (0 for n == 0, else next pow2 >= 4).
std::size_t DictSlots(std::size_t n);
// Bucket count after dictExpand(d, n) on an empty dict: next power of two >= n, at least 4.
std::size_t DictExpandSlots(std::size_t n);
// Bytes of a string value's robj (+ sds) as Redis 7.0 allocates it: 0 for a shared integer
// (0..9999, when `shared_integers` — i.e. not maxmemory with an LRU/LFU policy), jesize(robj) for
// other integers (OBJ_ENCODING_INT), one block for embstr (<= 44 bytes), robj + sds for raw.
std::size_t StringValueCost(std::string_view v, AllocatorProfile p, bool shared_integers);
// What MEMORY USAGE reports for a string value (sizeof-based robj, size classes for sds/embstr).
std::size_t StringValueUsage(std::string_view v, AllocatorProfile p);
// Redis 7.0's dict hash (dictGenHashFunction / dictSdsHash): SipHash-1-2 of the bytes under the
// server's 16-byte per-process seed. A dict of 2^k buckets puts an element in bucket h & (2^k-1).
uint64_t SipHash12(const uint8_t seed[16], std::string_view data);

// glibc's random() (the TYPE_3 additive feedback generator srandom() sets up): Redis 7.0 draws
// skiplist node levels with it (zslRandomLevel). Plain integers only, so it can live in a shared
// segment. Next() returns what random() would after srandom(seed).
struct GlibcRandom {
  int32_t r[31];
  uint8_t front = 3, rear = 0;
  explicit GlibcRandom(uint32_t seed = 1) { Seed(seed); }
  void Seed(uint32_t seed);
  int32_t Next();
};
// zslRandomLevel: 1 + the number of consecutive random() draws below 0.25 * RAND_MAX, at most
// kZslMaxLevel.
int ZslRandomLevel(GlibcRandom& rng);

// True when Redis would store `s` as an integer (string2ll round-trips, <= 20 chars).
bool IsIntString(std::string_view s, int64_t* value = nullptr);
// Bytes of one listpack entry holding `s` (encoding + backlen).
std::size_t ListpackEntryBytes(std::string_view s);

}  // namespace model
}  // namespace stormkv

#endif  // STORMKV_MEMORY_MODEL_H_
