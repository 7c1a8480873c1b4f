// The Redis test backends of backend_factories.h: a disposable server or cluster, its clock, its
// cleanup.
#include "common/backend_factories.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "stormkv/redis_backend.h"
#include "stormkv/redis_cluster_backend.h"
#include "stormkv/ttl_shift.h"

namespace stormkv {
namespace {

Result<std::unique_ptr<KvBackend>> Connect(const std::string& url, bool eager) {
  RedisOptions opts;
  opts.url = url;
  opts.connect_timeout = std::chrono::milliseconds(2000);
  opts.command_timeout = std::chrono::milliseconds(30000);
  opts.pool_size = 8;
  opts.connect_eagerly = eager;
  return NewRedisBackend(opts);
}

Result<std::string> ConfigValue(KvBackend& kv, const char* name) {
  Result<std::optional<std::string>> v = kv.ConfigGet(name);
  if (!v.ok()) return v.status();
  if (!v->has_value())
    return Status::Internal(std::string("CONFIG GET ") + name + " answered nothing");
  return **v;
}

// What one server of a test backend had at the start: cleanup restores and reports any change.
struct NodeConfig {
  KvBackend* node;
  std::string maxmemory;
  std::string policy;
};

// The part both Redis kinds share: FLUSHDB (every master on a cluster), the config of each server
// (`nodes`), the server clock; advance() and cleanup() go through `admin`, a connection of its
// own, so they work whatever the test did with (or to) the backend it was given.
MakeBackendOutcome MakeServerTestBackend(const std::string& name, std::unique_ptr<KvBackend> kv,
                                         std::shared_ptr<KvBackend> admin,
                                         const std::vector<KvBackend*>& nodes) {
  MakeBackendOutcome out;
  Status flushed = kv->FlushDb();
  std::vector<NodeConfig> configs;
  Status config_status;
  for (KvBackend* node : nodes) {
    Result<std::string> maxmemory = ConfigValue(*node, "maxmemory");
    Result<std::string> policy = ConfigValue(*node, "maxmemory-policy");
    if (!maxmemory.ok() || !policy.ok()) {
      config_status = (maxmemory.ok() ? policy.status() : maxmemory.status())
                          .WithContext(node->Describe());
      break;
    }
    configs.push_back(NodeConfig{node, *maxmemory, *policy});
  }
  Result<int64_t> now = ServerTimeMs(*kv);
  for (const Status& s : {flushed, config_status, now.status()}) {
    if (!s.ok()) {
      out.error = s.WithContext("preparing " + kv->Describe());
      return out;
    }
  }
  TestBackend tb;
  tb.name = name;
  tb.clock = std::make_shared<ManualClock>(*now);
  tb.kv = std::move(kv);
  std::shared_ptr<ManualClock> clock = tb.clock;
  tb.advance = [clock, admin](std::chrono::milliseconds d) {
    clock->Advance(d);
    return ShiftTtls(*admin, "", d);
  };
  // Verifies that the test left maxmemory and maxmemory-policy of every server as it found them
  // (restoring them and failing the test otherwise), then removes the test's keys.
  tb.cleanup = [admin, configs]() {
    for (const NodeConfig& c : configs) {
      Result<std::string> now_mm = ConfigValue(*c.node, "maxmemory");
      Result<std::string> now_pol = ConfigValue(*c.node, "maxmemory-policy");
      if (!now_mm.ok() || !now_pol.ok()) {
        ADD_FAILURE() << "redis cleanup: cannot read the config of " << c.node->Describe() << ": "
                      << (now_mm.ok() ? now_pol.status() : now_mm.status());
        continue;
      }
      if (*now_mm != c.maxmemory) {
        ADD_FAILURE() << "the test changed maxmemory from " << c.maxmemory << " to " << *now_mm
                      << " on " << c.node->Describe() << " and did not restore it (restored now)";
        EXPECT_TRUE(c.node->ConfigSet("maxmemory", c.maxmemory).ok());
      }
      if (*now_pol != c.policy) {
        ADD_FAILURE() << "the test changed maxmemory-policy from " << c.policy << " to " << *now_pol
                      << " on " << c.node->Describe() << " and did not restore it (restored now)";
        EXPECT_TRUE(c.node->ConfigSet("maxmemory-policy", c.policy).ok());
      }
    }
    Status flushed = admin->FlushDb();
    EXPECT_TRUE(flushed.ok()) << "redis cleanup: FLUSHDB: " << flushed;
  };
  out.backend = std::move(tb);
  return out;
}

Result<std::unique_ptr<KvBackend>> ConnectCluster(const std::string& url) {
  RedisClusterOptions opts;
  opts.url = url;
  opts.connect_timeout = std::chrono::milliseconds(2000);
  opts.command_timeout = std::chrono::milliseconds(30000);
  opts.pool_size = 8;
  return NewRedisClusterBackend(opts);
}

}  // namespace

MakeBackendOutcome MakeRedisTestBackend() {
  MakeBackendOutcome out;
  const std::string url = TestRedisUrl();
  Result<std::unique_ptr<KvBackend>> kv = Connect(url, /*eager=*/true);
  if (!kv.ok()) {
    out.error = kv.status().WithContext("STORMKV_REDIS_URL");
    return out;
  }
  Result<std::unique_ptr<KvBackend>> admin_r = Connect(url, /*eager=*/false);
  if (!admin_r.ok()) {
    out.error = admin_r.status().WithContext("STORMKV_REDIS_URL");
    return out;
  }
  std::shared_ptr<KvBackend> admin(std::move(admin_r).value());
  return MakeServerTestBackend("redis", std::move(kv).value(), admin, {admin.get()});
}

MakeBackendOutcome MakeRedisClusterTestBackend() {
  MakeBackendOutcome out;
  const std::string url = TestRedisClusterUrl();
  Result<std::unique_ptr<KvBackend>> kv = ConnectCluster(url);
  Result<std::unique_ptr<KvBackend>> admin_r =
      kv.ok() ? ConnectCluster(url) : Result<std::unique_ptr<KvBackend>>(kv.status());
  if (!admin_r.ok()) {
    out.error = admin_r.status().WithContext("STORMKV_REDIS_CLUSTER_URL");
    return out;
  }
  std::shared_ptr<KvBackend> admin(std::move(admin_r).value());
  std::vector<KvBackend*> masters;
  for (const RedisClusterNode& n : AsRedisClusterBackend(admin.get())->Nodes()) {
    masters.push_back(n.backend);
  }
  return MakeServerTestBackend("redis-cluster", std::move(kv).value(), admin, masters);
}

}  // namespace stormkv
