#include "stormkv/gateway/layouts.h"

#include <cmath>
#include <cstdio>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "stormkv/gateway/json_text.h"

namespace stormkv {
namespace {

using nlohmann::json;

constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53

void AppendString(const std::string& s, std::string& out) {
  out += '"';
  for (unsigned char c : s) {
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

void AppendNumber(double v, std::string& out) {
  char buf[64];
  if (v == std::floor(v) && v >= -kMaxExactInteger && v <= kMaxExactInteger) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
  } else {
    std::snprintf(buf, sizeof buf, "%.14g", v);
  }
  out += buf;
}

void Append(const json& v, std::string& out) {
  switch (v.type()) {
    case json::value_t::string:
      AppendString(v.get_ref<const std::string&>(), out);
      return;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      AppendNumber(v.get<double>(), out);
      return;
    case json::value_t::boolean:
      out += v.get<bool>() ? "true" : "false";
      return;
    case json::value_t::array:
    case json::value_t::object:
      if (v.empty()) {
        out += "[]";
      } else if (v.is_array()) {
        out += '[';
        bool first = true;
        for (const json& item : v) {
          if (!first) out += ',';
          first = false;
          Append(item, out);
        }
        out += ']';
      } else {
        out += '{';
        bool first = true;
        for (const auto& [k, item] : v.items()) {
          if (!first) out += ',';
          first = false;
          AppendString(k, out);
          out += ':';
          Append(item, out);
        }
        out += '}';
      }
      return;
    default:
      out += "null";
      return;
  }
}

}  // namespace

std::string_view LayoutName(Layout layout) {
  switch (layout) {
    case Layout::kFullCrd:
      return "full-crd";
    case Layout::kJsonMeta:
      return "json-meta";
    case Layout::kCompact:
      break;
  }
  return "compact";
}

Result<Layout> ParseLayout(std::string_view name) {
  std::string n(name);
  for (char& c : n) {
    if (c == '_') c = '-';
  }
  for (Layout l : kAllLayouts) {
    if (LayoutName(l) == n) return l;
  }
  return Status::InvalidArgument("unknown storm layout '" + std::string(name) +
                                 "' (expected full-crd, json-meta or compact)");
}

std::string CanonicalJsonText(const json& value) {
  std::string out;
  Append(value, out);
  return out;
}

std::size_t JsonNestingExceededAt(std::string_view text, std::size_t max_depth) {
  // A byte-by-byte state machine (outside/inside a string, the byte after a backslash skipped)
  // that visits only the bytes that matter: '"', '\\', brackets and braces, found sixteen at a
  // time with SSE2 compares. The byte a backslash escapes is remembered by position, so it is
  // skipped whether or not it is one that matters. Same answer as visiting every byte (tested
  // against that loop in json_nesting_test.cc).
  std::size_t depth = 0;
  bool in_string = false;
  std::size_t escaped_at = std::string_view::npos;  // the byte after a backslash in a string
  auto visit = [&](std::size_t i) -> bool {        // true: depth exceeded at i
    const char c = text[i];
    if (in_string) {
      if (i == escaped_at) return false;
      if (c == '\\') {
        escaped_at = i + 1;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
    return false;
  };
  const std::size_t n = text.size();
  std::size_t i = 0;
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
  // '[' 0x5B and '{' 0x7B differ only in bit 0x20, as do ']' 0x5D and '}' 0x7D.
  const __m128i fold = _mm_set1_epi8(0x20), open = _mm_set1_epi8('{'), close = _mm_set1_epi8('}');
  for (; i + 16 <= n; i += 16) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + i));
    const __m128i folded = _mm_or_si128(b, fold);
    const __m128i hit = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(b, quote), _mm_cmpeq_epi8(b, backslash)),
        _mm_or_si128(_mm_cmpeq_epi8(folded, open), _mm_cmpeq_epi8(folded, close)));
    for (unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(hit)); mask != 0;
         mask &= mask - 1) {
      const std::size_t at = i + static_cast<std::size_t>(__builtin_ctz(mask));
      if (visit(at)) return at;
    }
  }
#endif
  for (; i < n; ++i) {
    if (visit(i)) return i;
  }
  return std::string_view::npos;
}

Result<std::string> CanonicalJson(std::string_view text) {
  if (JsonNestingExceededAt(text, kMaxJsonNesting) != std::string_view::npos) {
    return Status::Corruption("JSON nested deeper than " + std::to_string(kMaxJsonNesting));
  }
  json v = json::parse(text, nullptr, false);
  if (v.is_discarded()) return Status::Corruption("not valid JSON");
  return CanonicalJsonText(v);
}

}  // namespace stormkv
