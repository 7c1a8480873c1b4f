// The CLI's building blocks, without a process: counts and percentages, key families, backend URLs, tables,
// triage findings.
#include <gmock/gmock.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "backend_url.h"
#include "common/test_util.h"
#include "stormkv/shm_backend.h"
#include "key_families.h"
#include "table.h"
#include "triage.h"
#include "units.h"

namespace stormkv::cli {
namespace {

using ::testing::HasSubstr;

TEST(Units, CountsAndPercentages) {
  EXPECT_EQ(FormatCount(1234567), "1,234,567");
  EXPECT_EQ(FormatCount(-1000), "-1,000");
  EXPECT_EQ(FormatPercent(0.5), "50%");
  EXPECT_EQ(FormatPercent(0.0046), "0.46%");
}

TEST(KeyFamilies, StormkvFamiliesWhateverThePrefix) {
  KeyFamily f = ClassifyKey("stormkv:dedup:{abc}");
  EXPECT_TRUE(f.is_stormkv);
  EXPECT_EQ(f.family, "dedup");
  EXPECT_EQ(f.prefix, "stormkv:");
  EXPECT_EQ(f.label, "stormkv:dedup:*");
  f = ClassifyKey("tenant-a:gw:storm-agg:{prod}:KubePodCrashLooping");
  EXPECT_TRUE(f.is_stormkv);
  EXPECT_EQ(f.family, "storm-agg");
  EXPECT_EQ(f.label, "tenant-a:gw:storm-agg:*");
  f = ClassifyKey("ratelimit:{client}");
  EXPECT_TRUE(f.is_stormkv);
  EXPECT_EQ(f.label, "ratelimit:*");
}

TEST(KeyFamilies, OtherKeysByLeadingSegment) {
  EXPECT_EQ(ClassifyKey("session:123").label, "session:*");
  EXPECT_FALSE(ClassifyKey("session:123").is_stormkv);
  EXPECT_EQ(ClassifyKey("cache/user/1").label, "cache/*");
  EXPECT_EQ(ClassifyKey("plainkey").label, "(no prefix)");
  EXPECT_EQ(ClassifyKey("stormkv:unknown:{x}").label, "stormkv:*");
  EXPECT_FALSE(ClassifyKey("stormkv:unknown:{x}").is_stormkv);
}

TEST(BackendUrls, Kinds) {
  EXPECT_EQ(ParseBackendUrl("memory")->kind, BackendKind::kMemory);
  EXPECT_EQ(ParseBackendUrl("memory://?allocator=upstream")->allocator,
            AllocatorProfile::kUpstream);
  EXPECT_EQ(ParseBackendUrl("redis://127.0.0.1:6379/0")->kind, BackendKind::kRedis);
  EXPECT_EQ(ParseBackendUrl("unix:///tmp/redis.sock?db=2")->kind, BackendKind::kRedis);
  Result<BackendUrl> shm = ParseBackendUrl("shm://gw?size=64mb");
  ASSERT_TRUE(shm.ok());
  EXPECT_EQ(shm->shm_name, "gw");
  EXPECT_EQ(shm->shm_size_bytes, 64LL << 20);
}

TEST(BackendUrls, MasksPasswords) {
  Result<BackendUrl> u = ParseBackendUrl("redis://alice:s3cret@db:6379/1");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->display, "redis://alice:***@db:6379/1");
  Result<BackendUrl> bad = ParseBackendUrl("nope://alice:s3cret@db");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), ::testing::Not(HasSubstr("s3cret")));
}

TEST(BackendUrls, ShmMissingSegmentIsRefusedClearly) {
  Result<std::unique_ptr<KvBackend>> kv =
      OpenBackend(*ParseBackendUrl("shm://stormkv-cli-test-missing?size=64mb"));
  ASSERT_FALSE(kv.ok());
  EXPECT_TRUE(kv.status().IsInvalidArgument());
  EXPECT_THAT(kv.status().message(), HasSubstr("does not exist"));
}

