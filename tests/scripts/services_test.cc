// Behaviour of the four gateway services on every backend: defaults, windows (moved with
// TestBackend::advance), errors (Corruption, WRONGTYPE, OOM), and the keys they write.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "common/backend_factories.h"
#include "common/test_util.h"
#include "scripts/script_test_util.h"
#include "stormkv/gateway/dedup.h"
#include "stormkv/gateway/rate_limiter.h"
#include "stormkv/gateway/storm_aggregator.h"
#include "stormkv/gateway/storm_detector.h"

namespace stormkv {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

class ServicesTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { STORMKV_SETUP_BACKEND(GetParam(), tb_); }

  KvBackend& kv() { return *tb_->kv; }
  std::shared_ptr<const Clock> clock() { return tb_->clock; }
  void Advance(milliseconds d) { ASSERT_OK(tb_->advance(d)); }
  int64_t Now() { return tb_->clock->NowMs(); }
  // PTTL within 1.5 s of `expected` (real Redis ages keys in real time while a test runs).
  void ExpectPttlNear(const std::string& key, milliseconds expected) {
    ASSERT_OK_AND_ASSIGN(int64_t pttl, kv().Pttl(key));
    EXPECT_LE(pttl, expected.count()) << key;
    EXPECT_GE(pttl, expected.count() - 1500) << key;
  }
  StormAlert Alert(std::string resource, std::string ns = "payments",
                   std::string alertname = "KubePodCrashLooping") {
    StormAlert a;
    a.ns = std::move(ns);
    a.alertname = std::move(alertname);
    a.resource = std::move(resource);
    a.fingerprint = std::string(64, 'a');
    a.severity = "critical";
    a.labels = {{"alertname", a.alertname}, {"namespace", a.ns}};
    return a;
  }

  std::optional<TestBackend> tb_;
  KeySchema schema_;
};

// ---- Deduplicator ---------------------------------------------------------------------------

TEST_P(ServicesTest, DedupDefaultsAndCounting) {
  Deduplicator dedup(kv(), clock(), schema_);
  EXPECT_EQ(dedup.options().ttl, minutes(5));
  const int64_t t0 = Now();
  ASSERT_OK_AND_ASSIGN(DedupResult first, dedup.Record("fp-1", "rr-0001"));
  EXPECT_FALSE(first.is_duplicate);
  EXPECT_EQ(first.count, 1);
  EXPECT_EQ(first.first_seen_ms, t0);
  EXPECT_EQ(first.last_seen_ms, t0);
  EXPECT_EQ(first.rr_name, "rr-0001");
  ExpectPttlNear(dedup.KeyFor("fp-1"), minutes(5));

  Advance(minutes(4));
  ASSERT_OK_AND_ASSIGN(DedupResult dup, dedup.Record("fp-1", "rr-other"));
  EXPECT_TRUE(dup.is_duplicate);
  EXPECT_EQ(dup.count, 2);
  EXPECT_EQ(dup.first_seen_ms, t0);
  EXPECT_EQ(dup.last_seen_ms, t0 + 240000);
  EXPECT_EQ(dup.rr_name, "rr-0001") << "duplicates keep the first remediation request";
  ExpectPttlNear(dedup.KeyFor("fp-1"), minutes(5));  // refreshed

  ASSERT_OK_AND_ASSIGN(auto looked, dedup.Lookup("fp-1"));
  ASSERT_TRUE(looked.has_value());
  EXPECT_EQ(looked->count, 2);
  EXPECT_EQ(looked->rr_name, "rr-0001");

  // Four more minutes: still remembered (TTL was refreshed); then five minutes of silence.
  Advance(minutes(4));
  ASSERT_OK_AND_ASSIGN(DedupResult third, dedup.Record("fp-1", "x"));
  EXPECT_EQ(third.count, 3);
  Advance(minutes(5) + seconds(1));
  ASSERT_OK_AND_ASSIGN(auto gone, dedup.Lookup("fp-1"));
  EXPECT_FALSE(gone.has_value());
  ASSERT_OK_AND_ASSIGN(DedupResult fresh, dedup.Record("fp-1", "rr-0002"));
  EXPECT_FALSE(fresh.is_duplicate);
  EXPECT_EQ(fresh.count, 1);
  EXPECT_EQ(fresh.rr_name, "rr-0002");
}

TEST_P(ServicesTest, DedupLastSeenNeverGoesBack) {
  Deduplicator dedup(kv(), clock(), schema_);
  auto skewed = std::make_shared<ManualClock>(Now() - 30000);  // a replica 30 s behind
  Deduplicator behind(kv(), skewed, schema_);
  ASSERT_OK_AND_ASSIGN(DedupResult a, dedup.Record("fp", "rr"));
  ASSERT_OK_AND_ASSIGN(DedupResult b, behind.Record("fp", "rr"));
  EXPECT_EQ(b.count, 2);
  EXPECT_EQ(b.last_seen_ms, a.last_seen_ms);
}

