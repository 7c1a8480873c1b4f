// Scripts over maxmemory on every backend, as Redis 7.0 runs them (texts observed on
// redis-server 7.0.15): a `#!lua` script that may write and lacks allow-oom is refused at its
// start with the plain OOM text and runs nothing; allow-oom lets it write; no-writes runs its
// reads; a legacy script (no shebang) starts, and its first deny-oom command fails with the OOM
// text plus the script suffix (redis.call) or returns it as an error table (redis.pcall). The
// same holds for a registered Script run by Eval, twin or Lua (the twin's error carries no
// suffix: it cannot know the line).
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "common/backend_factories.h"
#include "common/test_util.h"
#include "stormkv/script.h"

namespace stormkv {
namespace {

constexpr char kOom[] = "OOM command not allowed when used memory > 'maxmemory'.";

Result<Reply> SetKey(ScriptContext& ctx, const std::vector<std::string>& keys,
                     const std::vector<std::string>&) {
  return ctx.Call({"SET", keys.at(0), "twin"});
}

const Script& ShebangWriter() {
  static const Script& s = ScriptRegistry::Global().Register(
      Script("test_oom_shebang_writer", "#!lua\nreturn redis.call('SET', KEYS[1], 'twin')\n",
             SetKey));
  return s;
}

const Script& AllowOomWriter() {
  static const Script& s = ScriptRegistry::Global().Register(Script(
      "test_oom_allow_oom_writer", "#!lua flags=allow-oom\nreturn redis.call('SET', KEYS[1], 'twin')\n",
      SetKey));
  return s;
}

const Script& LegacyWriter() {
  static const Script& s = ScriptRegistry::Global().Register(
      Script("test_oom_legacy_writer", "return redis.call('SET', KEYS[1], 'twin')\n", SetKey));
  return s;
}

class ScriptOomTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    STORMKV_SETUP_BACKEND(GetParam(), tb_);
    ASSERT_OK(kv().Run({"SET", "oom:old", "v"}).status());
    // The shared test server's maxmemory is put back as found (the integration suite sets one).
    ASSERT_OK_AND_ASSIGN(Reply mm, kv().Run({"CONFIG", "GET", "maxmemory"}));
    ASSERT_TRUE(mm.is_array() && mm.elements().size() == 2) << mm.ToString();
    maxmemory_ = mm.elements()[1].str();
    ASSERT_OK(kv().Run({"CONFIG", "SET", "maxmemory", "1"}).status());
  }
  void TearDown() override {
    if (tb_ && !maxmemory_.empty()) {
      EXPECT_OK(kv().Run({"CONFIG", "SET", "maxmemory", maxmemory_}).status());
    }
  }
  KvBackend& kv() { return *tb_->kv; }
  std::string Get(const std::string& key) {
    Result<Reply> r = kv().Run({"GET", key});
    if (!r.ok()) return "error: " + r.status().message();
    return r->is_nil() ? "(nil)" : r->str();
  }
  std::optional<TestBackend> tb_;
  std::string maxmemory_;
};

TEST_P(ScriptOomTest, AShebangScriptThatMayWriteIsRefusedAtItsStart) {
  // It would only read, but it may write: refused before it runs anything.
  Result<Reply> r = kv().Run({"EVAL", "#!lua\nreturn redis.call('GET', KEYS[1])", "1", "oom:old"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), kOom);
  r = kv().Run({"EVAL", "#!lua\nredis.call('SET', KEYS[1], 'x')\nreturn 1", "1", "oom:new"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), kOom);
  EXPECT_EQ(Get("oom:new"), "(nil)");
  // By SHA too (a loaded script's flags are known before it runs).
  ASSERT_OK_AND_ASSIGN(Reply sha, kv().Run({"SCRIPT", "LOAD", "#!lua\nreturn redis.call('SET', KEYS[1], 'y')"}));
  r = kv().Run({"EVALSHA", sha.str(), "1", "oom:new"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), kOom);
  EXPECT_EQ(Get("oom:new"), "(nil)");
}

TEST_P(ScriptOomTest, AllowOomWritesAndNoWritesReads) {
  ASSERT_OK_AND_ASSIGN(Reply ok, kv().Run({"EVAL", "#!lua flags=allow-oom\nreturn redis.call('SET', KEYS[1], 'a')",
                                           "1", "oom:new"}));
  EXPECT_EQ(ok, Reply::Ok());
  EXPECT_EQ(Get("oom:new"), "a");
  ASSERT_OK_AND_ASSIGN(Reply read, kv().Run({"EVAL", "#!lua flags=no-writes\nreturn redis.call('GET', KEYS[1])",
                                             "1", "oom:old"}));
  EXPECT_EQ(read, Reply::Bulk("v"));
  // A legacy script's reads run too.
  ASSERT_OK_AND_ASSIGN(Reply legacy, kv().Run({"EVAL", "return redis.call('GET', KEYS[1])", "1", "oom:old"}));
  EXPECT_EQ(legacy, Reply::Bulk("v"));
}

TEST_P(ScriptOomTest, ALegacyScriptFailsAtItsFirstDenyOomCommand) {
  const std::string body = "redis.call('GET', KEYS[1])\nreturn redis.call('SET', KEYS[1], 'x')";
  Result<Reply> r = kv().Run({"EVAL", body, "1", "oom:new"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            std::string(kOom) + " script: " + Sha1Hex(body) + ", on @user_script:2.");
  EXPECT_EQ(Get("oom:new"), "(nil)");
  // redis.pcall hands the error to the script as a table; returned, it is the error reply.
  r = kv().Run({"EVAL", "return redis.pcall('SET', KEYS[1], 'x')", "1", "oom:new"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), kOom);
  ASSERT_OK_AND_ASSIGN(Reply caught, kv().Run({"EVAL", "local e = redis.pcall('SET', KEYS[1], 'x')\n"
                                                       "return e['err']", "1", "oom:new"}));
  EXPECT_EQ(caught, Reply::Bulk(kOom));
  EXPECT_EQ(Get("oom:new"), "(nil)");
}

TEST_P(ScriptOomTest, RegisteredScriptsFollowTheirShebang) {
  Result<Reply> r = kv().Eval(ShebangWriter(), {"oom:new"}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), kOom);
  EXPECT_EQ(Get("oom:new"), "(nil)");
  r = kv().Eval(LegacyWriter(), {"oom:new"}, {});
  ASSERT_FALSE(r.ok());
  // Lua adds " script: <sha>, on @user_script:1."; a twin cannot.
  EXPECT_EQ(r.status().message().rfind(kOom, 0), 0u) << r.status();
  EXPECT_EQ(Get("oom:new"), "(nil)");
  ASSERT_OK_AND_ASSIGN(Reply ok, kv().Eval(AllowOomWriter(), {"oom:new"}, {}));
  EXPECT_EQ(ok, Reply::Ok());
  EXPECT_EQ(Get("oom:new"), "twin");
}

INSTANTIATE_TEST_SUITE_P(All, ScriptOomTest, ::testing::ValuesIn(AllBackendNames()),
                         BackendParamName);

}  // namespace
}  // namespace stormkv
