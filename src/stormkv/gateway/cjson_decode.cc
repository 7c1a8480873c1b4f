// DecodeLikeCjson (json_text.h): the JSON a stored storm record may hold, read exactly as Redis's
// Lua cjson.decode reads it, so that a native twin accepts and refuses what its Lua script does.
//
// What Redis's cjson (lua-cjson 2.1, decode_invalid_numbers on, decode_max_depth 1000) accepts
// beyond JSON, all reproduced here:
//  * any byte inside a string, raw control bytes (TAB, 0x10) and invalid UTF-8 (\xff) included;
//  * numbers as C's strtod reads them from a '-', a digit, a '+', or "inf"/"nan" (any case):
//    hex (0x10), leading zeros (007), "1.", "-.5", "+1", "inf", "-Infinity", "nan";
//  * the text ends at its first NUL byte ("{...}\0anything" decodes) — but a NUL among the
//    first two bytes is refused as UTF-16/32;
//  * duplicate object keys: the last one wins.
// Refused, as cjson refuses: other escapes than \" \\ \/ \b \f \n \r \t \uXXXX, lone or
// reversed UTF-16 surrogates, whitespace other than space, TAB, LF and CR, trailing commas,
// more than 1000 nested arrays/objects, and anything after the value.
#include <cstdlib>
#include <string>

#include "stormkv/gateway/json_text.h"

namespace stormkv {
namespace {

using nlohmann::json;

class CjsonReader {
 public:
  explicit CjsonReader(const char* p) : p_(p) {}

  bool Document(json& out) {
    SkipSpace();
    if (!Value(out)) return false;
    SkipSpace();
    return *p_ == '\0';
  }

 private:
  void SkipSpace() {
    while (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r') ++p_;
  }

  static bool StartsWithNoCase(const char* p, const char* word) {
    for (; *word != '\0'; ++p, ++word) {
      if ((*p | 0x20) != *word) return false;
    }
    return true;
  }

  bool Value(json& out) {
    const char c = *p_;
    if (c == '"') {
      std::string s;
      if (!String(s)) return false;
      out = std::move(s);
      return true;
    }
    if (c == '[') return Array(out);
    if (c == '{') return Object(out);
    if (c == '-' || (c >= '0' && c <= '9') || c == '+' || StartsWithNoCase(p_, "inf") ||
        StartsWithNoCase(p_, "nan")) {
      char* end = nullptr;
      const double v = std::strtod(p_, &end);
      if (end == p_) return false;
      p_ = end;
      out = v;
      return true;
    }
    if (Has(4) && std::char_traits<char>::compare(p_, "true", 4) == 0) {
      p_ += 4;
      out = true;
      return true;
    }
    if (Has(5) && std::char_traits<char>::compare(p_, "false", 5) == 0) {
      p_ += 5;
      out = false;
      return true;
    }
    if (Has(4) && std::char_traits<char>::compare(p_, "null", 4) == 0) {
      p_ += 4;
      out = nullptr;
      return true;
    }
    return false;
  }

  // True when the n bytes at p_ contain no NUL (so a literal compare cannot run past the end).
  bool Has(int n) const {
    for (int i = 0; i < n; ++i) {
      if (p_[i] == '\0') return false;
    }
    return true;
  }

  static int Hex4(const char* p) {
    int v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = p[i];
      int d;
      if (c >= '0' && c <= '9') {
        d = c - '0';
      } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
        d = (c | 0x20) - 'a' + 10;
      } else {
        return -1;
      }
      v = v * 16 + d;
    }
    return v;
  }

  static void AppendUtf8(unsigned cp, std::string& out) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  // A \uXXXX escape at p_ (or a surrogate pair of two).
  bool UnicodeEscape(std::string& out) {
    int cp = Hex4(p_ + 2);
    if (cp < 0) return false;
    int len = 6;
    if ((cp & 0xf800) == 0xd800) {
      if (cp & 0x400) return false;  // a low surrogate first
      if (p_[6] != '\\' || p_[7] != 'u') return false;
      const int low = Hex4(p_ + 8);
      if (low < 0 || (low & 0xfc00) != 0xdc00) return false;
      cp = (((cp & 0x3ff) << 10) | (low & 0x3ff)) + 0x10000;
      len = 12;
    }
    AppendUtf8(static_cast<unsigned>(cp), out);
    p_ += len;
    return true;
  }

  bool String(std::string& out) {
    ++p_;  // '"'
    while (*p_ != '"') {
      if (*p_ == '\0') return false;
      if (*p_ != '\\') {
        out += *p_++;
        continue;
      }
      switch (p_[1]) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u':
          if (!UnicodeEscape(out)) return false;
          continue;
        default: return false;
      }
      p_ += 2;
    }
    ++p_;
    return true;
  }

  bool Descend() { return ++depth_ <= kMaxJsonNesting; }

  bool Array(json& out) {
    if (!Descend()) return false;
    ++p_;  // '['
    out = json::array();
    SkipSpace();
    if (*p_ == ']') {
      ++p_;
      --depth_;
      return true;
    }
    for (;;) {
      json item;
      if (!Value(item)) return false;
      out.push_back(std::move(item));
      SkipSpace();
      if (*p_ == ']') break;
      if (*p_ != ',') return false;
      ++p_;
      SkipSpace();
    }
    ++p_;
    --depth_;
    return true;
  }

  bool Object(json& out) {
    if (!Descend()) return false;
    ++p_;  // '{'
    out = json::object();
    SkipSpace();
    if (*p_ == '}') {
      ++p_;
      --depth_;
      return true;
    }
    for (;;) {
      if (*p_ != '"') return false;
      std::string key;
      if (!String(key)) return false;
      SkipSpace();
      if (*p_ != ':') return false;
      ++p_;
      SkipSpace();
      json item;
      if (!Value(item)) return false;
      out[key] = std::move(item);  // a repeated key: the last one wins
      SkipSpace();
      if (*p_ == '}') break;
      if (*p_ != ',') return false;
      ++p_;
      SkipSpace();
    }
    ++p_;
    --depth_;
    return true;
  }

  const char* p_;
  std::size_t depth_ = 0;
};

}  // namespace

std::optional<json> DecodeLikeCjson(const std::string& text) {
  if (text.size() >= 2 && (text[0] == '\0' || text[1] == '\0')) return std::nullopt;
  json out;
  CjsonReader reader(text.c_str());
  if (!reader.Document(out)) return std::nullopt;
  return out;
}

}  // namespace stormkv
