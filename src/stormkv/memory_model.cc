#include "stormkv/memory_model.h"

#include <bit>
#include <charconv>
#include <cstring>
#include <string>

namespace stormkv {

std::string_view AllocatorProfileName(AllocatorProfile p) {
  return p == AllocatorProfile::kDebian ? "debian" : "upstream";
}

namespace model {

EmptyServerFigures EmptyServer(AllocatorProfile p) {
  if (p == AllocatorProfile::kDebian) return {1433168, 876312, 876512};
  return {1415840, 859048, 859232};
}

int64_t ClusterNodeEmptyBytes(AllocatorProfile) { return 723976; }

int64_t FreshServerUsedMemory(AllocatorProfile p) {
  // calibrate.py's "baseline" (third INFO on a fresh server: INFO's and one other histogram
  // allocated, +112 bytes of client buffers) minus those: Debian 964,160 -> 914,672, which
  // `stormkv simulate --backend redis://` measured on a fresh server as 939,360 - 24,688.
  const int64_t baseline = p == AllocatorProfile::kDebian ? 964160 : 946832;
  return baseline - 2 * kLatencyHistogramBytes - 112;
}

int64_t ScriptCacheBytes(std::size_t body_len, std::size_t scripts_before, AllocatorProfile p) {
  int64_t per = static_cast<int64_t>(JeSize(3 + 40 + 1, p) + JeSize(16, p) + JeSize(kDictEntry, p));
  per += static_cast<int64_t>(body_len <= kEmbstrLimit ? JeSize(kRobj + 3 + body_len + 1, p)
                                                       : JeSize(kRobj, p) + SdsAlloc(body_len, p));
  return per + 8 * static_cast<int64_t>(DictSlots(scripts_before + 1) - DictSlots(scripts_before));
}

std::size_t DictExpandSlots(std::size_t n) {
  std::size_t s = 4;
  while (s < n) s <<= 1;
  return s;
}

std::size_t StringValueCost(std::string_view v, AllocatorProfile p, bool shared_integers) {
  int64_t iv = 0;
  if (IsIntString(v, &iv)) {
    if (shared_integers && iv >= 0 && iv < kSharedIntegers) return 0;
    return JeSize(kRobj, p);
  }
  if (v.size() <= kEmbstrLimit) return JeSize(kRobj + 3 + v.size() + 1, p);
  return JeSize(kRobj, p) + SdsAlloc(v.size(), p);
}

std::size_t StringValueUsage(std::string_view v, AllocatorProfile p) {
  if (IsIntString(v)) return kRobj;
  if (v.size() <= kEmbstrLimit) return JeSize(kRobj + 3 + v.size() + 1, p);
  return kRobj + SdsAlloc(v.size(), p);
}

std::size_t Quantum(AllocatorProfile p) { return p == AllocatorProfile::kDebian ? 16 : 8; }

std::size_t JeSize(std::size_t n, AllocatorProfile p) {
  if (n <= 8) return 8;
  if (n <= 128) {
    std::size_t step = n <= 64 ? Quantum(p) : 16;
    return (n + step - 1) / step * step;
  }
  const std::size_t lg = static_cast<std::size_t>(std::bit_width(n - 1));  // bit_length(n - 1)
  std::size_t step = std::size_t{1} << (lg - 3);
  return (n + step - 1) / step * step;
}

std::size_t SdsHeader(std::size_t n) {
  if (n < 32) return n > 0 ? 1 : 3;
  if (n < 256) return 3;
  if (n < 65536) return 5;
  if (n < (std::size_t{1} << 32)) return 9;
  return 17;
}

std::size_t SdsAlloc(std::size_t n, AllocatorProfile p) { return JeSize(SdsHeader(n) + n + 1, p); }

std::size_t DictSlots(std::size_t n) {
  if (n == 0) return 0;
  std::size_t s = 4;
  while (s < n) s <<= 1;
  return s;
}

bool IsIntString(std::string_view s, int64_t* value) {
  if (s.empty() || s.size() > 20) return false;
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return false;
  // Canonical as Redis's string2ll wants it: no leading zeros, no "-0" (from_chars takes no '+').
  const bool canonical = s[0] == '-' ? s[1] != '0' : (s[0] != '0' || s.size() == 1);
  if (!canonical) return false;
  if (value) *value = v;
  return true;
}

std::size_t ListpackEntryBytes(std::string_view s) {
  std::size_t enc;
  int64_t v = 0;
  if (IsIntString(s, &v)) {
    if (v >= 0 && v <= 127) enc = 1;
    else if (v >= -4096 && v <= 4095) enc = 2;
    else if (v >= -32768 && v <= 32767) enc = 3;
    else if (v >= -8388608 && v <= 8388607) enc = 4;
    else if (v >= -2147483648LL && v <= 2147483647LL) enc = 5;
    else enc = 9;
  } else {
    std::size_t n = s.size();
    enc = n < 64 ? 1 + n : (n < 4096 ? 2 + n : 5 + n);
  }
  std::size_t bl;
  if (enc <= 127) bl = 1;
  else if (enc < 16383) bl = 2;
  else if (enc < 2097151) bl = 3;
  else if (enc < 268435455) bl = 4;
  else bl = 5;
  return enc + bl;
}

namespace {
inline uint64_t Rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }
inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;  // little-endian words, as SipHash reads them
}
}  // namespace

