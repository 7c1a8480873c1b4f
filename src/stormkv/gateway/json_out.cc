#include "stormkv/gateway/json_out.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace stormkv::jsonout {
namespace {

// Length of the valid UTF-8 sequence at s[i] (1-4), or 0 when it is invalid; *bad is then the
// number of bytes it spans before the offending byte (>= 1).
std::size_t Utf8Sequence(std::string_view s, std::size_t i, std::size_t* bad) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c < 0x80) return 1;
  if (c < 0xC2) {
    *bad = 1;
    return 0;
  }
  if (c < 0xE0) {
    n = 2;
  } else if (c < 0xF0) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c < 0xF5) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    *bad = 1;
    return 0;
  }
  for (std::size_t k = 1; k < n; ++k) {
    if (i + k >= s.size()) {
      *bad = s.size() - i;  // incomplete at the end: one replacement for the rest
      return 0;
    }
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (b < lo || b > hi) {
      *bad = k;  // the offending byte starts the next sequence
      return 0;
    }
    lo = 0x80;
    hi = 0xBF;
  }
  return n;
}

// The end of the run of bytes from `i` that are written as they are, 16 at a time; the caller's
// byte loop finishes the last (< 16) bytes and finds the exact stop.
std::size_t PlainRunEnd(std::string_view s, std::size_t i, bool stop_at_high) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
  const __m128i control_max = _mm_set1_epi8(0x1f);
  for (; i + 16 <= s.size(); i += 16) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
    const __m128i special = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(b, quote), _mm_cmpeq_epi8(b, backslash)),
        _mm_cmpeq_epi8(_mm_max_epu8(b, control_max), control_max));  // b <= 0x1f
    unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(special));
    if (stop_at_high) mask |= static_cast<unsigned>(_mm_movemask_epi8(b));  // b >= 0x80
    if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(mask));
  }
#else
  (void)stop_at_high;
#endif
  return i;
}

}  // namespace

void AppendString(std::string* out, std::string_view s, Dialect dialect) {
  static constexpr char kUpper[] = "0123456789ABCDEF";
  static constexpr char kLower[] = "0123456789abcdef";
  const char* hex = dialect == Dialect::kRapidjson ? kUpper : kLower;
  out->push_back('"');
  std::size_t i = 0;
  while (i < s.size()) {
    // Runs of plain bytes go in one append (found 16 bytes at a time where SSE2 is).
    std::size_t j = PlainRunEnd(s, i, dialect == Dialect::kNlohmann);
    while (j < s.size()) {
      const auto c = static_cast<unsigned char>(s[j]);
      if (c < 0x20 || c == '"' || c == '\\' || (c >= 0x80 && dialect == Dialect::kNlohmann)) break;
      ++j;
    }
    out->append(s.data() + i, j - i);
    i = j;
    if (i >= s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {  // kNlohmann only
      std::size_t bad = 0;
      const std::size_t n = Utf8Sequence(s, i, &bad);
      if (n > 0) {
        out->append(s.data() + i, n);
        i += n;
      } else {
        out->append("\xEF\xBF\xBD");
        i += bad;
      }
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\r':
        out->append("\\r");
        break;
      default: {
        const char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        out->append(esc, 6);
      }
    }
    ++i;
  }
  out->push_back('"');
}

}  // namespace stormkv::jsonout
