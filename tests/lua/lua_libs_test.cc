// stormkv's struct and cmsgpack libraries on a bare Lua 5.1 state (label `lua`, no Redis): round
// trips of thousands of random values, and byte-exact packs and error texts recorded from Redis
// 7.0.15 (redis-cli EVAL; lua_fidelity_test compares the whole corpus with a live server).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "common/test_util.h"
#include "lua/lua_corpus.h"
#include "lua/plain_lua.h"

namespace stormkv::testing_lua {
namespace {

// Runs `code` after the corpus prelude and returns its reply.
Reply RunLua(const std::string& code) {
  Result<Reply> r = RunPlainLua(CorpusPrelude() + code);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : Reply::Nil();
}

std::string Str(const std::string& code) {
  Reply r = RunLua(code);
  return r.is_bulk() ? r.str() : r.ToString();
}

TEST(LuaStruct, PacksAsRedis) {
  // Expected bytes recorded on Redis 7.0.15 (struct.pack through EVAL, hex).
  EXPECT_EQ(Str("return hx(struct.pack('I8', 0/0))"), "0000000000000080");
  EXPECT_EQ(Str("return hx(struct.pack('I8', 2^63 + 2^12))"), "0010000000000080");
  EXPECT_EQ(Str("return hx(struct.pack('I8', 2^64))"), "0000000000000000");
  EXPECT_EQ(Str("return hx(struct.pack('f', 1e300))"), "0000807f");
  EXPECT_EQ(Str("return hx(struct.pack('>d', 1.5))"), "3ff8000000000000");
  EXPECT_EQ(Str("return hx(struct.pack('b!4i', 1, 2))"), "0100000002000000");
  EXPECT_EQ(Str("return hx(struct.pack('!2bI3', 1, 2))"), "0100020000");
  EXPECT_EQ(Str("return hx(struct.pack('!4bI3', 1, 2))"), "010000020000");
  EXPECT_EQ(Str("return hx(struct.pack('!4bI6', 1, 2))"), "01000000020000000000");
  EXPECT_EQ(Str("return hx(struct.pack('!4bs', 1, 'xy'))"), "01787900");
  EXPECT_EQ(Str("return hx(struct.pack('!8bT', 1, 2))"), "01000000000000000200000000000000");
  EXPECT_EQ(Str("return hx(struct.pack('<i9', -2))"), "feffffffffffffff00");
  EXPECT_EQ(Str("return hx(struct.pack('>I10', -2))"), "0000fffffffffffffffe");
  EXPECT_EQ(Str("return dump({struct.unpack('>i9', '\\255\\1\\2\\3\\4\\5\\6\\7\\8')})"), "{1=-120,2=10}");
  EXPECT_EQ(Str("return dump({struct.unpack('<i9', '\\255\\1\\2\\3\\4\\5\\6\\7\\200')})"), "{1=-1,2=10}");
  EXPECT_EQ(Str("return dump({struct.size('!4bi8'), struct.size('!4bc3i'), struct.size('q'), struct.size('!bd')})"),
            "{1=12,2=8,3=0,4=16}");
}

TEST(LuaStruct, ErrorsAsRedis) {
  const char* cases[][2] = {
      {"struct.size('s')", "user_script:1: bad argument #1 to 'size' (option 's' has no fixed size)"},
      {"struct.size('c0')", "user_script:1: bad argument #1 to 'size' (option 'c0' has no fixed size)"},
      {"struct.size('=i')", "user_script:1: bad argument #1 to 'size' (invalid format option '=')"},
      {"struct.size('i33')", "user_script:1: integral size 33 is larger than limit of 32"},
      {"struct.size('!3i')", "user_script:1: alignment 3 is not a power of 2"},
      {"struct.pack('c3', 'ab')", "user_script:1: bad argument #3 to 'pack' (string too short)"},
      {"struct.pack('i', {})", "user_script:1: bad argument #2 to 'pack' (number expected, got table)"},
      {"struct.unpack('i', 'abc')", "user_script:1: bad argument #2 to 'unpack' (data string too short)"},
      {"struct.unpack('c0', 'abc')", "user_script:1: format 'c0' needs a previous size"},
      {"struct.unpack('i', 'abcd', 0)", "user_script:1: bad argument #3 to 'unpack' (offset must be 1 or greater)"},
      {"struct.unpack('s', 'abcd')", "user_script:1: unfinished string in data"},
      {"struct.size('i99999999999')", "user_script:1: integral size overflow"},
      {"struct.pack('Xi', 1)", "user_script:1: bad argument #1 to 'pack' (invalid format option 'X')"},
  };
  for (const auto& c : cases) {
    // No prelude: the error's line is the script's first.
    Result<Reply> r = RunPlainLua(std::string("local ok, e = pcall(function() return ") + c[0] + " end) return e");
    EXPECT_TRUE(r.ok() && *r == Reply::Bulk(c[1])) << c[0] << ": " << (r.ok() ? r->ToString() : r.status().message());
  }
}

TEST(LuaStruct, RoundTripsRandomIntegers) {
  // 6,000 values per run: every integer type and width, both endians, mixed alignment.
  Reply r = RunLua(R"(
local fails, n = {}, 0
local kinds = {{'b', 1, true}, {'B', 1, false}, {'h', 2, true}, {'H', 2, false}, {'i', 4, true},
               {'I', 4, false}, {'i3', 3, true}, {'I5', 5, false}, {'i7', 7, true}, {'l', 8, true}}
math.randomseed(42)
for iter = 1, 600 do
  for _, k in ipairs(kinds) do
    local bits = math.min(k[2] * 8, 53)
    local v = math.floor(math.random() * (k[3] and 2^(bits - 1) or 2^bits))
    if k[3] and math.random(2) == 1 then v = -v - 1 end
    for _, e in ipairs({'<', '>'}) do
      local fmt = e .. '!4b' .. k[1] .. 'd'
      local s = struct.pack(fmt, 7, v, v / 3)
      local a, b, c, nxt = struct.unpack(fmt, s)
      n = n + 1
      if a ~= 7 or b ~= v or c ~= v / 3 or nxt ~= #s + 1 or #s ~= struct.size(fmt) then
        fails[#fails + 1] = fmt .. ' ' .. v
      end
    end
  end
end
return {n, #fails, fails[1] or ''}
)");
  ASSERT_TRUE(r.is_array()) << r;
  EXPECT_EQ(r.elements()[0], Reply::Integer(12000));
  EXPECT_EQ(r.elements()[1], Reply::Integer(0)) << r.elements()[2];
}

TEST(LuaCmsgpack, PacksAsRedis) {
  // Recorded on Redis 7.0.15.
  EXPECT_EQ(Str("return hx(cmsgpack.pack(1,-1,-32,-33,127,128,255,256,65535,65536,2^32-1,2^32,"
                "-128,-129,-32768,-32769,-2^31,-2^31-1))"),
            "01ffe0d0df7fcc80ccffcd0100cdffffce00010000ceffffffffcf0000000100000000d080d1ff7fd18000"
            "d2ffff7fffd280000000d3ffffffff7fffffff");
  EXPECT_EQ(Str("return hx(cmsgpack.pack(2^63, -2^63, 2^53+1, 0.5, 0.1, 1/0, -1/0, 0/0, -0.0))"),
            "ca5f000000d38000000000000000cf0020000000000000ca3f000000cb3fb999999999999aca7f800000"
            "caff800000cbfff800000000000000");
  EXPECT_EQ(Str("return hx(cmsgpack.pack({}, {1,2}, {a=1}, {[1]=1,[3]=3}, {1,nil,3}, true, false, nil))"),
            "9092010281a1610182010103038201010303c3c2c0");
  EXPECT_EQ(Str("return hx(cmsgpack.pack({[1.5]=1}, {[0]=1}, {[-1]=2}))"), "81ca3fc000000181000181ff02");
  EXPECT_EQ(Str("return hx(cmsgpack.pack({{{{{{{{{{{{{{{{{{1}}}}}}}}}}}}}}}}}}))"),
            "91919191919191919191919191919191c0");
  EXPECT_EQ(Str("return hx(cmsgpack.pack(string.rep('b', 32)))").substr(0, 6), "d92062");
}

TEST(LuaCmsgpack, UnpackVariantsAndErrorsAsRedis) {
  const char* cases[][2] = {
      {"pcall(cmsgpack.pack)", "{1=false,2=\"" "bad argument #0 to '?' (MessagePack pack needs input.)" "\"}"},
      {"pcall(cmsgpack.unpack, '\\193')", "{1=false,2=\"Bad data format in input.\"}"},
      {"pcall(cmsgpack.unpack, '\\205\\1')", "{1=false,2=\"Missing bytes in input.\"}"},
      {"cmsgpack.unpack_one('\\1\\2\\3')", "{1=1,2=1}"},
      {"cmsgpack.unpack_one('\\1\\2\\3', 2)", "{1=-1,2=3}"},
      {"cmsgpack.unpack_one('\\1\\2\\3', 3)", "{1=-1}"},
      {"pcall(cmsgpack.unpack_one, '\\1\\2\\3', 4)", "{1=false,2=\"Start offset 4 greater than input length 3.\"}"},
      {"pcall(cmsgpack.unpack_one, '\\1\\2\\3', -1)",
       "{1=false,2=\"Invalid request to unpack with offset of -1 and limit of 3.\"}"},
      {"cmsgpack.unpack_limit('\\1\\2\\3', 0)", "{1=1,2=2,3=3}"},
      {"cmsgpack.unpack_limit('\\1\\2\\3', 2)", "{1=2,2=1,3=2}"},
      {"cmsgpack.unpack_limit('\\1\\2\\3', 2, 2)", "{1=-1,2=3}"},
      {"pcall(cmsgpack.unpack, '\\129\\192\\1')", "{1=false,2=\"table index is nil\"}"},
      {"pcall(cmsgpack.unpack, '\\196\\2ab')", "{1=false,2=\"Bad data format in input.\"}"},
  };
  for (const auto& c : cases) {
    // dump() hex-encodes strings; compare against the readable form by decoding them back.
    const std::string got = Str(std::string("local r = {") + c[0] + "} "
                                "local out = {} for i = 1, table.maxn(r) do local v = r[i] "
                                "out[#out + 1] = i .. '=' .. (type(v) == 'string' and '\"' .. v .. '\"' or tostring(v)) end "
                                "return '{' .. table.concat(out, ',') .. '}'");
    EXPECT_EQ(got, c[1]) << c[0];
  }
  // Stack limits at Redis's thresholds.
  EXPECT_EQ(Str("return tostring(pcall(cmsgpack.unpack, string.rep('\\145', 3999) .. '\\1'))"), "true");
  EXPECT_EQ(Str("return select(2, pcall(cmsgpack.unpack, string.rep('\\145', 4000) .. '\\1'))"),
            "stack overflow (in function mp_decode_to_lua_array)");
  EXPECT_EQ(Str("return select(2, pcall(cmsgpack.unpack, string.rep('\\1', 8000)))"),
            "stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)");
  EXPECT_EQ(Str("return select('#', cmsgpack.unpack(string.rep('\\1', 7999)))"), "(integer) 7999");
}

TEST(LuaCmsgpack, RoundTripsRandomValues) {
  Reply r = RunLua(R"(
math.randomseed(7)
local function gen(depth)
  local k = math.random(depth > 0 and 7 or 4)
  if k == 1 then return math.random(-2^30, 2^30) * (math.random(3) == 1 and 2^20 or 1) end
  if k == 2 then return math.random() * 10^math.random(-5, 30) end
  if k == 3 then
    local n = ({0, 1, 31, 32, 255, 256, 70000})[math.random(7)]
    return string.rep(string.char(math.random(0, 255)), n)
  end
  if k == 4 then return math.random(2) == 1 end
  local t = {}
  if k == 5 then
    for i = 1, math.random(0, 20) do t[i] = gen(depth - 1) end
  else
    for i = 1, math.random(0, 20) do t['k' .. math.random(1000)] = gen(depth - 1) end
  end
  return t
end
local function eq(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= 'table' then return a == b end
  for k, v in pairs(a) do if not eq(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end
local fails, n = 0, 0
for i = 1, 1500 do
  local v = gen(3)
  local back = cmsgpack.unpack(cmsgpack.pack(v))
  n = n + 1
  if not eq(v, back) then fails = fails + 1 end
  local a, b = gen(1), gen(1)
  local nxt, x = cmsgpack.unpack_one(cmsgpack.pack(a, b))
  local p = cmsgpack.pack(a)
  if nxt ~= #p or not eq(x, a) then fails = fails + 1 end
end
return {n, fails}
)");
  EXPECT_EQ(r, Reply::Array({Reply::Integer(1500), Reply::Integer(0)}));
}

TEST(LuaCorpus, IsLargeAndNamedUniquely) {
  std::vector<LuaCase> corpus = BuildCorpus(1);
  std::set<std::string> names;
  for (const LuaCase& c : corpus) EXPECT_TRUE(names.insert(c.name).second) << c.name;
  EXPECT_GE(corpus.size(), 700u);
  // Every library case runs to completion on the bare state (its errors are caught inside).
  int failed = 0;
  for (const LuaCase& c : corpus) {
    if (c.kind != CaseKind::kLibrary) continue;
    Result<Reply> r = RunPlainLua(c.body);
    if (!r.ok() && ++failed <= 5) ADD_FAILURE() << c.name << ": " << r.status().message();
  }
  EXPECT_EQ(failed, 0);
}

}  // namespace
}  // namespace stormkv::testing_lua
