// The Redis test backend of backend_factories.h: a disposable server, its clock, its cleanup.
#include "common/backend_factories.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "stormkv/redis_backend.h"
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

}  // namespace

MakeBackendOutcome MakeRedisTestBackend() {
  MakeBackendOutcome out;
  const std::string url = TestRedisUrl();
  Result<std::unique_ptr<KvBackend>> kv = Connect(url, /*eager=*/true);
  if (!kv.ok()) {
    out.error = kv.status().WithContext("STORMKV_REDIS_URL");
    return out;
  }
  // advance() and cleanup() use their own connection, so they work whatever the test did with
  // (or to) the backend it was given.
  Result<std::unique_ptr<KvBackend>> admin_r = Connect(url, /*eager=*/false);
  if (!admin_r.ok()) {
    out.error = admin_r.status().WithContext("STORMKV_REDIS_URL");
    return out;
  }
  std::shared_ptr<KvBackend> admin(std::move(admin_r).value());
  Status flushed = (*kv)->FlushDb();
  Result<std::string> maxmemory = ConfigValue(**kv, "maxmemory");
  Result<std::string> policy = ConfigValue(**kv, "maxmemory-policy");
  Result<int64_t> now = ServerTimeMs(**kv);
  for (const Status& s : {flushed, maxmemory.status(), policy.status(), now.status()}) {
    if (!s.ok()) {
      out.error = s.WithContext("preparing " + (*kv)->Describe());
      return out;
    }
  }
  TestBackend tb;
  tb.name = "redis";
  tb.clock = std::make_shared<ManualClock>(*now);
  tb.kv = std::move(kv).value();
  std::shared_ptr<ManualClock> clock = tb.clock;
  tb.advance = [clock, admin](std::chrono::milliseconds d) {
    clock->Advance(d);
    return ShiftTtls(*admin, "", d);
  };
  // Verifies that the test left maxmemory and maxmemory-policy as it found them (restoring them
  // and failing the test otherwise), then removes the test's keys.
  tb.cleanup = [admin, mm = *maxmemory, pol = *policy]() {
    Result<std::string> now_mm = ConfigValue(*admin, "maxmemory");
    Result<std::string> now_pol = ConfigValue(*admin, "maxmemory-policy");
    if (!now_mm.ok() || !now_pol.ok()) {
      ADD_FAILURE() << "redis cleanup: cannot read the server config: "
                    << (now_mm.ok() ? now_pol.status() : now_mm.status());
      return;
    }
    if (*now_mm != mm) {
      ADD_FAILURE() << "the test changed maxmemory from " << mm << " to " << *now_mm
                    << " and did not restore it (restored now)";
      EXPECT_TRUE(admin->ConfigSet("maxmemory", mm).ok());
    }
    if (*now_pol != pol) {
      ADD_FAILURE() << "the test changed maxmemory-policy from " << pol << " to " << *now_pol
                    << " and did not restore it (restored now)";
      EXPECT_TRUE(admin->ConfigSet("maxmemory-policy", pol).ok());
    }
    Status flushed = admin->FlushDb();
    EXPECT_TRUE(flushed.ok()) << "redis cleanup: FLUSHDB: " << flushed;
  };
  out.backend = std::move(tb);
  return out;
}

}  // namespace stormkv
