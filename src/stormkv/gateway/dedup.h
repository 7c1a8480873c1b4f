// stormkv/gateway/dedup.h — Deduplicator: one record per alert fingerprint, updated atomically.
//
// Key: KeySchema::Key(family::kDedup, fingerprint) — a HASH {count, first, last, ref} whose TTL
// is refreshed to `ttl` on every Record(), so a fingerprint is forgotten `ttl` after its last
// occurrence. One script call per Record() (lua/dedup.lua; native twin on the memory backend):
// concurrent first occurrences of one fingerprint yield exactly one non-duplicate.
//
// Unfinished occurrences (Begin/Finish): a caller that does more work after recording a new
// fingerprint (the Pipeline: storm detection, aggregation, emitting a RemediationRequest) uses
// Begin() with an attempt id instead of Record(). The first occurrence is then stored UNFINISHED
// (fields p = attempt, pt = since) until Finish(kDone). If the attempt fails half-way it calls
// Finish(kAbandon), or — when even that cannot reach the backend — the record simply stays
// unfinished until `unfinished_lease` has passed. The next delivery of the fingerprint then
// RESUMES it (state kResumed: same count, first_seen and ref; it is processed as the new alert it
// still is) instead of counting a duplicate whose request was never emitted. While another
// attempt's unfinished record is younger than the lease, Begin() answers kBusy and writes
// nothing: that delivery should be retried (it is not lost and not counted twice).
// Duplicates are never unfinished: their only effect is the count, written in one call.
//
// Thread-safety: a Deduplicator is immutable after construction; every method may be called
// concurrently. The backend must outlive it.
#ifndef STORMKV_GATEWAY_DEDUP_H_
#define STORMKV_GATEWAY_DEDUP_H_

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

struct DedupOptions {
  // How long a fingerprint is remembered after its last occurrence (refreshed on each one). > 0.
  std::chrono::milliseconds ttl = std::chrono::minutes(5);
  // Begin(): how long an unfinished first occurrence belongs to its attempt. Longer than one
  // alert's processing can take (a few backend round trips, each bounded by the backend's
  // command timeout); after it, a later delivery resumes the occurrence. >= 0; 0 means any
  // unfinished record is resumed at once (single-writer deployments and tests).
  std::chrono::milliseconds unfinished_lease = std::chrono::seconds(30);
};

// What Begin() found.
enum class DedupState {
  kNew,        // first occurrence: stored unfinished, owned by this attempt
  kDuplicate,  // a finished record: its count was incremented
  kResumed,    // an unfinished first occurrence of a failed/abandoned attempt, now this one's
  kBusy,       // unfinished, owned by another attempt within its lease: nothing was written
};

// How Finish() ends an unfinished occurrence.
enum class DedupFinish {
  kDone,     // fully processed: later deliveries are duplicates
  kAbandon,  // processing failed: the next delivery resumes the occurrence at once
};

// The state of one fingerprint after a Record() (or as Lookup() finds it).
struct DedupResult {
  bool is_duplicate = false;  // false exactly for the call that created the record (Begin():
                              // false for kNew and kResumed, true for kDuplicate and kBusy)
  DedupState state = DedupState::kNew;  // Begin() only (Record(): kNew or kDuplicate)
  int64_t count = 0;          // occurrences so far, this one included (>= 1)
  int64_t first_seen_ms = 0;  // `now` of the first occurrence (ms since the epoch)
  int64_t last_seen_ms = 0;   // the latest `now` seen; never goes backwards
  std::string rr_name;        // the remediation request named by the first occurrence
};

class Deduplicator {
 public:
  // `clock` supplies `now` (passed to the script; the server's TIME is never used).
  Deduplicator(KvBackend& kv, std::shared_ptr<const Clock> clock, KeySchema schema,
               DedupOptions options = {});

  // Records one occurrence of `fingerprint`. The first occurrence stores `rr_name`; duplicates
  // keep the stored one and return it. Refreshes the TTL.
  // Errors: InvalidArgument for an empty fingerprint; the backend's Status otherwise
  // (Unavailable/Timeout, OutOfMemory when over maxmemory, WrongType when the key holds another
  // type); Internal when the script's reply has an unexpected shape.
  Result<DedupResult> Record(std::string_view fingerprint, std::string_view rr_name);

  // Records one occurrence as part of a larger piece of work identified by `attempt` (non-empty,
  // unique per attempt, e.g. a random id; a retry is a new attempt): see the file comment. A new
  // (or resumed) occurrence must be ended with Finish(fingerprint, attempt, ...). kBusy returns
  // the stored record with is_duplicate = true and writes nothing.
  // Errors: as Record(); InvalidArgument for an empty attempt; Corruption when an unfinished
  // record has no valid count. When the call fails, the occurrence may or may not have been
  // stored (a lost reply): call Finish(kAbandon) all the same.
  Result<DedupResult> Begin(std::string_view fingerprint, std::string_view rr_name,
                            std::string_view attempt);

  // One Begin() per entry of `items` (fingerprint, rr_name), all for `attempt`, in order, as ONE
  // KvBackend::EvalBatch (one pipelined round trip on Redis) with one `now` for all of them.
  // Entry i is what Begin(items[i].first, items[i].second, attempt) would return had the calls
  // run one after the other; argument errors fail their entry only (nothing sent for it). The
  // same fingerprint twice in one batch: the second finds the first's unfinished record of the
  // same attempt and answers kResumed, not kDuplicate — so callers put a payload's repeats of a
  // fingerprint in later batches, after the first occurrence's Finish.
  std::vector<Result<DedupResult>> BeginBatch(
      const std::vector<std::pair<std::string_view, std::string_view>>& items,
      std::string_view attempt);

  // One Finish(fingerprints[i], attempt, how) per entry, in order, as one EvalBatch.
  std::vector<Result<bool>> FinishBatch(const std::vector<std::string_view>& fingerprints,
                                        std::string_view attempt, DedupFinish how);

  // Ends the unfinished occurrence `attempt` started. Returns true when the record was changed,
  // false when it was not unfinished by `attempt` (already done, taken over after the lease,
  // expired). Errors: the backend's Status.
  Result<bool> Finish(std::string_view fingerprint, std::string_view attempt, DedupFinish how);

  // The stored record of `fingerprint` without changing it (is_duplicate is true), or nullopt
  // when unknown or expired. Corruption when the stored hash lacks its fields.
  Result<std::optional<DedupResult>> Lookup(std::string_view fingerprint);

  // The key holding `fingerprint`'s record.
  std::string KeyFor(std::string_view fingerprint) const;

  const DedupOptions& options() const { return options_; }

 private:
  KvBackend& kv_;
  std::shared_ptr<const Clock> clock_;
  KeySchema schema_;
  DedupOptions options_;
};

}  // namespace stormkv

#endif  // STORMKV_GATEWAY_DEDUP_H_
