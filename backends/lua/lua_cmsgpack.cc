// backends/lua/lua_cmsgpack.cc — Redis's `cmsgpack` Lua library (lua-cmsgpack 0.4.0 as Redis
// 7.0.15 ships it; see lua_libs.h), written for stormkv from its observable behaviour.
//
// Encoding (cmsgpack.pack(v1, v2, ...) returns the encodings of its arguments, concatenated):
//   nil c0, false c2, true c3; other types (functions, userdata such as cjson.null, threads) nil
//   integers (int64-exact numbers): positive fixint, uint8/16/32/64 (cc..cf) for n >= 0,
//     negative fixint, int8/16/32/64 (d0..d3) for n < 0 — the smallest that fits
//   other numbers: float32 (ca) when the value survives the float conversion, else float64 (cb)
//   strings: fixstr (< 32 bytes), str8 d9, str16 da, str32 db
//   tables: an array (fixarray, dc, dd) when the keys are exactly 1..n (so {} is an empty
//     array), else a map (fixmap, de, df) in lua_next order; a table nested 16 deep is nil.
// Decoding accepts the same types plus every integer width (bin and ext types are "Bad data
// format"); integers and floats become Lua numbers (uint64 through int64, as Redis's:
// 0xcf ff..ff is -1); map keys that decode to nil or NaN raise
// Lua's own "table index is nil/NaN". Stack limits are checked where Redis's checks them, so
// deep nesting and many results fail with the same "stack overflow (...)" texts at the same
// sizes: one slot before every object, one more after every array's table.
#include <cmath>
#include <climits>
#include <cstdint>
#include <cstring>

#include "lua_libs.h"

namespace stormkv {
namespace {

constexpr int kMaxNesting = 16;
constexpr const char* kTooManyResults =
    "too many return values at once; use unpack_one or unpack_limit instead.";

// ---- encoding ------------------------------------------------------------------------------

// The output buffer: a Lua userdata kept in one stack slot (so an error raised while encoding
// leaks nothing), replaced by a bigger one when it fills up.
struct Out {
  lua_State* L;
  int slot;
  unsigned char* p = nullptr;
  std::size_t len = 0;
  std::size_t cap = 0;
};

void Reserve(Out& o, std::size_t extra) {
  if (o.cap - o.len >= extra) return;
  std::size_t cap = o.cap < 64 ? 64 : o.cap * 2;
  while (cap - o.len < extra) cap *= 2;
  auto* bigger = static_cast<unsigned char*>(lua_newuserdata(o.L, cap));
  if (o.len > 0) std::memcpy(bigger, o.p, o.len);
  lua_replace(o.L, o.slot);
  o.p = bigger;
  o.cap = cap;
}

void PutByte(Out& o, unsigned char b) {
  Reserve(o, 1);
  o.p[o.len++] = b;
}

// A type byte followed by `n` bytes of `v`, big endian.
void PutTyped(Out& o, unsigned char type, uint64_t v, int n) {
  Reserve(o, 1 + static_cast<std::size_t>(n));
  o.p[o.len++] = type;
  for (int i = n - 1; i >= 0; --i) o.p[o.len++] = static_cast<unsigned char>(v >> (8 * i));
}

void PutInteger(Out& o, int64_t n) {
  if (n >= 0) {
    const auto u = static_cast<uint64_t>(n);
    if (u <= 127) return PutByte(o, static_cast<unsigned char>(u));
    if (u <= 0xff) return PutTyped(o, 0xcc, u, 1);
    if (u <= 0xffff) return PutTyped(o, 0xcd, u, 2);
    if (u <= 0xffffffffULL) return PutTyped(o, 0xce, u, 4);
    return PutTyped(o, 0xcf, u, 8);
  }
  const auto bits = static_cast<uint64_t>(n);
  if (n >= -32) return PutByte(o, static_cast<unsigned char>(bits & 0xff));
  if (n >= -128) return PutTyped(o, 0xd0, bits, 1);
  if (n >= -32768) return PutTyped(o, 0xd1, bits, 2);
  if (n >= -2147483648LL) return PutTyped(o, 0xd2, bits, 4);
  return PutTyped(o, 0xd3, bits, 8);
}

void PutNumber(Out& o, double d) {
  // int64-exact: -2^63 <= d < 2^63 and integral (NaN and infinities are not).
  if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
      static_cast<double>(static_cast<int64_t>(d)) == d) {
    return PutInteger(o, static_cast<int64_t>(d));
  }
  const auto f = static_cast<float>(d);
  if (static_cast<double>(f) == d) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    return PutTyped(o, 0xca, bits, 4);
  }
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  PutTyped(o, 0xcb, bits, 8);
}

