// tests/common/test_util.h — assertions that print the Status on failure.
#ifndef STORMKV_TESTS_COMMON_TEST_UTIL_H_
#define STORMKV_TESTS_COMMON_TEST_UTIL_H_

#include <gtest/gtest.h>

#include "stormkv/status.h"

// ASSERT_OK / EXPECT_OK take a Status or a Result<T> (also `result.status()` of a temporary):
// the Status is copied within the full-expression, so nothing dangles.
namespace stormkv::testing_internal {
inline const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const Result<T>& r) { return r.status(); }
}  // namespace stormkv::testing_internal

#define ASSERT_OK(expr)                                                          \
  do {                                                                           \
    const ::stormkv::Status stormkv_s_ = ::stormkv::testing_internal::StatusOf(expr); \
    ASSERT_TRUE(stormkv_s_.ok()) << #expr << " -> " << stormkv_s_;                 \
  } while (0)

#define EXPECT_OK(expr)                                                          \
  do {                                                                           \
    const ::stormkv::Status stormkv_s_ = ::stormkv::testing_internal::StatusOf(expr); \
    EXPECT_TRUE(stormkv_s_.ok()) << #expr << " -> " << stormkv_s_;                 \
  } while (0)

// ASSERT_OK_AND_ASSIGN(auto v, backend->Get("k"));
#define STORMKV_CONCAT_INNER_(a, b) a##b
#define STORMKV_CONCAT_(a, b) STORMKV_CONCAT_INNER_(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(STORMKV_CONCAT_(stormkv_r_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(tmp, lhs, expr)           \
  auto tmp = (expr);                                         \
  ASSERT_TRUE(tmp.ok()) << #expr << " -> " << tmp.status();  \
  lhs = std::move(tmp).value()

#endif  // STORMKV_TESTS_COMMON_TEST_UTIL_H_
