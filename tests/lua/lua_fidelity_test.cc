// The engine-fidelity corpus on real Redis 7.0 (label `lua`, `redis`): every library case of
// tests/lua/lua_corpus.cc gives the same reply on a bare Lua 5.1 state with stormkv's struct and
// cmsgpack (plus Debian's cjson and bit) as through EVAL on Redis 7.0.15, byte for byte, errors
// included (the cases catch their own errors with pcall and return the message). The corpus
// seed is gtest's (--gtest_random_seed=N reproduces a run).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/backend_factories.h"
#include "common/test_util.h"
#include "lua/lua_corpus.h"
#include "lua/lua_golden.h"
#include "lua/plain_lua.h"

namespace stormkv::testing_lua {
namespace {

std::string Describe(const Result<Reply>& r) {
  return r.ok() ? r->ToString() : "error: " + r.status().message();
}

bool SameOutcome(const Result<Reply>& a, const Result<Reply>& b) {
  if (a.ok() != b.ok()) return false;
  return a.ok() ? *a == *b : a.status().message() == b.status().message();
}

class LuaFidelity : public ::testing::Test {
 protected:
  void SetUp() override { STORMKV_SETUP_BACKEND("redis", tb_); }
  void TearDown() override {
    if (tb_ && tb_->kv) (void)tb_->kv->Run({"SCRIPT", "FLUSH"});
  }

  // Runs every library case whose name starts with `prefix` on both sides; returns the number
  // run and records every difference as a failure.
  int RunLibraryCases(const std::string& prefix) {
    int run = 0, differ = 0;
    const uint32_t seed = static_cast<uint32_t>(::testing::UnitTest::GetInstance()->random_seed());
    for (const LuaCase& c : BuildCorpus(seed)) {
      if (c.kind != CaseKind::kLibrary || c.name.compare(0, prefix.size(), prefix) != 0) continue;
      ++run;
      Result<Reply> redis = tb_->kv->Run({"EVAL", c.body, "0"});
      Result<Reply> plain = RunPlainLua(c.body);
      if (!SameOutcome(redis, plain) && ++differ <= 20) {
        ADD_FAILURE() << c.name << " (seed " << seed << ")\n--- script:\n"
                      << c.body.substr(CorpusPrelude().size()) << "--- redis: " << Describe(redis)
                      << "\n--- plain: " << Describe(plain);
      }
    }
    EXPECT_EQ(differ, 0) << differ << " of " << run << " '" << prefix << "' cases differ";
    return run;
  }

  std::optional<TestBackend> tb_;
};

TEST_F(LuaFidelity, StructPacksAndUnpacksAsRedis) { EXPECT_GE(RunLibraryCases("struct_"), 200); }

TEST_F(LuaFidelity, CmsgpackPacksAndUnpacksAsRedis) { EXPECT_GE(RunLibraryCases("cmsgpack_"), 250); }

TEST_F(LuaFidelity, CjsonDecodesAndEncodesAsRedis) { EXPECT_GE(RunLibraryCases("cjson_"), 150); }

TEST_F(LuaFidelity, BitOperationsAsRedis) { EXPECT_GE(RunLibraryCases("bit_"), 60); }

TEST_F(LuaFidelity, BaseLibraryConversionsAsRedis) { EXPECT_GE(RunLibraryCases("lua_expr_"), 80); }

// The corpus itself: unique names, and every engine case gives Redis something to answer (a
// reply or an error) without killing the connection; the replies are the reference the
// embedded engine is compared with.
TEST_F(LuaFidelity, EngineCasesRunOnRedis) {
  std::vector<LuaCase> corpus = BuildCorpus(1);
  std::set<std::string> names;
  int engine = 0;
  for (const LuaCase& c : corpus) {
    EXPECT_TRUE(names.insert(c.name).second) << "duplicate case name " << c.name;
    if (c.kind != CaseKind::kEngine) continue;
    ++engine;
    Result<Reply> r = tb_->kv->Run({"EVAL", c.body, "0"});
    EXPECT_TRUE(r.ok() || r.status().code() != StatusCode::kUnavailable)
        << c.name << ": " << Describe(r);
  }
  EXPECT_GE(engine, 150);
  EXPECT_GE(corpus.size(), 700u);
  ASSERT_OK_AND_ASSIGN(Reply pong, tb_->kv->Run({"PING"}));
  EXPECT_EQ(pong, Reply::StatusText("PONG"));
}

// The golden file the embedded store is compared with (lua_store_corpus_test) is what this
// server answers; STORMKV_LUA_GOLDEN_WRITE=1 rewrites it from the server first.
TEST_F(LuaFidelity, EngineCasesMatchTheGoldenFile) {
  KvBackend& kv = *tb_->kv;
  std::vector<LuaCase> cases = EngineCases();
  if (std::getenv("STORMKV_LUA_GOLDEN_WRITE") != nullptr) {
    std::ofstream out(GoldenPath(), std::ios::trunc);
    out << "# Each engine case of tests/lua/lua_corpus.cc through EVAL on an empty database of "
           "redis-server 7.0.15 (tests/lua/lua_golden.h).\n";
    for (const LuaCase& c : cases) out << c.name << '\t' << EncodeOutcome(RunOnEmptyDatabase(kv, c)) << '\n';
    ASSERT_TRUE(out.good());
  }
  const std::map<std::string, std::string> golden = ReadGolden();
  int differ = 0;
  for (const LuaCase& c : cases) {
    // Redis's math.random is seeded once at its start: its answers are not reproducible.
    if (EngineCasesThatDiffer().count(c.body) && c.body.find("math.random") != std::string::npos) {
      continue;
    }
    auto want = golden.find(c.name);
    ASSERT_NE(want, golden.end()) << c.name << " missing in " << GoldenPath();
    const std::string got = EncodeOutcome(RunOnEmptyDatabase(kv, c));
    if (got != want->second && ++differ <= 30) {
      ADD_FAILURE() << c.name << ": redis answers " << got << ", the file says " << want->second;
    }
  }
  EXPECT_EQ(differ, 0);
  EXPECT_GE(cases.size(), 150u);
}

}  // namespace
}  // namespace stormkv::testing_lua