TEST_P(ServicesTest, DedupErrors) {
  Deduplicator dedup(kv(), clock(), schema_);
  EXPECT_TRUE(dedup.Record("", "rr").status().IsInvalidArgument());
  ASSERT_OK(kv().Set(dedup.KeyFor("fp"), "a string"));
  auto r = dedup.Record("fp", "rr");
  EXPECT_TRUE(r.status().IsWrongType()) << r.status();
  ASSERT_OK(kv().Del({dedup.KeyFor("fp")}));
  ASSERT_OK(kv().HSet(dedup.KeyFor("fp"), {{"count", "x"}}));
  EXPECT_TRUE(dedup.Lookup("fp").status().IsCorruption());
}

// ---- StormDetector --------------------------------------------------------------------------

TEST_P(ServicesTest, DetectorRateStormAndWindow) {
  StormDetector det(kv(), clock(), schema_);
  EXPECT_EQ(det.options().rate_threshold, 10);
  EXPECT_EQ(det.options().rate_window, minutes(1));
  for (int i = 1; i <= 10; ++i) {
    ASSERT_OK_AND_ASSIGN(StormCheck c, det.Observe("prod", "HighCPU", "Pod/a"));
    EXPECT_EQ(c.rate_count, i);
    EXPECT_FALSE(c.rate_storm) << "10 alerts/min is not a storm (> 10 is)";
    ExpectPttlNear(det.RateKey("prod", "HighCPU"), minutes(1));
  }
  ASSERT_OK_AND_ASSIGN(StormCheck eleventh, det.Observe("prod", "HighCPU", "Pod/a"));
  EXPECT_TRUE(eleventh.rate_storm);
  EXPECT_EQ(eleventh.type(), StormType::kRate);
  // Another alert name or namespace counts separately.
  ASSERT_OK_AND_ASSIGN(StormCheck other, det.Observe("prod", "HighMemory", "Pod/a"));
  EXPECT_EQ(other.rate_count, 1);
  // The window is fixed from its first alert: a minute later the count starts again.
  Advance(minutes(1) + seconds(1));
  ASSERT_OK_AND_ASSIGN(StormCheck later, det.Observe("prod", "HighCPU", "Pod/a"));
  EXPECT_EQ(later.rate_count, 1);
  EXPECT_FALSE(later.rate_storm);
}

TEST_P(ServicesTest, DetectorCounterAlwaysHasTtl) {
  StormDetector det(kv(), clock(), schema_);
  // A counter left without TTL (e.g. by an older gateway) gets one on the next alert.
  ASSERT_OK(kv().Set(det.RateKey("prod", "X"), "4"));
  ASSERT_OK_AND_ASSIGN(StormCheck c, det.Observe("prod", "X", "Pod/a"));
  EXPECT_EQ(c.rate_count, 5);
  ExpectPttlNear(det.RateKey("prod", "X"), minutes(1));
  ExpectPttlNear(det.PatternKey("prod", "X"), minutes(2));
}

TEST_P(ServicesTest, DetectorPatternStormSlidingWindow) {
  StormDetector det(kv(), clock(), schema_);
  EXPECT_EQ(det.options().pattern_threshold, 5);
  EXPECT_EQ(det.options().pattern_window, minutes(2));
  for (int i = 1; i <= 5; ++i) {
    ASSERT_OK_AND_ASSIGN(StormCheck c, det.Observe("prod", "Down", "Pod/p" + std::to_string(i)));
    EXPECT_EQ(c.distinct_resources, i);
    EXPECT_FALSE(c.pattern_storm);
    Advance(seconds(20));
  }
  // A repeat is not a new resource.
  ASSERT_OK_AND_ASSIGN(StormCheck repeat, det.Observe("prod", "Down", "Pod/p5"));
  EXPECT_EQ(repeat.distinct_resources, 5);
  ASSERT_OK_AND_ASSIGN(StormCheck sixth, det.Observe("prod", "Down", "Pod/p6"));
  EXPECT_EQ(sixth.distinct_resources, 6);
  EXPECT_TRUE(sixth.pattern_storm);
  EXPECT_EQ(sixth.type(), StormType::kPattern);
  // p1 was seen 100 s ago, p2 80 s ago: 30 s later p1 has left the 2-minute window, p2 not.
  Advance(seconds(30));
  ASSERT_OK_AND_ASSIGN(StormCheck after, det.Observe("prod", "Down", "Pod/p6"));
  EXPECT_EQ(after.distinct_resources, 5);
  EXPECT_FALSE(after.pattern_storm);
  ASSERT_OK_AND_ASSIGN(int64_t card, kv().ZCard(det.PatternKey("prod", "Down")));
  EXPECT_EQ(card, 5);
  // Two quiet minutes: the whole window (and its key) is gone.
  Advance(minutes(2) + seconds(1));
  ASSERT_OK_AND_ASSIGN(int64_t exists, kv().Exists({det.PatternKey("prod", "Down")}));
  EXPECT_EQ(exists, 0);
}

