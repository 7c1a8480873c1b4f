// stormkv/byte_size.h — the one parser and the one formatter of byte sizes that people write and
// read: CLI options (--budget, --max-payload, --maxmemory...), shm:// URL parameters (size,
// maxmemory), reports and messages.
//
// Redis's own wire formats stay Redis's: CONFIG SET maxmemory takes exactly what Redis's
// memtoull() takes, and INFO's *_human fields are written as Redis writes them (the embedded
// store imitates both, backends/memory/store_parse.cc).
#ifndef STORMKV_BYTE_SIZE_H_
#define STORMKV_BYTE_SIZE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "stormkv/status.h"

namespace stormkv {

// Parses a size with Redis's config units (case-insensitive, spaces ignored): a plain number is
// bytes; k = 1000, kb = 1024, m = 1000^2, mb = 1024^2, g = 1000^3, gb = 1024^3. Also accepts "b"
// and the spellings "kib", "mib", "gib". InvalidArgument (quoting the text) on anything else,
// on negative numbers, fractions and on overflow of int64.
Result<int64_t> ParseByteSize(std::string_view text);

// Human-readable size with binary units, as redis-cli's used_memory_human: "812 B", "1.2 KB",
// "256 MB", "3.1 GB". Three significant digits at most; negative sizes keep their sign.
std::string FormatBytes(int64_t bytes);

}  // namespace stormkv

#endif  // STORMKV_BYTE_SIZE_H_
