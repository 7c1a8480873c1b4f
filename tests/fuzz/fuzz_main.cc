// The libFuzzer entry of one target; STORMKV_FUZZ_ENTRY names its function (fuzz_targets.h).
#include "fuzz_targets.h"
#include "sanitizer_options.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return stormkv::fuzz::STORMKV_FUZZ_ENTRY(data, size);
}
