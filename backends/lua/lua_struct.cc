// backends/lua/lua_struct.cc — Redis's `struct` Lua library (see lua_libs.h), written for
// stormkv from its observable behaviour on Redis 7.0.15.
//
// A format is read left to right; each letter is an item, some take a decimal count after it:
//   <  >      little / big endian for what follows (the default is the machine's: little)
//   ! [n]     maximum alignment n (a power of 2; "!" alone: 8); the default is 1 (packed)
//   b B       signed / unsigned char      h H   short (2)      l L   long (8)    T   size_t (8)
//   i[n] I[n] signed / unsigned integer of n bytes (default 4, at most 32)
//   f d       float / double              s     zero-terminated string
//   c[n]      n bytes (pack: n = 0 means the whole string; unpack: c0 takes its length from
//             the number unpacked just before)         x   one padding byte        ' ' ignored
// An item of size k is aligned to min(k, maximum alignment) bytes ('c' and 's' never are).
#include <cctype>
#include <climits>
#include <cstdint>
#include <cstring>

#include "lua_libs.h"

namespace stormkv {
namespace {

constexpr int kMaxIntSize = 32;       // the widest i[n] / I[n]
constexpr int kDefaultMaxAlign = 8;   // what a bare '!' sets (the machine's widest alignment)

enum Endian { kLittle, kBig };

struct Options {
  Endian endian = kLittle;
  int align = 1;
};

bool IsPowerOf2(int v) { return v > 0 && (v & (v - 1)) == 0; }

// A decimal count at *fmt, or `dflt` when there is none.
int ReadCount(lua_State* L, const char** fmt, int dflt) {
  if (!std::isdigit(static_cast<unsigned char>(**fmt))) return dflt;
  int v = 0;
  do {
    const int digit = **fmt - '0';
    if (v > (INT_MAX - digit) / 10) luaL_error(L, "integral size overflow");
    v = v * 10 + digit;
    ++*fmt;
  } while (std::isdigit(static_cast<unsigned char>(**fmt)));
  return v;
}

// The size in bytes of item `opt` (reading its count), 0 for items without a fixed size.
std::size_t ItemSize(lua_State* L, char opt, const char** fmt) {
  switch (opt) {
    case 'b': case 'B': case 'x': return 1;
    case 'h': case 'H': return 2;
    case 'l': case 'L': case 'T': case 'd': return 8;
    case 'f': return 4;
    case 'c': return static_cast<std::size_t>(ReadCount(L, fmt, 1));
    case 'i': case 'I': {
      const int n = ReadCount(L, fmt, 4);
      if (n > kMaxIntSize) {
        luaL_error(L, "integral size %d is larger than limit of %d", n, kMaxIntSize);
      }
      return static_cast<std::size_t>(n);
    }
    default: return 0;
  }
}

// Padding bytes before an item of `size` bytes at offset `pos`.
std::size_t Padding(std::size_t pos, const Options& o, char opt, std::size_t size) {
  if (size == 0 || opt == 'c') return 0;
  if (size > static_cast<std::size_t>(o.align)) size = static_cast<std::size_t>(o.align);
  return (size - (pos & (size - 1))) & (size - 1);
}

// The non-item letters: endianness, alignment, space. Anything else is an invalid option.
void ControlOption(lua_State* L, char opt, const char** fmt, Options& o) {
  switch (opt) {
    case ' ': return;
    case '<': o.endian = kLittle; return;
    case '>': o.endian = kBig; return;
    case '!': {
      const int a = ReadCount(L, fmt, kDefaultMaxAlign);
      if (!IsPowerOf2(a)) luaL_error(L, "alignment %d is not a power of 2", a);
      o.align = a;
      return;
    }
    default: {
      const char text[2] = {opt, '\0'};
      lua_pushfstring(L, "invalid format option '%s'", text);
      luaL_argerror(L, 1, lua_tostring(L, -1));
    }
  }
}

bool IsIntegerItem(char opt) {
  return std::strchr("bBhHlLTiI", opt) != nullptr && opt != '\0';
}

// x86-64's cvttsd2si: truncation, and INT64_MIN for NaN and values out of range.
int64_t TruncateToInt64(double v) {
  if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) return INT64_MIN;
  return static_cast<int64_t>(v);
}

// The bits an integer item packs for `n`, which is also how a number converts to size_t:
// negative numbers through int64, others as unsigned 64-bit (what the compiled C cast gives on
// x86-64 for values from 2^63 up, NaN and overflow included).
uint64_t PackedBits(double n) {
  if (n < 0) return static_cast<uint64_t>(TruncateToInt64(n));
  if (!(n >= 9223372036854775808.0)) return static_cast<uint64_t>(TruncateToInt64(n));
  return static_cast<uint64_t>(TruncateToInt64(n - 9223372036854775808.0)) ^
         0x8000000000000000ULL;
}

void PutInteger(lua_State* L, luaL_Buffer* b, int arg, Endian endian, std::size_t size) {
  uint64_t v = PackedBits(luaL_checknumber(L, arg));
  char bytes[kMaxIntSize];
  for (std::size_t i = 0; i < size; ++i) {
    bytes[endian == kLittle ? i : size - 1 - i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  luaL_addlstring(b, bytes, size);
}

// Reverses `n` bytes when `endian` is not the machine's (little).
void ToEndian(char* p, std::size_t n, Endian endian) {
  if (endian == kLittle) return;
  for (std::size_t i = 0, j = n - 1; i < j; ++i, --j) {
    const char t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
}

double GetInteger(const char* p, Endian endian, bool is_signed, std::size_t size) {
  uint64_t v = 0;
  for (std::size_t k = 0; k < size; ++k) {
    const std::size_t i = endian == kBig ? k : size - 1 - k;
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  }
  if (!is_signed) return static_cast<double>(v);
  // The sign bit is bit size*8-1 of the item; for items wider than 8 bytes the compiled shift
  // count wraps modulo 64, as Redis's does on x86-64.
  const uint64_t mask = ~uint64_t{0} << ((size * 8 - 1) & 63);
  if (v & mask) v |= mask;
  return static_cast<double>(static_cast<int64_t>(v));
}

int Pack(lua_State* L) {
  const char* fmt = luaL_checkstring(L, 1);
  Options o;
  int arg = 2;
  std::size_t total = 0;
  lua_pushnil(L);  // keeps the buffer's stack use above the arguments
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  while (*fmt != '\0') {
    const char opt = *fmt++;
    std::size_t size = ItemSize(L, opt, &fmt);
    std::size_t pad = Padding(total, o, opt, size);
    total += pad;
    while (pad-- > 0) luaL_addchar(&b, '\0');
    if (IsIntegerItem(opt)) {
      PutInteger(L, &b, arg++, o.endian, size);
    } else if (opt == 'x') {
      luaL_addchar(&b, '\0');
    } else if (opt == 'f') {
      float f = static_cast<float>(luaL_checknumber(L, arg++));
      char bytes[4];
      std::memcpy(bytes, &f, 4);
      ToEndian(bytes, 4, o.endian);
      luaL_addlstring(&b, bytes, 4);
    } else if (opt == 'd') {
      double d = luaL_checknumber(L, arg++);
      char bytes[8];
      std::memcpy(bytes, &d, 8);
      ToEndian(bytes, 8, o.endian);
      luaL_addlstring(&b, bytes, 8);
    } else if (opt == 'c' || opt == 's') {
      std::size_t len = 0;
      const char* s = luaL_checklstring(L, arg++, &len);
      if (size == 0) size = len;
      luaL_argcheck(L, len >= size, arg, "string too short");
      luaL_addlstring(&b, s, size);
      if (opt == 's') {
        luaL_addchar(&b, '\0');
        ++size;
      }
    } else {
      ControlOption(L, opt, &fmt, o);
    }
    total += size;
  }
  luaL_pushresult(&b);
  return 1;
}

int Unpack(lua_State* L) {
  const char* fmt = luaL_checkstring(L, 1);
  std::size_t len = 0;
  const char* data = luaL_checklstring(L, 2, &len);
  // As Redis's: the offset is taken as unsigned, so only 0 is "not 1 or greater"; a negative
  // one wraps and fails the bounds check ("data string too short").
  const auto start = static_cast<std::size_t>(luaL_optinteger(L, 3, 1));
  luaL_argcheck(L, start > 0, 3, "offset must be 1 or greater");
  std::size_t pos = start - 1;
  Options o;
  int results = 0;
  while (*fmt != '\0') {
    const char opt = *fmt++;
    std::size_t size = ItemSize(L, opt, &fmt);
    pos += Padding(pos, o, opt, size);
    luaL_argcheck(L, size <= len && pos <= len - size, 2, "data string too short");
    luaL_checkstack(L, 2, "too many results");
    if (IsIntegerItem(opt)) {
      const bool is_signed = std::islower(static_cast<unsigned char>(opt)) != 0;
      lua_pushnumber(L, GetInteger(data + pos, o.endian, is_signed, size));
      ++results;
    } else if (opt == 'x') {
      // padding: nothing to return
    } else if (opt == 'f') {
      char bytes[4];
      std::memcpy(bytes, data + pos, 4);
      ToEndian(bytes, 4, o.endian);
      float f;
      std::memcpy(&f, bytes, 4);
      lua_pushnumber(L, f);
      ++results;
    } else if (opt == 'd') {
      char bytes[8];
      std::memcpy(bytes, data + pos, 8);
      ToEndian(bytes, 8, o.endian);
      double d;
      std::memcpy(&d, bytes, 8);
      lua_pushnumber(L, d);
      ++results;
    } else if (opt == 'c') {
      if (size == 0) {
        if (results == 0 || !lua_isnumber(L, -1)) luaL_error(L, "format 'c0' needs a previous size");
        // The length converts to size_t as the compiled C cast does on x86-64: 2^64 and
        // infinity give 0 (an empty string), a negative length a huge one (too short).
        size = static_cast<std::size_t>(PackedBits(lua_tonumber(L, -1)));
        lua_pop(L, 1);
        --results;
        luaL_argcheck(L, size <= len && pos <= len - size, 2, "data string too short");
      }
      lua_pushlstring(L, data + pos, size);
      ++results;
    } else if (opt == 's') {
      const void* end = std::memchr(data + pos, '\0', len - pos);
      if (end == nullptr) luaL_error(L, "unfinished string in data");
      size = static_cast<std::size_t>(static_cast<const char*>(end) - (data + pos)) + 1;
      lua_pushlstring(L, data + pos, size - 1);
      ++results;
    } else {
      ControlOption(L, opt, &fmt, o);
    }
    pos += size;
  }
  lua_pushinteger(L, static_cast<lua_Integer>(pos + 1));
  return results + 1;
}

int Size(lua_State* L) {
  const char* fmt = luaL_checkstring(L, 1);
  Options o;
  std::size_t pos = 0;
  while (*fmt != '\0') {
    const char opt = *fmt++;
    const std::size_t size = ItemSize(L, opt, &fmt);
    pos += Padding(pos, o, opt, size);
    if (opt == 's') {
      luaL_argerror(L, 1, "option 's' has no fixed size");
    } else if (opt == 'c' && size == 0) {
      luaL_argerror(L, 1, "option 'c0' has no fixed size");
    }
    // Letters and digits that are not items count for nothing here (Redis's size skips them);
    // other bytes are control options or invalid.
    if (!std::isalnum(static_cast<unsigned char>(opt))) ControlOption(L, opt, &fmt, o);
    pos += size;
  }
  lua_pushinteger(L, static_cast<lua_Integer>(pos));
  return 1;
}

const luaL_Reg kStructFunctions[] = {
    {"pack", Pack},
    {"unpack", Unpack},
    {"size", Size},
    {nullptr, nullptr},
};

}  // namespace

int stormkv_luaopen_struct(lua_State* L) {
  luaL_register(L, "struct", kStructFunctions);
  return 1;
}

}  // namespace stormkv
