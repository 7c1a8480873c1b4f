#include <gtest/gtest.h>

#include "common/test_util.h"
#include "stormkv/redis_backend.h"
#include "stormkv/redis_cluster_backend.h"

namespace stormkv {
namespace {

TEST(RedisUrlTest, DefaultsPortAndDb) {
  ASSERT_OK_AND_ASSIGN(RedisEndpoint ep, ParseRedisUrl("redis://localhost"));
  EXPECT_EQ(ep.kind, RedisEndpoint::Kind::kTcp);
  EXPECT_EQ(ep.host, "localhost");
  EXPECT_EQ(ep.port, 6379);
  EXPECT_EQ(ep.db, 0);
  EXPECT_EQ(ep.user, "");
  EXPECT_EQ(ep.password, "");
  EXPECT_EQ(ep.Describe(), "redis://localhost:6379/0");
}

TEST(RedisUrlTest, HostPortDb) {
  ASSERT_OK_AND_ASSIGN(RedisEndpoint ep, ParseRedisUrl("redis://127.0.0.1:23103/7"));
  EXPECT_EQ(ep.host, "127.0.0.1");
  EXPECT_EQ(ep.port, 23103);
  EXPECT_EQ(ep.db, 7);
  EXPECT_EQ(ep.Describe(), "redis://127.0.0.1:23103/7");
  ASSERT_OK_AND_ASSIGN(RedisEndpoint slash, ParseRedisUrl("redis://h:1/"));
  EXPECT_EQ(slash.db, 0);
}

TEST(RedisUrlTest, PasswordOnlyAndAclUser) {
  ASSERT_OK_AND_ASSIGN(RedisEndpoint p, ParseRedisUrl("redis://:s3cret@h:6380/1"));
  EXPECT_EQ(p.user, "");
  EXPECT_EQ(p.password, "s3cret");
  EXPECT_EQ(p.Describe(), "redis://h:6380/1");
  ASSERT_OK_AND_ASSIGN(RedisEndpoint acl, ParseRedisUrl("redis://alice:pa%40ss%3Aword@h/2"));
  EXPECT_EQ(acl.user, "alice");
  EXPECT_EQ(acl.password, "pa@ss:word");
  EXPECT_EQ(acl.db, 2);
  EXPECT_EQ(acl.Describe().find("pa"), std::string::npos);
}

TEST(RedisUrlTest, Ipv6) {
  ASSERT_OK_AND_ASSIGN(RedisEndpoint ep, ParseRedisUrl("redis://[::1]:6390/3"));
  EXPECT_EQ(ep.host, "::1");
  EXPECT_EQ(ep.port, 6390);
  EXPECT_EQ(ep.Describe(), "redis://[::1]:6390/3");
}

TEST(RedisUrlTest, UnixSocket) {
  ASSERT_OK_AND_ASSIGN(RedisEndpoint ep, ParseRedisUrl("unix:///run/redis/redis.sock?db=4"));
  EXPECT_EQ(ep.kind, RedisEndpoint::Kind::kUnix);
  EXPECT_EQ(ep.path, "/run/redis/redis.sock");
  EXPECT_EQ(ep.db, 4);
  EXPECT_EQ(ep.Describe(), "unix:///run/redis/redis.sock?db=4");
  ASSERT_OK_AND_ASSIGN(RedisEndpoint plain, ParseRedisUrl("unix:///tmp/r.sock"));
  EXPECT_EQ(plain.db, 0);
  ASSERT_OK_AND_ASSIGN(RedisEndpoint auth, ParseRedisUrl("unix://bob:pw@/tmp/r.sock?db=1"));
  EXPECT_EQ(auth.user, "bob");
  EXPECT_EQ(auth.password, "pw");
  EXPECT_EQ(auth.path, "/tmp/r.sock");
}

void ExpectBad(const std::string& url, const std::string& why) {
  Result<RedisEndpoint> r = ParseRedisUrl(url);
  ASSERT_FALSE(r.ok()) << url << " parsed";
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status();
  EXPECT_NE(r.status().message().find(why), std::string::npos)
      << url << ": '" << r.status().message() << "' does not mention '" << why << "'";
  EXPECT_EQ(r.status().message().find("topsecret"), std::string::npos) << r.status();
}

TEST(RedisUrlTest, BadUrlsAreInvalidArgumentWithTheReason) {
  ExpectBad("http://h:1/0", "expected redis://");
  ExpectBad("", "expected redis://");
  ExpectBad("rediss://h:1/0", "TLS");
  ExpectBad("redis://", "empty host");
  ExpectBad("redis://:6379/0", "empty host");
  ExpectBad("redis://h:0/0", "port '0'");
  ExpectBad("redis://h:65536/0", "port '65536'");
  ExpectBad("redis://h:abc/0", "port 'abc'");
  ExpectBad("redis://h:/0", "empty port");
  ExpectBad("redis://h:1/x", "db 'x'");
  ExpectBad("redis://h:1/-1", "db '-1'");
  ExpectBad("redis://h:1/0/1", "db '0/1'");
  ExpectBad("redis://h:1/0?db=1", "query parameters");
  ExpectBad("redis://[::1:6379/0", "unterminated");
  ExpectBad("unix://relative.sock", "no socket path");
  ExpectBad("unix://tmp/r.sock", "absolute");
  ExpectBad("unix:///tmp/r.sock?timeout=1", "unknown query parameter 'timeout'");
  ExpectBad("unix:///tmp/r.sock?db=z", "db 'z'");
}

TEST(RedisUrlTest, ErrorsNeverShowThePassword) {
  ExpectBad("redis://:topsecret@h:bad/0", "port 'bad'");
  ExpectBad("redis://u:topsecret@h:1/zz", "db 'zz'");
  ExpectBad("redis://topsecret@h:1/0", "without a password");
  ExpectBad("redis://u:%zztopsecret@h/0", "percent-encoding");
  Result<RedisEndpoint> r = ParseRedisUrl("redis://u:topsecret@h:1/zz");
  EXPECT_NE(r.status().message().find("redis://u:***@h:1/zz"), std::string::npos) << r.status();
}

TEST(RedisUrlTest, NewRedisBackendRejectsBadOptionsWithoutConnecting) {
  RedisOptions o;
  o.url = "redis://h:1/x";
  EXPECT_TRUE(NewRedisBackend(o).status().IsInvalidArgument());
  o.url = "redis://127.0.0.1:1/0";
  o.pool_size = 0;
  EXPECT_TRUE(NewRedisBackend(o).status().IsInvalidArgument());
  o.pool_size = 1;
  o.connect_timeout = std::chrono::milliseconds(0);
  EXPECT_TRUE(NewRedisBackend(o).status().IsInvalidArgument());
}


TEST(RedisClusterUrlTest, SeedsAndCredentials) {
  ASSERT_OK_AND_ASSIGN(RedisClusterSeeds one, ParseRedisClusterUrl("redis-cluster://h1:7000"));
  ASSERT_EQ(one.seeds.size(), 1u);
  EXPECT_EQ(one.seeds[0].host, "h1");
  EXPECT_EQ(one.seeds[0].port, 7000);
  EXPECT_EQ(one.seeds[0].db, 0);
  EXPECT_EQ(one.password, "");
  EXPECT_EQ(one.Describe(), "redis-cluster://h1:7000");
  ASSERT_OK_AND_ASSIGN(RedisClusterSeeds many,
                       ParseRedisClusterUrl("redis-cluster://alice:p%40ss@10.0.0.1:7000,"
                                            "10.0.0.2,[::1]:7002"));
  ASSERT_EQ(many.seeds.size(), 3u);
  EXPECT_EQ(many.user, "alice");
  EXPECT_EQ(many.password, "p@ss");
  EXPECT_EQ(many.seeds[1].host, "10.0.0.2");
  EXPECT_EQ(many.seeds[1].port, 6379);
  EXPECT_EQ(many.seeds[2].host, "::1");
  EXPECT_EQ(many.seeds[2].port, 7002);
  for (const RedisEndpoint& ep : many.seeds) {
    EXPECT_EQ(ep.user, "alice");
    EXPECT_EQ(ep.password, "p@ss");
  }
  EXPECT_EQ(many.Describe(), "redis-cluster://10.0.0.1:7000,10.0.0.2:6379,[::1]:7002");
  ASSERT_OK_AND_ASSIGN(RedisClusterSeeds pw, ParseRedisClusterUrl("redis-cluster://:s@h:1"));
  EXPECT_EQ(pw.user, "");
  EXPECT_EQ(pw.password, "s");
}

void ExpectBadCluster(const std::string& url, const std::string& why) {
  Result<RedisClusterSeeds> r = ParseRedisClusterUrl(url);
  ASSERT_FALSE(r.ok()) << url << " parsed";
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status();
  EXPECT_NE(r.status().message().find(why), std::string::npos)
      << url << ": '" << r.status().message() << "' does not mention '" << why << "'";
  EXPECT_EQ(r.status().message().find("topsecret"), std::string::npos) << r.status();
}

TEST(RedisClusterUrlTest, BadUrlsAreInvalidArgumentWithTheReason) {
  ExpectBadCluster("redis://h:1/0", "expected redis-cluster://");
  ExpectBadCluster("redis-cluster://", "empty seed");
  ExpectBadCluster("redis-cluster://h:1,", "empty seed");
  ExpectBadCluster("redis-cluster://h:1,,h:2", "empty seed");
  ExpectBadCluster("redis-cluster://:1", "empty host");
  ExpectBadCluster("redis-cluster://h:0", "port '0'");
  ExpectBadCluster("redis-cluster://h:1,h:99999", "port '99999'");
  ExpectBadCluster("redis-cluster://h:1/0", "no db path");
  ExpectBadCluster("redis-cluster://h:1?x=1", "query parameters");
  ExpectBadCluster("redis-cluster://topsecret@h:1", "without a password");
  ExpectBadCluster("redis-cluster://u:topsecret@h:bad", "port 'bad'");
  // The plain parser points cluster URLs to the cluster backend.
  Result<RedisEndpoint> plain = ParseRedisUrl("redis-cluster://h:1");
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.status().message().find("NewRedisClusterBackend"), std::string::npos);
}

TEST(RedisClusterUrlTest, NewRedisClusterBackendRejectsBadOptionsWithoutConnecting) {
  RedisClusterOptions o;
  o.url = "redis-cluster://127.0.0.1:1";
  o.max_redirects = 0;
  EXPECT_TRUE(NewRedisClusterBackend(o).status().IsInvalidArgument());
  o.max_redirects = 5;
  o.retry_backoff = std::chrono::milliseconds(0);
  EXPECT_TRUE(NewRedisClusterBackend(o).status().IsInvalidArgument());
  o.retry_backoff = std::chrono::milliseconds(10);
  o.pool_size = 0;
  EXPECT_TRUE(NewRedisClusterBackend(o).status().IsInvalidArgument());
  o.pool_size = 2;
  o.url = "redis-cluster://h:1/0";
  EXPECT_TRUE(NewRedisClusterBackend(o).status().IsInvalidArgument());
  EXPECT_TRUE(NewRedisBackendFromUrl("memcached://h:1").status().IsInvalidArgument());
}

TEST(RedisClusterUrlTest, UnreachableSeedsFailClearlyAndQuickly) {
  RedisClusterOptions o;
  o.url = "redis-cluster://127.0.0.1:1,127.0.0.1:2";
  auto start = std::chrono::steady_clock::now();
  Result<std::unique_ptr<KvBackend>> kv = NewRedisClusterBackend(o);
  ASSERT_FALSE(kv.ok());
  EXPECT_TRUE(kv.status().IsUnavailable()) << kv.status();
  EXPECT_NE(kv.status().message().find("no node answered CLUSTER SLOTS"), std::string::npos)
      << kv.status();
  EXPECT_NE(kv.status().message().find("127.0.0.1:1"), std::string::npos) << kv.status();
  EXPECT_NE(kv.status().message().find("127.0.0.1:2"), std::string::npos) << kv.status();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  // The same through the one factory.
  EXPECT_TRUE(NewRedisBackendFromUrl(o.url).status().IsUnavailable());
}

}  // namespace
}  // namespace stormkv