TEST_P(ServicesTest, DetectorBoundsTrackedResources) {
  StormDetectionOptions o;
  o.max_tracked_resources = 8;
  StormDetector det(kv(), clock(), schema_, o);
  for (int i = 0; i < 50; ++i) {
    ASSERT_OK_AND_ASSIGN(StormCheck c, det.Observe("prod", "Down", "Pod/p" + std::to_string(i)));
    EXPECT_EQ(c.distinct_resources, std::min(i + 1, 8));
  }
  ASSERT_OK_AND_ASSIGN(int64_t card, kv().ZCard(det.PatternKey("prod", "Down")));
  EXPECT_EQ(card, 8);
}

// ---- StormAggregator ------------------------------------------------------------------------

TEST_P(ServicesTest, AggregatorDefaults) {
  StormAggregator agg(kv(), clock(), schema_);
  EXPECT_EQ(agg.options().layout, Layout::kCompact);
  EXPECT_EQ(agg.options().inactivity_window, minutes(1));
  EXPECT_EQ(agg.options().hard_cap, minutes(5));
  EXPECT_GE(agg.options().max_resources, 100);
}

TEST_P(ServicesTest, AggregatorEveryLayoutAggregatesAlike) {
  for (Layout layout : kAllLayouts) {
    SCOPED_TRACE(std::string(LayoutName(layout)));
    AggregationOptions o;
    o.layout = layout;
    o.max_resources = 3;
    StormAggregator agg(kv(), clock(), KeySchema({.prefix = std::string(LayoutName(layout)) + ":"}),
                        o);
    const int64_t t0 = Now();
    ASSERT_OK_AND_ASSIGN(auto none, agg.Get("payments", "KubePodCrashLooping"));
    EXPECT_FALSE(none.has_value());
    ASSERT_OK_AND_ASSIGN(AggregateResult r1, agg.Add(Alert("Pod/api-1")));
    EXPECT_TRUE(r1.is_new);
    EXPECT_EQ(r1.alert_count, 1);
    EXPECT_EQ(r1.resource_count, 1);
    EXPECT_EQ(r1.first_seen_ms, t0);
    Advance(seconds(10));
    ASSERT_OK_AND_ASSIGN(AggregateResult r2, agg.Add(Alert("Pod/api-1")));
    EXPECT_FALSE(r2.is_new);
    EXPECT_EQ(r2.alert_count, 2);
    EXPECT_EQ(r2.resource_count, 1);
    for (const char* pod : {"Pod/api-2", "Pod/api-3", "Pod/api-4", "Pod/api-5", "Pod/api-2"}) {
      ASSERT_OK(agg.Add(Alert(pod)));
    }
    ASSERT_OK_AND_ASSIGN(AggregateResult r, agg.Add(Alert("Pod/api-6")));
    EXPECT_EQ(r.alert_count, 8);
    EXPECT_EQ(r.resource_count, 3) << "bounded by max_resources";
    EXPECT_EQ(r.overflow, 3) << "api-4, api-5, api-6 did not fit";
    EXPECT_EQ(r.first_seen_ms, t0);
    EXPECT_EQ(r.last_seen_ms, t0 + 10000);

    ASSERT_OK_AND_ASSIGN(auto rec, agg.Get("payments", "KubePodCrashLooping"));
    ASSERT_TRUE(rec.has_value());
    EXPECT_EQ(rec->layout, layout);
    EXPECT_EQ(rec->pattern, "rate");
    EXPECT_EQ(rec->alert_count, 8);
    EXPECT_EQ(rec->overflow, 3);
    EXPECT_EQ(rec->first_seen_ms, t0);
    EXPECT_EQ(rec->last_seen_ms, t0 + 10000);
    ASSERT_EQ(rec->resources.size(), 3u);
    EXPECT_EQ(rec->resources[0].name, "Pod/api-1");
    EXPECT_EQ(rec->resources[1].name, "Pod/api-2");
    EXPECT_EQ(rec->resources[2].name, "Pod/api-3");
    if (layout == Layout::kCompact) {
      EXPECT_EQ(rec->resources[0].alert_count, 2);
      EXPECT_EQ(rec->resources[1].alert_count, 2);
      EXPECT_EQ(rec->resources[2].alert_count, 1);
    }
    if (layout == Layout::kFullCrd) {
      EXPECT_NE(rec->document.find("\"kind\":\"RemediationRequest\""), std::string::npos);
      EXPECT_NE(rec->document.find("\"stormAlertCount\":8"), std::string::npos);
    }
    // TTL: the sliding inactivity window from the last alert.
    ExpectPttlNear(agg.KeyFor("payments", "KubePodCrashLooping"), minutes(1));
  }
}