TEST(BackendUrls, ShmCreatesAndAttaches) {
  const std::string name = "stormkv-cli-test-" + std::to_string(::getpid());
  const std::string url = "shm://" + name + "?size=8mb&create=1";
  {
    Result<std::unique_ptr<KvBackend>> kv = OpenBackend(*ParseBackendUrl(url));
    ASSERT_TRUE(kv.ok()) << kv.status();
    ASSERT_OK((*kv)->Set("k", "v"));
    Result<std::unique_ptr<KvBackend>> again = OpenBackend(*ParseBackendUrl(url));
    ASSERT_TRUE(again.ok()) << again.status();
    Result<std::optional<std::string>> got = (*again)->Get("k");
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->value_or(""), "v");
  }
  EXPECT_OK(RemoveShmSegment(name));
}

TEST(TableRender, AlignsColumns) {
  Table t({"family", "keys", "bytes"});
  t.AddRow({"dedup", "412", "98 KB"});
  t.AddRow({"storm-agg", "3", "1.2 KB"});
  t.AddSeparator();
  t.AddRow({"total", "415", "99 KB"});
  EXPECT_EQ(t.Render(0),
            "family     keys   bytes\n"
            "dedup       412   98 KB\n"
            "storm-agg     3  1.2 KB\n"
            "-----------------------\n"
            "total       415   99 KB\n");
}

bool HasFinding(const std::vector<Finding>& fs, const std::string& code, Severity s) {
  for (const Finding& f : fs) {
    if (f.code == code && f.severity == s) return true;
  }
  return false;
}

TriageReport Healthy() {
  TriageReport r;
  r.dbsize = 10;
  r.memory.used_memory = 2 << 20;
  r.memory.maxmemory = 256 << 20;
  r.memory.policy = "noeviction";
  r.memory.cached_scripts = 6;
  return r;
}

TEST(TriageFindings, HealthyServerHasNoErrorOrWarning) {
  std::vector<Finding> fs = AnalyzeFindings(Healthy(), {});
  for (const Finding& f : fs) EXPECT_EQ(f.severity, Severity::kInfo) << f.code << ": " << f.message;
}

TEST(TriageFindings, MaxmemoryBelowUsedIsAnErrorThatSaysOom) {
  TriageReport r = Healthy();
  r.memory.maxmemory = 1 << 20;
  std::vector<Finding> fs = AnalyzeFindings(r, {});
  ASSERT_TRUE(HasFinding(fs, "maxmemory-below-used", Severity::kError));
  EXPECT_EQ(fs.front().severity, Severity::kError) << "errors come first";
  EXPECT_THAT(fs.front().message, HasSubstr("OOM"));
  EXPECT_THAT(fs.front().message, HasSubstr("FLUSHDB"));
  r.findings = fs;
  EXPECT_TRUE(HasErrors(r));
}

TEST(TriageFindings, TinyMaxmemoryWarnsEvenBeforeItIsHit) {
  TriageReport r = Healthy();
  r.memory.used_memory = 900 << 10;
  r.memory.maxmemory = 2 << 20;
  EXPECT_TRUE(HasFinding(AnalyzeFindings(r, {}), "maxmemory-tiny", Severity::kWarning));
}

TEST(TriageFindings, EvictionPolicies) {
  TriageReport r = Healthy();
  r.memory.policy = "allkeys-lru";
  EXPECT_TRUE(HasFinding(AnalyzeFindings(r, {}), "eviction-policy", Severity::kWarning));
  r.memory.policy = "volatile-ttl";
  std::vector<Finding> fs = AnalyzeFindings(r, {});
  ASSERT_TRUE(HasFinding(fs, "eviction-policy", Severity::kWarning));
  r.memory.policy = "noeviction";
  EXPECT_TRUE(HasFinding(AnalyzeFindings(r, {}), "eviction-policy", Severity::kInfo));
}

