// Fuzz target of the stored-record decoders: the input's first byte picks a record kind, the rest
// is stored in the memory backend exactly where the gateway keeps that record, and the services
// read and update it (StormAggregator::Get/Add of each layout and their native twins,
// Deduplicator::Lookup/Record, RateLimiter::Allow, StormDetector::Observe), or CanonicalJson
// decodes it. Properties: no crash or exception; reads answer a value or Corruption; a failed
// update is a clear non-internal error and leaves the stored bytes unchanged; what an update
// writes is valid JSON (JSON layouts); CanonicalJson's output decodes again.
#include <algorithm>
#include <exception>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "fuzz_targets.h"
#include "stormkv/clock.h"
#include "stormkv/gateway/dedup.h"
#include "stormkv/gateway/json_text.h"
#include "stormkv/gateway/layouts.h"
#include "stormkv/gateway/rate_limiter.h"
#include "stormkv/gateway/storm_aggregator.h"
#include "stormkv/gateway/storm_detector.h"
#include "stormkv/memory_backend.h"

namespace stormkv::fuzz {
namespace {

struct Env {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::unique_ptr<KvBackend> kv;
  KeySchema schema;
};

Env& Get() {
  static Env* env = [] {
    auto* e = new Env;
    MemoryBackendOptions o;
    o.clock = e->clock;
    o.active_expiry = false;
    e->kv = NewMemoryBackend(o).value();
    return e;
  }();
  return *env;
}

// Splits `bytes` at NUL bytes into field/value pairs (a trailing odd field gets value "").
std::vector<std::pair<std::string, std::string>> Pairs(std::string_view bytes) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= bytes.size()) {
    std::size_t end = bytes.find('\0', start);
    if (end == std::string_view::npos) end = bytes.size();
    parts.emplace_back(bytes.substr(start, end - start));
    start = end + 1;
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t i = 0; i < parts.size(); i += 2) {
    out.emplace_back(parts[i], i + 1 < parts.size() ? parts[i + 1] : "");
  }
  return out;
}

void CheckUpdateError(const Status& s, const std::string& what) {
  FUZZ_CHECK(!s.ok(), what);
  FUZZ_CHECK(s.code() != StatusCode::kInternal, what + ": " + s.ToString());
  FUZZ_CHECK(!s.message().empty(), what);
}

std::string Raw(KvBackend& kv, const std::string& key) {
  Result<std::optional<std::string>> v = kv.Get(key);
  FUZZ_CHECK(v.ok(), v.status().ToString());
  return v->value_or("<missing>");
}

std::string HashText(KvBackend& kv, const std::string& key) {
  auto h = kv.HGetAll(key);
  FUZZ_CHECK(h.ok(), h.status().ToString());
  std::sort(h->begin(), h->end());
  std::string out;
  for (const auto& [f, v] : *h) out += f + '\0' + v + '\0';
  return out;
}

StormAlert Alert() {
  StormAlert a;
  a.ns = "payments";
  a.alertname = "PodCrashLooping";
  a.storm_type = StormType::kPattern;
  a.resource = "Pod/api-7";
  a.fingerprint = std::string(64, 'c');
  a.severity = "critical";
  a.labels = {{"alertname", "PodCrashLooping"}};
  return a;
}

