// stormkv/key_schema.h — how stormkv names its keys.
//
//   <prefix><family>:{<tag>}:<part>:<part>...
//
// * `prefix` is configurable (test isolation, several tenants in one Redis); default "stormkv:".
// * `family` is one of stormkv's fixed key families (dedup, storm-rate, ...): never user input.
// * `tag` and parts may come from alert labels. Each is escaped — every byte outside
//   [A-Za-z0-9._/-] (notably ':', '{', '}', '%', '*', '?', '[', ']', spaces, control bytes)
//   becomes %XX — so a label can never forge a separator, a hash tag or a glob, and bounded:
//   a part longer than `max_part_bytes` once escaped is cut and suffixed with "~" plus the
//   first 16 hex digits of the SHA-256 of the raw value, so distinct long values stay distinct
//   and no key grows without bound. An empty value becomes "~" (which no non-empty value
//   produces), so "{~}" is still a hash tag: Redis Cluster ignores an empty "{}".
// * Every key that one script touches shares one `{tag}` (Redis Cluster hash slot).
// * A storm's keys (rate, pattern, aggregation) are tagged by the storm's identity, the pair
//   (namespace, alert name): `{<ns>:<alertname>}` (StormKey). The storms of one namespace then
//   spread over a cluster's slots instead of piling onto the one master of `{<ns>}`.
#ifndef STORMKV_KEY_SCHEMA_H_
#define STORMKV_KEY_SCHEMA_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace stormkv {

struct KeySchemaOptions {
  // Prepended to every key. Default "stormkv:". '{' and '}' would move the hash tag, so they are
  // replaced by %7B and %7D.
  std::string prefix = "stormkv:";
  // Upper bound for one escaped label-derived part (tag or part), in bytes; >= 32.
  std::size_t max_part_bytes = 256;
};

class KeySchema {
 public:
  explicit KeySchema(KeySchemaOptions options = {});

  const KeySchemaOptions& options() const { return options_; }
  const std::string& prefix() const { return options_.prefix; }

  // <prefix><family>:{<escaped tag>}[:<escaped part>]...
  std::string Key(std::string_view family, std::string_view tag,
                  std::initializer_list<std::string_view> parts = {}) const;

  // <prefix><family>:{<escaped ns>:<escaped alertname>} — one storm's key of `family`. Both
  // values are escaped and bounded as parts (so ':' inside them is %3A and the pair is
  // unambiguous); the hash tag is the whole pair, so one storm's keys share a slot and different
  // alert names of one namespace do not.
  std::string StormKey(std::string_view family, std::string_view ns,
                       std::string_view alertname) const;

  // A SCAN MATCH pattern for every key of `family` ("" = every stormkv key under the prefix).
  // The prefix's glob characters are escaped.
  std::string FamilyPattern(std::string_view family = "") const;

  // The family of a key under this prefix ("dedup", ...), or "" when the key is not ours.
  std::string_view FamilyOf(std::string_view key) const;

  // Escapes and bounds one label-derived value as described above.
  std::string EscapePart(std::string_view raw) const;

 private:
  KeySchemaOptions options_;
};

// Redis Cluster: the number of hash slots, and the slot of `key` (0..16383): the CRC16
// (XMODEM: polynomial 0x1021, initial value 0) of its hash tag — the bytes between the first '{'
// and the first '}' after it, when there is at least one — else of the whole key, modulo 16384.
// An empty "{}" hashes the whole key, as Redis does.
// This is the one slot function of the project: the cluster backend routes with it too.
inline constexpr int kHashSlots = 16384;
int HashSlot(std::string_view key);
// The part of `key` that HashSlot hashes (a view into `key`).
std::string_view HashTag(std::string_view key);
// CRC16-XMODEM (polynomial 0x1021, initial value 0, no reflection, no final xor) of `data`.
uint16_t Crc16Xmodem(std::string_view data);

// The key families stormkv writes. Reports group memory by these names.
namespace family {
inline constexpr std::string_view kDedup = "dedup";
inline constexpr std::string_view kStormRate = "storm-rate";
inline constexpr std::string_view kStormPattern = "storm-pattern";
inline constexpr std::string_view kStormAgg = "storm-agg";
inline constexpr std::string_view kRateLimit = "ratelimit";
// A storm's close state (storm_closer.h) and the storms due to close, bucketed.
inline constexpr std::string_view kStormClose = "storm-close";
inline constexpr std::string_view kStormDue = "storm-due";
// A storm's replay list: the request ids of its adds whose alerts are still in flight
// (storm_aggregator.h, AggregationOptions::replay_list); empty, and so absent, between payloads.
inline constexpr std::string_view kStormReplay = "storm-replay";
}  // namespace family

}  // namespace stormkv

#endif  // STORMKV_KEY_SCHEMA_H_
