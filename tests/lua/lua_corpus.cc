#include "lua/lua_corpus.h"

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace stormkv::testing_lua {
namespace {

// A Lua string literal of arbitrary bytes ("\ddd" for everything but plain letters/digits).
std::string Quote(const std::string& bytes) {
  std::string out = "'";
  for (unsigned char c : bytes) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' ||
        c == '_' || c == ':' || c == ',' || c == '[' || c == ']' || c == '{' || c == '}' ||
        c == '.' || c == '-' || c == '+') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03d", c);
      out += buf;
    }
  }
  return out + "'";
}

class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) { return v[static_cast<std::size_t>(Int(0, static_cast<int>(v.size()) - 1))]; }
  std::string Bytes(int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += static_cast<char>(Int(0, 255));
    return s;
  }

  // A Lua expression of a number of one of the classes the libraries treat differently.
  std::string Number() {
    static const std::vector<std::string> kEdges = {
        "0", "1", "-1", "127", "128", "-32", "-33", "255", "256", "-128", "-129", "65535",
        "65536", "-32768", "-32769", "2^31-1", "2^31", "-2^31", "-2^31-1", "2^32-1", "2^32",
        "2^53", "2^53+1", "-2^53", "2^63", "-2^63", "2^64", "1e30", "-1e30", "0.5", "-0.5",
        "0.1", "1/3", "1e300", "-1e-300", "1/0", "-1/0", "0/0", "-(0/0)", "-0.0", "3.7", "-3.7",
        "2^24+1", "16777216.5", "1.5e-45", "3.4e38", "3.5e38"};
    switch (Int(0, 3)) {
      case 0: return std::to_string(Int(-300, 300));
      case 1: return std::to_string(Int(-2000000000, 2000000000)) + " * " + std::to_string(Int(1, 5000));
      case 2: return std::to_string(Int(-99999, 99999)) + "/" + std::to_string(Int(1, 999));
      default: return Pick(kEdges);
    }
  }

  std::string String() {
    switch (Int(0, 3)) {
      case 0: return Quote(Bytes(Int(0, 40)));
      case 1: return "string.rep('a', " + std::to_string(Pick<int>({0, 1, 31, 32, 33, 255, 256, 65535, 65536, 70000})) + ")";
      case 2: return Quote(Pick<std::string>({"", "x", "key", "ok", "err", "1", "-1", "0x10", " 5 "}));
      default: return Quote(std::string(1, static_cast<char>(Int(0, 255))));
    }
  }

  // A Lua value expression (tables nested up to `depth` more levels).
  std::string Value(int depth) {
    const int roll = Int(0, depth > 0 ? 9 : 5);
    if (roll <= 1) return Number();
    if (roll <= 3) return String();
    if (roll == 4) return Pick<std::string>({"true", "false", "nil", "cjson.null"});
    if (roll == 5) return Number();
    std::string t = "{";
    const int n = Int(0, roll == 9 ? 20 : 5);
    const int shape = Int(0, 4);
    for (int i = 0; i < n; ++i) {
      if (i) t += ", ";
      switch (shape) {
        case 0: t += Value(depth - 1); break;                                      // array-ish
        case 1: t += "k" + std::to_string(Int(0, 30)) + " = " + Value(depth - 1); break;  // map
        case 2: t += "[" + std::to_string(Int(-2, 12)) + "] = " + Value(depth - 1); break;  // sparse
        case 3: t += "[" + Pick<std::string>({"1.5", "0", "-1", "2^40", "'1'", "true"}) + "] = " + Value(depth - 1); break;
        default: t += (Int(0, 1) ? Value(depth - 1) : "x" + std::to_string(i) + " = " + Value(depth - 1)); break;
      }
    }
    return t + "}";
  }

 private:
  std::mt19937 rng_;
};

std::string Nest(const std::string& open, int n, const std::string& inner, const std::string& close) {
  std::string s;
  for (int i = 0; i < n; ++i) s += open;
  s += inner;
  for (int i = 0; i < n; ++i) s += close;
  return s;
}

void Add(std::vector<LuaCase>& out, std::string name, CaseKind kind, const std::string& code) {
  out.push_back({std::move(name), kind, (kind == CaseKind::kLibrary ? CorpusPrelude() : std::string()) + code});
}

// ---- struct ------------------------------------------------------------------------------------

