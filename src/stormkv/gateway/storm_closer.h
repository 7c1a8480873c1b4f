// stormkv/gateway/storm_closer.h — StormCloser: which storms are due to close, and who closes
// each one (exactly once across gateway replicas).
//
// A storm (storm_aggregator.h) ends when its window closes: at its deadline
// min(last_seen + inactivity_window, first_seen + hard_cap). Its final RemediationRequest, the one
// that lists the whole storm, is emitted then (pipeline.h). Two kinds of keys do that work, and
// neither is a global key that every storm writes (Redis Cluster: no hot slot):
//  * the CLOSE RECORD of a storm, KeySchema::StormKey(family::kStormClose, namespace, alertname): a
//    hash with the storm's close state and the descriptor of its opening alert (what the final
//    request names: signal name, severity, labels, target). It shares the storm's hash tag, so
//    the aggregation script can check it (an over storm is replaced only once it is `done`) and
//    lua/storm_close.lua decides atomically: open -> claim (one claimer at a time, with a lease)
//    -> done. Its TTL is the storm's deadline plus `grace`, like the aggregation record's.
//  * DUE LISTS, KeySchema::Key(family::kStormDue, "<bucket>"): `due_buckets` sorted sets, each
//    storm in one bucket chosen by a hash of (namespace, alert name); member
//    "<first_seen>:<namespace bytes>:<namespace><alertname>", score the storm's deadline as last
//    seen by a closer (the deadline slides: a closer that finds a storm not yet over moves its
//    score). A storm writes its bucket once, when it opens (ZADD + PEXPIRE, one round trip); a
//    closer reads every bucket (ZRANGEBYSCORE -inf now), so N buckets cost N reads per close
//    call and spread over N slots.
//
// Thread-safety: immutable after construction; every method may be called concurrently.
#ifndef STORMKV_GATEWAY_STORM_CLOSER_H_
#define STORMKV_GATEWAY_STORM_CLOSER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stormkv/clock.h"
#include "stormkv/key_schema.h"
#include "stormkv/kv_backend.h"
#include "stormkv/reply.h"
#include "stormkv/script.h"
#include "stormkv/status.h"

namespace stormkv {

struct StormCloseOptions {
  // When false, storms are not closed: no close record, no due list, and a storm's only request
  // is the one emitted when it opens (the behaviour before closing existed).
  bool enabled = true;
  // How long after its deadline a storm's records are kept for its close: the front end must
  // run a close call (Pipeline::CloseDueStorms) at least this often, or a storm that ended more
  // than `grace` ago expires unclosed (counted as `expired` by the next close call). > 0.
  std::chrono::milliseconds grace = std::chrono::minutes(2);
  // How long a claimer owns a storm it is closing; after that, another replica may close it
  // (at-least-once when a closer dies between its claim and its done mark). > 0.
  std::chrono::milliseconds claim_lease = std::chrono::seconds(30);
  // Due-list buckets (>= 1). More spread the write of a storm opening over more keys/slots;
  // every close call reads all of them.
  int due_buckets = 16;
};

// One storm in a due list.
struct DueStorm {
  std::string ns;         // the storm namespace (Pipeline::StormNamespaceFor)
  std::string alertname;
  int64_t first_seen_ms = 0;
  int64_t due_ms = 0;     // the deadline as last recorded (the real one may be later)
  std::string member;     // the due-list member
  int bucket = 0;
};

// What a claim found.
enum class CloseClaim {
  kClaimed,  // the caller closes the storm now
  kDone,     // closed already
  kBusy,     // another claimer holds a live claim
};

struct ClaimResult {
  CloseClaim claim = CloseClaim::kBusy;
  std::string descriptor;  // stored at open; "" when none was stored
  int64_t busy_until_ms = 0;
};

class StormCloser {
 public:
  StormCloser(KvBackend& kv, std::shared_ptr<const Clock> clock, KeySchema schema,
              StormCloseOptions options = {});

  // Registers an opened storm: its close record (state open, `descriptor`) and its due-list
  // entry with score `deadline_ms`. `ttl` is the records' lifetime (deadline + grace - now).
  // Repeating it (a retry) writes the same. Errors: the backend's.
  Status Open(std::string_view ns, std::string_view alertname, int64_t first_seen_ms,
              int64_t deadline_ms, std::string_view descriptor, std::chrono::milliseconds ttl);

  // lua/storm_close.lua claim / done for the storm (ns, alertname, first_seen_ms).
  Result<ClaimResult> Claim(std::string_view ns, std::string_view alertname, int64_t first_seen_ms,
                            std::string_view claimer, std::chrono::milliseconds ttl);
  Result<ClaimResult> Done(std::string_view ns, std::string_view alertname, int64_t first_seen_ms,
                           std::chrono::milliseconds ttl);

  // Due-list entries with a recorded deadline <= `until_ms`, up to `limit` per bucket.
  Result<std::vector<DueStorm>> Due(int64_t until_ms, std::size_t limit);
  // Moves an entry's score to `due_ms` (the storm is not over yet).
  Status Reschedule(const DueStorm& storm, int64_t due_ms);
  // Removes an entry (closed, or its storm is gone).
  Status Remove(const DueStorm& storm);

  // Keys, for tests and reports.
  std::string CloseKey(std::string_view ns, std::string_view alertname) const;
  std::string DueKey(int bucket) const;
  int BucketOf(std::string_view ns, std::string_view alertname) const;
  static std::string DueMember(std::string_view ns, std::string_view alertname,
                               int64_t first_seen_ms);

  const StormCloseOptions& options() const { return options_; }

 private:
  Result<ClaimResult> Run(std::string_view mode, std::string_view ns, std::string_view alertname,
                          int64_t first_seen_ms, std::chrono::milliseconds ttl,
                          std::vector<std::string> extra);

  KvBackend& kv_;
  std::shared_ptr<const Clock> clock_;
  KeySchema schema_;
  StormCloseOptions options_;
};

// The native twin of lua/storm_close.lua (registered by scripts.cc).
Result<Reply> StormCloseTwin(ScriptContext& ctx, const std::vector<std::string>& keys,
                             const std::vector<std::string>& argv);

}  // namespace stormkv

#endif  // STORMKV_GATEWAY_STORM_CLOSER_H_
