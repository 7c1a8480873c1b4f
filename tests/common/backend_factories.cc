#include "common/backend_factories.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "common/test_env.h"
#include "stormkv/memory_backend.h"
#include "stormkv/redis_backend.h"
#include "stormkv/server/server.h"
#include "stormkv/shm_backend.h"

namespace stormkv {

std::vector<std::string> AllBackendNames() {
  return {"memory", "memory-lua", "redis", "shm", "served", "redis-cluster", "memory-cluster"};
}

std::string BackendParamName(const ::testing::TestParamInfo<std::string>& info) {
  // gtest names allow [A-Za-z0-9_] only: "redis-cluster" runs as .../redis_cluster.
  std::string name = info.param;
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

std::string TestRedisUrl() { return EnvOr("STORMKV_REDIS_URL"); }

std::string TestRedisClusterUrl() { return EnvOr("STORMKV_REDIS_CLUSTER_URL"); }

MakeBackendOutcome MakeTestBackend(const std::string& name) {
  MakeBackendOutcome out;
  if (name == "memory" || name == "memory-lua" || name == "memory-cluster") {
    TestBackend tb;
    tb.name = name;
    tb.clock = std::make_shared<ManualClock>();
    MemoryBackendOptions opts;
    opts.clock = tb.clock;
    // memory-lua: every registered script runs its Lua text on the embedded engine.
    if (name == "memory-lua") opts.script_mode = ScriptMode::kLua;
    // memory-cluster: the embedded store as a 3-master Redis Cluster (strict script keys).
    if (name == "memory-cluster") opts.cluster_nodes = 3;
    tb.kv = NewMemoryBackend(opts).value();
    std::shared_ptr<ManualClock> clock = tb.clock;
    tb.advance = [clock](std::chrono::milliseconds d) {
      clock->Advance(d);
      return Status::Ok();
    };
    out.backend = std::move(tb);
    return out;
  }
  if (name == "shm") {
    // A fresh POSIX segment per case (sparse: pages are touched only as used), removed when the
    // backend closes and again at cleanup. Its virtual clock starts where ManualClock does;
    // advance moves both, so `clock` (what services read) and the store's clock agree.
    static std::atomic<int> counter{0};
    ShmBackendOptions o;
    // pid, counter and a random tag: a segment left by a crashed run whose pid comes back is
    // never mistaken for this case's.
    static const std::string tag = [] {
      std::random_device rd;
      char buf[9];
      std::snprintf(buf, sizeof buf, "%08x", rd());
      return std::string(buf);
    }();
    o.name = "stormkv-test-" + std::to_string(::getpid()) + "-" + tag + "-" +
             std::to_string(counter++);
    o.open = ShmBackendOptions::OpenMode::kCreate;
    o.size = int64_t{512} * 1024 * 1024;
    o.remove_on_close = true;
    Result<std::unique_ptr<ShmBackend>> kv = NewShmBackend(o);
    if (!kv.ok()) {
      out.error = kv.status();
      return out;
    }
    TestBackend tb;
    tb.name = name;
    tb.clock = std::make_shared<ManualClock>();
    std::shared_ptr<ShmClock> shared = (*kv)->clock();
    shared->SetMs(tb.clock->NowMs());
    std::shared_ptr<ManualClock> clock = tb.clock;
    tb.advance = [clock, shared](std::chrono::milliseconds d) {
      clock->Advance(d);
      shared->Advance(d);
      return Status::Ok();
    };
    tb.cleanup = [seg = o.name]() { (void)RemoveShmSegment(seg); };
    tb.kv = std::move(*kv);
    out.backend = std::move(tb);
    return out;
  }
  if (name == "redis") {
    const ServerCheck check = CheckServerVariable("STORMKV_REDIS_URL");
    if (!check.present) {
      if (!check.failure.empty()) out.error = Status::Unavailable(check.failure);
      out.skip_reason = check.skip_reason;
      return out;
    }
    return MakeRedisTestBackend();
  }
  if (name == "served") {
    // The embedded store behind `stormkv serve`'s server (in-process, a free loopback port),
    // reached through the RedisBackend: the project's own client proves the server.
    auto clock = std::make_shared<ManualClock>();
    MemoryBackendOptions mo;
    mo.clock = clock;
    ServerOptions so;
    so.backend = std::shared_ptr<KvBackend>(NewMemoryBackend(mo).value());
    so.port = 0;
    so.clock.now_ms = [clock] { return clock->NowMs(); };
    so.clock.set_ms = [clock](int64_t ms) { clock->SetMs(ms); };
    so.clock.advance = [clock](int64_t d) { clock->Advance(std::chrono::milliseconds(d)); };
    Result<std::unique_ptr<Server>> server = Server::Start(std::move(so));
    if (!server.ok()) {
      out.error = server.status();
      return out;
    }
    std::shared_ptr<Server> srv(std::move(*server));
    RedisOptions ro;
    ro.url = "redis://127.0.0.1:" + std::to_string(srv->port()) + "/0";
    Result<std::unique_ptr<KvBackend>> kv = NewRedisBackend(ro);
    if (!kv.ok()) {
      out.error = kv.status();
      return out;
    }
    TestBackend tb;
    tb.name = name;
    tb.clock = clock;
    tb.kv = std::move(*kv);
    tb.advance = [clock](std::chrono::milliseconds d) {
      clock->Advance(d);
      return Status::Ok();
    };
    tb.cleanup = [srv]() mutable { srv->Stop(); };
    out.backend = std::move(tb);
    return out;
  }
  if (name == "redis-cluster") {
    const ServerCheck check = CheckServerVariable("STORMKV_REDIS_CLUSTER_URL");
    if (!check.present) {
      if (!check.failure.empty()) out.error = Status::Unavailable(check.failure);
      out.skip_reason = check.skip_reason;
      return out;
    }
    return MakeRedisClusterTestBackend();
  }
  out.error = Status::InvalidArgument("unknown test backend '" + name + "'");
  return out;
}

}  // namespace stormkv