void PutString(Out& o, const char* s, std::size_t len) {
  if (len < 32) {
    PutByte(o, static_cast<unsigned char>(0xa0 | len));
  } else if (len <= 0xff) {
    PutTyped(o, 0xd9, len, 1);
  } else if (len <= 0xffff) {
    PutTyped(o, 0xda, len, 2);
  } else {
    PutTyped(o, 0xdb, len, 4);
  }
  Reserve(o, len);
  std::memcpy(o.p + o.len, s, len);
  o.len += len;
}

// Container headers: the fix form (up to 15), then 16- and 32-bit counts.
void PutHeader(Out& o, unsigned char fix, unsigned char wide16, std::size_t n) {
  if (n <= 15) return PutByte(o, static_cast<unsigned char>(fix | n));
  if (n <= 0xffff) return PutTyped(o, wide16, n, 2);
  PutTyped(o, static_cast<unsigned char>(wide16 + 1), n, 4);
}

// True when the table at the top has exactly the keys 1..n (n >= 0), each an int-exact number.
bool IsArray(lua_State* L) {
  long count = 0;
  double max = 0;
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TNUMBER) {
      lua_pop(L, 1);
      return false;
    }
    const double k = lua_tonumber(L, -1);
    if (!(k > 0 && k <= 2147483647.0 && k == std::floor(k))) {
      lua_pop(L, 1);
      return false;
    }
    if (k > max) max = k;
    ++count;
  }
  return max == static_cast<double>(count);
}

void Encode(Out& o, int level);

void EncodeTable(Out& o, int level) {
  lua_State* L = o.L;
  if (IsArray(L)) {
    luaL_checkstack(L, 2, "in function mp_encode_lua_table_as_array");
    const std::size_t n = lua_objlen(L, -1);
    PutHeader(o, 0x90, 0xdc, n);
    for (std::size_t i = 1; i <= n; ++i) {
      lua_rawgeti(L, -1, static_cast<int>(i));
      Encode(o, level + 1);
    }
    return;
  }
  luaL_checkstack(L, 4, "in function mp_encode_lua_table_as_map");
  std::size_t n = 0;
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    lua_pop(L, 1);
    ++n;
  }
  PutHeader(o, 0x80, 0xde, n);
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    lua_pushvalue(L, -2);
    Encode(o, level + 1);  // the key's copy
    Encode(o, level + 1);  // the value; the key stays for lua_next
  }
}

// Encodes the value at the top of the stack and pops it.
void Encode(Out& o, int level) {
  lua_State* L = o.L;
  int type = lua_type(L, -1);
  if (type == LUA_TTABLE && level == kMaxNesting) type = LUA_TNIL;
  switch (type) {
    case LUA_TSTRING: {
      std::size_t len = 0;
      const char* s = lua_tolstring(L, -1, &len);
      PutString(o, s, len);
      break;
    }
    case LUA_TBOOLEAN:
      PutByte(o, lua_toboolean(L, -1) ? 0xc3 : 0xc2);
      break;
    case LUA_TNUMBER:
      PutNumber(o, lua_tonumber(L, -1));
      break;
    case LUA_TTABLE:
      EncodeTable(o, level);
      break;
    default:
      PutByte(o, 0xc0);
      break;
  }
  lua_pop(L, 1);
}

int Pack(lua_State* L) {
  const int nargs = lua_gettop(L);
  if (nargs == 0) return luaL_argerror(L, 0, "MessagePack pack needs input.");
  if (!lua_checkstack(L, nargs + 2)) {
    return luaL_argerror(L, 0, "Too many arguments for MessagePack pack.");
  }
  lua_pushnil(L);  // the buffer's slot
  Out o{L, nargs + 1};
  for (int i = 1; i <= nargs; ++i) {
    lua_pushvalue(L, i);
    Encode(o, 0);
    lua_pushlstring(L, reinterpret_cast<const char*>(o.p), o.len);
    o.len = 0;
  }
  lua_concat(L, nargs);
  return 1;
}

// ---- decoding ------------------------------------------------------------------------------

enum class DecodeError { kNone, kEof, kBadFormat };

struct Cursor {
  const unsigned char* p;
  std::size_t left;
  DecodeError err = DecodeError::kNone;
};

bool Need(Cursor& c, std::size_t n) {
  if (c.left < n) {
    c.err = DecodeError::kEof;
    return false;
  }
  return true;
}

