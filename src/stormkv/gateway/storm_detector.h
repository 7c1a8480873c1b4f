// stormkv/gateway/storm_detector.h — StormDetector: is this alert part of a storm?
//
// Two signals per (namespace, alert name), both updated by one atomic script per alert
// (lua/storm_detect.lua; native twin on the memory backend):
//  * rate:    a counter (STRING) over a fixed window of `rate_window` that starts with its first
//             alert; INCR and PEXPIRE run in the same script, so the counter never lives without
//             a TTL. A rate storm is rate_count > rate_threshold.
//  * pattern: a ZSET resource -> last-seen ms; members older than `pattern_window` are removed on
//             each alert and the key expires `pattern_window` after its last update. At most
//             `max_tracked_resources` are tracked (further new resources are not added until old
//             ones age out). A pattern storm is distinct_resources > pattern_threshold.
// Keys: KeySchema::StormKey(family::kStormRate / kStormPattern, namespace, alertname); both share
// the hash tag {namespace:alertname} with the storm's aggregation (one slot per storm).
//
// Thread-safety: immutable after construction; every method may be called concurrently.
#ifndef STORMKV_GATEWAY_STORM_DETECTOR_H_
#define STORMKV_GATEWAY_STORM_DETECTOR_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stormkv/clock.h"
#include "stormkv/key_schema.h"
#include "stormkv/kv_backend.h"
#include "stormkv/status.h"

namespace stormkv {

// Why alerts were grouped into a storm.
enum class StormType { kRate, kPattern };

// "rate" / "pattern".
std::string_view StormTypeName(StormType type);
// Parses "rate" / "pattern"; InvalidArgument otherwise.
Result<StormType> ParseStormType(std::string_view name);

struct StormDetectionOptions {
  // Rate storm: more than `rate_threshold` alerts of one name in one namespace per `rate_window`.
  int64_t rate_threshold = 10;
  std::chrono::milliseconds rate_window = std::chrono::minutes(1);
  // Pattern storm: more than `pattern_threshold` distinct resources within `pattern_window`.
  int64_t pattern_threshold = 5;
  std::chrono::milliseconds pattern_window = std::chrono::minutes(2);
  // Upper bound of the pattern window's ZSET (memory bound per alert name). >= 1.
  int64_t max_tracked_resources = 1000;
};

// The outcome of one Observe().
struct StormCheck {
  int64_t rate_count = 0;          // alerts in the current rate window, this one included
  int64_t distinct_resources = 0;  // distinct resources in the pattern window (capped)
  bool rate_storm = false;         // rate_count > rate_threshold
  bool pattern_storm = false;      // distinct_resources > pattern_threshold

  bool is_storm() const { return rate_storm || pattern_storm; }
  // The storm's type: kRate when the rate threshold is crossed (it wins), else kPattern; nullopt
  // when no threshold is crossed.
  std::optional<StormType> type() const;
};

class StormDetector {
 public:
  StormDetector(KvBackend& kv, std::shared_ptr<const Clock> clock, KeySchema schema,
                StormDetectionOptions options = {});

  // Counts one alert `alertname` in `ns` that affects `resource` (e.g. "Pod/api-7d9f"; escaped
  // and bounded like a key part, so a resource of any length or content is accepted).
  // Errors: InvalidArgument for an empty ns or alertname; the backend's Status otherwise
  // (Unavailable/Timeout, OutOfMemory, WrongType); Internal for an unexpected script reply.
  Result<StormCheck> Observe(std::string_view ns, std::string_view alertname,
                             std::string_view resource);

  // One alert of an ObserveBatch.
  struct Observation {
    std::string_view ns;
    std::string_view alertname;
    std::string_view resource;
  };
  // One Observe() per entry, in order, as ONE KvBackend::EvalBatch (one pipelined round trip on
  // Redis, one per master on a cluster) with one `now`: entry i is what Observe(items[i]...)
  // would return had the calls run one after the other (each sees the counts of the entries
  // before it). Argument errors fail their entry only.
  std::vector<Result<StormCheck>> ObserveBatch(const std::vector<Observation>& items);

  std::string RateKey(std::string_view ns, std::string_view alertname) const;
  std::string PatternKey(std::string_view ns, std::string_view alertname) const;

  const StormDetectionOptions& options() const { return options_; }

 private:
  Status Check(std::string_view ns, std::string_view alertname) const;
  // `same_storm`: the call of an earlier observation of the same (ns, alertname) with the same
  // `now`, whose keys and option arguments this call takes over instead of building them again.
  ScriptCall Call(std::string_view ns, std::string_view alertname, std::string_view resource,
                  const std::string& now, const ScriptCall* same_storm = nullptr) const;

  KvBackend& kv_;
  std::shared_ptr<const Clock> clock_;
  KeySchema schema_;
  StormDetectionOptions options_;
};

}  // namespace stormkv

#endif  // STORMKV_GATEWAY_STORM_DETECTOR_H_