TEST(TriageFindings, ScriptCacheGrowth) {
  TriageReport r = Healthy();
  r.memory.cached_scripts = 5000;
  r.memory.scripts = 3 << 20;
  TriageOptions o;
  EXPECT_TRUE(HasFinding(AnalyzeFindings(r, o), "script-cache-growth", Severity::kWarning));
  o.max_cached_scripts = 10000;
  EXPECT_FALSE(HasFinding(AnalyzeFindings(r, o), "script-cache-growth", Severity::kWarning));
}

TEST(TriageFindings, GatewayKeysWithoutTtlAndBigKeys) {
  TriageReport r = Healthy();
  FamilyUsage f;
  f.label = "stormkv:dedup:*";
  f.is_stormkv = true;
  f.keys = 25;
  f.inspected_keys = 25;
  f.no_ttl_keys = 25;
  f.no_ttl_bytes = 2500;
  r.families.push_back(f);
  r.stormkv_no_ttl_keys = 25;
  r.stormkv_no_ttl_bytes = 2500;
  r.big_keys.push_back({"blob", "string", "raw", 5 << 20, -1});
  std::vector<Finding> fs = AnalyzeFindings(r, {});
  EXPECT_TRUE(HasFinding(fs, "gateway-keys-without-ttl", Severity::kWarning));
  EXPECT_TRUE(HasFinding(fs, "big-keys", Severity::kWarning));
}

TEST(TriageFindings, PastOomAndEvictions) {
  TriageReport r = Healthy();
  r.memory.oom_rejections = 12;
  r.memory.evicted_keys = 3;
  std::vector<Finding> fs = AnalyzeFindings(r, {});
  EXPECT_TRUE(HasFinding(fs, "oom-rejections", Severity::kWarning));
  EXPECT_TRUE(HasFinding(fs, "evicted-keys", Severity::kWarning));
}

TEST(TriageReadOnly, RefusesWritesAndConfig) {
  class Recorder : public KvBackend {
   public:
    Result<Reply> Run(const Command& argv) override {
      seen.push_back(argv[0]);
      return Reply::Ok();
    }
    std::vector<Result<Reply>> RunBatch(const std::vector<Command>& cmds) override {
      std::vector<Result<Reply>> out;
      for (const Command& c : cmds) out.push_back(Run(c));
      return out;
    }
    Result<Reply> Eval(const Script&, const std::vector<std::string>&,
                       const std::vector<std::string>&) override {
      seen.push_back("EVAL");
      return Reply::Ok();
    }
    std::string Describe() const override { return "recorder"; }
    std::vector<std::string> seen;
  } target;
  std::unique_ptr<KvBackend> ro = MakeReadOnlyBackend(&target);
  for (const Command& c : std::vector<Command>{{"SET", "k", "v"},
                                               {"CONFIG", "SET", "maxmemory", "1mb"},
                                               {"CONFIG", "GET", "maxmemory"},
                                               {"FLUSHDB"},
                                               {"DEL", "k"},
                                               {"MEMORY", "PURGE"},
                                               {"OBJECT", "FREQ", "k"},
                                               {"SCRIPT", "FLUSH"}}) {
    EXPECT_FALSE(ro->Run(c).ok()) << c[0];
  }
  EXPECT_FALSE(ro->RunBatch({{"TYPE", "k"}, {"DEL", "k"}})[0].ok()) << "a batch is all or nothing";
  EXPECT_TRUE(target.seen.empty()) << "nothing refused may reach the server";
  for (const Command& c : std::vector<Command>{{"INFO", "memory"},
                                               {"dbsize"},
                                               {"SCAN", "0"},
                                               {"TYPE", "k"},
                                               {"PTTL", "k"},
                                               {"MEMORY", "USAGE", "k"},
                                               {"object", "encoding", "k"}}) {
    EXPECT_TRUE(ro->Run(c).ok()) << c[0];
  }
}

}  // namespace
}  // namespace stormkv::cli
