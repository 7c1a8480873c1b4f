// tests/common/test_env.h — the environment tests run in: the test servers they are promised
// (STORMKV_REDIS_URL, STORMKV_REQUIRE_REDIS) and a port nobody listens on.
//
// One rule for every suite that needs a server: when the variable naming it is unset the case is
// skipped with a message naming the variable, unless STORMKV_REQUIRE_REDIS=1 (tools/test.sh sets
// it), which makes the missing server a failure — a promised server is never silently absent.
#ifndef STORMKV_TESTS_COMMON_TEST_ENV_H_
#define STORMKV_TESTS_COMMON_TEST_ENV_H_

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace stormkv {

// The value of environment variable `name`, or "" when unset.
std::string EnvOr(const char* name, std::string_view fallback = "");

// True when STORMKV_REQUIRE_REDIS=1: a missing test server fails the case instead of skipping it.
bool RedisRequired();

// What a case does when the server named by `variable` (e.g. "STORMKV_REDIS_URL") is missing.
struct ServerCheck {
  bool present = false;     // the variable is set
  std::string skip_reason;  // not present and not required: skip with this message
  std::string failure;      // not present but required: fail with this message
};
ServerCheck CheckServerVariable(const char* variable);

// A loopback TCP port nobody listens on right now (bound to port 0, read, closed); 1 when no
// socket can be bound (nothing listens on port 1 either).
int ClosedLoopbackPort();

}  // namespace stormkv

// In SetUp() or a TEST body: skips the case, or fails it under STORMKV_REQUIRE_REDIS=1, when
// `variable` is not set. Returns from the calling function in both cases.
#define STORMKV_NEED_SERVER(variable)                                               \
  do {                                                                              \
    const ::stormkv::ServerCheck stormkv_sc_ = ::stormkv::CheckServerVariable(variable); \
    if (!stormkv_sc_.failure.empty()) FAIL() << stormkv_sc_.failure;                \
    if (!stormkv_sc_.present) GTEST_SKIP() << stormkv_sc_.skip_reason;              \
  } while (0)

#endif  // STORMKV_TESTS_COMMON_TEST_ENV_H_
