// tests/conformance/conformance_fixture.h — the fixture of the KvBackend conformance suite.
//
// Every case runs unchanged on every backend of AllBackendNames() ("memory", later "redis",
// "shm"). Expected replies and error texts are those of real Redis 7.0 (checked with redis-cli);
// a backend that differs is wrong, not the test.
//
//   TEST_P(ConformanceTest, Something) {
//     const std::string k = K("k");                      // per-test key prefix
//     EXPECT_REPLY(Ok(), "SET", k, "v");                 // exact reply of Run(argv)
//     EXPECT_ERR("ERR syntax error", "SET", k, "v", "NX", "XX");  // exact error text + code
//     EXPECT_ERR_UNCHANGED(k, "ERR ...", "INCR", k);     // ... and the key is left as it was
//   }
//
// Time moves only through Advance(ms) (the backend's TestBackend::advance): never sleep.
// TearDown restores every parameter changed through SetConfig (server config survives FLUSHDB).
#ifndef STORMKV_TESTS_CONFORMANCE_CONFORMANCE_FIXTURE_H_
#define STORMKV_TESTS_CONFORMANCE_CONFORMANCE_FIXTURE_H_

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/backend_factories.h"
#include "common/test_util.h"
#include "stormkv/kv_backend.h"
#include "stormkv/reply.h"
#include "stormkv/status.h"

namespace stormkv::conformance {

inline constexpr std::string_view kWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
inline constexpr std::string_view kNotInteger = "ERR value is not an integer or out of range";
inline constexpr std::string_view kSyntax = "ERR syntax error";
inline constexpr std::string_view kOverflow = "ERR increment or decrement would overflow";
inline constexpr std::string_view kNotFloat = "ERR value is not a valid float";
inline constexpr std::string_view kOom = "OOM command not allowed when used memory > 'maxmemory'.";

// "ERR wrong number of arguments for '<name>' command".
std::string Arity(std::string_view lower_name);

// stem + decimal i ("f7"), built without GCC 12's false -Wrestrict on `"f" + std::to_string(i)`.
std::string Numbered(std::string_view stem, int64_t i);

// Reply builders.
inline Reply Nil() { return Reply::Nil(); }
inline Reply Ok() { return Reply::Ok(); }
inline Reply Int(int64_t v) { return Reply::Integer(v); }
inline Reply Bulk(std::string s) { return Reply::Bulk(std::move(s)); }
inline Reply StatusReply(std::string s) { return Reply::StatusText(std::move(s)); }
inline Reply Arr(std::vector<Reply> v) { return Reply::Array(std::move(v)); }
Reply Bulks(std::initializer_list<std::string> items);

// Everything observable about one key: its type, its value in a canonical order, whether it has
// a TTL. Two snapshots compare equal when a command changed nothing.
struct KeySnapshot {
  std::string type;
  std::vector<std::string> value;  // string: {v}; hash: sorted f,v,...; set: sorted; zset: m,s,...
  bool volatile_ttl = false;
  friend bool operator==(const KeySnapshot&, const KeySnapshot&) = default;
};
std::ostream& operator<<(std::ostream& os, const KeySnapshot& s);

class ConformanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override;
  void TearDown() override;

  KvBackend& kv() { return *kv_; }
  const std::string& backend_name() const { return tb_->name; }

  // The per-test key prefix ("t:<TestName>:") plus `name`.
  std::string K(std::string_view name) const { return prefix_ + std::string(name); }
  const std::string& prefix() const { return prefix_; }

  Result<Reply> Run(const Command& argv) { return kv_->Run(argv); }
  // Moves the backend's time forward (ManualClock; key TTLs on a real server).
  void Advance(std::chrono::milliseconds d);
  // How far a real server's clock may run during a few commands. Zero on backends whose clock
  // is the test's ManualClock (memory, shm), where expiry is exact to the millisecond; on a real
  // server wall time keeps passing between advance() and the next command, so deadline tests
  // keep this much distance from the deadline.
  std::chrono::milliseconds ClockSlack() const;
  // CONFIG SET that remembers the parameter's first value so TearDown can restore it. Use it
  // (not Run) for every CONFIG SET that succeeds.
  ::stormkv::Status SetConfig(const std::string& name, const std::string& value);

  // Checks used by the EXPECT_* macros below.
  ::testing::AssertionResult Replies(const Command& argv, const Reply& want);
  ::testing::AssertionResult Fails(const Command& argv, std::string_view error_text);
  ::testing::AssertionResult FailsUnchanged(const std::string& key, const Command& argv,
                                            std::string_view error_text);

  // The key's snapshot (type "none" when missing). Fails the test on a backend error.
  KeySnapshot Snapshot(const std::string& key);
  // Run() that must succeed; returns nil (and records a failure) otherwise.
  Reply MustRun(const Command& argv);
  // The integer field `name` of INFO <section>, or 0 when absent.
  int64_t InfoInt(std::string_view section, std::string_view name);
  // count=N of errorstat_<prefix> in INFO errorstats, or 0 when absent.
  int64_t ErrorStat(std::string_view prefix);
  // The fields of db0 in INFO keyspace ("keys" -> 3, "expires" -> 1, ...); empty when absent.
  std::map<std::string, int64_t> KeyspaceDb0();
  // Members of a (possibly nested) array reply as strings, sorted.
  static std::vector<std::string> SortedStrings(const Reply& r);

  std::optional<TestBackend> tb_;

 private:
  KvBackend* kv_ = nullptr;
  std::string prefix_;
  std::vector<std::pair<std::string, std::string>> saved_config_;  // name, original value
};

}  // namespace stormkv::conformance

// EXPECT_REPLY(want, argv...): Run({argv...}) succeeds with exactly `want`.
#define EXPECT_REPLY(want, ...) EXPECT_TRUE(this->Replies(::stormkv::Command{__VA_ARGS__}, (want)))
// EXPECT_ERR(text, argv...): Run({argv...}) fails with exactly `text` and the matching code.
#define EXPECT_ERR(text, ...) EXPECT_TRUE(this->Fails(::stormkv::Command{__VA_ARGS__}, (text)))
// EXPECT_ERR_UNCHANGED(key, text, argv...): as EXPECT_ERR, and `key` is exactly as before.
#define EXPECT_ERR_UNCHANGED(key, text, ...) \
  EXPECT_TRUE(this->FailsUnchanged((key), ::stormkv::Command{__VA_ARGS__}, (text)))

#endif  // STORMKV_TESTS_CONFORMANCE_CONFORMANCE_FIXTURE_H_
