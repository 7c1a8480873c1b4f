// The divergences of issue 15 fixed in the native twins, on the memory backend (no Redis): each
// twin does what its Lua text does — what the decoder accepts, the order of writes and checks,
// the argument counts. script_diff_test checks the same against real Redis on random input.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "common/backend_factories.h"
#include "common/test_util.h"
#include "stormkv/gateway/scripts.h"

namespace stormkv {
namespace {

class TwinLuaOrderTest : public ::testing::Test {
 protected:
  void SetUp() override { STORMKV_SETUP_BACKEND("memory", tb_); }
  Result<Reply> Eval(ScriptId id, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args) {
    return tb_->kv->Eval(GatewayScript(id), keys, args);
  }
  std::optional<TestBackend> tb_;
};

TEST_F(TwinLuaOrderTest, JsonTwinsAcceptWhatCjsonAccepts) {
  // A raw TAB, a 0x10 byte and an \xff byte inside strings, a hex number: Redis's cjson
  // decodes this record, so the script updates it instead of reporting CORRUPT.
  const std::string rec = "{\"alert_count\":2,\"first_seen\":1000,\"last_seen\":0x3e8,\"overflow\":0,"
                          "\"pattern\":\"r\tx\",\"resources\":[\"a\x10\",\"\xff\"]}";
  ASSERT_OK(tb_->kv->Run({"SET", "j", rec}).status());
  ASSERT_OK_AND_ASSIGN(Reply r, Eval(ScriptId::kStormAggJsonMeta, {"j"},
                                     {"2000", "5000", "50000", "5", "b", "rate"}));
  EXPECT_EQ(r, Reply::Array({Reply::Integer(0), Reply::Integer(3), Reply::Integer(3), Reply::Integer(0),
                             Reply::Integer(1000), Reply::Integer(2000)}));
  ASSERT_OK_AND_ASSIGN(Reply stored, tb_->kv->Run({"GET", "j"}));
  EXPECT_EQ(stored.str(),
            "{\"alert_count\":3,\"first_seen\":1000,\"last_seen\":2000,\"overflow\":0,"
            "\"pattern\":\"r\\u0009x\",\"resources\":[\"a\\u0010\",\"\xff\",\"b\"]}");
  // The same leniencies in a full-crd document, and a template whose spec is a JSON array.
  const std::string doc = "{\"spec\":{\"stormAlertCount\":1,\"stormOverflowCount\":0,\"affectedResources\":"
                          "[\"\xff\"],\"deduplication\":{\"firstSeen\":1000,\"lastSeen\":1000},\"t\":\"\t\"}}";
  ASSERT_OK(tb_->kv->Run({"SET", "f", doc}).status());
  ASSERT_OK(Eval(ScriptId::kStormAggFullCrd, {"f"}, {"2000", "5000", "50000", "5", "b", "rate", "{\"spec\":{}}"})
                .status());
  ASSERT_OK_AND_ASSIGN(Reply opened, Eval(ScriptId::kStormAggFullCrd, {"g"},
                                          {"2000", "5000", "50000", "5", "b", "rate", "{\"spec\":[1,2]}"}));
  EXPECT_EQ(opened.elements().at(1), Reply::Integer(1));
  ASSERT_OK_AND_ASSIGN(Reply g, tb_->kv->Run({"GET", "g"}));
  EXPECT_EQ(g.str(), "{\"spec\":[1,2]}");  // Lua's encoder writes only the array part
}

TEST_F(TwinLuaOrderTest, StormDetectCountsBeforeItFailsOnANonNumericArgument) {
  Result<Reply> r = Eval(ScriptId::kStormDetect, {"rate", "pattern"},
                         {"1000", "60000", "not-a-number", "pod", "5", "3", "2"});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().code() == StatusCode::kScriptError) << r.status();
  ASSERT_OK_AND_ASSIGN(Reply count, tb_->kv->Run({"GET", "rate"}));
  EXPECT_EQ(count, Reply::Bulk("1"));  // INCR ran
  ASSERT_OK_AND_ASSIGN(Reply ttl, tb_->kv->Run({"PTTL", "rate"}));
  EXPECT_EQ(ttl, Reply::Integer(60000));  // and PEXPIRE NX
}

TEST_F(TwinLuaOrderTest, DedupAcceptsTheArgumentCountsItsLuaAccepts) {
  // 4 arguments: an attempt id without a lease is fine for a new record.
  ASSERT_OK_AND_ASSIGN(Reply r, Eval(ScriptId::kDedup, {"d"}, {"1000", "60000", "rr-1", "a1"}));
  EXPECT_EQ(r, Reply::Array({Reply::Integer(0), Reply::Integer(1), Reply::Integer(1000),
                             Reply::Integer(1000), Reply::Bulk("rr-1")}));
  // Extra arguments are ignored, as Lua ignores them.
  ASSERT_OK(Eval(ScriptId::kDedup, {"e"}, {"1000", "60000", "rr-1", "a1", "0", "extra"}).status());
  // A non-numeric now: the record is counted and stored, and the reply ends at the first nil.
  ASSERT_OK_AND_ASSIGN(Reply odd, Eval(ScriptId::kDedup, {"n"}, {"soon", "60000", "rr-1"}));
  EXPECT_EQ(odd, Reply::Array({Reply::Integer(0), Reply::Integer(1)}));
  // Too few: HINCRBY has run when the HSET fails on a nil argument, as in Lua.
  EXPECT_FALSE(Eval(ScriptId::kDedup, {"m"}, {"1000", "60000"}).ok());
  ASSERT_OK_AND_ASSIGN(Reply m, tb_->kv->Run({"HGETALL", "m"}));
  EXPECT_EQ(m, Reply::Array({Reply::Bulk("count"), Reply::Bulk("1")}));
}

}  // namespace
}  // namespace stormkv
