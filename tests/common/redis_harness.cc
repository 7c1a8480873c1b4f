#include "common/redis_harness.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/backend_factories.h"
#include "stormkv/redis_backend.h"

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

// Server time in ms, so that the test clock starts where Redis's clock is.
Result<int64_t> ServerTimeMs(KvBackend& kv) {
  Result<Reply> r = kv.Run({"TIME"});
  if (!r.ok()) return r.status();
  if (!r->is_array() || r->elements().size() != 2) {
    return Status::Internal("unexpected TIME reply " + r->ToString());
  }
  return std::stoll(r->elements()[0].str()) * 1000 + std::stoll(r->elements()[1].str()) / 1000;
}

}  // namespace

Status AdvanceRedisTtls(KvBackend& kv, std::chrono::milliseconds d) {
  if (d.count() <= 0) return Status::Ok();
  std::vector<std::string> keys;
  STORMKV_RETURN_IF_ERROR(kv.ScanAll("", [&](const std::string& k) {
    keys.push_back(k);
    return Status::Ok();
  }));
  if (keys.empty()) return Status::Ok();
  std::vector<Command> pttls;
  pttls.reserve(keys.size());
  for (const std::string& k : keys) pttls.push_back({"PTTL", k});
  std::vector<Result<Reply>> remaining = kv.RunBatch(pttls);
  std::vector<Command> updates;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!remaining[i].ok()) return remaining[i].status().WithContext("advance: PTTL " + keys[i]);
    if (!remaining[i]->is_integer()) {
      return Status::Internal("advance: PTTL " + keys[i] + " answered " + remaining[i]->ToString());
    }
    int64_t ms = remaining[i]->integer();
    if (ms < 0) continue;  // -1 no expiry, -2 gone meanwhile
    int64_t left = ms - d.count();
    // Due keys are deleted. At a remainder of exactly 0 Redis and the memory backend would keep
    // the key for one more millisecond, but real time has already passed on the server since
    // PTTL, so the harness cannot be exact to the millisecond: tests avoid that boundary.
    if (left <= 0) {
      updates.push_back({"DEL", keys[i]});
    } else {
      updates.push_back({"PEXPIRE", keys[i], std::to_string(left)});
    }
  }
  std::vector<Result<Reply>> done = kv.RunBatch(updates);
  for (size_t i = 0; i < done.size(); ++i) {
    if (!done[i].ok())
      return done[i].status().WithContext("advance: " + updates[i][0] + " " + updates[i][1]);
  }
  return Status::Ok();
}

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
    return AdvanceRedisTtls(*admin, d);
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
