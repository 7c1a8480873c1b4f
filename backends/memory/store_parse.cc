// backends/memory/store_parse.cc — the store's argument parsers and reply formatters
// (Redis 7.0's rules for integers, doubles, memory sizes and score ranges).
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "store_internal.h"

namespace stormkv::memstore {

// Redis string2ll: strict decimal (no '+', no spaces, no leading zeros, no "-0").
bool ParseLL(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  if (s.size() == 1 && s[0] == '0') {
    *out = 0;
    return true;
  }
  size_t i = 0;
  bool neg = false;
  if (s[0] == '-') {
    neg = true;
    i = 1;
    if (s.size() == 1) return false;
  }
  if (s[i] < '1' || s[i] > '9') return false;
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c < '0' || c > '9') return false;
    if (v > (UINT64_MAX - 9) / 10) return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (neg) {
    if (v > uint64_t{1} << 63) return false;
    *out = static_cast<int64_t>(0 - v);
  } else {
    if (v > static_cast<uint64_t>(INT64_MAX)) return false;
    *out = static_cast<int64_t>(v);
  }
  return true;
}

// Redis getDoubleFromObject: strtod over the whole string, no leading space, no NaN, no
// overflow to +-HUGE_VAL / underflow to 0.
bool ParseDouble(std::string_view s, double* out) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  char buf[128];
  std::string big;
  const char* p;
  if (s.size() < sizeof buf) {
    std::memcpy(buf, s.data(), s.size());
    buf[s.size()] = '\0';
    p = buf;
  } else {
    big.assign(s);
    p = big.c_str();
  }
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(p, &end);
  if (static_cast<size_t>(end - p) != s.size()) return false;
  if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || std::fpclassify(v) == FP_ZERO)) {
    return false;
  }
  if (std::isnan(v)) return false;
  *out = v;
  return true;
}

// Redis addReplyDouble text ("%.17g", "inf", "-inf").
std::string FormatDouble(double d) {
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%.17g", d);
  return std::string(buf, static_cast<size_t>(n));
}

// Redis d2string: how a score is written into a listpack.
std::string ScoreString(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  if (d > -4503599627370495.0 && d < 4503599627370496.0 &&
      d == static_cast<double>(static_cast<long long>(d))) {
    return std::to_string(static_cast<long long>(d));
  }
  return FormatDouble(d);
}

bool ParseMemory(std::string_view s, uint64_t* out) {
  if (!s.empty() && s[0] == '-') return false;
  size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  std::string_view unit = s.substr(i);
  uint64_t mul;
  if (unit.empty() || EqNoCase(unit, "b"))
    mul = 1;
  else if (EqNoCase(unit, "k"))
    mul = 1000;
  else if (EqNoCase(unit, "kb"))
    mul = 1024;
  else if (EqNoCase(unit, "m"))
    mul = 1000 * 1000;
  else if (EqNoCase(unit, "mb"))
    mul = 1024 * 1024;
  else if (EqNoCase(unit, "g"))
    mul = 1000ull * 1000 * 1000;
  else if (EqNoCase(unit, "gb"))
    mul = 1024ull * 1024 * 1024;
  else
    return false;
  uint64_t v = 0;
  for (size_t j = 0; j < i; ++j) {
    uint64_t d = static_cast<uint64_t>(s[j] - '0');
    if (v > (UINT64_MAX - d) / 10) {
      v = UINT64_MAX;
      break;
    }
    v = v * 10 + d;
  }
  *out = (mul != 1 && v > UINT64_MAX / mul) ? UINT64_MAX : v * mul;
  return true;
}

std::string BytesToHuman(uint64_t n) {
  char buf[64];
  double d = static_cast<double>(n);
  if (n < 1024) {
    std::snprintf(buf, sizeof buf, "%" PRIu64 "B", n);
  } else if (n < 1024ull * 1024) {
    std::snprintf(buf, sizeof buf, "%.2fK", d / 1024);
  } else if (n < 1024ull * 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.2fM", d / (1024.0 * 1024));
  } else if (n < 1024ull * 1024 * 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.2fG", d / (1024.0 * 1024 * 1024));
  } else {
    std::snprintf(buf, sizeof buf, "%.2fT", d / (1024.0 * 1024 * 1024 * 1024));
  }
  return buf;
}

const char* TypeName(ObjType t) {
  switch (t) {
    case ObjType::kString:
      return "string";
    case ObjType::kHash:
      return "hash";
    case ObjType::kSet:
      return "set";
    case ObjType::kZset:
      return "zset";
    default:
      return "none";
  }
}

const char* EncodingName(Enc e) {
  switch (e) {
    case Enc::kInt:
      return "int";
    case Enc::kEmbstr:
      return "embstr";
    case Enc::kRaw:
      return "raw";
    case Enc::kListpack:
      return "listpack";
    case Enc::kHashtable:
      return "hashtable";
    case Enc::kIntset:
      return "intset";
    case Enc::kSkiplist:
      return "skiplist";
  }
  return "unknown";
}

namespace {

bool ParseRangeItem(const std::string& s, double* v, bool* ex) {
  if (!s.empty() && s[0] == '(') {
    char* end = nullptr;
    *v = std::strtod(s.c_str() + 1, &end);
    if (*end != '\0' || std::isnan(*v)) return false;
    *ex = true;
    return true;
  }
  *ex = false;
  return ParseDouble(s, v);
}

}  // namespace

bool ParseScoreRange(const std::string& min, const std::string& max, ScoreRange* r) {
  return ParseRangeItem(min, &r->min, &r->minex) && ParseRangeItem(max, &r->max, &r->maxex);
}

}  // namespace stormkv::memstore
