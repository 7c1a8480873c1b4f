// Redis Cluster's slot function, hash tags, CLUSTER SLOTS and redirect parsing, and where each
// command keeps its keys. Expected slots are what `redis-cli -p <port> cluster keyslot <key>`
// answered on a Redis 7.0.15 cluster.
#include "cluster_slots.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "common/test_util.h"
#include "stormkv/key_schema.h"
#include "stormkv/redis_cluster_backend.h"

namespace stormkv::redis_internal {
namespace {

TEST(ClusterSlotsTest, Crc16XmodemCheckValue) {
  EXPECT_EQ(Crc16Xmodem("123456789"), 0x31C3);  // the CRC catalogue's check value
  EXPECT_EQ(Crc16Xmodem(""), 0);
}

TEST(ClusterSlotsTest, SlotsMatchRedisClusterKeyslot) {
  const std::vector<std::pair<std::string, int>> cases = {
      {"", 0},
      {"foo", 12182},
      {"bar", 5061},
      {"123456789", 12739},
      {"{user1000}.following", 3443},
      {"{user1000}.followers", 3443},
      {"foo{}{bar}", 8363},       // "{}" is empty: the whole key is hashed
      {"foo{{bar}}zap", 4015},    // tag "{bar"
      {"foo{bar}{zap}", 5061},    // first tag only: "bar"
      {"{}", 15257},
      {"{", 4092},
      {"}", 12090},
      {"a{}b{c}", 7353},          // the first '{' has an empty tag: whole key
      {"stormkv:storm:{ns}:x", 9937},
      {"\xff", 7920},
  };
  for (const auto& [key, slot] : cases) {
    EXPECT_EQ(KeySlot(key), slot) << "key '" << key << "'";
    EXPECT_EQ(HashSlot(key), slot) << "key '" << key << "'";
  }
}

TEST(ClusterSlotsTest, HashTagRule) {
  EXPECT_EQ(HashTag("plain"), "plain");
  EXPECT_EQ(HashTag("a{tag}b"), "tag");
  EXPECT_EQ(HashTag("a{}b"), "a{}b");
  EXPECT_EQ(HashTag("a{b"), "a{b");
  EXPECT_EQ(HashTag("a}b{c}"), "c");
  EXPECT_EQ(HashTag(std::string("x{\0y}", 6)), std::string("\0y", 2));
}

Reply Node(const std::string& host, int64_t port, const std::string& id) {
  return Reply::Array({Reply::Bulk(host), Reply::Integer(port), Reply::Bulk(id)});
}

TEST(ClusterSlotsTest, ParsesClusterSlotsIgnoringReplicas) {
  Reply reply = Reply::Array({
      Reply::Array({Reply::Integer(0), Reply::Integer(5460), Node("127.0.0.1", 7000, "a"),
                    Node("127.0.0.1", 7003, "d")}),
      Reply::Array({Reply::Integer(5461), Reply::Integer(10922), Node("", 7001, "b")}),
      Reply::Array({Reply::Integer(10923), Reply::Integer(16383), Node("?", 7002, "c")}),
  });
  ASSERT_OK_AND_ASSIGN(std::vector<SlotRange> ranges, ParseClusterSlots(reply, "10.0.0.9"));
  ASSERT_EQ(ranges.size(), 3u);
  EXPECT_EQ(ranges[0].first, 0);
  EXPECT_EQ(ranges[0].last, 5460);
  EXPECT_EQ(ranges[0].host, "127.0.0.1");
  EXPECT_EQ(ranges[0].port, 7000);
  EXPECT_EQ(ranges[1].host, "10.0.0.9");  // empty address: the node we asked
  EXPECT_EQ(ranges[2].host, "10.0.0.9");  // "?": unknown endpoint
  EXPECT_EQ(ranges[2].last, 16383);
}

TEST(ClusterSlotsTest, RefusesMalformedClusterSlots) {
  const std::vector<Reply> bad = {
      Reply::Bulk("x"),
      Reply::Array({Reply::Array({Reply::Integer(0), Reply::Integer(5)})}),
      Reply::Array({Reply::Array({Reply::Integer(9), Reply::Integer(5), Node("h", 1, "a")})}),
      Reply::Array({Reply::Array({Reply::Integer(0), Reply::Integer(16384), Node("h", 1, "a")})}),
      Reply::Array({Reply::Array({Reply::Integer(0), Reply::Integer(5), Node("h", 0, "a")})}),
      Reply::Array({Reply::Array({Reply::Integer(0), Reply::Integer(5), Reply::Bulk("h")})}),
  };
  for (const Reply& r : bad) {
    Result<std::vector<SlotRange>> p = ParseClusterSlots(r, "h");
    EXPECT_FALSE(p.ok()) << r.ToString();
    EXPECT_EQ(p.status().code(), StatusCode::kInternal);
  }
}

TEST(ClusterSlotsTest, ParsesRedirects) {
  Redirect r;
  ASSERT_TRUE(ParseRedirect("MOVED 3999 127.0.0.1:6381", &r));
  EXPECT_FALSE(r.ask);
  EXPECT_EQ(r.slot, 3999);
  EXPECT_EQ(r.host, "127.0.0.1");
  EXPECT_EQ(r.port, 6381);
  ASSERT_TRUE(ParseRedirect("ASK 0 ::1:7000", &r));
  EXPECT_TRUE(r.ask);
  EXPECT_EQ(r.host, "::1");
  EXPECT_EQ(r.port, 7000);
  ASSERT_TRUE(ParseRedirect("MOVED 16383 :7002", &r));  // unknown endpoint
  EXPECT_EQ(r.host, "");
  for (const char* m : {"MOVED", "MOVED 3999", "MOVED x h:1", "MOVED 16384 h:1", "MOVED 1 h:0",
                        "MOVED 1 h", "ERR MOVED 1 h:1", "ASKING"}) {
    EXPECT_FALSE(ParseRedirect(m, &r)) << m;
  }
}

CommandRoute RouteOf(const Command& c) {
  CommandRoute r;
  Status s = RouteCommand(c, &r);
  EXPECT_TRUE(s.ok()) << s;
  return r;
}

TEST(ClusterSlotsTest, RoutesByTheCommandsKeys) {
  CommandRoute r = RouteOf({"get", "foo"});
  EXPECT_EQ(r.kind, RouteKind::kKeyed);
  EXPECT_EQ(r.slot, 12182);
  EXPECT_EQ(RouteOf({"HSET", "bar", "f", "foo"}).slot, 5061);  // only argv[1]
  EXPECT_EQ(RouteOf({"DEL", "{t}a", "{t}b"}).slot, KeySlot("t"));
  EXPECT_EQ(RouteOf({"MSET", "{t}a", "foo", "{t}b", "bar"}).slot, KeySlot("t"));  // keys only
  EXPECT_EQ(RouteOf({"EVALSHA", "sha", "2", "{t}a", "{t}b", "foo", "bar"}).slot, KeySlot("t"));
  EXPECT_EQ(RouteOf({"EVAL", "return 1", "0", "foo"}).kind, RouteKind::kAnyMaster);
  EXPECT_EQ(RouteOf({"ZUNIONSTORE", "{t}d", "2", "{t}a", "{t}b", "WEIGHTS", "1", "2"}).slot,
            KeySlot("t"));
  EXPECT_EQ(RouteOf({"MEMORY", "USAGE", "foo", "SAMPLES", "0"}).slot, 12182);
  EXPECT_EQ(RouteOf({"OBJECT", "ENCODING", "foo"}).slot, 12182);
  EXPECT_EQ(RouteOf({"MEMORY", "STATS"}).kind, RouteKind::kAnyMaster);
  EXPECT_EQ(RouteOf({"PING"}).kind, RouteKind::kAnyMaster);
  EXPECT_EQ(RouteOf({"TIME"}).kind, RouteKind::kAnyMaster);
  EXPECT_EQ(RouteOf({"CLIENT", "KILL", "ID", "5"}).kind, RouteKind::kAnyMaster);
  EXPECT_EQ(RouteOf({"unknowncmd", "foo"}).slot, 12182);
  // Malformed numkeys: a master answers with Redis's own error.
  EXPECT_EQ(RouteOf({"EVALSHA", "sha", "x", "foo"}).kind, RouteKind::kAnyMaster);
  EXPECT_EQ(RouteOf({"EVALSHA", "sha", "3", "foo"}).kind, RouteKind::kAnyMaster);
}

TEST(ClusterSlotsTest, KeyspaceWideCommandsFanOut) {
  const std::vector<std::pair<Command, FanOutKind>> cases = {
      {{"DBSIZE"}, FanOutKind::kDbSize},
      {{"flushdb"}, FanOutKind::kAllMasters},
      {{"SCAN", "0", "COUNT", "10"}, FanOutKind::kScan},
      {{"KEYS", "*"}, FanOutKind::kKeys},
      {{"INFO", "memory"}, FanOutKind::kInfo},
      {{"CONFIG", "get", "maxmemory"}, FanOutKind::kConfigGet},
      {{"CONFIG", "SET", "maxmemory", "0"}, FanOutKind::kAllMasters},
      {{"SCRIPT", "LOAD", "return 1"}, FanOutKind::kAllMasters},
      {{"SCRIPT", "FLUSH"}, FanOutKind::kAllMasters},
      {{"SCRIPT", "EXISTS", "a", "b"}, FanOutKind::kScriptExists},
  };
  for (const auto& [cmd, kind] : cases) {
    CommandRoute r = RouteOf(cmd);
    EXPECT_EQ(r.kind, RouteKind::kFanOut) << cmd[0];
    EXPECT_EQ(r.fan_out, kind) << cmd[0];
  }
}

TEST(ClusterSlotsTest, CrossSlotIsRefusedWithRedisText) {
  const std::vector<Command> cross = {
      {"DEL", "foo", "bar"},
      {"EXISTS", "{a}x", "{b}x"},
      {"MSET", "foo", "1", "bar", "2"},
      {"RENAME", "foo", "bar"},
      {"EVALSHA", "sha", "2", "foo", "bar"},
      {"ZUNIONSTORE", "foo", "1", "bar"},
  };
  for (const Command& c : cross) {
    CommandRoute r;
    Status s = RouteCommand(c, &r);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c[0];
    EXPECT_EQ(s.message(), "CROSSSLOT Keys in request don't hash to the same slot") << c[0];
  }
  CommandRoute r;
  EXPECT_EQ(RouteKeys({"{t}a", "b"}, &r).message(),
            "CROSSSLOT Keys in request don't hash to the same slot");
  ASSERT_OK(RouteKeys({"{t}a", "{t}b"}, &r));
  EXPECT_EQ(r.slot, KeySlot("t"));
  ASSERT_OK(RouteKeys({}, &r));
  EXPECT_EQ(r.kind, RouteKind::kAnyMaster);
}

}  // namespace
}  // namespace stormkv::redis_internal