void StructCases(Gen& g, std::vector<LuaCase>& out) {
  const std::vector<std::string> hand = {
      "'<i', 1", "'>i', 1", "'!4bi', 1, 2", "'!bd', 1, 2.5", "'b!8d', 1, 2", "'!2bI3', 1, 2",
      "'!4bI6', 1, 2", "'!4bc2', 1, 'xy'", "'!4bs', 1, 'xy'", "'!8bT', 1, 2", "'<i9', -2",
      "'>I10', -2", "'i', 2^40", "'I8', 2^64", "'i8', -2^70", "'I8', 2^63", "'I8', 0/0",
      "'b', 0/0", "'i', '12'", "'c', 'a', 'b'", "'s', 5", "'c0', 'hello'", "'c3', 'ab'",
      "'i', {}", "'d'", "'=i', 1", "'q', 1", "' i', 1", "'i33', 1", "'!3i', 1", "'!0i', 1",
      "'i99999999999', 1", "'i0', 5", "'xxbx', 7", "'>f', 1.5", "'<f', 1e300", "'>d', 0/0",
      "'hHlL', -1, -1, -1, -1", "'>hHlL', 2^15, 2^16+3, -2^63, 2^64-1", "'s', 'a\\0b'",
      "'i3i5i7', 2^23, -2^39, 2^55", "'>i16I32', -3, 2^60", "'!16i16d', 1, 2", "'bB', 300, -300"};
  int i = 0;
  for (const auto& args : hand) {
    const std::string fmt = args.substr(0, args.find('\'', 1) + 1);
    Add(out, "struct_hand_" + std::to_string(i++), CaseKind::kLibrary,
        "local ok, s = pcall(struct.pack, " + args + ")\n"
        "if not ok then return dump({'pack error', s}) end\n"
        "return dump({hx(s), {pcall(struct.size, " + fmt + ")}, {pcall(struct.unpack, " + fmt + ", s)}})\n");
  }
  const std::vector<std::string> unpacks = {
      "'i', 'abc'", "'c0', 'abc'", "'bc0', '\\2abc'", "'i', 'abcd', 0", "'i', 'abcd', 6",
      "'s', 'abcd'", "'', 'a', 2", "'', 'a', 3", "'b', 'a', 'x'", "'b', 'a', 1.5", "'bb', 'ab', 2",
      "'>i9', '\\255\\1\\2\\3\\4\\5\\6\\7\\8'", "'<i9', '\\255\\1\\2\\3\\4\\5\\6\\7\\200'",
      "'!4bi', '\\1\\0\\0\\0\\2\\0\\0\\0'", "'<f', '\\0\\0\\128\\63'", "'s', 'ab\\0c'",
      "'>H', '\\1\\2'", "'xbc0', '\\0\\2abc'", "'bc0', '\\255abc'", "'dc0', '\\0\\0\\0\\0\\0\\0\\0\\64ab'",
      "'c0', ''", "'I', '\\255\\255\\255\\255'", "'i', '\\255\\255\\255\\255'", "'I32', string.rep('\\255', 32)",
      "'i32', string.rep('\\255', 32)", "'?', 'a'", "'!', 'a'", "'b', 'a', -1"};
  i = 0;
  for (const auto& args : unpacks) {
    Add(out, "struct_unpack_" + std::to_string(i++), CaseKind::kLibrary,
        "return dump({pcall(struct.unpack, " + args + ")})\n");
  }
  const std::vector<std::string> sizes = {"'!4ih'", "'ih'", "'!ih'", "'!2bd'", "'s'", "'c0'", "'=i'", "'q'",
                                          "'i33'", "'<i3 x'", "'!3i'", "'q?'", "'5i'", "'Z'", "'!'", "'!d'",
                                          "'!bd'", "'!16bd'", "'!4bi8'", "'!4bc3i'", "'i0'", "'c'", "'c00'", "''"};
  i = 0;
  for (const auto& f : sizes) {
    Add(out, "struct_size_" + std::to_string(i++), CaseKind::kLibrary, "return dump({pcall(struct.size, " + f + ")})\n");
  }
  // Generated: random formats with matching (and sometimes mismatching) values.
  for (int n = 0; n < 120; ++n) {
    std::string fmt;
    std::vector<std::string> values;
    if (g.Int(0, 2) == 0) fmt += g.Pick<std::string>({"<", ">", "!", "!2", "!4", "!8", "<!4", ">!2"});
    const int items = g.Int(1, 6);
    for (int k = 0; k < items; ++k) {
      const int kind = g.Int(0, 9);
      if (kind <= 4) {
        std::string letter = g.Pick<std::string>({"b", "B", "h", "H", "l", "L", "T", "i", "I"});
        if ((letter == "i" || letter == "I") && g.Int(0, 1)) letter += std::to_string(g.Int(1, 12));
        fmt += letter;
        values.push_back(g.Number());
      } else if (kind == 5) {
        fmt += g.Pick<std::string>({"f", "d"});
        values.push_back(g.Number());
      } else if (kind == 6) {
        fmt += "s";
        values.push_back(Quote(g.Bytes(g.Int(0, 6))));
      } else if (kind == 7) {
        const int len = g.Int(0, 5);
        fmt += "c" + std::to_string(len);
        values.push_back(Quote(g.Bytes(len + g.Int(0, 1))));
      } else if (kind == 8) {
        fmt += "x";
      } else {
        fmt += g.Pick<std::string>({"<", ">", "!4", " "});
      }
    }
    std::string args = Quote(fmt);
    for (const auto& v : values) args += ", " + v;
    Add(out, "struct_gen_" + std::to_string(n), CaseKind::kLibrary,
        "local ok, s = pcall(struct.pack, " + args + ")\n"
        "if not ok then return dump({'pack error', s}) end\n"
        "return dump({hx(s), {pcall(struct.size, " + Quote(fmt) + ")}, {pcall(struct.unpack, " + Quote(fmt) + ", s)}})\n");
  }
}

// ---- cmsgpack ----------------------------------------------------------------------------------

