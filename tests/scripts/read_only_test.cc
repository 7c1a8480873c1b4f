// Read-only scripts on every backend: a script flagged read-only (Script's read_only, or a
// "#!lua flags=no-writes" shebang) runs its reads and fails its first write with Redis's error
// on the memory store and on Redis alike (Redis runs it with EVALSHA_RO), and it writes nothing.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "common/backend_factories.h"
#include "common/test_util.h"
#include "stormkv/script.h"

namespace stormkv {
namespace {

// GET KEYS[1], then (when ARGV[1] is "write") SET KEYS[1] to "x": the same in Lua and twin.
Result<Reply> GetThenMaybeSet(ScriptContext& ctx, const std::vector<std::string>& keys,
                              const std::vector<std::string>& args) {
  auto got = ctx.Call({"GET", keys.at(0)});
  if (!got.ok()) return got.status();
  if (!args.empty() && args[0] == "write") {
    auto set = ctx.Call({"SET", keys.at(0), "x"});
    if (!set.ok()) return set.status();
  }
  return got;
}

const char kBody[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if ARGV[1] == 'write' then redis.call('SET', KEYS[1], 'x') end\n"
    "return v\n";

const Script& Flagged() {
  static const Script& s = ScriptRegistry::Global().Register(
      Script("test_read_only_flag", kBody, GetThenMaybeSet, /*read_only=*/true));
  return s;
}

const Script& Shebang() {
  static const Script& s = ScriptRegistry::Global().Register(
      Script("test_read_only_shebang", std::string("#!lua flags=no-writes\n") + kBody,
             GetThenMaybeSet));
  return s;
}

const Script& Writer() {
  static const Script& s = ScriptRegistry::Global().Register(
      Script("test_read_only_writer", std::string("#!lua flags=allow-oom\n") + kBody,
             GetThenMaybeSet));
  return s;
}

TEST(ReadOnlyScript, ReadOnlyComesFromTheFlagOrTheShebang) {
  EXPECT_TRUE(Flagged().read_only());
  EXPECT_TRUE(Shebang().read_only());
  EXPECT_FALSE(Writer().read_only());
  EXPECT_TRUE(Script("t1", "#!lua flags=allow-oom,no-writes\nreturn 1", nullptr).read_only());
  EXPECT_FALSE(Script("t2", "#!lua name=no-writes\nreturn 1", nullptr).read_only());
  EXPECT_FALSE(Script("t3", "-- #!lua flags=no-writes\nreturn 1", nullptr).read_only());
}

class ReadOnlyTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { STORMKV_SETUP_BACKEND(GetParam(), tb_); }
  std::optional<TestBackend> tb_;
};

TEST_P(ReadOnlyTest, ReadsRunAndTheFirstWriteFailsWithRedisError) {
  KvBackend& kv = *tb_->kv;
  ASSERT_OK(kv.Run({"SET", "ro:k", "v"}).status());
  for (const Script* s : {&Flagged(), &Shebang()}) {
    SCOPED_TRACE(s->name());
    ASSERT_OK_AND_ASSIGN(Reply read, kv.Eval(*s, {"ro:k"}, {"read"}));
    EXPECT_EQ(read, Reply::Bulk("v"));
    Result<Reply> write = kv.Eval(*s, {"ro:k"}, {"write"});
    ASSERT_FALSE(write.ok());
    EXPECT_NE(write.status().message().find("Write commands are not allowed from read-only scripts"),
              std::string::npos)
        << write.status();
    ASSERT_OK_AND_ASSIGN(Reply after, kv.Run({"GET", "ro:k"}));
    EXPECT_EQ(after, Reply::Bulk("v"));
  }
  // A script that may write does.
  ASSERT_OK(kv.Eval(Writer(), {"ro:k"}, {"write"}).status());
  ASSERT_OK_AND_ASSIGN(Reply written, kv.Run({"GET", "ro:k"}));
  EXPECT_EQ(written, Reply::Bulk("x"));
}

INSTANTIATE_TEST_SUITE_P(All, ReadOnlyTest, ::testing::ValuesIn(AllBackendNames()),
                         BackendParamName);

}  // namespace
}  // namespace stormkv