void JsonRecord(Env& env, Layout layout, std::string_view bytes) {
  AggregationOptions o;
  o.layout = layout;
  o.max_resources = 3;
  StormAggregator agg(*env.kv, env.clock, env.schema, o);
  const std::string key = agg.KeyFor("payments", "PodCrashLooping");
  const std::string stored(bytes);
  FUZZ_CHECK(env.kv->Set(key, stored, SetOptions{std::chrono::minutes(1)}).ok(), "SET");
  Result<std::optional<StormRecord>> got = agg.Get("payments", "PodCrashLooping");
  FUZZ_CHECK(got.ok() || got.status().IsCorruption(), got.status().ToString());
  if (got.ok()) {
    FUZZ_CHECK(got->has_value(), "a stored record read as missing");
    FUZZ_CHECK(nlohmann::json::accept(stored), "accepted a record that is not JSON");
  }
  Result<AggregateResult> added = agg.Add(Alert());
  if (!added.ok()) {
    CheckUpdateError(added.status(), std::string(LayoutName(layout)) + " Add");
    FUZZ_CHECK(Raw(*env.kv, key) == stored, "a failed Add changed the record");
    return;
  }
  if (added->is_new) {
    FUZZ_CHECK(added->alert_count == 1 && added->resource_count == 1 && added->overflow == 0,
               "a fresh storm starts at one alert of one resource");
  }
  const std::string after = Raw(*env.kv, key);
  // What the scripts write is what Redis's cjson reads back. From a strict JSON record that is
  // strict JSON; a record cjson accepts leniently (raw non-UTF-8 bytes inside a string, as Lua
  // keeps them) may stay lenient, exactly as the Lua script on Redis leaves it.
  if (nlohmann::json::accept(stored) || !DecodeLikeCjson(stored).has_value()) {
    FUZZ_CHECK(nlohmann::json::accept(after), "Add wrote invalid JSON: " + Printable(after));
  } else {
    FUZZ_CHECK(DecodeLikeCjson(after).has_value(),
               "Add wrote what cjson cannot read back: " + Printable(after));
  }
  Result<std::optional<StormRecord>> reread = agg.Get("payments", "PodCrashLooping");
  FUZZ_CHECK(reread.ok() || reread.status().IsCorruption(), reread.status().ToString());
  if (added->is_new) {
    FUZZ_CHECK(reread.ok() && reread->has_value(), "a fresh record does not read back");
    FUZZ_CHECK((*reread)->alert_count == 1 && (*reread)->resources.size() == 1,
               "fresh record " + Printable(after));
  }
}

void CompactRecord(Env& env, std::string_view bytes) {
  AggregationOptions o;
  o.max_resources = 3;
  StormAggregator agg(*env.kv, env.clock, env.schema, o);
  const std::string key = agg.KeyFor("payments", "PodCrashLooping");
  auto fields = Pairs(bytes);
  FUZZ_CHECK(env.kv->HSet(key, fields).ok(), "HSET");
  FUZZ_CHECK(env.kv->PExpire(key, std::chrono::minutes(1)).ok(), "PEXPIRE");
  const std::string before = HashText(*env.kv, key);
  Result<std::optional<StormRecord>> got = agg.Get("payments", "PodCrashLooping");
  FUZZ_CHECK(got.ok() || got.status().IsCorruption(), got.status().ToString());
  Result<AggregateResult> added = agg.Add(Alert());
  if (!added.ok()) {
    CheckUpdateError(added.status(), "compact Add");
    FUZZ_CHECK(HashText(*env.kv, key) == before, "a failed Add changed the record");
    return;
  }
  Result<std::optional<StormRecord>> reread = agg.Get("payments", "PodCrashLooping");
  FUZZ_CHECK(reread.ok() || reread.status().IsCorruption(), reread.status().ToString());
}

void DedupRecord(Env& env, std::string_view bytes) {
  Deduplicator dedup(*env.kv, env.clock, env.schema);
  const std::string fp(64, 'd');
  const std::string key = dedup.KeyFor(fp);
  FUZZ_CHECK(env.kv->HSet(key, Pairs(bytes)).ok(), "HSET");
  const std::string before = HashText(*env.kv, key);
  Result<std::optional<DedupResult>> got = dedup.Lookup(fp);
  FUZZ_CHECK(got.ok() || got.status().IsCorruption(), got.status().ToString());
  // A hash without any of the four fields reads as missing (Lookup's HMGET sees only nils).
  Result<DedupResult> rec = dedup.Record(fp, "rr-dddddddddddddddd");
  if (!rec.ok()) {
    CheckUpdateError(rec.status(), "dedup Record");
    FUZZ_CHECK(HashText(*env.kv, key) == before, "a failed Record changed the record");
    return;
  }
  // A tampered record (count "-5", ref "") is taken as is, like the Lua script does: only the
  // absence of crashes and of internal errors is checked.
}

