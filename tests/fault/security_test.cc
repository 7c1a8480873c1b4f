// Hostile input through the Pipeline, on every backend (labels fault, security):
//  * label-controlled key parts cannot leave the tenant's prefix, forge a separator, a hash tag or
//    a glob, touch another tenant's keys, or grow a key without bound;
//  * every size cap of AdapterLimits is enforced at its exact boundary with an error that names
//    the field and the cap, stays short, and writes nothing;
//  * the per-storm resource cap bounds a storm's memory under 10,000 distinct resources, and the
//    overflow is counted.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/backend_factories.h"
#include "common/test_util.h"
#include "fault/fault_util.h"
#include "gateway/payloads.h"
#include "stormkv/gateway/pipeline.h"

namespace stormkv::fault {
namespace {

using stormkv::testing::KubeEvent;
using stormkv::testing::TestAlert;
using stormkv::testing::Webhook;

// Label values an attacker who controls alert labels could send.
std::vector<std::string> HostileValues() {
  return {":",
          "{",
          "}",
          "{}",
          "*",
          "?",
          "[a-z]",
          "\\",
          "x}:{y",
          "tenant-b:dedup:{victim}",
          "}:dedup:{",
          "a\nb",
          "\r\n*3\r\n$3\r\nDEL\r\n",
          std::string("nul\0byte", 8),
          " space ",
          "%7B%7D",
          "~",
          "..",
          "../../etc",
          "\xc3\xa9\xe4\xb8\xad",  // UTF-8
          std::string(1024, '{'),  // the largest label value the adapter accepts
          std::string(1000, '*') + "x"};
}

// Redis Cluster's hash tag of a key (the whole key when there is none).
std::string HashTag(const std::string& key) {
  const std::size_t open = key.find('{');
  if (open == std::string::npos) return key;
  const std::size_t close = key.find('}', open + 1);
  if (close == std::string::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

bool HasControlByte(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

class SecurityTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { STORMKV_SETUP_BACKEND(GetParam(), tb_); }
  void TearDown() override {
    if (tb_ && tb_->cleanup) tb_->cleanup();
  }
  KvBackend& kv() { return *tb_->kv; }

  static PipelineOptions Options(const std::string& prefix, Layout layout = Layout::kCompact) {
    PipelineOptions o;
    o.keys.prefix = prefix;
    o.storm.pattern_threshold = 2;
    o.aggregation.layout = layout;
    // A big bucket that refills slowly: never denies here, and its key (hostile client ids
    // included) lives for hours instead of expiring in real time between two SCANs on Redis.
    o.rate_limit.burst = 100000;
    o.rate_limit.rate = 1;
    o.rate_limit.period = std::chrono::hours(1);
    return o;
  }

  std::vector<std::string> AllKeys() {
    std::vector<std::string> keys;
    EXPECT_OK(kv().ScanAll("", [&](const std::string& k) {
      keys.push_back(k);
      return Status::Ok();
    }));
    return keys;
  }

  // Expects a rejection naming `fragment`, short, without control bytes, writing nothing.
  void ExpectRejected(Pipeline& p, const std::string& payload, const std::string& fragment,
                      SignalSource source = SignalSource::kAlertmanager) {
    ASSERT_OK_AND_ASSIGN(int64_t before, kv().DbSize());
    IngestResult r = p.Ingest(payload, source, "attacker");
    EXPECT_TRUE(r.status.IsInvalidArgument()) << r.status;
    // An oversized body is not the sender's mistake: Alertmanager gets a retryable 503.
    const bool too_large = PayloadTooLarge(payload.size(), p.options().limits);
    EXPECT_EQ(r.http_status, too_large ? OversizedPayloadHttpStatus(source) : 400);
    ASSERT_EQ(r.decisions.size(), 1u);
    const std::string& reason = r.decisions[0].reason;
    EXPECT_NE(reason.find(fragment), std::string::npos)
        << "reason '" << reason << "' lacks '" << fragment << "'";
    EXPECT_LE(reason.size(), 512u) << "an error should not echo the hostile input";
    EXPECT_FALSE(HasControlByte(reason)) << "raw control bytes in an error text: " << reason;
    ASSERT_OK_AND_ASSIGN(int64_t after, kv().DbSize());
    EXPECT_EQ(after, before) << "a rejected payload wrote something";
  }

  std::optional<TestBackend> tb_;
};

TEST_P(SecurityTest, HostileLabelsCannotLeaveThePrefixOrTouchAnotherTenant) {
  // (No rate bucket for the victim: it refills within microseconds and would expire in real time
  // on Redis between the two snapshots.)
  PipelineOptions victim_options = Options("tenant-b:");
  victim_options.rate_limit_enabled = false;
  Pipeline victim(kv(), tb_->clock, victim_options);
  TestAlert normal;
  normal.name = "victim";
  ASSERT_OK(victim.Ingest(Webhook(normal)).status);
  ASSERT_OK_AND_ASSIGN(auto victim_before, Snapshot(kv(), "tenant-b:"));
  ASSERT_FALSE(victim_before.empty());

  const std::vector<std::string> hostile = HostileValues();
  for (Layout layout : kAllLayouts) {
    Pipeline attacker(kv(), tb_->clock,
                      Options("tenant-a-" + std::string(LayoutName(layout)) + ":", layout));
    for (const std::string& v : hostile) {
      std::vector<TestAlert> alerts;
      for (const char* kind : {"pod", "deployment", "node"}) {
        TestAlert a;
        a.name = v;  // alertname: tag of the storm keys
        a.ns = v;    // namespace: the hash tag
        a.resource_label = kind;
        a.resource = v.substr(0, 1000) + kind;  // resource: a storm member
        a.extra_labels = {{"x", v}};
        alerts.push_back(a);
        a.ns = "ns";
        a.resource = kind;
        alerts.push_back(a);  // a storm of the hostile alertname in a plain namespace
      }
      IngestResult r = attacker.Ingest(Webhook(alerts), SignalSource::kAlertmanager, v);
      ASSERT_TRUE(r.status.ok()) << "label '" << v.substr(0, 40) << "': " << r.status;
      EXPECT_GE(r.Count(Outcome::kStormAggregated), 1u) << "the storm path must see hostile labels";
      IngestResult e = attacker.Ingest(KubeEvent(v.substr(0, 253), v.substr(0, 63), "Pod", v.substr(0, 253)),
                                       SignalSource::kKubernetesEvent, v);
      EXPECT_TRUE(e.status.ok() || e.status.IsInvalidArgument()) << e.status;
    }
  }

  const std::set<std::string_view> families = {family::kDedup,     family::kStormRate,
                                               family::kStormPattern, family::kStormAgg,
                                               family::kRateLimit,  family::kStormClose,
                                               family::kStormDue};
  int attacker_keys = 0;
  for (const std::string& key : AllKeys()) {
    if (key.rfind("tenant-b:", 0) == 0) continue;
    KeySchemaOptions ao;
    for (Layout layout : kAllLayouts) {
      const std::string prefix = "tenant-a-" + std::string(LayoutName(layout)) + ":";
      if (key.rfind(prefix, 0) == 0) ao.prefix = prefix;
    }
    ASSERT_NE(ao.prefix, KeySchemaOptions().prefix) << "key outside every tenant prefix: " << key;
    const KeySchema a_schema(ao);
    ++attacker_keys;
    const std::string_view fam = a_schema.FamilyOf(key);
    EXPECT_EQ(families.count(fam), 1u) << key;
    const std::string rest = key.substr(ao.prefix.size() + fam.size());
    // ":{<tag>}" then ":<part>"...: exactly one brace pair, no glob byte, no control byte.
    EXPECT_EQ(std::count(key.begin(), key.end(), '{'), 1) << key;
    EXPECT_EQ(std::count(key.begin(), key.end(), '}'), 1) << key;
    EXPECT_EQ(rest.find_first_of("*?[]\\ "), std::string::npos) << key;
    EXPECT_FALSE(HasControlByte(key)) << key;
    EXPECT_EQ(HashTag(key), rest.substr(2, rest.find('}') - 2)) << key;
    EXPECT_LE(key.size(), ao.prefix.size() + 16 + 4 + 2 * ao.max_part_bytes) << key;
    ASSERT_OK_AND_ASSIGN(int64_t ttl, kv().Pttl(key));
    EXPECT_GT(ttl, 0) << key << " would live forever";
  }
  EXPECT_GT(attacker_keys, 50);
  ASSERT_OK_AND_ASSIGN(auto victim_after, Snapshot(kv(), "tenant-b:"));
  EXPECT_EQ(Diff(victim_before, victim_after, 5000), "") << "the attacker reached tenant-b";
  // The attackers' own SCAN patterns see only their keys.
  int matched = 0;
  for (Layout layout : kAllLayouts) {
    KeySchemaOptions ao;
    ao.prefix = "tenant-a-" + std::string(LayoutName(layout)) + ":";
    ASSERT_OK(kv().ScanAll(KeySchema(ao).FamilyPattern(), [&](const std::string& k) {
      EXPECT_EQ(k.rfind(ao.prefix, 0), 0u) << k;
      ++matched;
      return Status::Ok();
    }));
  }
  EXPECT_EQ(matched, attacker_keys);
}

TEST_P(SecurityTest, GlobCharactersInThePrefixDoNotWidenItsScanPattern) {
  Pipeline star(kv(), tb_->clock, Options("t*:"));
  Pipeline other(kv(), tb_->clock, Options("tx:"));
  ASSERT_OK(star.Ingest(Webhook(TestAlert{})).status);
  ASSERT_OK(other.Ingest(Webhook(TestAlert{})).status);
  int matched = 0;
  ASSERT_OK(kv().ScanAll(star.schema().FamilyPattern(), [&](const std::string& k) {
    EXPECT_EQ(k.rfind("t*:", 0), 0u) << "pattern " << star.schema().FamilyPattern() << " matched " << k;
    ++matched;
    return Status::Ok();
  }));
  EXPECT_GT(matched, 0);
}

TEST_P(SecurityTest, TenKilobyteLabelIsRejectedClearlyWithoutEchoingIt) {
  Pipeline p(kv(), tb_->clock, Options("sec:"));
  TestAlert a;
  a.extra_labels = {{"evil", std::string(10 * 1024, 'A')}};
  ExpectRejected(p, Webhook(a), "alerts[0].labels.evil: value is 10240 bytes, limit 1024");
  a.extra_labels = {};
  a.resource = std::string(10 * 1024, '{');
  ExpectRejected(p, Webhook(a), "alerts[0].labels.pod");
  a.resource = "api-0";
  a.name = std::string(10 * 1024, ':');
  ExpectRejected(p, Webhook(a), "alertname");
}

// Hostile label names and values are escaped (EscapeForError) wherever an error repeats them:
// no forged log line, no raw control byte.
TEST_P(SecurityTest, HostileLabelNamesDoNotInjectLinesIntoErrors) {
  Pipeline p(kv(), tb_->clock, Options("sec:"));
  TestAlert a;
  a.extra_labels = {{"evil\nlevel=info msg=\"forged log line\"", std::string(2000, 'x')}};
  ExpectRejected(p, Webhook(a), "1024");
  a.extra_labels = {};
  a.status = "firing\nforged";
  ExpectRejected(p, Webhook(a), "status");
}

// Each cap of AdapterLimits: the boundary value is accepted, one more is rejected with an error
// naming the field and the cap; both sources.
TEST_P(SecurityTest, EverySizeCapHoldsAtItsBoundary) {
  PipelineOptions o = Options("caps:");
  o.limits.max_items = 5;
  o.limits.max_labels = 8;
  o.limits.max_label_name_bytes = 20;
  o.limits.max_label_value_bytes = 40;
  o.limits.max_annotation_value_bytes = 100;
  o.limits.max_json_depth = 8;
  Pipeline p(kv(), tb_->clock, o);
  auto accepted = [&](const std::string& payload, SignalSource source = SignalSource::kAlertmanager) {
    IngestResult r = p.Ingest(payload, source, "client");
    EXPECT_OK(r.status);
  };

  TestAlert a;
  a.annotations = {};
  // Items.
  accepted(Webhook(std::vector<TestAlert>(5, a)));
  ExpectRejected(p, Webhook(std::vector<TestAlert>(6, a)), "6 alerts exceed the limit of 5");
  // Labels per alert: alertname, severity, namespace, pod + 4 extra = 8.
  a.extra_labels = {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}};
  accepted(Webhook(a));
  a.extra_labels["e"] = "5";
  ExpectRejected(p, Webhook(a), "9 entries exceed the limit of 8");
  // Label name and value bytes.
  a.extra_labels = {{std::string(20, 'n'), std::string(40, 'v')}};
  accepted(Webhook(a));
  a.extra_labels = {{std::string(21, 'n'), "v"}};
  ExpectRejected(p, Webhook(a), "is 21 bytes, limit 20");
  a.extra_labels = {{"n", std::string(41, 'v')}};
  ExpectRejected(p, Webhook(a), "value is 41 bytes, limit 40");
  // Annotation bytes.
  a.extra_labels = {};
  a.annotations = {{"description", std::string(100, 'd')}};
  accepted(Webhook(a));
  a.annotations = {{"description", std::string(101, 'd')}};
  ExpectRejected(p, Webhook(a), "value is 101 bytes, limit 100");
  // Nesting depth: the webhook itself is 4 deep (object, alerts, alert, labels).
  a.annotations = {};
  std::string deep = Webhook(a);
  deep.insert(deep.size() - 1, ",\"x\":" + std::string(4, '[') + std::string(4, ']'));
  accepted(deep);
  std::string deeper = Webhook(a);
  deeper.insert(deeper.size() - 1, ",\"x\":" + std::string(8, '[') + std::string(8, ']'));
  ExpectRejected(p, deeper, "nesting deeper than 8");
  // Payload bytes (default cap 32 MiB).
  const std::size_t cap = AdapterLimits{}.max_payload_bytes;
  std::string big = Webhook(a);
  big.insert(big.size() - 1, ",\"pad\":\"" + std::string(cap + 1 - big.size() - 9, 'p') + "\"");
  ASSERT_EQ(big.size(), cap + 1);
  ExpectRejected(p, big, "payload too large: 33554433 bytes > limit 33554432");
  // Kubernetes Event: message is an annotation, metadata.labels count and values are labels.
  accepted(KubeEvent("BackOff", "ns", "Pod", "api-0"), SignalSource::kKubernetesEvent);
  std::string ev = KubeEvent("BackOff", "ns", "Pod", "api-0");
  const std::string msg = "\"message\":\"BackOff happened\"";
  ASSERT_NE(ev.find(msg), std::string::npos);
  ev.replace(ev.find(msg), msg.size(), "\"message\":\"" + std::string(101, 'm') + "\"");
  ExpectRejected(p, ev, "message: 101 bytes, limit 100", SignalSource::kKubernetesEvent);
  std::string name = KubeEvent("BackOff", "ns", "Pod", std::string(41, 'p'));
  ExpectRejected(p, name, "name: 41 bytes, limit 40", SignalSource::kKubernetesEvent);
}

// 10,000 distinct resources into one storm: the storm's keys stay below a bound computed from
// max_resources / max_tracked_resources and max_part_bytes, and every resource past the cap is
// counted as overflow. Resource names are long and hostile, so each is escaped to the part cap.
TEST_P(SecurityTest, ResourceCapBoundsAHostileStormsMemory) {
  struct Case {
    Layout layout;
    int alerts;
    int64_t max_resources;
  };
  for (const Case& c : {Case{Layout::kCompact, 10000, 1000}, Case{Layout::kJsonMeta, 2000, 100},
                        Case{Layout::kFullCrd, 1000, 50}}) {
    SCOPED_TRACE(LayoutName(c.layout));
    PipelineOptions o = Options(std::string("storm-") + std::string(LayoutName(c.layout)) + ":",
                                c.layout);
    o.rate_limit_enabled = false;
    o.aggregation.max_resources = c.max_resources;
    o.storm.max_tracked_resources = c.max_resources;
    Pipeline p(kv(), tb_->clock, o);
    int aggregated = 0;
    AlertDecision last;
    for (int first = 0; first < c.alerts; first += 1000) {
      std::vector<TestAlert> batch;
      for (int i = first; i < std::min(c.alerts, first + 1000); ++i) {
        TestAlert a;
        a.name = "NodeStorm";
        a.ns = "victim";
        a.annotations = {};
        a.resource = std::string(300, '{') + std::to_string(i);  // escapes to 900+ bytes
        batch.push_back(a);
      }
      IngestResult r = p.Ingest(Webhook(batch));
      ASSERT_OK(r.status);
      for (const AlertDecision& d : r.decisions) {
        if (d.outcome != Outcome::kStormAggregated) continue;
        ++aggregated;
        last = d;
      }
    }
    ASSERT_GT(aggregated, c.alerts - 10);
    EXPECT_EQ(last.storm_alert_count, aggregated);
    EXPECT_EQ(last.storm_resource_count, c.max_resources);
    EXPECT_EQ(last.storm_overflow, aggregated - c.max_resources) << "every resource past the cap counted";

    const int64_t part = static_cast<int64_t>(o.keys.max_part_bytes);
    const std::string agg_key = p.aggregator().KeyFor("victim", "NodeStorm");
    const std::string pattern_key = p.detector().PatternKey("victim", "NodeStorm");
    ASSERT_OK_AND_ASSIGN(std::optional<int64_t> agg_bytes, kv().MemoryUsage(agg_key));
    ASSERT_OK_AND_ASSIGN(std::optional<int64_t> pattern_bytes, kv().MemoryUsage(pattern_key));
    ASSERT_TRUE(agg_bytes.has_value() && pattern_bytes.has_value());
    // Per listed resource: its escaped name (<= max_part_bytes) and as much again for allocator
    // rounding, dict entry / skiplist node and count; 16 KB for the record itself (full-crd
    // carries a ~4 KB template). Without the cap the same storm would need ~alerts/max_resources
    // times more.
    const int64_t agg_bound = c.max_resources * 2 * part + 16 * 1024;
    const int64_t pattern_bound = c.max_resources * 2 * part + 16 * 1024;
    EXPECT_LE(*agg_bytes, agg_bound) << "storm record of " << c.max_resources << " resources";
    EXPECT_LE(*pattern_bytes, pattern_bound);
    ASSERT_OK_AND_ASSIGN(std::optional<StormRecord> rec, p.aggregator().Get("victim", "NodeStorm"));
    ASSERT_TRUE(rec.has_value());
    EXPECT_EQ(static_cast<int64_t>(rec->resources.size()), c.max_resources);
    for (const StormResource& r : rec->resources) EXPECT_LE(r.name.size(), o.keys.max_part_bytes);
    std::cout << "[ security ] " << LayoutName(c.layout) << ": " << aggregated
              << " storm alerts, storm record " << *agg_bytes << " B (bound " << agg_bound
              << "), pattern set " << *pattern_bytes << " B (bound " << pattern_bound
              << "), overflow " << last.storm_overflow << "\n";
  }
}

INSTANTIATE_TEST_SUITE_P(All, SecurityTest, ::testing::ValuesIn(AllBackendNames()),
                         BackendParamName);

}  // namespace
}  // namespace stormkv::fault
