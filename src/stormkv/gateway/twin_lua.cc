#include "stormkv/gateway/twin_lua.h"

#include <cstdlib>
#include <cstring>

namespace stormkv::twin {

LuaNum LuaToNumber(const std::string& s) {
  // Fast path: a plain decimal integer of at most 15 digits is exactly representable.
  if (!s.empty() && s.size() <= 16) {
    std::size_t i = s[0] == '-' ? 1 : 0;
    if (i < s.size()) {
      int64_t v = 0;
      std::size_t j = i;
      for (; j < s.size() && s[j] >= '0' && s[j] <= '9'; ++j) v = v * 10 + (s[j] - '0');
      if (j == s.size() && j - i <= 15) return static_cast<double>(i ? -v : v);
    }
  }
  // Lua's luaO_str2d on the C string (it ends at the first NUL).
  const char* begin = s.c_str();
  char* end = nullptr;
  double v = std::strtod(begin, &end);
  if (end == begin) return std::nullopt;
  while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r' || *end == '\f' ||
         *end == '\v') {
    ++end;
  }
  if (*end != '\0') return std::nullopt;
  return v;
}

LuaNum LuaToNumber(const Reply& r) {
  if (r.is_integer()) return static_cast<double>(r.integer());
  if (r.is_bulk()) return LuaToNumber(r.str());
  return std::nullopt;
}

int64_t LuaTruncate(double v) {
  if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) return INT64_MIN;
  return static_cast<int64_t>(v);
}

std::string FormatD(double v) { return std::to_string(LuaTruncate(v)); }

Status LuaError(int line, std::string_view what) {
  const std::string where = line > 0 ? "user_script:" + std::to_string(line) + ": " : "user_script: ";
  return Status::ScriptError(where + std::string(what));
}

namespace {

Status ArithError(int line) { return LuaError(line, "attempt to perform arithmetic on a nil value"); }

// Lua 5.1's luaG_ordererror for number/nil operands.
Status CompareError(LuaNum a, LuaNum b, int line) {
  const char* ta = a ? "number" : "nil";
  const char* tb = b ? "number" : "nil";
  if (!a && !b) return LuaError(line, "attempt to compare two nil values");
  return LuaError(line, std::string("attempt to compare ") + ta + " with " + tb);
}

}  // namespace

Result<double> LuaAdd(LuaNum a, LuaNum b, int line) {
  if (!a || !b) return ArithError(line);
  return *a + *b;
}

Result<double> LuaSub(LuaNum a, LuaNum b, int line) {
  if (!a || !b) return ArithError(line);
  return *a - *b;
}

Result<double> LuaMul(LuaNum a, LuaNum b, int line) {
  if (!a || !b) return ArithError(line);
  return *a * *b;
}

Result<bool> LuaLess(LuaNum a, LuaNum b, int line) {
  if (!a || !b) return CompareError(a, b, line);
  return *a < *b;
}

Result<bool> LuaLessEqual(LuaNum a, LuaNum b, int line) {
  if (!a || !b) return CompareError(a, b, line);
  return *a <= *b;
}

Reply LuaArray(std::initializer_list<LuaItem> items) {
  std::vector<Reply> out;
  out.reserve(items.size());
  for (const LuaItem& item : items) {
    if (!item.value) break;
    out.push_back(*item.value);
  }
  return Reply::Array(std::move(out));
}

std::optional<int64_t> ReplayOf(const std::string& stored, const std::string& request) {
  if (request.empty() || stored.empty() || stored.compare(1, std::string::npos, request) != 0) {
    return std::nullopt;
  }
  return stored[0] >= '0' && stored[0] <= '9' ? stored[0] - '0' : 0;
}

Status NilArgumentError() {
  return Status::ScriptError("ERR Lua redis lib command arguments must be strings or integers");
}

}  // namespace stormkv::twin
