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
inline constexpr std::size_t kRobj = 16;        // sizeof(robj)
inline constexpr std::size_t kDictStruct = 56;  // sizeof(dict) in 7.0
inline constexpr std::size_t kEmbstrLimit = 44;
inline constexpr int64_t kSharedIntegers = 10000;
// Redis 7.0 default conversion thresholds.
inline constexpr std::size_t kHashMaxListpackEntries = 128;
inline constexpr std::size_t kHashMaxListpackValue = 64;
inline constexpr std::size_t kSetMaxIntsetEntries = 512;
inline constexpr std::size_t kZsetMaxListpackEntries = 128;
inline constexpr std::size_t kZsetMaxListpackValue = 64;

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
// True when Redis would store `s` as an integer (string2ll round-trips, <= 20 chars).
bool IsIntString(std::string_view s, int64_t* value = nullptr);
// Bytes of one listpack entry holding `s` (encoding + backlen).
std::size_t ListpackEntryBytes(std::string_view s);

}  // namespace model
}  // namespace stormkv

#endif  // STORMKV_MEMORY_MODEL_H_