uint64_t SipHash12(const uint8_t seed[16], std::string_view data) {
  const uint64_t k0 = Load64(seed), k1 = Load64(seed + 8);
  uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
  uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
  auto round = [&] {
    v0 += v1; v1 = Rotl(v1, 13); v1 ^= v0; v0 = Rotl(v0, 32);
    v2 += v3; v3 = Rotl(v3, 16); v3 ^= v2;
    v0 += v3; v3 = Rotl(v3, 21); v3 ^= v0;
    v2 += v1; v1 = Rotl(v1, 17); v1 ^= v2; v2 = Rotl(v2, 32);
  };
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  const size_t n = data.size();
  const size_t whole = n - n % 8;
  for (size_t i = 0; i < whole; i += 8) {
    uint64_t m = Load64(p + i);
    v3 ^= m;
    round();  // one compression round
    v0 ^= m;
  }
  uint64_t b = static_cast<uint64_t>(n) << 56;
  for (size_t i = 0; i < n % 8; ++i) b |= static_cast<uint64_t>(p[whole + i]) << (8 * i);
  v3 ^= b;
  round();
  v0 ^= b;
  v2 ^= 0xff;
  round();  // two finalization rounds
  round();
  return v0 ^ v1 ^ v2 ^ v3;
}

void GlibcRandom::Seed(uint32_t seed) {
  int32_t word = static_cast<int32_t>(seed == 0 ? 1 : seed);
  r[0] = word;
  for (int i = 1; i < 31; ++i) {
    // 16807 * word % (2^31 - 1) without overflow (Schrage).
    int32_t hi = word / 127773, lo = word % 127773;
    word = 16807 * lo - 2836 * hi;
    if (word < 0) word += 2147483647;
    r[i] = word;
  }
  front = 3;
  rear = 0;
  for (int i = 0; i < 310; ++i) Next();
}

int32_t GlibcRandom::Next() {
  uint32_t v = static_cast<uint32_t>(r[front]) + static_cast<uint32_t>(r[rear]);
  r[front] = static_cast<int32_t>(v);
  front = static_cast<uint8_t>(front + 1 == 31 ? 0 : front + 1);
  rear = static_cast<uint8_t>(rear + 1 == 31 ? 0 : rear + 1);
  return static_cast<int32_t>(v >> 1);
}

int ZslRandomLevel(GlibcRandom& rng) {
  int level = 1;
  // 7.0: a draw below (int)(ZSKIPLIST_P * RAND_MAX) = 536870911 adds a level.
  while (rng.Next() < 536870911) ++level;
  return level < kZslMaxLevel ? level : kZslMaxLevel;
}

}  // namespace model
}  // namespace stormkv