TEST_P(ServicesTest, AggregatorInactivityWindowSlidesAndEnds) {
  for (Layout layout : kAllLayouts) {
    SCOPED_TRACE(std::string(LayoutName(layout)));
    AggregationOptions o;
    o.layout = layout;
    StormAggregator agg(kv(), clock(), KeySchema({.prefix = std::string(LayoutName(layout)) + ":"}),
                        o);
    ASSERT_OK_AND_ASSIGN(AggregateResult a, agg.Add(Alert("Pod/a")));
    EXPECT_TRUE(a.is_new);
    Advance(seconds(59));
    ASSERT_OK_AND_ASSIGN(AggregateResult b, agg.Add(Alert("Pod/b")));
    EXPECT_FALSE(b.is_new) << "59 s of quiet keeps the storm open";
    Advance(seconds(59));
    ASSERT_OK_AND_ASSIGN(AggregateResult c, agg.Add(Alert("Pod/c")));
    EXPECT_FALSE(c.is_new) << "the window slides with each alert";
    EXPECT_EQ(c.alert_count, 3);
    Advance(seconds(61));
    ASSERT_OK_AND_ASSIGN(auto gone, agg.Get("payments", "KubePodCrashLooping"));
    EXPECT_FALSE(gone.has_value()) << "the record expires with its inactivity window";
    ASSERT_OK_AND_ASSIGN(AggregateResult d, agg.Add(Alert("Pod/d")));
    EXPECT_TRUE(d.is_new);
    EXPECT_EQ(d.alert_count, 1);
    EXPECT_EQ(d.resource_count, 1);
  }
}

TEST_P(ServicesTest, AggregatorHardCap) {
  for (Layout layout : kAllLayouts) {
    SCOPED_TRACE(std::string(LayoutName(layout)));
    AggregationOptions o;
    o.layout = layout;
    StormAggregator agg(kv(), clock(), KeySchema({.prefix = std::string(LayoutName(layout)) + ":"}),
                        o);
    const int64_t t0 = Now();
    int64_t count = 0;
    for (int i = 0; i < 10; ++i) {  // one alert every 30 s: never inactive
      ASSERT_OK_AND_ASSIGN(AggregateResult r, agg.Add(Alert("Pod/a")));
      EXPECT_EQ(r.is_new, i == 0);
      count = r.alert_count;
      // The TTL never reaches past the hard cap.
      ASSERT_OK_AND_ASSIGN(int64_t pttl, kv().Pttl(agg.KeyFor("payments", "KubePodCrashLooping")));
      EXPECT_LE(pttl, t0 + 300000 - Now());
      Advance(seconds(30));
    }
    EXPECT_EQ(count, 10);
    // 5 min after its start the storm is closed: the next alert opens a new one.
    ASSERT_OK_AND_ASSIGN(AggregateResult r, agg.Add(Alert("Pod/a")));
    EXPECT_TRUE(r.is_new);
    EXPECT_EQ(r.alert_count, 1);
    EXPECT_EQ(r.first_seen_ms, t0 + 300000);
  }
}

TEST_P(ServicesTest, AggregatorLastSeenNeverGoesBack) {
  for (Layout layout : kAllLayouts) {
    SCOPED_TRACE(std::string(LayoutName(layout)));
    AggregationOptions o;
    o.layout = layout;
    KeySchema ks({.prefix = std::string(LayoutName(layout)) + ":"});
    StormAggregator agg(kv(), clock(), ks, o);
    auto skewed = std::make_shared<ManualClock>(Now() - 20000);
    StormAggregator behind(kv(), skewed, ks, o);
    ASSERT_OK_AND_ASSIGN(AggregateResult a, agg.Add(Alert("Pod/a")));
    ASSERT_OK_AND_ASSIGN(AggregateResult b, behind.Add(Alert("Pod/b")));
    EXPECT_FALSE(b.is_new);
    EXPECT_EQ(b.last_seen_ms, a.last_seen_ms);
    EXPECT_EQ(b.first_seen_ms, a.first_seen_ms);
    EXPECT_EQ(b.alert_count, 2);
  }
}

TEST_P(ServicesTest, AggregatorJsonLayoutsWriteCanonicalJson) {
  AggregationOptions o;
  o.layout = Layout::kJsonMeta;
  StormAggregator meta(kv(), clock(), schema_, o);
  ASSERT_OK(meta.Add(Alert("Pod/a b\"c")));
  ASSERT_OK_AND_ASSIGN(auto text, kv().Get(meta.KeyFor("payments", "KubePodCrashLooping")));
  ASSERT_TRUE(text.has_value());
  const std::string expected_prefix = "{\"alert_count\":1,\"first_seen\":" + std::to_string(Now()) +
                                      ",\"last_seen\":" + std::to_string(Now()) +
                                      ",\"overflow\":0,\"pattern\":\"rate\",\"resources\":[\"Pod/a%20b%22c\"]}";
  EXPECT_EQ(*text, expected_prefix);

  // full-crd: empty maps of the document are written as [] (never {}), like every empty list.
  o.layout = Layout::kFullCrd;
  StormAggregator full(kv(), clock(), KeySchema({.prefix = "f:"}), o);
  StormAlert a = Alert("Pod/x");
  a.annotations.clear();
  ASSERT_OK(full.Add(a));
  ASSERT_OK_AND_ASSIGN(auto doc, kv().Get(full.KeyFor("payments", "KubePodCrashLooping")));
  ASSERT_TRUE(doc.has_value());
  EXPECT_EQ(doc->find("\"signalAnnotations\":{}"), std::string::npos) << *doc;
  EXPECT_NE(doc->find("\"signalAnnotations\":[]"), std::string::npos) << *doc;
  ASSERT_OK_AND_ASSIGN(std::string canonical, CanonicalJson(*doc));
  EXPECT_EQ(canonical, *doc);
}

