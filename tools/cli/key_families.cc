#include "key_families.h"

#include <algorithm>

#include "stormkv/key_schema.h"

namespace stormkv::cli {

const std::vector<std::string_view>& StormkvFamilies() {
  static const std::vector<std::string_view> kFamilies = {family::kDedup, family::kStormRate,
                                                          family::kStormPattern, family::kStormAgg,
                                                          family::kRateLimit, family::kStormClose,
                                                          family::kStormDue,
                                                          family::kStormReplay};
  return kFamilies;
}

KeyFamily ClassifyKey(std::string_view key) {
  KeyFamily out;
  std::size_t tag = key.find(":{");
  if (tag != std::string_view::npos) {
    std::string_view head = key.substr(0, tag);
    std::size_t sep = head.rfind(':');
    std::string_view fam = sep == std::string_view::npos ? head : head.substr(sep + 1);
    const auto& known = StormkvFamilies();
    if (std::find(known.begin(), known.end(), fam) != known.end()) {
      out.is_stormkv = true;
      out.family = std::string(fam);
      out.prefix = std::string(sep == std::string_view::npos ? "" : head.substr(0, sep + 1));
      out.label = out.prefix + out.family + ":*";
      return out;
    }
  }
  std::size_t cut = key.find(':');
  if (cut == std::string_view::npos) cut = key.find_first_of("/|.#");
  if (cut == std::string_view::npos || cut == 0) {
    out.label = "(no prefix)";
  } else {
    out.label = std::string(key.substr(0, cut + 1)) + "*";
  }
  return out;
}

}  // namespace stormkv::cli
