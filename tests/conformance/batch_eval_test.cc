// RunBatch, Eval of a small script, Describe, and concurrent use of one backend.
#include <string>
#include <thread>
#include <vector>

#include "conformance/conformance_fixture.h"
#include "stormkv/lua_sources.h"
#include "stormkv/script.h"

namespace stormkv::conformance {
namespace {

const Script& PingScript() {
  static const Script& s = ScriptRegistry::Global().Register(Script(
      "conformance-ping", std::string(LuaSource("ping")),
      [](ScriptContext&, const std::vector<std::string>&,
         const std::vector<std::string>& args) -> Result<Reply> { return Reply::Bulk(args.at(0)); },
      /*read_only=*/true));
  return s;
}

// INCR KEYS[1], then return the new value: one redis.call that may fail.
const Script& IncrScript() {
  static const Script& s = ScriptRegistry::Global().Register(
      Script("conformance-incr", "return redis.call('INCR', KEYS[1])\n",
             [](ScriptContext& ctx, const std::vector<std::string>& keys,
                const std::vector<std::string>&) {
               return ctx.Call({"INCR", keys.at(0)});
             }));
  return s;
}

TEST_P(ConformanceTest, RunBatchAnswersEachCommandInOrder) {
  const std::string k = K("k"), h = K("h");
  EXPECT_REPLY(Int(1), "HSET", h, "f", "v");
  std::vector<Command> cmds = {
      {"SET", k, "1"}, {"GET", h}, {"INCR", k},  {"SET", k, "v", "NX", "XX"},
      {"nosuch"},      {"GET", k}, {"DEL", k, h}};
  std::vector<Result<Reply>> out = kv().RunBatch(cmds);
  ASSERT_EQ(out.size(), cmds.size());
  ASSERT_OK(out[0]);
  EXPECT_EQ(*out[0], Ok());
  ASSERT_FALSE(out[1].ok());
  EXPECT_TRUE(out[1].status().IsWrongType()) << out[1].status();
  EXPECT_EQ(out[1].status().message(), kWrongType);
  ASSERT_OK(out[2]);
  EXPECT_EQ(*out[2], Int(2));
  ASSERT_FALSE(out[3].ok());
  EXPECT_EQ(out[3].status().message(), kSyntax);
  ASSERT_FALSE(out[4].ok());
  EXPECT_EQ(out[4].status().message(), "ERR unknown command 'nosuch', with args beginning with: ");
  ASSERT_OK(out[5]);
  EXPECT_EQ(*out[5], Bulk("2"));
  ASSERT_OK(out[6]);
  EXPECT_EQ(*out[6], Int(2));
  EXPECT_TRUE(kv().RunBatch({}).empty());
}

// EvalBatch: each call as Eval would run it, in order (each sees the ones before it); an error
// fails its entry only; one pipeline on Redis and the cluster, a loop on the embedded stores.
TEST_P(ConformanceTest, EvalBatchRunsEachCallInOrderAsEval) {
  const std::string k = K("{b}k"), h = K("{b}h"), other = K("{c}k");
  EXPECT_REPLY(Int(1), "HSET", h, "f", "v");
  std::vector<ScriptCall> calls = {{&IncrScript(), {k}, {}},
                                   {&IncrScript(), {h}, {}},  // WRONGTYPE inside the script
                                   {&IncrScript(), {k}, {}},
                                   {nullptr, {k}, {}},
                                   {&PingScript(), {}, {"hello"}},
                                   {&IncrScript(), {other}, {}},
                                   {&IncrScript(), {k}, {}}};
  std::vector<Result<Reply>> out = kv().EvalBatch(calls);
  ASSERT_EQ(out.size(), calls.size());
  ASSERT_OK(out[0]);
  EXPECT_EQ(*out[0], Int(1));
  ASSERT_FALSE(out[1].ok());
  EXPECT_TRUE(out[1].status().IsWrongType()) << out[1].status();
  Result<Reply> single = kv().Eval(IncrScript(), {h}, {});
  ASSERT_FALSE(single.ok());
  EXPECT_EQ(out[1].status().code(), single.status().code());
  ASSERT_OK(out[2]);
  EXPECT_EQ(*out[2], Int(2));
  ASSERT_FALSE(out[3].ok());
  EXPECT_TRUE(out[3].status().IsInvalidArgument()) << out[3].status();
  ASSERT_OK(out[4]);
  EXPECT_EQ(*out[4], Bulk("hello"));
  ASSERT_OK(out[5]);
  EXPECT_EQ(*out[5], Int(1));
  ASSERT_OK(out[6]);
  EXPECT_EQ(*out[6], Int(3));
  EXPECT_REPLY(Bulk("3"), "GET", k);
  EXPECT_TRUE(kv().EvalBatch({}).empty());
  // A long batch: every reply in order.
  std::vector<ScriptCall> many(500, ScriptCall{&IncrScript(), {other}, {}});
  out = kv().EvalBatch(many);
  ASSERT_EQ(out.size(), many.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    ASSERT_OK(out[i]);
    ASSERT_EQ(*out[i], Int(static_cast<int64_t>(i) + 2));
  }
}

TEST_P(ConformanceTest, EvalRunsAScript) {
  ASSERT_OK_AND_ASSIGN(Reply r, kv().Eval(PingScript(), {}, {"hello"}));
  EXPECT_EQ(r, Bulk("hello"));
  const std::string k = K("n");
  ASSERT_OK_AND_ASSIGN(r, kv().Eval(IncrScript(), {k}, {}));
  EXPECT_EQ(r, Int(1));
  ASSERT_OK_AND_ASSIGN(r, kv().Eval(IncrScript(), {k}, {}));
  EXPECT_EQ(r, Int(2));
  EXPECT_REPLY(Bulk("2"), "GET", k);
}

TEST_P(ConformanceTest, EvalKeepsTheCodeOfAFailingCommand) {
  const std::string h = K("h");
  EXPECT_REPLY(Int(1), "HSET", h, "f", "v");
  Result<Reply> r = kv().Eval(IncrScript(), {h}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsWrongType()) << r.status();
  // Redis 7.0 appends " script: <sha>, on @user_script:1." to the command's error text.
  EXPECT_EQ(r.status().message().rfind(std::string(kWrongType), 0), 0u) << r.status();
  EXPECT_REPLY(Bulk("v"), "HGET", h, "f");
}

TEST_P(ConformanceTest, DescribeNamesTheBackend) {
  const std::string d = kv().Describe();
  EXPECT_FALSE(d.empty());
  EXPECT_EQ(d.find("password"), std::string::npos) << d;
}

TEST_P(ConformanceTest, ConcurrentCommandsAreAtomic) {
  const std::string n = K("n"), s = K("s"), h = K("h");
  constexpr int kThreads = 4;
  constexpr int kOps = 250;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kOps; ++i) {
        Result<int64_t> v = kv().IncrBy(n, 1);
        EXPECT_TRUE(v.ok()) << v.status();
        std::string member = std::to_string(t);
        member += ':';
        member += std::to_string(i);
        Result<int64_t> added = kv().SAdd(s, {member});
        EXPECT_TRUE(added.ok() && *added == 1);
        Result<int64_t> f = kv().HIncrBy(h, "f", 2);
        EXPECT_TRUE(f.ok()) << f.status();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_REPLY(Bulk(std::to_string(kThreads * kOps)), "GET", n);
  EXPECT_REPLY(Int(kThreads * kOps), "SCARD", s);
  EXPECT_REPLY(Bulk(std::to_string(2 * kThreads * kOps)), "HGET", h, "f");
}

}  // namespace
}  // namespace stormkv::conformance