TEST_P(ServicesTest, AggregatorCorruptRecords) {
  for (Layout layout : {Layout::kJsonMeta, Layout::kFullCrd}) {
    SCOPED_TRACE(std::string(LayoutName(layout)));
    AggregationOptions o;
    o.layout = layout;
    StormAggregator agg(kv(), clock(), schema_, o);
    const std::string key = agg.KeyFor("payments", "KubePodCrashLooping");
    for (const char* junk : {"not json at all", "{\"alert_count\":", "[]", "{\"spec\":5}"}) {
      ASSERT_OK(kv().Set(key, junk));
      auto added = agg.Add(Alert("Pod/a"));
      EXPECT_TRUE(added.status().IsCorruption()) << junk << " -> " << added.status();
      auto got = agg.Get("payments", "KubePodCrashLooping");
      EXPECT_TRUE(got.status().IsCorruption()) << junk << " -> " << got.status();
      ASSERT_OK_AND_ASSIGN(auto still, kv().Get(key));
      EXPECT_EQ(still.value_or(""), junk) << "a corrupt record is left unchanged";
    }
    ASSERT_OK(kv().Del({key}));
  }
  StormAggregator compact(kv(), clock(), schema_);
  const std::string key = compact.KeyFor("payments", "KubePodCrashLooping");
  ASSERT_OK(kv().HSet(key, {{"#n", "3"}}));
  EXPECT_TRUE(compact.Add(Alert("Pod/a")).status().IsCorruption());
  EXPECT_TRUE(compact.Get("payments", "KubePodCrashLooping").status().IsCorruption());
}

// Redis's cjson decodes at most 1000 nested arrays/objects ("Found too many nested data
// structures" -> CORRUPT); the twins refuse the same records instead of recursing without bound.
TEST_P(ServicesTest, AggregatorNestingLimitMatchesCjson) {
  const auto nest = [](int n) { return std::string(n, '[') + std::string(n, ']'); };
  const std::string t = std::to_string(Now());
  for (Layout layout : {Layout::kJsonMeta, Layout::kFullCrd}) {
    SCOPED_TRACE(std::string(LayoutName(layout)));
    AggregationOptions o;
    o.layout = layout;
    StormAggregator agg(kv(), clock(), schema_, o);
    const std::string key = agg.KeyFor("payments", "KubePodCrashLooping");
    const auto record = [&](int count, const std::string& resources, const std::string& x) {
      if (layout == Layout::kJsonMeta) {
        return "{\"alert_count\":" + std::to_string(count) + ",\"first_seen\":" + t +
               ",\"last_seen\":" + t + ",\"overflow\":0,\"pattern\":\"rate\",\"resources\":[" +
               resources + "],\"x\":" + x + "}";
      }
      return "{\"spec\":{\"affectedResources\":[" + resources +
             "],\"deduplication\":{\"firstSeen\":" + t + ",\"lastSeen\":" + t +
             ",\"occurrenceCount\":" + std::to_string(count) + "},\"stormAlertCount\":" +
             std::to_string(count) + ",\"stormOverflowCount\":0},\"x\":" + x + "}";
    };
    // 1 (the record) + 999 = 1000 levels: decoded, updated and re-encoded in full.
    ASSERT_OK(kv().Set(key, record(1, "\"Pod/b\"", nest(999))));
    ASSERT_OK_AND_ASSIGN(AggregateResult r, agg.Add(Alert("Pod/a")));
    EXPECT_FALSE(r.is_new);
    EXPECT_EQ(r.alert_count, 2);
    EXPECT_EQ(r.resource_count, 2);
    ASSERT_OK_AND_ASSIGN(auto kept, kv().Get(key));
    EXPECT_EQ(kept.value_or(""), record(2, "\"Pod/b\",\"Pod/a\"", nest(999)));
    // 1001 levels (and far more): Corruption, the record left unchanged.
    for (int n : {1000, 100000}) {
      const std::string deep = record(1, "\"Pod/b\"", nest(n));
      ASSERT_OK(kv().Set(key, deep));
      auto added = agg.Add(Alert("Pod/a"));
      EXPECT_TRUE(added.status().IsCorruption()) << n << " -> " << added.status();
      ASSERT_OK_AND_ASSIGN(auto still, kv().Get(key));
      EXPECT_TRUE(still.value_or("") == deep) << "a corrupt record is left unchanged";
    }
    ASSERT_OK(kv().Del({key}));
  }
}

