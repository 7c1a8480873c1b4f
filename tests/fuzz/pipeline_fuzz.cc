// Fuzz target of the whole ingest Pipeline on the memory backend: the input's first byte picks
// the source and the layout, the rest is the request body. Properties: no crash or exception;
// a rejected payload writes nothing; every key written lies under the prefix, in a known family,
// with a TTL; every decision serialises to valid JSON; the HTTP status matches the result.
#include <exception>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "fuzz_targets.h"
#include "stormkv/clock.h"
#include "stormkv/gateway/pipeline.h"
#include "stormkv/memory_backend.h"

namespace stormkv::fuzz {
namespace {

struct Env {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::unique_ptr<KvBackend> kv;
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

}  // namespace

int PipelineOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view payload(reinterpret_cast<const char*>(data) + 1, size - 1);
  Env& env = Get();
  try {
    FUZZ_CHECK(env.kv->FlushDb().ok(), "FLUSHDB");
    PipelineOptions o;
    o.keys.prefix = "fz:";
    o.storm.rate_threshold = 2;
    o.storm.pattern_threshold = 1;
    o.aggregation.layout = kAllLayouts[(data[0] >> 1) % kAllLayouts.size()];
    o.aggregation.max_resources = 4;
    o.limits.max_items = 16;
    o.rate_limit_per_signal = (data[0] & 8) != 0;
    Pipeline p(*env.kv, env.clock, o);
    const SignalSource source =
        (data[0] & 1) ? SignalSource::kKubernetesEvent : SignalSource::kAlertmanager;
    IngestResult r = p.Ingest(payload, source, "fuzz-client");

    FUZZ_CHECK(!r.decisions.empty(), "no decision for " + Printable(payload));
    if (KnownIssue(r.status.ToString())) return 0;
    FUZZ_CHECK(r.status.code() != StatusCode::kInternal, r.status.ToString());
    if (r.status.IsInvalidArgument()) {
      FUZZ_CHECK(r.http_status == 400, std::to_string(r.http_status));
      FUZZ_CHECK(r.decisions.size() == 1 && r.decisions[0].outcome == Outcome::kRejected, "");
      Result<int64_t> n = env.kv->DbSize();
      FUZZ_CHECK(n.ok() && *n == 0, "a rejected payload wrote keys: " + Printable(payload));
    } else {
      FUZZ_CHECK(r.status.ok(), "unexpected " + r.status.ToString() + " for " + Printable(payload));
      FUZZ_CHECK(r.http_status == 200, std::to_string(r.http_status));
      for (const AlertDecision& d : r.decisions) {
        FUZZ_CHECK(d.outcome != Outcome::kFailed && d.outcome != Outcome::kRejected,
                   std::string(OutcomeName(d.outcome)) + " " + d.reason);
      }
    }
    std::size_t emitted = 0;
    for (const AlertDecision& d : r.decisions) {
      const std::string j = AlertDecisionToJson(d);
      FUZZ_CHECK(nlohmann::json::accept(j), "decision JSON " + Printable(j));
      emitted += d.outcome == Outcome::kCreated || (d.outcome == Outcome::kStormAggregated && d.storm_opened);
    }
    FUZZ_CHECK(emitted == r.requests.size(), "requests do not match decisions");
    for (const RemediationRequest& rr : r.requests) {
      FUZZ_CHECK(nlohmann::json::accept(RemediationRequestToJson(rr)), "request JSON");
    }
    const std::set<std::string_view> families = {family::kDedup,      family::kStormRate,
                                                 family::kStormPattern, family::kStormAgg,
                                                 family::kRateLimit,  family::kStormClose,
                                                 family::kStormDue};
    Status scanned = env.kv->ScanAll("", [&](const std::string& key) {
      FUZZ_CHECK(key.rfind("fz:", 0) == 0, "key outside the prefix: " + Printable(key));
      FUZZ_CHECK(families.count(p.schema().FamilyOf(key)) == 1, "unknown family: " + Printable(key));
      FUZZ_CHECK(key.size() <= 3 + 16 + 4 + 2 * o.keys.max_part_bytes, "long key " + Printable(key));
      Result<int64_t> ttl = env.kv->Pttl(key);
      FUZZ_CHECK(ttl.ok() && *ttl > 0, "key without a TTL: " + Printable(key));
      return Status::Ok();
    });
    FUZZ_CHECK(scanned.ok(), scanned.ToString());
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, std::string("exception escaped: ") + e.what());
  }
  return 0;
}

}  // namespace stormkv::fuzz
