// stormkv/gateway/storm_aggregator.h — StormAggregator: one aggregation record per alert storm.
//
// A storm is keyed by (namespace, alert name): KeySchema::StormKey(family::kStormAgg, namespace,
// alertname), hash tag {namespace:alertname}. Each Add() runs one atomic script of the configured layout (see layouts.h):
//  * the script itself decides `is_new` (no EXISTS beforehand): a storm is new when no record
//    exists, or when the existing one is over — inactive for `inactivity_window` (now >= last_seen
//    + inactivity_window) or `hard_cap` after its start (now >= first_seen + hard_cap); an over
//    record is replaced by a fresh one;
//  * the key's TTL is min(last_seen + inactivity_window, first_seen + hard_cap) - now (a sliding
//    inactivity window bounded by the hard cap), so finished storms disappear by themselves;
//  * up to `max_resources` distinct resources are listed; further new ones only increase
//    `overflow`. Every alert increases alert_count;
//  * an alert with a request_id equal to the last added one's is a replay: see StormAlert;
//  * timestamps are ms since the epoch, taken from the injected Clock and passed to the script;
//    last_seen never goes backwards (an older `now` from a skewed replica does not lower it).
// All layouts return the same result; they differ in bytes and in cost per alert.
//
// Thread-safety: immutable after construction; every method may be called concurrently.
#ifndef STORMKV_GATEWAY_STORM_AGGREGATOR_H_
#define STORMKV_GATEWAY_STORM_AGGREGATOR_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stormkv/clock.h"
#include "stormkv/gateway/layouts.h"
#include "stormkv/gateway/storm_detector.h"
#include "stormkv/key_schema.h"
#include "stormkv/kv_backend.h"
#include "stormkv/status.h"

namespace stormkv {

struct AggregationOptions {
  Layout layout = Layout::kCompact;
  // A storm ends after this long without alerts (sliding).
  std::chrono::milliseconds inactivity_window = std::chrono::minutes(1);
  // ... and at the latest this long after its first alert. >= inactivity_window is typical.
  std::chrono::milliseconds hard_cap = std::chrono::minutes(5);
  // Distinct resources listed per storm; more only count as overflow. >= 1.
  int64_t max_resources = 1000;
  // Storm closing (storm_closer.h, pipeline.h). When set, every Add() also hands the script the
  // storm's close record: a storm that is over is replaced by a new one only once its close
  // record says it is done; until then the Add writes nothing and reports `needs_close`. Records
  // then live `close_grace` past their deadline, so a closer still finds them. Unset: a storm
  // over its window is replaced at once and expires at its deadline.
  std::optional<std::chrono::milliseconds> close_grace;
  // With close_grace: every Add() with a request id also records it in the storm's replay list
  // (KeySchema::StormKey(family::kStormReplay, ns, alertname), a hash in the storm's slot), so
  // that an add is recognised as a replay however many adds followed it, until the caller
  // removes its id (ForgetReplays) once the alert is settled. The batched Pipeline uses it: a
  // payload adds many alerts of one storm in a row, and the retry of any of them must not count
  // it twice. The list lives as long as the storm record; replacing the storm deletes it.
  bool replay_list = false;
};

// One alert to add to its storm.
struct StormAlert {
  std::string ns;         // namespace; required
  std::string alertname;  // required
  StormType storm_type = StormType::kRate;  // stored by the alert that opens the storm
  // The affected resource, e.g. "Pod/payments-api-7d9c8b-x7k2p"; escaped and bounded like a key
  // part (KeySchema::EscapePart) before it is stored, so any content is accepted.
  std::string resource;
  // Identifies this alert occurrence, the same on every retry of it (the Pipeline uses the
  // fingerprint and its first_seen). Stored with the storm as its last added alert; an Add()
  // with the request id of the last added alert is a replay of that add (its reply was lost, or
  // the caller failed after it): nothing is written and the earlier result — is_new included —
  // is returned again. So is an add whose id is still in the storm's replay list
  // (AggregationOptions::replay_list). Empty: no replay detection.
  std::string request_id;
  // Only the full-crd layout uses these (they fill the RemediationRequest-like document).
  std::string fingerprint;  // SHA-256 hex of the opening alert; names the document
  std::string severity;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

// The storm after one Add().
struct AggregateResult {
  bool is_new = false;        // this alert opened the storm (a new record was written)
  // close_grace only: the stored storm is over but not closed yet; nothing was written, and the
  // other fields describe that stored storm. Close it (Pipeline) and add again.
  bool needs_close = false;
  int64_t alert_count = 0;    // alerts in the storm, this one included
  int64_t resource_count = 0; // distinct resources listed (<= max_resources)
  int64_t overflow = 0;       // alerts of new resources that did not fit in the list
  int64_t first_seen_ms = 0;  // start of the storm: identifies it together with its key
  int64_t last_seen_ms = 0;
};

struct StormResource {
  std::string name;         // as stored (escaped)
  int64_t alert_count = 0;  // alerts of this resource; compact layout only (0 in the others)
};

// A stored storm record, decoded.
struct StormRecord {
  Layout layout = Layout::kCompact;
  std::string pattern;  // the storm type name: "rate" or "pattern"
  int64_t alert_count = 0;
  int64_t overflow = 0;
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
  std::vector<StormResource> resources;  // sorted by name
  std::string document;  // full-crd: the whole stored JSON document; empty otherwise
};

class StormAggregator {
 public:
  StormAggregator(KvBackend& kv, std::shared_ptr<const Clock> clock, KeySchema schema,
                  AggregationOptions options = {});