void CmsgpackCases(Gen& g, std::vector<LuaCase>& out) {
  const std::vector<std::string> hand = {
      "1,-1,-32,-33,127,128,255,256,65535,65536,2^32-1,2^32,-128,-129,-32768,-32769,-2^31,-2^31-1",
      "2^63, -2^63, 2^53+1, 0.5, 0.1, 1/0, -1/0, 0/0, -0.0",
      "{}, {1,2}, {a=1}, {[1]=1,[3]=3}, {1,nil,3}, true, false, nil",
      "string.rep('a',31), string.rep('b',32), string.rep('c',255), string.rep('d',256)",
      "string.rep('e',65535), string.rep('f',65536)", "{[1.5]=1}, {[0]=1}, {[-1]=2}, {[2^40]=1}",
      "cjson.null, math.floor, coroutine.create(function() end)",
      "{" + Nest("{", 17, "1", "}") + "}", Nest("{", 15, "1", "}"), Nest("{", 16, "1", "}"),
      "{a={b={c={}}}, [1]='x'}", "nil", "nil, nil", "{nil, nil, 3}", "{n=1, 2, 3}",
      "{[1]=1, [2]=2, [4]=4, [3]=3}", "{" + std::string("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16") + "}"};
  int i = 0;
  for (const auto& args : hand) {
    Add(out, "cmsgpack_hand_" + std::to_string(i++), CaseKind::kLibrary,
        "local ok, p = pcall(cmsgpack.pack, " + args + ")\n"
        "if not ok then return dump({'pack error', p}) end\n"
        "return dump({#p < 2000 and hx(p) or hx(string.sub(p, 1, 64)) .. ' len ' .. #p, {pcall(cmsgpack.unpack, p)}})\n");
  }
  Add(out, "cmsgpack_pack_noargs", CaseKind::kLibrary, "return dump({pcall(cmsgpack.pack)})\n");
  Add(out, "cmsgpack_fields", CaseKind::kLibrary,
      "return dump({cmsgpack._NAME, cmsgpack._VERSION, cmsgpack._COPYRIGHT, cmsgpack._DESCRIPTION})\n");
  const std::vector<std::string> unpacks = {
      "cmsgpack.unpack, ''", "cmsgpack.unpack_one, ''", "cmsgpack.unpack, '\\193'", "cmsgpack.unpack, '\\205\\1'",
      "cmsgpack.unpack_one, '\\1\\2\\3'", "cmsgpack.unpack_one, '\\1\\2\\3', 1", "cmsgpack.unpack_one, '\\1\\2\\3', 2",
      "cmsgpack.unpack_one, '\\1\\2\\3', 3", "cmsgpack.unpack_one, '\\1\\2\\3', 4", "cmsgpack.unpack_one, '\\1\\2\\3', -1",
      "cmsgpack.unpack_limit, '\\1\\2\\3', 0", "cmsgpack.unpack_limit, '\\1\\2\\3', 2", "cmsgpack.unpack_limit, '\\1\\2\\3', 2, 2",
      "cmsgpack.unpack_limit, '\\1\\2\\3', -1", "cmsgpack.unpack_limit, '\\1\\2\\3'", "cmsgpack.unpack, '\\129\\192\\1'",
      "cmsgpack.unpack_one", "cmsgpack.unpack_one, '\\1', 'x'", "cmsgpack.unpack, '\\196\\2ab'",
      "cmsgpack.unpack, '\\199\\1\\1a'", "cmsgpack.unpack, '\\220\\0\\2\\1\\192'", "cmsgpack.unpack, '\\221\\0\\0\\0\\2\\192\\1'",
      "cmsgpack.unpack, '\\221\\255\\255\\255\\255'", "cmsgpack.unpack, '\\203\\127\\248\\0\\0\\0\\0\\0\\0'",
      "cmsgpack.unpack, '\\207\\255\\255\\255\\255\\255\\255\\255\\255'", "cmsgpack.unpack, '\\211\\128\\0\\0\\0\\0\\0\\0\\0'",
      "cmsgpack.unpack, '\\217\\3abc\\218\\0\\1z\\219\\0\\0\\0\\2zz'", "cmsgpack.unpack, '\\129\\203\\127\\248\\0\\0\\0\\0\\0\\0\\1'",
      "cmsgpack.unpack, '\\222\\0\\1\\161a\\1'", "cmsgpack.unpack, '\\223\\0\\0\\0\\1\\161a\\1'", "cmsgpack.unpack, 5",
      "cmsgpack.unpack, {}", "cmsgpack.unpack_limit, '\\1\\2', 1, 5", "cmsgpack.unpack_limit, '\\1\\2\\3\\4', 3, 1",
      "cmsgpack.unpack, '\\212\\1\\1'", "cmsgpack.unpack, '\\216\\1' .. string.rep('a', 16)",
      "cmsgpack.unpack, '\\147\\1\\2'", "cmsgpack.unpack, '\\1\\2\\3', 'extra'"};
  i = 0;
  for (const auto& args : unpacks) {
    Add(out, "cmsgpack_unpack_" + std::to_string(i++), CaseKind::kLibrary, "return dump({pcall(" + args + ")})\n");
  }
  // Stack limits: nesting and result counts at Redis's exact thresholds.
  const std::vector<std::string> limits = {
      "string.rep('\\145', 3999) .. '\\1'", "string.rep('\\145', 4000) .. '\\1'",
      "string.rep('\\129\\1', 3999) .. '\\1'", "string.rep('\\129\\1', 4000) .. '\\1'",
      "string.rep('\\1', 7999)", "string.rep('\\1', 8000)", "string.rep('\\129\\145\\1', 3998) .. '\\1'",
      "string.rep('\\129\\145\\1', 3999) .. '\\1'", "string.rep('\\146\\1', 3999) .. '\\1'",
      "string.rep('\\146\\1', 4000) .. '\\1'"};
  i = 0;
  for (const auto& s : limits) {
    Add(out, "cmsgpack_limit_" + std::to_string(i++), CaseKind::kLibrary,
        "local r = {pcall(cmsgpack.unpack, " + s + ")}\nreturn dump({r[1], type(r[2]) == 'string' and r[2] or type(r[2]), table.maxn(r)})\n");
  }
  Add(out, "cmsgpack_limit_unpack_limit", CaseKind::kLibrary,
      "local r = {pcall(cmsgpack.unpack_limit, string.rep('\\1', 9000), 7998)}\nreturn dump({r[1], r[2], table.maxn(r)})\n");
  Add(out, "cmsgpack_limit_unpack_limit2", CaseKind::kLibrary,
      "local r = {pcall(cmsgpack.unpack_limit, string.rep('\\1', 9000), 7999)}\nreturn dump({r[1], r[2], table.maxn(r)})\n");
  // Generated values: byte-exact packs and round trips.
  for (int n = 0; n < 150; ++n) {
    std::string args = g.Value(g.Int(0, 4));
    if (g.Int(0, 3) == 0) args += ", " + g.Value(2);
    Add(out, "cmsgpack_gen_" + std::to_string(n), CaseKind::kLibrary,
        "local ok, p = pcall(cmsgpack.pack, " + args + ")\n"
        "if not ok then return dump({'pack error', p}) end\n"
        "return dump({#p < 3000 and hx(p) or #p, {pcall(cmsgpack.unpack, p)}, {pcall(cmsgpack.unpack_one, p)}, "
        "{pcall(cmsgpack.unpack_limit, p, 1, 1)}})\n");
  }
  // Generated bytes: decoding of arbitrary and truncated input.
  for (int n = 0; n < 60; ++n) {
    std::string bytes;
    const int k = g.Int(1, 12);
    for (int j = 0; j < k; ++j) {
      bytes += static_cast<char>(g.Pick<int>({0x01, 0x7f, 0x80, 0x81, 0x91, 0x92, 0xa1, 0xa3, 0xc0, 0xc1, 0xc2,
                                              0xc3, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3,
                                              0xd9, 0xda, 0xdc, 0xde, 0xe0, 0xff, g.Int(0, 255)}));
    }
    Add(out, "cmsgpack_bytes_" + std::to_string(n), CaseKind::kLibrary,
        "local s = " + Quote(bytes) + "\nreturn dump({{pcall(cmsgpack.unpack, s)}, {pcall(cmsgpack.unpack_limit, s, 2)}})\n");
  }
}

