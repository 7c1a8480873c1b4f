// Hostile scripts: runaway loops (also behind pcall and in coroutines), unbounded allocation,
// huge and self-referencing replies, deep recursion. Each fails with a Redis-shaped error, the
// store keeps exactly the writes the script completed, and the engine keeps working.
#include <gtest/gtest.h>

#include "fake_context.h"
#include "stormkv/kv_backend.h"
#include "stormkv/lua_engine.h"
#include "stormkv/script.h"

namespace stormkv::luatest {
namespace {

LuaEngineOptions SmallLimits() {
  LuaEngineOptions o;
  o.max_instructions = 2'000'000;
  o.memory_limit_bytes = 8 << 20;
  o.max_reply_bytes = 1 << 20;
  return o;
}

bool StartsWith(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

class LuaLimitsTest : public ::testing::Test {
 protected:
  LuaLimitsTest() : engine_(SmallLimits()) {}
  Reply Run(const std::string& body) { return Eval(engine_, host_, body); }
  void ExpectStillWorks() {
    EXPECT_EQ(Run("return redis.call('ping')"), Reply::StatusText("PONG"));
    EXPECT_EQ(Run("local t = {} for i = 1, 1000 do t[i] = i end return #t"), Reply::Integer(1000));
  }
  void ExpectKilled(const std::string& body) {
    Reply r = Run(body);
    ASSERT_TRUE(r.is_error()) << body << " -> " << r;
    EXPECT_TRUE(StartsWith(r.str(), "ERR Script killed by the runaway-script limit: it ran more than 2000000 "
                                    "Lua instructions (LuaEngineOptions::max_instructions) script: " +
                                        Sha1Hex(body)))
        << r;
    EXPECT_TRUE(StatusFromErrorReply(r.str()).IsScriptError()) << r;
  }
  LuaEngine engine_;
  FakeHost host_;
};

TEST_F(LuaLimitsTest, RunawayLoopsAreKilled) {
  ExpectKilled("while true do end");
  ExpectKilled("local i = 0\nwhile true do\n  i = i + 1\nend");
  ExpectKilled("local function f() return f() end return f()");
  ExpectKilled("while true do pcall(function() while true do end end) end");
  ExpectKilled("while true do pcall(error, 'x') end");
  ExpectKilled("while true do local ok = xpcall(function() while true do end end, function(e) while true do end end) end");
  ExpectKilled("while true do coroutine.resume(coroutine.create(function() while true do end end)) end");
  ExpectKilled("for i = 1, 1e9 do local s = tostring(i) end");
  Reply r = Run("local i = 0\nwhile true do\n  i = i + 1\nend");
  EXPECT_NE(r.str().find("on @user_script:3."), std::string::npos) << r;
  ExpectStillWorks();
}

TEST_F(LuaLimitsTest, LimitIsPerRunNotCumulative) {
  // Each run uses ~1/4 of the limit; many runs in a row never trip it.
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(Run("local x = 0 for i = 1, 120000 do x = x + i end return 1"), Reply::Integer(1)) << i;
  }
}

TEST_F(LuaLimitsTest, WritesBeforeAnAbortStay) {
  Reply r = Run("redis.call('set', 'a', '1') redis.call('set', 'b', '2') while true do end");
  ASSERT_TRUE(r.is_error());
  EXPECT_EQ(host_.ctx.strings["a"], "1");
  EXPECT_EQ(host_.ctx.strings["b"], "2");
  host_.ctx.strings.clear();
  r = Run("redis.call('set', 'a', '1') redis.call('incr', 'a') redis.call('set', 'c', 'x') error('stop') redis.call('set', 'd', 'y')");
  ASSERT_TRUE(r.is_error());
  EXPECT_EQ(host_.ctx.strings.size(), 2u);
  EXPECT_EQ(host_.ctx.strings["a"], "2");
  EXPECT_EQ(host_.ctx.strings["c"], "x");
  host_.ctx.strings.clear();
  r = Run("redis.call('set', 'a', '1') local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 100) .. i end");
  ASSERT_TRUE(r.is_error());
  EXPECT_EQ(host_.ctx.strings.size(), 1u);
  EXPECT_EQ(host_.ctx.strings["a"], "1");
}

TEST_F(LuaLimitsTest, UnboundedAllocationHitsTheHeapCap) {
  for (const std::string& body : {
           std::string("local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 100) .. i end"),
           std::string("local s = 'x' while true do s = s .. s end"),
           std::string("return string.rep('x', 100000000)"),
           std::string("local t = {} local i = 0 while true do i = i + 1 t[i] = {i} end")}) {
    Reply r = Run(body);
    ASSERT_TRUE(r.is_error()) << body;
    EXPECT_EQ(r.str(), "ERR Script exceeded the Lua memory limit of 8388608 bytes "
                       "(LuaEngineOptions::memory_limit_bytes) script: " + Sha1Hex(body))
        << body;
    EXPECT_TRUE(StatusFromErrorReply(r.str()).IsScriptError());
    EXPECT_LT(engine_.LuaHeapBytes(), 8 << 20);
    ExpectStillWorks();
  }
  // A script may catch the failure and go on, as with Lua's own "not enough memory".
  EXPECT_EQ(Run("local ok, e = pcall(string.rep, 'x', 100000000) return {tostring(ok), e}"),
            Reply::Array({Reply::Bulk("false"), Reply::Bulk("not enough memory")}));
}

TEST_F(LuaLimitsTest, HugeRepliesAreRefused) {
  std::string body = "local t = {} for i = 1, 200000 do t[i] = 'xxxxxxxxxx' end return t";
  Reply r = Run(body);
  ASSERT_TRUE(r.is_error());
  EXPECT_EQ(r.str(), "ERR Script reply is too large: more than 1048576 bytes (LuaEngineOptions::max_reply_bytes) "
                     "script: " + Sha1Hex(body));
  body = "return string.rep('x', 2000000)";
  r = Run(body);
  ASSERT_TRUE(r.is_error());
  EXPECT_EQ(r.str().substr(0, 33), "ERR Script reply is too large: mo");
  EXPECT_EQ(Run("local t = {} for i = 1, 1000 do t[i] = i end return t").elements().size(), 1000u);
}

TEST_F(LuaLimitsTest, SelfReferencingReplyEndsAtTheStackLimit) {
  Reply r = Run("local t = {} t[1] = t return t");
  // Like Redis: nested arrays down to the Lua stack limit, then an error element.
  int depth = 0;
  const Reply* p = &r;
  while (p->is_array() && p->elements().size() == 1) {
    p = &p->elements()[0];
    ++depth;
  }
  EXPECT_GT(depth, 1000);
  EXPECT_EQ(*p, Reply::Error("ERR reached lua stack limit"));
  ExpectStillWorks();
}

TEST_F(LuaLimitsTest, DeepRecursionIsAStackOverflowError) {
  std::string body = "local function f(n) return 1 + f(n + 1) end return f(1)";
  Reply r = Run(body);
  ASSERT_TRUE(r.is_error());
  EXPECT_NE(r.str().find("stack overflow"), std::string::npos) << r;
  EXPECT_NE(r.str().find(" script: " + Sha1Hex(body)), std::string::npos) << r;
  ExpectStillWorks();
}

TEST_F(LuaLimitsTest, StoppedCollectorDoesNotWedgeTheEngine) {
  Run("collectgarbage('stop')");
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(Run("local t = {} for i = 1, 2000 do t[i] = string.rep('y', 100) .. i end return #t"),
              Reply::Integer(2000)) << i;
  }
}

TEST_F(LuaLimitsTest, ForbiddenCommandsAreRefusedByTheStore) {
  std::string body = "return redis.call('eval', 'return 1', 0)";
  EXPECT_EQ(Run(body), Reply::Error("ERR This Redis command is not allowed from script script: " +
                                    Sha1Hex(body) + ", on @user_script:1."));
}

}  // namespace
}  // namespace stormkv::luatest
