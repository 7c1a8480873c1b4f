// tests/fuzz/sanitizer_options.h — default sanitizer options of the fuzz binaries and the corpus
// replay test (include in exactly one .cc of each executable): undefined behaviour stops the run
// (so the fuzzer reports it as a crash and the replay test fails), except what ubsan.supp lists.
#ifndef STORMKV_TESTS_FUZZ_SANITIZER_OPTIONS_H_
#define STORMKV_TESTS_FUZZ_SANITIZER_OPTIONS_H_

extern "C" const char* __ubsan_default_options() {
  return "halt_on_error=1:print_stacktrace=1:suppressions=" STORMKV_FUZZ_DIR "/ubsan.supp";
}

#endif  // STORMKV_TESTS_FUZZ_SANITIZER_OPTIONS_H_
