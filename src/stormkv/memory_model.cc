#include "stormkv/memory_model.h"

#include <charconv>
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
  std::size_t lg = 0;
  for (std::size_t v = n - 1; v; v >>= 1) ++lg;  // bit_length(n - 1)
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
  if (std::to_string(v) != s) return false;  // no leading zeros, no '+', no "-0"
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

}  // namespace model
}  // namespace stormkv
