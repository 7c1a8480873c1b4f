// ParseInfo and StatusFromErrorReply: the parts of kv_backend.h that are plain functions.
#include <gtest/gtest.h>

#include <string>

#include "stormkv/kv_backend.h"

namespace stormkv {
namespace {

TEST(ParseInfoTest, RealRedisText) {
  // Excerpt of `INFO` from redis-server 7.0.15 (CRLF line ends, section headers, blank lines).
  const std::string text =
      "# Server\r\nredis_version:7.0.15\r\nexecutable:/usr/bin/redis-server\r\n"
      "config_file:\r\n\r\n# Memory\r\nused_memory:1038328\r\nused_memory_human:1013.99K\r\n"
      "maxmemory_policy:noeviction\r\n\r\n# Errorstats\r\nerrorstat_ERR:count=2\r\n"
      "errorstat_WRONGTYPE:count=2\r\n\r\n# Keyspace\r\ndb0:keys=1,expires=1,avg_ttl=0\r\n";
  std::map<std::string, std::string> info = ParseInfo(text);
  EXPECT_EQ(info["redis_version"], "7.0.15");
  EXPECT_EQ(info["executable"], "/usr/bin/redis-server");
  EXPECT_EQ(info["used_memory"], "1038328");
  EXPECT_EQ(info["used_memory_human"], "1013.99K");
  EXPECT_EQ(info["maxmemory_policy"], "noeviction");
  EXPECT_EQ(info["errorstat_WRONGTYPE"], "count=2");
  EXPECT_EQ(info["db0"], "keys=1,expires=1,avg_ttl=0");
  ASSERT_TRUE(info.count("config_file"));
  EXPECT_EQ(info["config_file"], "");
  EXPECT_EQ(info.size(), 9u);
}

TEST(ParseInfoTest, EdgeCases) {
  EXPECT_TRUE(ParseInfo("").empty());
  EXPECT_TRUE(ParseInfo("# Memory\r\n").empty());
  EXPECT_TRUE(ParseInfo("\r\n\n\r\n").empty());
  // LF-only lines, a last line without a newline, values with ':' kept whole.
  std::map<std::string, std::string> info = ParseInfo("a:1\nb:x:y:z\nno colon here\nc:3");
  EXPECT_EQ(info.size(), 3u);
  EXPECT_EQ(info["a"], "1");
  EXPECT_EQ(info["b"], "x:y:z");
  EXPECT_EQ(info["c"], "3");
  // A repeated name keeps its first value.
  EXPECT_EQ(ParseInfo("k:first\r\nk:second\r\n").at("k"), "first");
}

struct MappingCase {
  std::string text;
  StatusCode code;
};

TEST(StatusFromErrorReplyTest, MapsPrefixesAndKeepsTheText) {
  const std::vector<MappingCase> cases = {
      {"WRONGTYPE Operation against a key holding the wrong kind of value", StatusCode::kWrongType},
      {"OOM command not allowed when used memory > 'maxmemory'.", StatusCode::kOutOfMemory},
      {"NOSCRIPT No matching script. Please use EVAL.", StatusCode::kScriptError},
      {"BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
       StatusCode::kScriptError},
      {"LOADING Redis is loading the dataset in memory", StatusCode::kUnavailable},
      {"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
       StatusCode::kUnavailable},
      {"ERR syntax error", StatusCode::kInvalidArgument},
      {"ERR value is not an integer or out of range", StatusCode::kInvalidArgument},
      {"ERR wrong number of arguments for 'get' command", StatusCode::kInvalidArgument},
      {"ERR unknown command 'nosuch', with args beginning with: ", StatusCode::kInvalidArgument},
      {"READONLY You can't write against a read only replica.", StatusCode::kUnavailable},
      {"MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist "
       "to disk. Commands that may modify the data set are disabled, because this instance is "
       "configured to report errors during writes if RDB snapshotting fails "
       "(stop-writes-on-bgsave-error option). Please check the Redis logs for details about the "
       "RDB error.",
       StatusCode::kUnavailable},
      {"TRYAGAIN Multiple keys request during rehashing of slot", StatusCode::kUnavailable},
      {"CLUSTERDOWN The cluster is down", StatusCode::kUnavailable},
      {"CLUSTERDOWN Hash slot not served", StatusCode::kUnavailable},
      {"CROSSSLOT Keys in request don't hash to the same slot", StatusCode::kInvalidArgument},
      {"MOVED 3999 127.0.0.1:6381", StatusCode::kServerError},
      {"ASK 3999 127.0.0.1:6381", StatusCode::kServerError},
      {"NOPERM this user has no permissions to run the 'set' command", StatusCode::kServerError},
      {"EXECABORT Transaction discarded because of previous errors.", StatusCode::kServerError},
      // Errors raised inside scripts, as Redis 7.0.15 words them.
      {"WRONGTYPE Operation against a key holding the wrong kind of value script: "
       "2bab3b661081db58bd2341920e0ba7cf5dc77b25, on @user_script:1.",
       StatusCode::kWrongType},
      {"OOM command not allowed when used memory > 'maxmemory'. script: "
       "2bab3b661081db58bd2341920e0ba7cf5dc77b25, on @user_script:1.",
       StatusCode::kOutOfMemory},
      {"ERR user_script:1: boom script: 82903a0434f1503e152f89c03c9acd881a0e8150, on "
       "@user_script:1.",
       StatusCode::kScriptError},
      {"ERR Unknown Redis command called from script script: "
       "206396248e12c6e742fd7296250433c8d7343b74, on @user_script:1.",
       StatusCode::kScriptError},
      {"ERR Error running script (call to f_0123): @user_script:1: boom", StatusCode::kScriptError},
  };
  for (const MappingCase& c : cases) {
    Status s = StatusFromErrorReply(c.text);
    EXPECT_EQ(s.code(), c.code) << c.text << " -> " << s;
    EXPECT_EQ(s.message(), c.text);
    EXPECT_FALSE(s.ok());
  }
}

TEST(StatusFromErrorReplyTest, PrefixMustBeAtTheStart) {
  EXPECT_EQ(StatusFromErrorReply("ERR mentions WRONGTYPE later").code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusFromErrorReply("ERRX odd").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusFromErrorReply("").code(), StatusCode::kServerError);
  EXPECT_EQ(StatusFromErrorReply("wrongtype lower case").code(), StatusCode::kServerError);
}

}  // namespace
}  // namespace stormkv