TEST_P(ServicesTest, AggregatorWrongType) {
  StormAggregator compact(kv(), clock(), schema_);
  AggregationOptions o;
  o.layout = Layout::kJsonMeta;
  StormAggregator meta(kv(), clock(), schema_, o);
  // A json-meta record read by the compact layout, and the other way round.
  ASSERT_OK(meta.Add(Alert("Pod/a")));
  auto r = compact.Add(Alert("Pod/a"));
  EXPECT_TRUE(r.status().IsWrongType()) << r.status();
  EXPECT_TRUE(compact.Get("payments", "KubePodCrashLooping").status().IsWrongType());
  ASSERT_OK(kv().Del({meta.KeyFor("payments", "KubePodCrashLooping")}));
  ASSERT_OK(compact.Add(Alert("Pod/a")));
  r = meta.Add(Alert("Pod/a"));
  EXPECT_TRUE(r.status().IsWrongType()) << r.status();
  EXPECT_TRUE(meta.Get("payments", "KubePodCrashLooping").status().IsWrongType());
}

TEST_P(ServicesTest, AggregatorRejectsEmptyInput) {
  StormAggregator agg(kv(), clock(), schema_);
  EXPECT_TRUE(agg.Add(Alert("")).status().IsInvalidArgument());
  EXPECT_TRUE(agg.Add(Alert("Pod/a", "")).status().IsInvalidArgument());
  AggregationOptions o;
  o.max_resources = 0;
  StormAggregator bad(kv(), clock(), schema_, o);
  EXPECT_TRUE(bad.Add(Alert("Pod/a")).status().IsInvalidArgument());
}

TEST_P(ServicesTest, OutOfMemorySurfacesAsOutOfMemory) {
  // The guard restores maxmemory even when an assertion fails (a lowered budget outlives
  // FLUSHDB: the very bug the triage note missed).
  testing_scripts::MaxMemoryGuard guard(kv());
  ASSERT_OK(guard.status());
  ASSERT_OK(kv().ConfigSet("maxmemory", "1"));
  Deduplicator dedup(kv(), clock(), schema_);
  EXPECT_TRUE(dedup.Record("fp", "rr").status().IsOutOfMemory());
  for (Layout layout : kAllLayouts) {
    AggregationOptions o;
    o.layout = layout;
    StormAggregator agg(kv(), clock(), schema_, o);
    auto r = agg.Add(Alert("Pod/a"));
    EXPECT_TRUE(r.status().IsOutOfMemory()) << LayoutName(layout) << ": " << r.status();
  }
  StormDetector det(kv(), clock(), schema_);
  EXPECT_TRUE(det.Observe("ns", "A", "Pod/a").status().IsOutOfMemory());
  RateLimiter limiter(kv(), clock(), schema_);
  EXPECT_TRUE(limiter.Allow("client").status().IsOutOfMemory());
}

// ---- RateLimiter ----------------------------------------------------------------------------

TEST_P(ServicesTest, RateLimiterGcra) {
  RateLimitOptions o;
  o.burst = 3;
  o.rate = 1;
  o.period = seconds(10);
  RateLimiter limiter(kv(), clock(), schema_, o);
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(RateDecision d, limiter.Allow("am-1"));
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining, 2 - i);
    EXPECT_EQ(d.retry_after_ms, 0);
    EXPECT_EQ(d.reset_after_ms, 10000 * (i + 1));
  }
  ExpectPttlNear(limiter.KeyFor("am-1"), seconds(30));  // expires when full again
  ASSERT_OK_AND_ASSIGN(RateDecision denied, limiter.Allow("am-1"));
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.remaining, 0);
  EXPECT_EQ(denied.retry_after_ms, 10000);
  EXPECT_EQ(denied.reset_after_ms, 30000);
  // Another client has its own bucket.
  ASSERT_OK_AND_ASSIGN(RateDecision other, limiter.Allow("am-2"));
  EXPECT_TRUE(other.allowed);
  // After retry_after exactly one more unit is available.
  Advance(seconds(10));
  ASSERT_OK_AND_ASSIGN(RateDecision again, limiter.Allow("am-1"));
  EXPECT_TRUE(again.allowed);
  EXPECT_EQ(again.remaining, 0);
  ASSERT_OK_AND_ASSIGN(RateDecision peek, limiter.Allow("am-1", 0));
  EXPECT_TRUE(peek.allowed);
  EXPECT_EQ(peek.remaining, 0);
  // Once the bucket is full again its key is gone.
  Advance(seconds(31));
  ASSERT_OK_AND_ASSIGN(int64_t exists, kv().Exists({limiter.KeyFor("am-1")}));
  EXPECT_EQ(exists, 0);
  ASSERT_OK_AND_ASSIGN(RateDecision full, limiter.Allow("am-1", 3));
  EXPECT_TRUE(full.allowed);
  EXPECT_EQ(full.remaining, 0);
}