// ---- cjson -------------------------------------------------------------------------------------

void CjsonCases(Gen& g, std::vector<LuaCase>& out) {
  std::vector<std::string> texts = {
      "{}", "[]", "null", "true", "false", "0", "-0", "1.5", "1e400", "-1e400", "0x10", "-0x10", "007",
      "+1", "inf", "-inf", "nan", "NaN", "Infinity", "-Infinity", "1.", "-.5", ".5", "1e", "0x", "[1,]",
      "{\"a\":1,}", "{\"a\" 1}", "{1:2}", "[1 2]", "\"\\u00e9\"", "\"\\ud83d\\ude00\"", "\"\\ud83d\"",
      "\"\\ude00\"", "\"\\u0000x\"", "\"\\x\"", "\"\\/\"", "\"a\tb\"", "\"a\x10" "b\"", "\"\xff\xfe\"",
      "\"\x01\x1f\x7f\"", "{\"a\":1}\x00garbage", "\x00", "[1]\x00", "\"abc", "[1", "{\"a\":", " \t\r\n[1] \n",
      "\f[1]", "[1]\v", "{\"a\":1,\"a\":2}", "[[[]]]", "{\"\":{}}", "12345678901234567890",
      "0.1", "123456789012345.678", "1e-320", "[true,false,null]", "{\"k\":null}", "truex", "nul",
      "[1,2,3,null]", "\"\\uD834\\uDD1E\"", "\"\\u12\"", "\"\\uzzzz\"", "[\"\\b\\f\\n\\r\\t\"]", "",
      " ", "[-]", "[--1]", "[1e5, 1E+5, 1e-5]", "{\"a\":[{},{\"b\":[]}]}", "\"\\\"\\\\\"",
      "[0x1p3]", "[1.5e3]", "{\"alert_count\":1,\"first_seen\":1,\"last_seen\":1,\"overflow\":0,\"resources\":[\"a\tb\",\"\xff\"]}"};
  texts.push_back(Nest("[", 999, "1", "]"));
  texts.push_back(Nest("[", 1000, "1", "]"));
  texts.push_back(Nest("[", 1001, "1", "]"));
  texts.push_back(Nest("{\"a\":", 1000, "1", "}"));
  texts.push_back(Nest("{\"a\":", 1001, "1", "}"));
  // Generated: valid JSON with lenient mutations.
  for (int n = 0; n < 60; ++n) {
    std::string t = "{";
    const int fields = g.Int(0, 4);
    for (int k = 0; k < fields; ++k) {
      if (k) t += ",";
      t += "\"f" + std::to_string(g.Int(0, 9)) + "\":";
      switch (g.Int(0, 5)) {
        case 0: t += g.Pick<std::string>({"1", "-2.5", "1e3", "0x1f", "00", "+3", "1.", "-0", "123456789012345678"}); break;
        case 1: t += "\"" + g.Pick<std::string>({"a", "\t", "\x10", "\xff", "\\u00e9", "\\n", "x\x01y"}) + "\""; break;
        case 2: t += "[" + g.Pick<std::string>({"", "1", "1,2", "null", "[]", "{}", "\"a\",[1]"}) + "]"; break;
        case 3: t += g.Pick<std::string>({"true", "false", "null"}); break;
        case 4: t += "{}"; break;
        default: t += g.Pick<std::string>({"[1,]", "tru", "\"open", "1e", "nan", "inf"}); break;
      }
    }
    t += g.Pick<std::string>({"}", "}", "} ", "}\n", "},", "}x"});
    texts.push_back(t);
  }
  int i = 0;
  for (const auto& t : texts) {
    Add(out, "cjson_decode_" + std::to_string(i++), CaseKind::kLibrary,
        "local ok, v = pcall(cjson.decode, " + Quote(t) + ")\n"
        "if not ok then return dump({'decode error', v}) end\n"
        "local ok2, e = pcall(cjson.encode, v)\n"
        "if type(v) == 'table' and #" + Quote(t) + " > 4000 then return dump({ok2, #e}) end\n"
        "return dump({v, ok2, e})\n");
  }
  const std::vector<std::string> values = {
      "{}", "{1,2,3}", "{1,nil,3}", "{[1]=1,[2]=2,[4]=4}", "{[1]=1,[20]=2}", "{[1]=1,[11]=2}",
      "{[1]=1,[10]=2}", "{a=1,[1]=2}", "{[1.5]=1}", "{[-1]=1}", "{[0]=1}", "0.1+0.2", "1/3", "1e15",
      "1e16", "123456789012345678", "2^53", "-0.0", "0/0", "1/0", "-1/0", "'a/b'", "'\\0\\1\\31\\127\\255'",
      "'\"\\\\'", "cjson.null", "{cjson.null}", "{a=cjson.null}", "true", "math.floor", "{f=math.floor}",
      "{[true]=1}", "3.14159265358979", "100000000000000", "0.00001", "{{},{{}}}", "'\\u00e9'",
      "(function() local t = 1 for i = 1, 1000 do t = {t} end return t end)()",
      "(function() local t = 1 for i = 1, 1001 do t = {t} end return t end)()", "{x={y={z={1,2,{a='b'}}}}}", "-123.456e-10"};
  i = 0;
  for (const auto& v : values) {
    Add(out, "cjson_encode_" + std::to_string(i++), CaseKind::kLibrary,
        "local ok, e = pcall(cjson.encode, " + v + ")\nif ok and #e > 200 then e = #e end\nreturn dump({ok, e})\n");
  }
  Add(out, "cjson_null_identity", CaseKind::kLibrary,
      "return dump({cjson.decode('null') == cjson.null, cjson.decode('[null]')[1] == cjson.null, type(cjson.null)})\n");
  Add(out, "cjson_decode_types", CaseKind::kLibrary,
      "local v = cjson.decode('{\"a\":[1,\"2\",true,null,{}]}')\n"
      "return dump({type(v.a[1]), type(v.a[2]), type(v.a[3]), type(v.a[4]), type(v.a[5]), #v.a})\n");
  Add(out, "cjson_decode_nonstring", CaseKind::kLibrary,
      "return dump({{pcall(cjson.decode)}, {pcall(cjson.decode, 5)}, {pcall(cjson.decode, {})}, {pcall(cjson.decode, '1', '2')}})\n");
}