uint64_t BigEndian(const unsigned char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

void Consume(Cursor& c, std::size_t n) {
  c.p += n;
  c.left -= n;
}

void Decode(lua_State* L, Cursor& c);

void DecodeArray(lua_State* L, Cursor& c, std::size_t n) {
  lua_newtable(L);
  luaL_checkstack(L, 1, "in function mp_decode_to_lua_array");
  for (std::size_t i = 1; i <= n; ++i) {
    lua_pushnumber(L, static_cast<double>(i));
    Decode(L, c);
    if (c.err != DecodeError::kNone) return;
    lua_settable(L, -3);
  }
}

void DecodeMap(lua_State* L, Cursor& c, std::size_t n) {
  lua_newtable(L);
  for (std::size_t i = 0; i < n; ++i) {
    Decode(L, c);
    if (c.err != DecodeError::kNone) return;
    Decode(L, c);
    if (c.err != DecodeError::kNone) return;
    lua_settable(L, -3);
  }
}

// A string of the length in the `n` bytes after the type byte.
void DecodeString(lua_State* L, Cursor& c, int n) {
  if (!Need(c, 1 + static_cast<std::size_t>(n))) return;
  const std::size_t len = BigEndian(c.p + 1, n);
  if (!Need(c, 1 + static_cast<std::size_t>(n) + len)) return;
  lua_pushlstring(L, reinterpret_cast<const char*>(c.p + 1 + n), len);
  Consume(c, 1 + static_cast<std::size_t>(n) + len);
}

// A container whose count is in the `n` bytes after the type byte.
void DecodeContainer(lua_State* L, Cursor& c, int n, bool is_map) {
  if (!Need(c, 1 + static_cast<std::size_t>(n))) return;
  const std::size_t count = BigEndian(c.p + 1, n);
  Consume(c, 1 + static_cast<std::size_t>(n));
  if (is_map) {
    DecodeMap(L, c, count);
  } else {
    DecodeArray(L, c, count);
  }
}

// Fixed-width numbers: the type byte and `n` bytes.
bool Fixed(Cursor& c, int n, uint64_t* v) {
  if (!Need(c, 1 + static_cast<std::size_t>(n))) return false;
  *v = BigEndian(c.p + 1, n);
  Consume(c, 1 + static_cast<std::size_t>(n));
  return true;
}

// Decodes one object onto the stack (on error, c.err is set and the stack is left as is).
void Decode(lua_State* L, Cursor& c) {
  luaL_checkstack(L, 1, kTooManyResults);
  if (!Need(c, 1)) return;
  const unsigned char t = c.p[0];
  uint64_t v = 0;
  switch (t) {
    case 0xc0: lua_pushnil(L); Consume(c, 1); return;
    case 0xc2: lua_pushboolean(L, 0); Consume(c, 1); return;
    case 0xc3: lua_pushboolean(L, 1); Consume(c, 1); return;
    case 0xcc: if (Fixed(c, 1, &v)) lua_pushnumber(L, static_cast<double>(v)); return;
    case 0xcd: if (Fixed(c, 2, &v)) lua_pushnumber(L, static_cast<double>(v)); return;
    case 0xce: if (Fixed(c, 4, &v)) lua_pushnumber(L, static_cast<double>(v)); return;
    // uint64 goes through lua_Integer (int64) as in Redis: values from 2^63 up turn negative.
    case 0xcf: if (Fixed(c, 8, &v)) lua_pushnumber(L, static_cast<double>(static_cast<int64_t>(v))); return;
    case 0xd0:
      if (Fixed(c, 1, &v)) lua_pushnumber(L, static_cast<int8_t>(static_cast<uint8_t>(v)));
      return;
    case 0xd1:
      if (Fixed(c, 2, &v)) lua_pushnumber(L, static_cast<int16_t>(static_cast<uint16_t>(v)));
      return;
    case 0xd2:
      if (Fixed(c, 4, &v)) lua_pushnumber(L, static_cast<int32_t>(static_cast<uint32_t>(v)));
      return;
    case 0xd3:
      if (Fixed(c, 8, &v)) lua_pushnumber(L, static_cast<double>(static_cast<int64_t>(v)));
      return;
    case 0xca:
      if (Fixed(c, 4, &v)) {
        const auto bits = static_cast<uint32_t>(v);
        float f;
        std::memcpy(&f, &bits, 4);
        lua_pushnumber(L, f);
      }
      return;
    case 0xcb:
      if (Fixed(c, 8, &v)) {
        double d;
        std::memcpy(&d, &v, 8);
        lua_pushnumber(L, d);
      }
      return;
    case 0xd9: DecodeString(L, c, 1); return;
    case 0xda: DecodeString(L, c, 2); return;
    case 0xdb: DecodeString(L, c, 4); return;
    case 0xdc: DecodeContainer(L, c, 2, false); return;
    case 0xdd: DecodeContainer(L, c, 4, false); return;
    case 0xde: DecodeContainer(L, c, 2, true); return;
    case 0xdf: DecodeContainer(L, c, 4, true); return;
    default: break;
  }
  if ((t & 0x80) == 0) {  // positive fixint
    lua_pushnumber(L, t);
    Consume(c, 1);
  } else if ((t & 0xe0) == 0xe0) {  // negative fixint
    lua_pushnumber(L, static_cast<int8_t>(t));
    Consume(c, 1);
  } else if ((t & 0xe0) == 0xa0) {  // fixstr
    const std::size_t len = t & 0x1f;
    if (!Need(c, 1 + len)) return;
    lua_pushlstring(L, reinterpret_cast<const char*>(c.p + 1), len);
    Consume(c, 1 + len);
  } else if ((t & 0xf0) == 0x90) {  // fixarray
    Consume(c, 1);
    DecodeArray(L, c, t & 0x0f);
  } else if ((t & 0xf0) == 0x80) {  // fixmap
    Consume(c, 1);
    DecodeMap(L, c, t & 0x0f);
  } else {
    c.err = DecodeError::kBadFormat;  // 0xc1, bin, ext
  }
}

// limit 0 with offset 0 decodes everything and returns no offset (what unpack does; so does
// unpack_limit(s, 0), as in Redis). Otherwise at most `limit` objects after the next offset
// (-1 when the input is used up).
int UnpackFull(lua_State* L, int limit, int offset) {
  std::size_t len = 0;
  const char* s = luaL_checklstring(L, 1, &len);
  if (offset < 0 || limit < 0) {
    return luaL_error(L, "Invalid request to unpack with offset of %d and limit of %d.", offset,
                      static_cast<int>(len));
  }
  if (static_cast<std::size_t>(offset) > len) {
    return luaL_error(L, "Start offset %d greater than input length %d.", offset,
                      static_cast<int>(len));
  }
  const bool all = limit == 0 && offset == 0;
  if (all) limit = INT_MAX;
  Cursor c{reinterpret_cast<const unsigned char*>(s) + offset,
           len - static_cast<std::size_t>(offset)};
  int count = 0;
  for (; c.left > 0 && count < limit; ++count) {
    Decode(L, c);
    if (c.err == DecodeError::kEof) return luaL_error(L, "Missing bytes in input.");
    if (c.err == DecodeError::kBadFormat) return luaL_error(L, "Bad data format in input.");
  }
  if (all) return count;
  luaL_checkstack(L, 1, "in function mp_unpack_full");
  const lua_Integer next = c.left == 0 ? -1 : static_cast<lua_Integer>(len - c.left);
  lua_pushinteger(L, next);
  lua_insert(L, 2);
  return count + 1;
}

int Unpack(lua_State* L) { return UnpackFull(L, 0, 0); }

// Drops every argument but the first (none stays none: "got no value", as in Redis).
void KeepFirstArgument(lua_State* L) {
  if (lua_gettop(L) > 1) lua_settop(L, 1);
}

int UnpackOne(lua_State* L) {
  const int offset = static_cast<int>(luaL_optinteger(L, 2, 0));
  KeepFirstArgument(L);
  return UnpackFull(L, 1, offset);
}

int UnpackLimit(lua_State* L) {
  const int limit = static_cast<int>(luaL_checkinteger(L, 2));
  const int offset = static_cast<int>(luaL_optinteger(L, 3, 0));
  KeepFirstArgument(L);
  return UnpackFull(L, limit, offset);
}

const luaL_Reg kCmsgpackFunctions[] = {
    {"pack", Pack},
    {"unpack", Unpack},
    {"unpack_one", UnpackOne},
    {"unpack_limit", UnpackLimit},
    {nullptr, nullptr},
};

}  // namespace

int stormkv_luaopen_cmsgpack(lua_State* L) {
  luaL_register(L, "cmsgpack", kCmsgpackFunctions);
  lua_pushliteral(L, "cmsgpack");
  lua_setfield(L, -2, "_NAME");
  lua_pushliteral(L, "lua-cmsgpack 0.4.0");
  lua_setfield(L, -2, "_VERSION");
  lua_pushliteral(L, "Copyright (C) 2012, Salvatore Sanfilippo");
  lua_setfield(L, -2, "_COPYRIGHT");
  lua_pushliteral(L, "MessagePack C implementation for Lua");
  lua_setfield(L, -2, "_DESCRIPTION");
  return 1;
}

}  // namespace stormkv