void RateRecord(Env& env, std::string_view bytes) {
  RateLimiter limiter(*env.kv, env.clock, env.schema, RateLimitOptions{10, 5, std::chrono::seconds(1)});
  const std::string key = limiter.KeyFor("client");
  FUZZ_CHECK(env.kv->Set(key, std::string(bytes), SetOptions{std::chrono::minutes(1)}).ok(), "SET");
  Result<RateDecision> d = limiter.Allow("client", 2);
  if (!d.ok()) {
    CheckUpdateError(d.status(), "rate limit Allow");
    FUZZ_CHECK(Raw(*env.kv, key) == std::string(bytes), "a failed Allow changed the bucket");
    return;
  }
  FUZZ_CHECK(d->remaining >= 0 && d->remaining <= 10, "remaining " + std::to_string(d->remaining));
  FUZZ_CHECK(!d->allowed || d->retry_after_ms == 0, "allowed with a retry-after");
  // A stored time beyond now + burst intervals is a full bucket: waits stay within one burst
  // (regressions/stored_record/rate_tat_far_future_negative_retry_after).
  // (burst 10, 5 per second: 200 ms per unit, a full bucket after 2 s; cost 2.)
  FUZZ_CHECK(d->retry_after_ms >= 0 && d->retry_after_ms <= 400,
             "retry_after_ms " + std::to_string(d->retry_after_ms));
  FUZZ_CHECK(d->reset_after_ms >= 0 && d->reset_after_ms <= 2000,
             "reset_after_ms " + std::to_string(d->reset_after_ms));
}

void DetectorRecord(Env& env, std::string_view bytes) {
  StormDetector detector(*env.kv, env.clock, env.schema);
  const std::string key = detector.RateKey("payments", "PodCrashLooping");
  FUZZ_CHECK(env.kv->Set(key, std::string(bytes), SetOptions{std::chrono::minutes(1)}).ok(), "SET");
  Result<StormCheck> c = detector.Observe("payments", "PodCrashLooping", "Pod/api-0");
  if (!c.ok()) {
    CheckUpdateError(c.status(), "storm Observe");
    FUZZ_CHECK(Raw(*env.kv, key) == std::string(bytes), "a failed Observe changed the counter");
  }
}

void Canonical(std::string_view bytes) {
  Result<std::string> c = CanonicalJson(bytes);
  if (!c.ok()) {
    FUZZ_CHECK(c.status().IsCorruption(), c.status().ToString());
    // Valid JSON is refused only when nested deeper than Redis's cjson decodes (1000 levels).
    FUZZ_CHECK(!nlohmann::json::accept(bytes) ||
                   c.status().message().find("nested deeper than") != std::string::npos,
               "valid JSON rejected: " + Printable(bytes));
    return;
  }
  FUZZ_CHECK(nlohmann::json::accept(*c), "invalid canonical text " + Printable(*c));
  // Not idempotent by design: "%.14g" rounds a non-integer >= 1e14 (7.5000000010907e+14), which
  // then reads back as an integer and prints with "%d" — exactly as the Lua encoder does.
  FUZZ_CHECK(CanonicalJson(*c).ok(), "canonical text does not decode: " + Printable(*c));
}

}  // namespace

int StoredRecordOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  Env& env = Get();
  try {
    FUZZ_CHECK(env.kv->FlushDb().ok(), "FLUSHDB");
    switch (data[0] % 7) {
      case 0: JsonRecord(env, Layout::kJsonMeta, bytes); break;
      case 1: JsonRecord(env, Layout::kFullCrd, bytes); break;
      case 2: CompactRecord(env, bytes); break;
      case 3: DedupRecord(env, bytes); break;
      case 4: RateRecord(env, bytes); break;
      case 5: DetectorRecord(env, bytes); break;
      default: Canonical(bytes); break;
    }
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, std::string("exception escaped: ") + e.what());
  }
  return 0;
}

}  // namespace stormkv::fuzz