  // Adds one alert to its storm (see the file comment).
  // Errors: InvalidArgument for an empty ns/alertname/resource; Corruption when the stored record
  // does not decode (a json-meta or full-crd value that is not JSON of the expected shape; the
  // record is left unchanged); the backend's Status otherwise (Unavailable/Timeout, OutOfMemory,
  // WrongType when the key holds another type, e.g. a record of another layout); Internal for an
  // unexpected script reply.
  Result<AggregateResult> Add(const StormAlert& alert);

  // One Add() per entry, in order, as ONE KvBackend::EvalBatch (one pipelined round trip on
  // Redis, one per master on a cluster) with one `now`: entry i is what Add(*alerts[i]) would
  // return had the calls run one after the other (each add sees the adds before it, replay
  // detection included). Argument errors fail their entry only.
  std::vector<Result<AggregateResult>> AddBatch(const std::vector<const StormAlert*>& alerts);

  // Removes settled alerts' request ids from their storms' replay lists (replay_list only;
  // alerts without a request id are skipped): one HDEL per storm, all in ONE KvBackend::RunBatch
  // (one pipelined round trip on Redis). Errors: the first failed HDEL's (best effort: an id
  // left behind only lives until its storm record's TTL; a retry of its alert, which is a
  // duplicate by then, never adds it again).
  Status ForgetReplays(const std::vector<const StormAlert*>& settled);

  // The stored record of the storm (ns, alertname) in this aggregator's layout, or nullopt when
  // there is none (expired or never opened). Does not modify it. Corruption when it does not
  // decode (also when nested deeper than cjson decodes, as Add() refuses it); WrongType when the
  // key holds another type.
  Result<std::optional<StormRecord>> Get(std::string_view ns, std::string_view alertname);

  std::string KeyFor(std::string_view ns, std::string_view alertname) const;

  const AggregationOptions& options() const { return options_; }

 private:
  Status Check(const StormAlert& alert) const;
  // `same_keys`: the call of an earlier alert whose keys are this alert's (same storm, and a
  // request id as well or as little), taken over instead of built again.
  ScriptCall Call(const StormAlert& alert, int64_t now,
                  const ScriptCall* same_keys = nullptr) const;

  KvBackend& kv_;
  std::shared_ptr<const Clock> clock_;
  KeySchema schema_;
  AggregationOptions options_;
};

}  // namespace stormkv

#endif  // STORMKV_GATEWAY_STORM_AGGREGATOR_H_
