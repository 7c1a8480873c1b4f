// backends/memory/store_internal.h — what the store's translation units share: Redis's error
// texts, argument parsers and reply formatters (defined once in store_parse.cc), small helpers of
// the heap estimate. Private to backends/memory.
//
// Store<A>'s member definitions live in .cc files by concern (store_dispatch, store_keyspace,
// store_accounting, store_eviction, store_integrity, cmd_strings, cmd_keys, cmd_hashes,
// cmd_sets, cmd_zsets, cmd_server, cmd_config); each ends with the explicit instantiations for the
// two stores, Store<std::allocator<char>> (in-process) and Store<shm::Allocator<char>> (shared
// segment). A third allocator needs a line in each of them.
#ifndef STORMKV_BACKENDS_MEMORY_STORE_INTERNAL_H_
#define STORMKV_BACKENDS_MEMORY_STORE_INTERNAL_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "shm_allocator.h"
#include "store.h"
#include "stormkv/memory_backend.h"

namespace stormkv::memstore {

inline constexpr std::string_view kErrSyntax = "ERR syntax error";
inline constexpr std::string_view kErrNotInt = "ERR value is not an integer or out of range";
inline constexpr std::string_view kErrWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
inline constexpr std::string_view kErrNotFloat = "ERR value is not a valid float";
inline constexpr std::string_view kErrOverflow = "ERR increment or decrement would overflow";
inline constexpr std::string_view kErrMinMax = "ERR min or max is not a float";
inline constexpr std::string_view kErrOom =
    "OOM command not allowed when used memory > 'maxmemory'.";

inline Reply Err(std::string_view s) { return Reply::Error(std::string(s)); }

inline bool EqNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

// ---- the store's configuration from the public options (memory_backend.cc) ----

// Validates `o` and translates it: InvalidArgument naming the option for an unknown policy or
// allocator profile, a negative maxmemory, a baseline below -1. Both factories (NewMemoryBackend,
// NewShmBackend) build their store from it. Ignores o.clock.
Result<StoreConfig> StoreConfigFor(const MemoryBackendOptions& o);

// ---- parsing and formatting (store_parse.cc) ----

// Redis string2ll: strict decimal (no '+', no spaces, no leading zeros, no "-0").
bool ParseLL(std::string_view s, int64_t* out);
// Redis getDoubleFromObject: strtod over the whole string, no leading space, no NaN, no
// overflow to +-HUGE_VAL / underflow to 0.
bool ParseDouble(std::string_view s, double* out);
// Redis memtoull(): digits + optional unit (b, k, kb, m, mb, g, gb; case-insensitive). Only for
// what Redis itself parses (CONFIG SET); sizes people give stormkv go through ParseByteSize
// (stormkv/byte_size.h).
bool ParseMemory(std::string_view s, uint64_t* out);
// Redis addReplyDouble text ("%.17g", "inf", "-inf").
std::string FormatDouble(double d);
// Redis d2string: how a score is written into a listpack.
std::string ScoreString(double d);
inline std::string Int2Str(int64_t v) { return std::to_string(v); }
// Redis bytesToHuman (INFO's *_human fields, "1.23M"); messages use FormatBytes
// (stormkv/byte_size.h).
std::string BytesToHuman(uint64_t n);
const char* TypeName(ObjType t);
const char* EncodingName(Enc e);

// A ZRANGEBYSCORE-style interval: "(1.5" is exclusive, "-inf"/"+inf" allowed.
struct ScoreRange {
  double min = 0, max = 0;
  bool minex = false, maxex = false;
};
bool ParseScoreRange(const std::string& min, const std::string& max, ScoreRange* r);
inline bool InRange(const ScoreRange& r, double v) {
  bool gte = r.minex ? v > r.min : v >= r.min;
  bool lte = r.maxex ? v < r.max : v <= r.max;
  return gte && lte;
}
inline bool EmptyRange(const ScoreRange& r) {
  return r.min > r.max || (r.min == r.max && (r.minex || r.maxex));
}

// ---- the heap estimate (RealBytes) ----

// Heap bytes of one malloc'd block of `n` bytes (glibc: 8-byte header, 16-byte alignment,
// 32-byte minimum chunk).
inline uint64_t MallocBlock(uint64_t n) {
  if (n == 0) return 0;
  uint64_t c = (n + 8 + 15) & ~uint64_t{15};
  return c < 32 ? 32 : c;
}

template <class S>
uint64_t StringHeap(const S& s) {
  // boost::container::basic_string keeps short strings inline (no heap block).
  return s.capacity() > 22 ? MallocBlock(s.capacity() + 1) : 0;
}

inline uint8_t IntsetWidth(int64_t v) {
  if (v >= -32768 && v <= 32767) return 2;
  if (v >= INT32_MIN && v <= INT32_MAX) return 4;
  return 8;
}

}  // namespace stormkv::memstore

#endif  // STORMKV_BACKENDS_MEMORY_STORE_INTERNAL_H_
