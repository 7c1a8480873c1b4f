// stormkv/gateway/dedup.h — Deduplicator: one record per alert fingerprint, updated atomically.
//
// Key: KeySchema::Key(family::kDedup, fingerprint) — a HASH {count, first, last, ref} whose TTL
// is refreshed to `ttl` on every Record(), so a fingerprint is forgotten `ttl` after its last
// occurrence. One script call per Record() (lua/dedup.lua; native twin on the memory backend):
// concurrent first occurrences of one fingerprint yield exactly one non-duplicate.
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

#include "stormkv/clock.h"
#include "stormkv/key_schema.h"
#include "stormkv/kv_backend.h"
#include "stormkv/status.h"

namespace stormkv {

struct DedupOptions {
  // How long a fingerprint is remembered after its last occurrence (refreshed on each one). > 0.
  std::chrono::milliseconds ttl = std::chrono::minutes(5);
};

// The state of one fingerprint after a Record() (or as Lookup() finds it).
struct DedupResult {
  bool is_duplicate = false;  // false exactly for the call that created the record
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
