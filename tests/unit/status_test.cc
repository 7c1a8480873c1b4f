#include "stormkv/status.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace stormkv {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "ok");
  EXPECT_EQ(Status::Ok(), Status());
}

TEST(StatusTest, FactoriesSetCodeMessageAndPredicates) {
  struct Case {
    Status status;
    StatusCode code;
    std::string name;
  };
  const std::vector<Case> cases = {
      {Status::InvalidArgument("m"), StatusCode::kInvalidArgument, "invalid_argument"},
      {Status::WrongType("m"), StatusCode::kWrongType, "wrong_type"},
      {Status::OutOfMemory("m"), StatusCode::kOutOfMemory, "out_of_memory"},
      {Status::Unavailable("m"), StatusCode::kUnavailable, "unavailable"},
      {Status::Timeout("m"), StatusCode::kTimeout, "timeout"},
      {Status::ScriptError("m"), StatusCode::kScriptError, "script_error"},
      {Status::Corruption("m"), StatusCode::kCorruption, "corruption"},
      {Status::ServerError("m"), StatusCode::kServerError, "server_error"},
      {Status::Internal("m"), StatusCode::kInternal, "internal"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_FALSE(c.status.ok());
    EXPECT_EQ(c.status.code(), c.code);
    EXPECT_EQ(c.status.message(), "m");
    EXPECT_EQ(StatusCodeName(c.code), c.name);
    EXPECT_EQ(c.status.ToString(), c.name + ": m");
    EXPECT_EQ(c.status.IsInvalidArgument(), c.code == StatusCode::kInvalidArgument);
    EXPECT_EQ(c.status.IsWrongType(), c.code == StatusCode::kWrongType);
    EXPECT_EQ(c.status.IsOutOfMemory(), c.code == StatusCode::kOutOfMemory);
    EXPECT_EQ(c.status.IsUnavailable(), c.code == StatusCode::kUnavailable);
    EXPECT_EQ(c.status.IsTimeout(), c.code == StatusCode::kTimeout);
    EXPECT_EQ(c.status.IsScriptError(), c.code == StatusCode::kScriptError);
    EXPECT_EQ(c.status.IsCorruption(), c.code == StatusCode::kCorruption);
  }
  EXPECT_EQ(StatusCodeName(StatusCode::kOk), "ok");
}

TEST(StatusTest, ServerTextIsKeptExactly) {
  const std::string oom = "OOM command not allowed when used memory > 'maxmemory'.";
  Status s = Status::OutOfMemory(oom);
  EXPECT_EQ(s.message(), oom);
  EXPECT_EQ(s.ToString(), "out_of_memory: " + oom);
}

TEST(StatusTest, WithContextPrefixesErrorsOnly) {
  Status s = Status::WrongType("WRONGTYPE x");
  Status c = s.WithContext("dedup");
  EXPECT_EQ(c.code(), StatusCode::kWrongType);
  EXPECT_EQ(c.message(), "dedup: WRONGTYPE x");
  EXPECT_EQ(c.WithContext("ingest").message(), "ingest: dedup: WRONGTYPE x");
  EXPECT_EQ(s.message(), "WRONGTYPE x");  // the original is unchanged
  EXPECT_EQ(Status::Ok().WithContext("dedup"), Status::Ok());
  EXPECT_TRUE(Status::Ok().WithContext("dedup").message().empty());
}

TEST(StatusTest, EqualityComparesCodeAndMessage) {
  EXPECT_EQ(Status::Timeout("a"), Status::Timeout("a"));
  EXPECT_FALSE(Status::Timeout("a") == Status::Timeout("b"));
  EXPECT_FALSE(Status::Timeout("a") == Status::Unavailable("a"));
  EXPECT_FALSE(Status::Ok() == Status::Internal(""));
  std::ostringstream os;
  os << Status::Corruption("bad json");
  EXPECT_EQ(os.str(), "corruption: bad json");
}

Status FailsWhen(bool fail, int* reached) {
  STORMKV_RETURN_IF_ERROR(fail ? Status::Timeout("t") : Status::Ok());
  ++*reached;
  return Status::Ok();
}

TEST(StatusTest, ReturnIfErrorReturnsTheFirstError) {
  int reached = 0;
  EXPECT_EQ(FailsWhen(true, &reached), Status::Timeout("t"));
  EXPECT_EQ(reached, 0);
  EXPECT_TRUE(FailsWhen(false, &reached).ok());
  EXPECT_EQ(reached, 1);
}

TEST(ResultTest, HoldsAValue) {
  Result<int> r = 42;
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.status().ok());
  EXPECT_EQ(r.value(), 42);
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(r.value_or(7), 42);
  *r = 43;
  EXPECT_EQ(r.value(), 43);
  Result<std::string> s = std::string("abc");
  EXPECT_EQ(s->size(), 3u);
  std::string moved = std::move(s).value();
  EXPECT_EQ(moved, "abc");
}

TEST(ResultTest, HoldsAnError) {
  Result<int> r = Status::WrongType("WRONGTYPE x");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status(), Status::WrongType("WRONGTYPE x"));
  EXPECT_EQ(r.value_or(7), 7);
}

TEST(ResultTest, MoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 5);
}

TEST(ResultTest, OkStatusWithoutValueIsAnInternalError) {
#ifdef NDEBUG
  Result<int> r{Status::Ok()};
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
#else
  EXPECT_DEATH({ Result<int> r{Status::Ok()}; }, "without a value");
#endif
}

// The value of an error is a bug that must not go unnoticed in Release builds (where assert is
// gone): every accessor aborts with the status text.
TEST(ResultDeathTest, ValueOfAnErrorAbortsWithTheStatusInEveryBuildType) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const std::string expected =
      "Result::value\\(\\) called on an error: wrong_type: WRONGTYPE Operation";
  EXPECT_DEATH(
      {
        Result<int> r = Status::WrongType("WRONGTYPE Operation");
        std::fprintf(stderr, "%d\n", r.value());
      },
      expected);
  EXPECT_DEATH(
      {
        const Result<std::string> r = Status::WrongType("WRONGTYPE Operation");
        std::fprintf(stderr, "%zu\n", r->size());
      },
      expected);
  EXPECT_DEATH(
      {
        Result<std::unique_ptr<int>> r = Status::WrongType("WRONGTYPE Operation");
        std::unique_ptr<int> p = std::move(r).value();
        std::fprintf(stderr, "%p\n", static_cast<void*>(p.get()));
      },
      expected);
  EXPECT_DEATH(
      {
        Result<int> r = Status::WrongType("WRONGTYPE Operation");
        std::fprintf(stderr, "%d\n", *r);
      },
      expected);
}

}  // namespace
}  // namespace stormkv
