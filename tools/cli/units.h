// tools/cli/units.h — numbers as people read them (percentages, counts); byte sizes are
// stormkv/byte_size.h's.
#ifndef STORMKV_TOOLS_CLI_UNITS_H_
#define STORMKV_TOOLS_CLI_UNITS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "stormkv/byte_size.h"
#include "stormkv/status.h"

namespace stormkv::cli {

// ParseByteSize and FormatBytes: stormkv/byte_size.h (one parser, one formatter for everything).

// A percentage with a sensible number of decimals: "0.46%", "12.5%", "100%".
std::string FormatPercent(double fraction);

// An integer with thousands separators: 1234567 -> "1,234,567".
std::string FormatCount(int64_t n);

}  // namespace stormkv::cli

#endif  // STORMKV_TOOLS_CLI_UNITS_H_
