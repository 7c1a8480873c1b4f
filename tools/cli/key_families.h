// tools/cli/key_families.h — which "family" a key belongs to, for memory reports.
//
// stormkv's own keys look like <prefix><family>:{<tag>}:... (stormkv/key_schema.h). They are
// recognised whatever their prefix, by the "<family>:{" shape with a known family name, and
// reported as "<prefix><family>:*" (e.g. "stormkv:dedup:*"). Every other key is grouped by its
// leading segment up to and including the first ':' ("session:*"); keys without ':' by the
// first of '/', '|', '.', '#' instead, and keys with no separator at all as "(no prefix)".
#ifndef STORMKV_TOOLS_CLI_KEY_FAMILIES_H_
#define STORMKV_TOOLS_CLI_KEY_FAMILIES_H_

#include <string>
#include <string_view>
#include <vector>

namespace stormkv::cli {

struct KeyFamily {
  std::string label;        // "stormkv:dedup:*", "session:*", "(no prefix)"
  std::string family;       // stormkv family name ("dedup"), or "" for other keys
  std::string prefix;       // the stormkv key prefix ("stormkv:"), or "" for other keys
  bool is_stormkv = false;  // one of stormkv's own key families
};

// The family names stormkv writes (stormkv/key_schema.h, namespace family).
const std::vector<std::string_view>& StormkvFamilies();

// Classifies one key as described above. Pure function.
KeyFamily ClassifyKey(std::string_view key);

}  // namespace stormkv::cli

#endif  // STORMKV_TOOLS_CLI_KEY_FAMILIES_H_