// ---- bit, numbers, strings ---------------------------------------------------------------------

void BitAndConversionCases(Gen& g, std::vector<LuaCase>& out) {
  const std::vector<std::string> ops = {"band", "bor", "bxor", "lshift", "rshift", "arshift", "rol", "ror"};
  const std::vector<std::string> vals = {"0", "1", "-1", "2^31", "2^32", "2^32+5", "-2^31", "1.5", "-1.5",
                                         "2.5", "2^52+0.5", "0x7fffffff", "0xffffffff", "255", "2^53", "1e20",
                                         "0/0", "1/0", "'7'", "-0.0"};
  for (int n = 0; n < 60; ++n) {
    const std::string a = g.Pick(vals), b = g.Pick(vals);
    Add(out, "bit_gen_" + std::to_string(n), CaseKind::kLibrary,
        "return dump({pcall(bit." + g.Pick(ops) + ", " + a + ", " + b + "), pcall(bit.bnot, " + a +
            "), pcall(bit.tobit, " + a + "), pcall(bit.bswap, " + a + "), pcall(bit.tohex, " + a + ", " +
            g.Pick<std::string>({"nil", "1", "4", "8", "-4", "-8", "9", "0"}) + ")})\n");
  }
  Add(out, "bit_misc", CaseKind::kLibrary,
      "return dump({bit.band(1,3,7), pcall(bit.bor), pcall(bit.band), pcall(bit.band, 'x'), bit.tohex(-1), bit.lshift(1, 33), bit.rshift(-1, 0)})\n");
  const std::vector<std::string> exprs = {
      "tonumber('0x10')", "tonumber(' 5 ')", "tonumber('1e1')", "tonumber('5x')", "tonumber('')", "tonumber('  ')",
      "tonumber('0x')", "tonumber('1e')", "tonumber('inf')", "tonumber('nan')", "tonumber('-0x10')", "tonumber('10', 2)",
      "tonumber('zz', 36)", "tonumber('8', 8)", "tonumber(nil)", "tostring(0.1+0.2)", "tostring(1e15)", "tostring(1e16)",
      "tostring(123456789012345678)", "tostring(-0.0)", "tostring(0/0)", "tostring(1/0)", "tostring(2^63)",
      "string.format('%d', 2^53)", "string.format('%d', 3.7)", "string.format('%d', -3.7)", "string.format('%.14g', 0.1)",
      "string.format('%5.2f|%-5d|%x|%X|%o|%e|%g|%c|%q', 3.14159, 42, 255, 255, 8, 12345.678, 0.0001, 65, 'a\\n\\0b\"')",
      "string.format('%s %s', 1, 1.5)", "string.format('%d', '12')", "pcall(string.format, '%d', 'x')",
      "pcall(string.format, '%y', 1)", "string.rep('ab', 3, ',')", "string.sub('hello', -3)", "string.sub('hello', 2, 100)",
      "string.byte('abc', 1, -1)", "string.char(72, 105)", "pcall(string.char, 256)", "string.find('a.b', '.', 1, true)",
      "string.find('abc', 'b()')", "string.gsub('hello world', 'o', '0', 1)", "string.gsub('abc', '%w', '%0%0')",
      "string.match('key=val', '(%w+)=(%w+)')", "string.upper('aBc'), string.lower('AbC'), string.len('\\0\\0')",
      "string.reverse('abc')", "math.floor(-3.5), math.ceil(-3.5), math.fmod(7, -3), math.abs(-2^63)",
      "math.max(1, 5, 3), math.min(4, -1), math.huge, -math.huge, math.pi", "math.sqrt(2), math.pow(2, 0.5), 2^0.5",
      "math.modf(3.7)", "math.frexp(8), math.ldexp(0.5, 4)", "7 % -3, -7 % 3, 7.5 % 2", "pcall(function() return 1 + {} end)",
      "pcall(function() return #nil end)", "pcall(function() return ('x')() end)", "pcall(function() return nil .. 'a' end)",
      "1 == 1.0, '1' == 1, 0.1 + 0.2 == 0.3", "select('#', 1, nil, 3, nil)", "select(2, 'a', 'b', 'c')", "unpack({1, 2, 3})",
      "unpack({1, nil, 3})", "table.concat({1, 2, 3}, '-')", "pcall(table.concat, {1, {}, 3})",
      "(function() local t = {5, 2, 8, 1} table.sort(t) return t end)()",
      "(function() local t = {5, 2, 8, 1} table.sort(t, function(a, b) return a > b end) return t end)()",
      "(function() local t = {1, 2, 3} table.insert(t, 2, 9) table.remove(t) return t end)()",
      "#{1, 2, 3, nil, 5}", "#{nil, nil, 3}", "table.maxn({1, [10] = 2})", "pcall(error, 'plain')", "pcall(error, 'lvl', 0)",
      "pcall(error, {code = 1})", "pcall(error)", "pcall(error, 42)", "select(2, pcall(error, setmetatable({}, {__tostring = function() return 'custom' end})))",
      "xpcall(function() error('x') end, function(m) return 'handled: ' .. m end)", "type(_G), type(_VERSION), _VERSION",
      "type(loadstring), type(collectgarbage)",
      "tostring(nil), tostring(true), tostring(12), tostring('s')", "math.floor(2^31 + 0.5), math.floor(-2^31 - 0.5)",
      "string.format('%.17g', 0.1), string.format('%.3f', 2.0005)", "string.format('%5s|%-5s|', 'a', 'b')"};
  int i = 0;
  for (const auto& e : exprs) {
    Add(out, "lua_expr_" + std::to_string(i++), CaseKind::kLibrary, "return dump({" + e + "})\n");
  }
}

