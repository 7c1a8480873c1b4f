// backends/memory/glob.h — Redis's stringmatchlen(): the glob used by SCAN MATCH and CONFIG GET.
#ifndef STORMKV_BACKENDS_MEMORY_GLOB_H_
#define STORMKV_BACKENDS_MEMORY_GLOB_H_

#include <string_view>

namespace stormkv::memstore {

// True when `str` matches `pattern`: '*' any run, '?' one byte, '[abc]' / '[^a-z]' classes,
// '\x' a literal x. `nocase` folds ASCII case. Same semantics as Redis 7.0's util.c.
bool GlobMatch(std::string_view pattern, std::string_view str, bool nocase = false);

}  // namespace stormkv::memstore

#endif  // STORMKV_BACKENDS_MEMORY_GLOB_H_
