// tools/cli/units.h — byte sizes as Redis writes them ("256mb") and as people read them.
#ifndef STORMKV_TOOLS_CLI_UNITS_H_
#define STORMKV_TOOLS_CLI_UNITS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "stormkv/status.h"

namespace stormkv::cli {

// Parses a memory size with Redis's config units (case-insensitive): a plain number is bytes;
// k = 1000, kb = 1024, m = 1000^2, mb = 1024^2, g = 1000^3, gb = 1024^3. Also accepts "b" and the
// spellings "kib", "mib", "gib". Fails with InvalidArgument on anything else, on negative numbers
// and on overflow.
Result<int64_t> ParseByteSize(std::string_view text);

// Human-readable size with binary units, as redis-cli's used_memory_human: "812 B", "1.2 KB",
// "256 MB", "3.10 GB". Three significant digits at most.
std::string FormatBytes(int64_t bytes);

// A percentage with a sensible number of decimals: "0.46%", "12.5%", "100%".
std::string FormatPercent(double fraction);

// An integer with thousands separators: 1234567 -> "1,234,567".
std::string FormatCount(int64_t n);

}  // namespace stormkv::cli

#endif  // STORMKV_TOOLS_CLI_UNITS_H_