// A stored arrival time no valid state can have (not a number, NaN, or beyond now + burst
// intervals, e.g. past 2^63 µs) counts as a full bucket; retry/reset never go negative.
TEST_P(ServicesTest, RateLimiterUnusableStoredTimeIsAFullBucket) {
  RateLimitOptions o;
  o.burst = 3;
  o.rate = 1;
  o.period = seconds(10);
  RateLimiter limiter(kv(), clock(), schema_, o);
  const std::string key = limiter.KeyFor("c");
  const int64_t now_us = Now() * 1000;
  const int64_t burst_us = 30'000'000;
  for (const std::string& junk :
       {std::string("17681544017681544000000000000000"), std::string("1e308"),
        std::string("nan"), std::string("inf"), std::string("-inf"), std::string("pebbles"),
        std::to_string(now_us + burst_us + 1)}) {
    SCOPED_TRACE(junk);
    ASSERT_OK(kv().Set(key, junk, SetOptions{minutes(1)}));
    ASSERT_OK_AND_ASSIGN(RateDecision peek, limiter.Allow("c", 0));
    EXPECT_TRUE(peek.allowed);
    EXPECT_EQ(peek.remaining, 3);
    EXPECT_EQ(peek.retry_after_ms, 0);
    EXPECT_EQ(peek.reset_after_ms, 0);
    ASSERT_OK_AND_ASSIGN(RateDecision d, limiter.Allow("c", 3));
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining, 0);
    EXPECT_EQ(d.reset_after_ms, 30000);
    ASSERT_OK_AND_ASSIGN(auto stored, kv().Get(key));
    EXPECT_EQ(stored.value_or(""), std::to_string(now_us + burst_us)) << "replaced";
    ASSERT_OK_AND_ASSIGN(RateDecision denied, limiter.Allow("c", 1));
    EXPECT_FALSE(denied.allowed);
    EXPECT_EQ(denied.retry_after_ms, 10000);
  }
  // The latest valid time (an empty bucket) is kept: denied, with a positive wait.
  ASSERT_OK(kv().Set(key, std::to_string(now_us + burst_us), SetOptions{minutes(1)}));
  ASSERT_OK_AND_ASSIGN(RateDecision full, limiter.Allow("c", 2));
  EXPECT_FALSE(full.allowed);
  EXPECT_EQ(full.remaining, 0);
  EXPECT_EQ(full.retry_after_ms, 20000);
  EXPECT_EQ(full.reset_after_ms, 30000);
}

TEST_P(ServicesTest, RateLimiterArguments) {
  RateLimiter limiter(kv(), clock(), schema_);
  EXPECT_EQ(limiter.options().burst, 100);
  EXPECT_TRUE(limiter.Allow("", 1).status().IsInvalidArgument());
  EXPECT_TRUE(limiter.Allow("c", -1).status().IsInvalidArgument());
  EXPECT_TRUE(limiter.Allow("c", 101).status().IsInvalidArgument());
  RateLimitOptions bad;
  bad.rate = 0;
  EXPECT_TRUE(RateLimiter(kv(), clock(), schema_, bad).Allow("c").status().IsInvalidArgument());
  ASSERT_OK(kv().HSet(limiter.KeyFor("c"), {{"f", "v"}}));
  EXPECT_TRUE(limiter.Allow("c").status().IsWrongType());
}

// ---- keys -----------------------------------------------------------------------------------

