// The sandbox: the globals and libraries a script sees, read-only tables, escapes that must
// fail, and state that must not survive from one run to the next. Expected texts and listings
// were observed on redis-server 7.0.15.
#include <gtest/gtest.h>

#include "fake_context.h"
#include "stormkv/lua_engine.h"
#include "stormkv/script.h"

namespace stormkv::luatest {
namespace {

std::string Suffix(const std::string& body, int line = 1) {
  return " script: " + Sha1Hex(body) + ", on @user_script:" + std::to_string(line) + ".";
}

std::vector<Reply> Bulks(std::initializer_list<const char*> names) {
  std::vector<Reply> out;
  for (const char* n : names) out.push_back(Reply::Bulk(n));
  return out;
}

class LuaSandboxTest : public ::testing::Test {
 protected:
  Reply Run(const std::string& body) { return Eval(engine_, host_, body); }
  void ExpectReadonly(const std::string& body, bool with_position = true) {
    std::string pos = with_position ? "user_script:1: " : "";
    EXPECT_EQ(Run(body), Reply::Error("ERR " + pos + "Attempt to modify a readonly table" + Suffix(body)))
        << body;
  }
  void ExpectMissingGlobal(const std::string& name) {
    std::string body = "return type(" + name + ")";
    EXPECT_EQ(Run(body), Reply::Error("ERR user_script:1: Script attempted to access nonexistent global "
                                      "variable '" + name + "'" + Suffix(body)));
  }
  LuaEngine engine_;
  FakeHost host_;
};

TEST_F(LuaSandboxTest, GlobalsAreRedisList) {
  EXPECT_EQ(Run("local t = {} for k,v in pairs(_G) do t[#t+1]=k end table.sort(t) return t"),
            Reply::Array(Bulks({"ARGV", "KEYS", "_G", "_VERSION", "__redis__err__handler", "assert", "bit",
                                "cjson", "cmsgpack", "collectgarbage", "coroutine", "error", "gcinfo",
                                "getmetatable", "ipairs", "load", "loadstring", "math", "next", "pairs",
                                "pcall", "rawequal", "rawget", "rawset", "redis", "select", "setmetatable",
                                "string", "struct", "table", "tonumber", "tostring", "type", "unpack",
                                "xpcall"})));
  EXPECT_EQ(Run("return _VERSION"), Reply::Bulk("Lua 5.1"));
}

TEST_F(LuaSandboxTest, LibraryContentsAreRedisLists) {
  auto list = [&](const char* lib) {
    return Run(std::string("local t = {} for k,v in pairs(") + lib + ") do t[#t+1]=k end table.sort(t) return t");
  };
  EXPECT_EQ(list("redis"),
            Reply::Array(Bulks({"LOG_DEBUG", "LOG_NOTICE", "LOG_VERBOSE", "LOG_WARNING", "REDIS_VERSION",
                                "REDIS_VERSION_NUM", "REPL_ALL", "REPL_AOF", "REPL_NONE", "REPL_REPLICA",
                                "REPL_SLAVE", "acl_check_cmd", "breakpoint", "call", "debug", "error_reply",
                                "log", "pcall", "replicate_commands", "set_repl", "setresp", "sha1hex",
                                "status_reply"})));
  EXPECT_EQ(list("string"), Reply::Array(Bulks({"byte", "char", "dump", "find", "format", "gfind", "gmatch",
                                                "gsub", "len", "lower", "match", "rep", "reverse", "sub",
                                                "upper"})));
  EXPECT_EQ(list("table"), Reply::Array(Bulks({"concat", "foreach", "foreachi", "getn", "insert", "maxn",
                                               "remove", "setn", "sort"})));
  EXPECT_EQ(list("math"), Reply::Array(Bulks({"abs", "acos", "asin", "atan", "atan2", "ceil", "cos", "cosh",
                                              "deg", "exp", "floor", "fmod", "frexp", "huge", "ldexp", "log",
                                              "log10", "max", "min", "mod", "modf", "pi", "pow", "rad",
                                              "random", "randomseed", "sin", "sinh", "sqrt", "tan",
                                              "tanh"})));
  EXPECT_EQ(list("coroutine"),
            Reply::Array(Bulks({"create", "resume", "running", "status", "wrap", "yield"})));
  EXPECT_EQ(list("bit"), Reply::Array(Bulks({"arshift", "band", "bnot", "bor", "bswap", "bxor", "lshift",
                                             "rol", "ror", "rshift", "tobit", "tohex"})));
  Reply cj = list("cjson");
  ASSERT_TRUE(cj.is_array()) << cj;
  EXPECT_GE(cj.elements().size(), 10u) << cj;  // Debian's lua-cjson 2.1.0 (Redis bundles its own)
}

TEST_F(LuaSandboxTest, ForbiddenFunctionsAreMissing) {
  for (const char* g : {"print", "os", "io", "debug", "package", "require", "module", "dofile", "loadfile",
                        "setfenv", "getfenv", "newproxy"}) {
    ExpectMissingGlobal(g);
  }
  EXPECT_EQ(Run("return {type(loadstring), type(load), type(rawset), type(gcinfo), type(collectgarbage), "
                "type(unpack), type(coroutine), type(_G)}"),
            Reply::Array(Bulks({"function", "function", "function", "function", "function", "function",
                                "table", "table"})));
  EXPECT_EQ(Run("return rawget(_G, 'x')"), Reply::Nil());
  EXPECT_EQ(Run("return type(rawget(_G, 'redis'))"), Reply::Bulk("table"));
  std::string b = "return _G[1]";
  EXPECT_EQ(Run(b), Reply::Error("ERR user_script:1: Script attempted to access nonexistent global variable '1'" +
                                 Suffix(b)));
}

TEST_F(LuaSandboxTest, GlobalsAndLibrariesAreReadOnly) {
  ExpectReadonly("x = 1");
  ExpectReadonly("redis = nil");
  ExpectReadonly("_G.redis = nil");
  ExpectReadonly("redis.call = 1");
  ExpectReadonly("string.format = nil");
  ExpectReadonly("string.x = 1");
  ExpectReadonly("table.insert = nil");
  ExpectReadonly("coroutine.x = 1");
  ExpectReadonly("cjson.x = 1");
  ExpectReadonly("math.random = function() return 4 end");
  ExpectReadonly("bit.band = nil");
  ExpectReadonly("getmetatable('').__index = {}");
  ExpectReadonly("getmetatable(_G).__index = nil");
  ExpectReadonly("getmetatable(_G).__newindex = nil");
  ExpectReadonly("rawset(_G, 'a', 1)", false);
  ExpectReadonly("rawset(string, 'a', 1)", false);
  ExpectReadonly("setmetatable(_G, nil)", false);
  ExpectReadonly("return setmetatable(string, {})", false);
  ExpectReadonly("return table.insert(string, 1)", false);
  ExpectReadonly("return table.remove(redis)", false);
  ExpectReadonly("return table.sort(math)", false);
  EXPECT_EQ(Run("return getmetatable('').__index == string"), Reply::Integer(1));
  EXPECT_EQ(Run("return getmetatable(string)"), Reply::Nil());
  EXPECT_EQ(Run("return type(getmetatable(_G))"), Reply::Bulk("table"));
  EXPECT_EQ(Run("local t = {} for k,v in pairs(getmetatable(_G)) do t[#t+1]=k end return t"),
            Reply::Array(Bulks({"__index"})));
  EXPECT_EQ(Run("return next(string) ~= nil"), Reply::Integer(1));
  EXPECT_EQ(Run("return ('x'):rep(3)"), Reply::Bulk("xxx"));
  std::string b = "return table.insert(KEYS, 'a', 1)";
  EXPECT_EQ(Run(b), Reply::Error("ERR user_script:1: bad argument #2 to 'insert' (number expected, got string)" +
                                 Suffix(b)));
  b = "return rawget(1)";
  EXPECT_EQ(Run(b), Reply::Error("ERR user_script:1: bad argument #1 to 'rawget' (table expected, got number)" +
                                 Suffix(b)));
}

TEST_F(LuaSandboxTest, OrdinaryTablesStayWritable) {
  EXPECT_EQ(Run("local t = {} rawset(t, 'a', 1) table.insert(t, 2) setmetatable(t, {__index=function() return 7 end}) "
                "table.sort(KEYS) return {t.a, t[1], t.zz, rawget(t, 'a')}"),
            Reply::Array({Reply::Integer(1), Reply::Integer(2), Reply::Integer(7), Reply::Integer(1)}));
  EXPECT_EQ(Run("local t = setmetatable({}, {__metatable='no'}) return getmetatable(t)"), Reply::Bulk("no"));
}

TEST_F(LuaSandboxTest, EscapesFail) {
  // Precompiled chunks: Redis's Lua parses them as text.
  EXPECT_EQ(Run("return loadstring(string.dump(function() return 1 end))"), Reply::Nil());
  EXPECT_EQ(Run("local f, e = loadstring(string.dump(function() return 1 end)) return e"),
            Reply::Bulk("[string \"\033LuaQ\"]:1: unexpected symbol near 'char(27)'"));
  EXPECT_EQ(Run("local f, e = loadstring('\\27Lua') return e"),
            Reply::Bulk("[string \"\033Lua\"]:1: unexpected symbol near 'char(27)'"));
  EXPECT_EQ(Run("local s = string.dump(function() return 1 end) local f, e = load(function() local x = s s = nil return x end) return e"),
            Reply::Bulk("(load):1: unexpected symbol near 'char(27)'"));
  EXPECT_EQ(Run("\033Lua"), Reply::Error("ERR Error compiling script (new function): user_script:1: "
                                         "unexpected symbol near 'char(27)'"));
  // Environments cannot be swapped, functions cannot reach the real globals.
  std::string b = "local f = loadstring('y = 1') f()";
  EXPECT_EQ(Run(b), Reply::Error("ERR [string \"y = 1\"]:1: Attempt to modify a readonly table script: " +
                                 Sha1Hex(b) + ", on y = 1:1."));
  EXPECT_EQ(Run("local co = coroutine.create(function() z = 1 end) local ok, e = coroutine.resume(co) return e"),
            Reply::Bulk("user_script:1: Attempt to modify a readonly table"));
  EXPECT_EQ(Run("local co = coroutine.create(function() redis.call('nosuch') end) return {coroutine.resume(co)}"),
            Reply::Array({Reply::Nil(), Reply::Error("ERR Unknown Redis command called from script")}));
  // string.gsub with a function, a metatable __gc: nothing that runs outside the script.
  EXPECT_EQ(Run("return (string.gsub('abc', '%w', function(c) return c:upper() end))"), Reply::Bulk("ABC"));
}

TEST_F(LuaSandboxTest, NothingSurvivesFromOneRunToTheNext) {
  Run("KEYS[1] = 'leak'");
  EXPECT_EQ(Run("return KEYS[1]"), Reply::Nil());
  // Failed writes left nothing behind.
  Run("x = 1");
  Run("rawset(_G, 'x', 1)");
  Run("table.insert(_G, 'x')");
  ExpectMissingGlobal("x");
  EXPECT_EQ(Run("return #_G"), Reply::Integer(0));
  EXPECT_EQ(Run("return math.random == math.random and type(math.random)"), Reply::Bulk("function"));
}

TEST_F(LuaSandboxTest, LibrariesWork) {
  EXPECT_EQ(Run("return cjson.encode({1,2,3})"), Reply::Bulk("[1,2,3]"));
  EXPECT_EQ(Run("return cjson.encode({})"), Reply::Bulk("{}"));
  EXPECT_EQ(Run("return cjson.encode(3.14159265358979)"), Reply::Bulk("3.1415926535898"));
  EXPECT_EQ(Run("return cjson.encode(cjson.decode('[1,2,null]'))"), Reply::Bulk("[1,2,null]"));
  EXPECT_EQ(Run("return cjson.encode({[1]=1,[5]=5})"), Reply::Bulk("[1,null,null,null,5]"));
  std::string b = "return cjson.encode({[1]=1,[50]=5})";
  EXPECT_EQ(Run(b), Reply::Error("ERR user_script:1: Cannot serialise table: excessively sparse array" + Suffix(b)));
  EXPECT_EQ(Run("return cjson.decode('\"\\\\u0010\"')"), Reply::Bulk("\x10"));
  EXPECT_EQ(Run("return cjson.decode('{\"a\":[1,2,{\"b\":null}]}').a[3].b == cjson.null"), Reply::Integer(1));
  EXPECT_EQ(Run("return bit.band(5, 3)"), Reply::Integer(1));
  EXPECT_EQ(Run("return bit.tohex(255)"), Reply::Bulk("000000ff"));
  EXPECT_EQ(Run("return string.format('%d', 3.7)"), Reply::Bulk("3"));
  EXPECT_EQ(Run("return tostring(123456789012345678)"), Reply::Bulk("1.2345678901235e+17"));
  EXPECT_EQ(Run("return coroutine.wrap(function() return 1 end)()"), Reply::Integer(1));
  EXPECT_EQ(Run("return {type(struct), type(cmsgpack)}"), Reply::Array(Bulks({"table", "table"})));
}

}  // namespace
}  // namespace stormkv::luatest
