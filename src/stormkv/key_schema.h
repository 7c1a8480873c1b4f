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
#ifndef STORMKV_KEY_SCHEMA_H_
#define STORMKV_KEY_SCHEMA_H_

#include <cstddef>
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
}  // namespace family

}  // namespace stormkv

#endif  // STORMKV_KEY_SCHEMA_H_