// ---- the engine: conversions, redis.*, sandbox, error texts ------------------------------------

// Left out on purpose: `error({})` (a table without an err field) crashes Redis 7.0.15 itself
// (SIGSEGV in luaCallFunction formatting the error), so it cannot be a reference case.
void EngineCases(std::vector<LuaCase>& out) {
  const std::vector<std::string> bodies = {
      "return 3.7", "return -3.7", "return 2^63", "return -2^63", "return 0/0", "return 1e300", "return {1, 2, nil, 3}",
      "return true", "return false", "return nil", "return {ok = 'fine'}", "return {err = 'bad thing'}",
      "return {err = 'MYCODE detail'}", "return redis.error_reply('My Error')", "return redis.error_reply('-X y')",
      "return redis.status_reply('STATUSY')", "return {1, {2, {3, {}}}}", "return 'x'", "return {1.9, '2', true, false, 'a'}",
      "return {ok = 1}", "return {err = 5}", "return {err = 'e', ok = 'o'}", "return {[1] = 'a', x = 'b'}",
      "return {'a', nil, 'b'}", "return {x = 1}", "return cjson.null", "return {cjson.null}", "return math.floor",
      "return ''", "return '\\0\\1'", "return 1, 2", "return {{}}",
      "redis.call('SET', 'k', 'v') return redis.call('GET', 'k')", "return redis.call('GET', 'nokey')",
      "return {redis.call('GET', 'nokey')}", "return type(redis.call('GET', 'nokey'))",
      "redis.call('SET', 'k', 'v') return redis.call('INCR', 'k')",
      "redis.call('SET', 'k', 'v') local ok, e = pcall(redis.call, 'INCR', 'k') return {tostring(ok), type(e), type(e) == 'table' and e.err or e}",
      "redis.call('SET', 'k', 'v') local r = redis.pcall('INCR', 'k') return {type(r), r.err}",
      "redis.call('SET', 'k', 'v') return redis.pcall('INCR', 'k')", "return redis.call('SET', 'k', {})",
      "return redis.call('SET', 'k', 1.5)", "redis.call('SET', 'k', 1.5) return redis.call('GET', 'k')",
      "redis.call('SET', 'k', 10) return redis.call('GET', 'k')", "return redis.call('SET', 'k', true)",
      "return redis.call('SET', 'k', nil)", "return redis.call()", "return redis.pcall()", "return redis.call('NOSUCHCMD')",
      "return redis.call('GET')", "return redis.call('get', 'k', 'x')", "return redis.call('EVAL', 'return 1', '0')",
      "return redis.call('MULTI')", "return redis.call('SUBSCRIBE', 'c')", "return redis.call('PING')",
      "return type(redis.call('PING'))", "return redis.call('PING').ok", "redis.call('HSET', 'h', 'a', '1', 'b', '2') return redis.call('HGETALL', 'h')",
      "redis.call('RPUSH', 'l', 'a', 'b') return redis.call('LRANGE', 'l', 0, -1)", "return redis.call('DEL', 'a', 'b')",
      "redis.call('ZADD', 'z', 1.5, 'm') return redis.call('ZSCORE', 'z', 'm')", "return redis.call('EXISTS', 'k')",
      "redis.call('SET', 'k', 'v') return redis.call('TYPE', 'k')", "return redis.call('TYPE', 'k')['ok']",
      "redis.setresp(3) redis.call('HSET', 'h', 'a', '1') return redis.call('HGETALL', 'h')",
      "redis.setresp(3) local r = redis.call('HGETALL', 'nokey') return type(r.map)",
      "redis.setresp(3) return redis.call('GET', 'nokey')", "redis.setresp(3) return type(redis.call('GET', 'nokey'))",
      "return redis.setresp(4)", "return redis.setresp()", "return redis.sha1hex('abc')", "return redis.sha1hex('')",
      "return redis.sha1hex()", "return redis.log(redis.LOG_WARNING, 'from the corpus')",
      "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}", "return redis.log(99, 'x')",
      "return redis.log(redis.LOG_WARNING)", "return {math.random(100), math.random(100), math.random(1, 6)}",
      "return tostring(math.random())", "math.randomseed(7) return {math.random(1000), math.random(1000)}",
      "return tostring(math.random(0))", "return redis.REDIS_VERSION", "return type(redis.REDIS_VERSION_NUM)",
      "return redis.breakpoint()", "return redis.debug('x')", "return type(redis.replicate_commands)", "return redis.replicate_commands()",
      "return redis.set_repl(redis.REPL_ALL)", "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}",
      "error('plain message')", "error('no position', 0)", "error({err = 'TABLEERR with code'})", "error()", "error(42)",
      "local t = nil return t.x", "return 1 + {}", "return #nil", "return nil .. 'x'", "return (", "return 1 +", "x = ",
      "return os", "return io", "return print", "return dofile", "return loadfile", "return package", "return require",
      "return module", "return undefined_global", "x = 5 return x", "_G.x = 5 return 1", "rawset(_G, 'x', 5) return x",
      "setmetatable(_G, nil) return 1", "return getmetatable(_G) ~= nil", "return pcall(function() undefined() end)",
      "string.format = nil return 1", "cjson.encode = nil return 1", "redis.call = nil return 1", "math.x = 1 return 1",
      "return type(loadstring)", "return loadstring('return 1')()", "return loadstring('return os')()",
      "local f = loadstring('x = 1') return pcall(f)", "return type(getfenv)", "return type(setfenv)",
      "return type(debug)", "return type(debug.getinfo)", "return type(collectgarbage)", "return type(newproxy)",
      "return type(gcinfo)", "return type(unpack), type(module), type(select), type(xpcall)",
      "return type(coroutine)", "return type(bit), type(struct), type(cmsgpack), type(cjson)",
      "return {type(string.dump), type(string.gfind)}", "local t = {} for k in pairs(_G) do t[#t + 1] = k end table.sort(t) return t",
      "local t = {} for k in pairs(redis) do t[#t + 1] = k end table.sort(t) return t",
      "local t = {} for k in pairs(string) do t[#t + 1] = k end table.sort(t) return t",
      "local t = {} for k in pairs(math) do t[#t + 1] = k end table.sort(t) return t",
      "local t = {} for k in pairs(table) do t[#t + 1] = k end table.sort(t) return t",
      "local t = {} for k in pairs(cjson) do t[#t + 1] = k end table.sort(t) return t",
      "local t = {} for k in pairs(bit) do t[#t + 1] = k end table.sort(t) return t",
      "local t = {} for k in pairs(debug) do t[#t + 1] = k end table.sort(t) return t",
      "return getmetatable('').__index == string", "getmetatable('').__index = {} return 1", "return ('x'):rep(3)",
      "return KEYS", "return ARGV", "return #KEYS", "KEYS[1] = 'x' return KEYS[1]", "return cjson.encode({1, 2})",
      "return cjson.decode('[1, 2.7, \"3\"]')", "return cjson.decode('{\"a\":1}')", "return cjson.encode(cjson.decode('{\"a\":[]}'))",
      "cjson.encode_sparse_array(true) return 1", "return cjson.encode_keep_buffer(false)", "return cjson.decode_max_depth(5)",
      "return struct.pack('>I2', 258)", "return {struct.unpack('>I2', 'ab')}", "return cmsgpack.pack({1, 2})",
      "return cmsgpack.unpack(cmsgpack.pack({1, 'a', {b = 2}}))", "return bit.band(0xff, 0x0f)", "return bit.tohex(255)",
      "local i = 0 while i < 100000 do i = i + 1 end return i", "local t = {} for i = 1, 1000 do t[i] = i end return #t",
      "return string.rep('x', 10)", "return redis.call('SET', 'k', string.rep('x', 100000))",
      "#!lua flags=no-writes\nreturn redis.call('GET', 'k')", "#!lua flags=no-writes\nreturn redis.call('SET', 'k', 'v')",
      "#!lua flags=no-writes\nreturn redis.pcall('SET', 'k', 'v')", "#!lua flags=allow-oom\nreturn 1", "#!lua flags=bogus\nreturn 1",
      "#!lua\nreturn 1", "#!lua name=x\nreturn 1", "#!notlua\nreturn 1", "#!lua flags=no-writes,allow-oom\nreturn 2",
      "return redis.call('SET', 'k', 'v', 'PX', '0')", "return redis.call('INCRBYFLOAT', 'f', '1.5')",
      "return redis.call('TIME') ~= nil", "return redis.call('DBSIZE')", "return redis.call('SELECT', 1)",
      "return redis.call('HGET', 'nokey', 'f')", "return {redis.call('HMGET', 'nokey', 'a', 'b')}",
      "return redis.call('HMGET', 'nokey', 'a', 'b')", "return #redis.call('HMGET', 'nokey', 'a', 'b')"};
  int i = 0;
  for (const auto& b : bodies) Add(out, "engine_" + std::to_string(i++), CaseKind::kEngine, b);
}

}  // namespace

