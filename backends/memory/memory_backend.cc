// Placeholder: the embedded store lands with the foundation issue.
#include "stormkv/memory_backend.h"
namespace stormkv {
std::unique_ptr<KvBackend> NewMemoryBackend(MemoryBackendOptions) { return nullptr; }
}  // namespace stormkv