TEST_P(ServicesTest, ServiceKeysUsePrefixAndEscapeLabels) {
  KeySchema custom({.prefix = "tenant-7:", .max_part_bytes = 64});
  Deduplicator dedup(kv(), clock(), custom);
  StormDetector det(kv(), clock(), custom);
  StormAggregator agg(kv(), clock(), custom);
  // A slow refill, so the bucket this test writes lives an hour: with the default (100 per
  // second) it lives 10 ms, and on a loaded real server it could expire before the SCAN below.
  RateLimiter limiter(kv(), clock(), custom,
                      RateLimitOptions{.burst = 100, .rate = 1, .period = std::chrono::hours(1)});
  EXPECT_EQ(dedup.KeyFor("abc"), "tenant-7:dedup:{abc}");
  EXPECT_EQ(limiter.KeyFor("am:1"), "tenant-7:ratelimit:{am%3A1}");
  // A namespace that tries to forge a separator or a hash tag stays inside its own part.
  EXPECT_EQ(agg.KeyFor("a}:{b", "X"), "tenant-7:storm-agg:{a%7D%3A%7Bb:X}");
  EXPECT_NE(agg.KeyFor("a:b", "c"), agg.KeyFor("a", "b:c"));
  // Both keys of the detector's script share one hash tag.
  auto tag = [](const std::string& k) { return k.substr(k.find('{'), k.find('}') - k.find('{')); };
  EXPECT_EQ(tag(det.RateKey("ns", "A")), tag(det.PatternKey("ns", "A")));
  // ... and the storm's aggregation too: the tag is the storm (namespace, alert name), so other
  // alert names of the namespace get other tags (they spread over a cluster's slots).
  EXPECT_EQ(tag(det.RateKey("ns", "A")), tag(agg.KeyFor("ns", "A")));
  EXPECT_EQ(HashSlot(det.PatternKey("ns", "A")), HashSlot(agg.KeyFor("ns", "A")));
  EXPECT_NE(tag(det.RateKey("ns", "A")), tag(det.RateKey("ns", "B")));
  // Label-derived parts are bounded.
  const std::string huge(10000, 'n');
  EXPECT_LE(agg.KeyFor(huge, huge).size(), std::string("tenant-7:storm-agg:{:}").size() + 2 * 64);
  EXPECT_NE(agg.KeyFor(huge, "a"), agg.KeyFor(huge + "x", "a"));
  // The default bound is 256 bytes per part, under the default prefix.
  Deduplicator default_keys(kv(), clock(), KeySchema());
  EXPECT_EQ(KeySchema().options().max_part_bytes, 256u);
  EXPECT_EQ(default_keys.KeyFor(huge).size(), std::string("stormkv:dedup:{}").size() + 256);

  // The services write exactly these keys, and resources of any size are bounded too.
  ASSERT_OK(dedup.Record("abc", "rr"));
  ASSERT_OK(det.Observe(huge, "A", huge));
  StormAlert a = Alert(huge, huge, "A");
  ASSERT_OK(agg.Add(a));
  ASSERT_OK(limiter.Allow("am:1"));
  std::vector<std::string> keys;
  ASSERT_OK(kv().ScanAll("tenant-7:*", [&](const std::string& k) {
    keys.push_back(k);
    return Status::Ok();
  }));
  std::sort(keys.begin(), keys.end());
  std::vector<std::string> expected = {dedup.KeyFor("abc"), det.RateKey(huge, "A"),
                                       det.PatternKey(huge, "A"), agg.KeyFor(huge, "A"),
                                       limiter.KeyFor("am:1")};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(keys, expected);
  ASSERT_OK_AND_ASSIGN(auto rec, agg.Get(huge, "A"));
  ASSERT_TRUE(rec.has_value());
  ASSERT_EQ(rec->resources.size(), 1u);
  EXPECT_LE(rec->resources[0].name.size(), 64u);
  for (const std::string& k : keys) EXPECT_EQ(custom.FamilyOf(k).empty(), false) << k;
}

INSTANTIATE_TEST_SUITE_P(Backends, ServicesTest, ::testing::ValuesIn(AllBackendNames()),
                         BackendParamName);

TEST(Layouts, NamesRoundTrip) {
  for (Layout l : kAllLayouts) {
    ASSERT_OK_AND_ASSIGN(Layout parsed, ParseLayout(LayoutName(l)));
    EXPECT_EQ(parsed, l);
  }
  EXPECT_EQ(LayoutName(Layout::kFullCrd), "full-crd");
  EXPECT_EQ(LayoutName(Layout::kJsonMeta), "json-meta");
  EXPECT_EQ(LayoutName(Layout::kCompact), "compact");
  ASSERT_OK_AND_ASSIGN(Layout underscore, ParseLayout("json_meta"));
  EXPECT_EQ(underscore, Layout::kJsonMeta);
  EXPECT_TRUE(ParseLayout("lightweight").status().IsInvalidArgument());
}

TEST(Layouts, CanonicalJson) {
  ASSERT_OK_AND_ASSIGN(std::string c,
                       CanonicalJson(R"( {"b": {}, "a": [1, 2.5, 1e3, -0, null, true],
                                          "B": "q\"\\\n\u00e9\u007f"} )"));
  EXPECT_EQ(c, "{\"B\":\"q\\\"\\\\\\u000a\xc3\xa9\\u007f\",\"a\":[1,2.5,1000,0,null,true],\"b\":[]}");
  EXPECT_TRUE(CanonicalJson("{nope").status().IsCorruption());
  // Nesting: at most 1000 levels, as Redis's cjson decodes; brackets in strings do not count.
  const auto nest = [](int n) { return std::string(n, '[') + std::string(n, ']'); };
  EXPECT_OK(CanonicalJson(nest(1000)));
  EXPECT_OK(CanonicalJson("[\"" + std::string(5000, '[') + "\\\"{\"," + nest(999) + "]"));
  EXPECT_TRUE(CanonicalJson(nest(1001)).status().IsCorruption());
  EXPECT_TRUE(CanonicalJson("{\"a\":" + nest(200000) + "}").status().IsCorruption());
}

TEST(StormTypes, Names) {
  EXPECT_EQ(StormTypeName(StormType::kRate), "rate");
  EXPECT_EQ(StormTypeName(StormType::kPattern), "pattern");
  ASSERT_OK_AND_ASSIGN(StormType t, ParseStormType("pattern"));
  EXPECT_EQ(t, StormType::kPattern);
  EXPECT_FALSE(ParseStormType("x").ok());
  StormCheck none;
  EXPECT_FALSE(none.type().has_value());
}

}  // namespace
}  // namespace stormkv
