// tests/fuzz/fuzz_targets.h — the fuzz targets' entry functions, shared by the libFuzzer
// binaries (fuzz_main.cc, clang only) and the corpus replay test (fuzz_regression_test.cc, every
// build), so an input that once crashed a target stays a test everywhere.
//
// Each entry takes arbitrary bytes, runs the code under test and checks its properties with
// FUZZ_CHECK; it returns 0 (libFuzzer's convention). A broken property aborts the process after
// printing what broke, which libFuzzer reports as a crash and saves as an artifact.
#ifndef STORMKV_TESTS_FUZZ_FUZZ_TARGETS_H_
#define STORMKV_TESTS_FUZZ_FUZZ_TARGETS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace stormkv::fuzz {

using EntryFn = int (*)(const uint8_t* data, size_t size);

struct FuzzTarget {
  const char* name;  // directory name under corpus/ and regressions/
  EntryFn entry;
};

// Alertmanager webhook adapter (and DetectSignalSource).
int AlertmanagerOneInput(const uint8_t* data, size_t size);
// Kubernetes Event adapter.
int KubernetesEventOneInput(const uint8_t* data, size_t size);
// Stored-record decoders: the first byte picks json-meta / full-crd / compact storm records,
// dedup records or CanonicalJson; the rest is stored in the memory backend and read back.
int StoredRecordOneInput(const uint8_t* data, size_t size);
// KeySchema escaping: prefix, tag and parts taken from the input.
int KeySchemaOneInput(const uint8_t* data, size_t size);
// Whole Pipeline on the memory backend: the input is a payload (first byte: source).
int PipelineOneInput(const uint8_t* data, size_t size);
// `stormkv serve`'s RESP parser and dispatcher: bytes a client sends (first byte: chunking).
int RespOneInput(const uint8_t* data, size_t size);

inline constexpr FuzzTarget kTargets[] = {
    {"alertmanager", AlertmanagerOneInput},   {"k8s_event", KubernetesEventOneInput},
    {"stored_record", StoredRecordOneInput},  {"key_schema", KeySchemaOneInput},
    {"pipeline", PipelineOneInput},           {"resp", RespOneInput},
};

// Prints "fuzz property failed: <cond> at <file>:<line>: <detail>" and aborts.
[[noreturn]] void PropertyFailed(const char* file, int line, const char* cond,
                                 const std::string& detail);

// True for failures that are known, filed in /work/notes/requests.md and kept under pending/:
// the fuzzers let them pass so that they keep looking for new ones. Remove an entry once fixed
// (its pending/ input then moves to regressions/). None open today.
bool KnownIssue(const std::string& status_text);

// Printable form of untrusted bytes for messages (at most `max` bytes, escaped).
std::string Printable(std::string_view bytes, std::size_t max = 200);

}  // namespace stormkv::fuzz

#define FUZZ_CHECK(cond, detail)                                                  \
  do {                                                                            \
    if (!(cond)) ::stormkv::fuzz::PropertyFailed(__FILE__, __LINE__, #cond, (detail)); \
  } while (0)

#endif  // STORMKV_TESTS_FUZZ_FUZZ_TARGETS_H_