const std::string& CorpusPrelude() {
  static const std::string kPrelude =
      "local function hx(s) return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end)) end\n"
      "local function dump(v, seen)\n"
      "  local t = type(v)\n"
      "  if v == cjson.null then return 'null' end\n"
      "  if t == 'string' then\n"
      "    if #v > 300 then return 'string#' .. #v .. ':' .. hx(string.sub(v, 1, 40)) end\n"
      "    return '\"' .. hx(v) .. '\"'\n"
      "  elseif t == 'number' then return string.format('%.17g', v)\n"
      "  elseif t == 'table' then\n"
      "    seen = (seen or 0) + 1\n"
      "    if seen > 40 then return '{...}' end\n"
      "    local keys = {}\n"
      "    for k in pairs(v) do keys[#keys + 1] = k end\n"
      "    if #keys > 200 then return 'table#' .. #keys end\n"
      "    local ks = {}\n"
      "    for i = 1, #keys do ks[i] = {dump(keys[i], seen), keys[i]} end\n"
      "    table.sort(ks, function(a, b) return a[1] < b[1] end)\n"
      "    local parts = {}\n"
      "    for i = 1, #ks do parts[i] = ks[i][1] .. '=' .. dump(v[ks[i][2]], seen) end\n"
      "    return '{' .. table.concat(parts, ',') .. '}'\n"
      "  elseif t == 'nil' or t == 'boolean' then return tostring(v)\n"
      "  end\n"
      "  return t\n"
      "end\n";
  return kPrelude;
}

std::vector<LuaCase> BuildCorpus(uint32_t seed) {
  Gen g(seed);
  std::vector<LuaCase> out;
  StructCases(g, out);
  CmsgpackCases(g, out);
  CjsonCases(g, out);
  BitAndConversionCases(g, out);
  EngineCases(out);
  return out;
}

}  // namespace stormkv::testing_lua
