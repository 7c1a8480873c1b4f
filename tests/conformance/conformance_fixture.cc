#include "conformance/conformance_fixture.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

namespace stormkv::conformance {
namespace {

std::string Render(const Command& argv) {
  std::string out;
  for (const std::string& a : argv) {
    if (!out.empty()) out += ' ';
    out += '"' + a + '"';
  }
  return out;
}

bool CodeMatches(const ::stormkv::Status& s, std::string_view text) {
  if (text.substr(0, 9) == "WRONGTYPE") return s.IsWrongType();
  if (text.substr(0, 3) == "OOM") return s.IsOutOfMemory();
  return s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kServerError;
}

}  // namespace

std::string Arity(std::string_view lower_name) {
  return "ERR wrong number of arguments for '" + std::string(lower_name) + "' command";
}

std::string Numbered(std::string_view stem, int64_t i) {
  std::string out(stem);
  out += std::to_string(i);
  return out;
}

Reply Bulks(std::initializer_list<std::string> items) {
  std::vector<Reply> v;
  for (const std::string& s : items) v.push_back(Reply::Bulk(s));
  return Reply::Array(std::move(v));
}

std::ostream& operator<<(std::ostream& os, const KeySnapshot& s) {
  os << "{type=" << s.type << " ttl=" << (s.volatile_ttl ? "yes" : "no") << " value=[";
  for (size_t i = 0; i < s.value.size(); ++i) os << (i ? ", " : "") << '"' << s.value[i] << '"';
  return os << "]}";
}

void ConformanceTest::SetUp() {
  STORMKV_SETUP_BACKEND(GetParam(), tb_);
  ASSERT_TRUE(tb_.has_value()) << "backend " << GetParam() << " was not created";
  ASSERT_NE(tb_->kv, nullptr) << "backend '" << GetParam()
                              << "': the factory returned a null KvBackend";
  kv_ = tb_->kv.get();
  std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  name = name.substr(0, name.find('/'));
  // One hash tag per test: its keys share a slot, so multi-key commands also run on a cluster.
  prefix_ = "t:{" + name + "}:";
}

void ConformanceTest::TearDown() {
  if (kv_ != nullptr) {
    for (auto it = saved_config_.rbegin(); it != saved_config_.rend(); ++it) {
      EXPECT_OK(kv_->ConfigSet(it->first, it->second));
    }
  }
  if (tb_.has_value() && tb_->cleanup) tb_->cleanup();
}

::stormkv::Status ConformanceTest::SetConfig(const std::string& name, const std::string& value) {
  bool saved = std::any_of(saved_config_.begin(), saved_config_.end(),
                           [&](const auto& p) { return p.first == name; });
  if (!saved) {
    Result<std::optional<std::string>> old = kv_->ConfigGet(name);
    if (!old.ok()) return old.status();
    if (!old->has_value()) return ::stormkv::Status::Internal("CONFIG GET " + name + ": unknown");
    saved_config_.emplace_back(name, **old);
  }
  return kv_->ConfigSet(name, value);
}

std::chrono::milliseconds ConformanceTest::ClockSlack() const {
  return tb_->name == "redis" ? std::chrono::milliseconds(100) : std::chrono::milliseconds(0);
}

void ConformanceTest::Advance(std::chrono::milliseconds d) {
  ::stormkv::Status s = tb_->advance(d);
  ASSERT_TRUE(s.ok()) << "advance(" << d.count() << "ms): " << s;
}

::testing::AssertionResult ConformanceTest::Replies(const Command& argv, const Reply& want) {
  Result<Reply> got = kv_->Run(argv);
  if (!got.ok()) {
    return ::testing::AssertionFailure()
           << Render(argv) << "\n  expected: " << want << "\n    actual: error " << got.status();
  }
  if (*got != want) {
    return ::testing::AssertionFailure()
           << Render(argv) << "\n  expected: " << want << "\n    actual: " << *got;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult ConformanceTest::Fails(const Command& argv,
                                                  std::string_view error_text) {
  Result<Reply> got = kv_->Run(argv);
  if (got.ok()) {
    return ::testing::AssertionFailure() << Render(argv) << "\n  expected error: " << error_text
                                         << "\n           actual: " << *got;
  }
  if (got.status().message() != error_text || !CodeMatches(got.status(), error_text)) {
    return ::testing::AssertionFailure() << Render(argv) << "\n  expected error: " << error_text
                                         << "\n           actual: " << got.status();
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult ConformanceTest::FailsUnchanged(const std::string& key,
                                                           const Command& argv,
                                                           std::string_view error_text) {
  KeySnapshot before = Snapshot(key);
  ::testing::AssertionResult r = Fails(argv, error_text);
  if (!r) return r;
  KeySnapshot after = Snapshot(key);
  if (before != after) {
    return ::testing::AssertionFailure() << Render(argv) << " changed key " << key
                                         << "\n  before: " << before << "\n   after: " << after;
  }
  return ::testing::AssertionSuccess();
}

Reply ConformanceTest::MustRun(const Command& argv) {
  Result<Reply> r = kv_->Run(argv);
  if (!r.ok()) {
    ADD_FAILURE() << Render(argv) << " -> " << r.status();
    return Reply::Nil();
  }
  return *r;
}

std::vector<std::string> ConformanceTest::SortedStrings(const Reply& r) {
  std::vector<std::string> out;
  for (const Reply& e : r.elements()) out.push_back(e.str());
  std::sort(out.begin(), out.end());
  return out;
}

KeySnapshot ConformanceTest::Snapshot(const std::string& key) {
  KeySnapshot s;
  s.type = MustRun({"TYPE", key}).str();
  if (s.type == "string") {
    s.value.push_back(MustRun({"GET", key}).str());
  } else if (s.type == "hash") {
    Reply all = MustRun({"HGETALL", key});
    std::vector<std::pair<std::string, std::string>> pairs;
    for (size_t i = 0; i + 1 < all.elements().size(); i += 2) {
      pairs.emplace_back(all.elements()[i].str(), all.elements()[i + 1].str());
    }
    std::sort(pairs.begin(), pairs.end());
    for (auto& [f, v] : pairs) {
      s.value.push_back(f);
      s.value.push_back(v);
    }
  } else if (s.type == "set") {
    s.value = SortedStrings(MustRun({"SMEMBERS", key}));
  } else if (s.type == "zset") {
    Reply all = MustRun({"ZRANGEBYSCORE", key, "-inf", "+inf", "WITHSCORES"});
    for (const Reply& e : all.elements()) s.value.push_back(e.str());
  }
  Reply pttl = MustRun({"PTTL", key});
  s.volatile_ttl = pttl.is_integer() && pttl.integer() >= 0;
  return s;
}

int64_t ConformanceTest::InfoInt(std::string_view section, std::string_view name) {
  Result<std::map<std::string, std::string>> info = kv_->Info(section);
  if (!info.ok()) {
    ADD_FAILURE() << "INFO " << section << " -> " << info.status();
    return 0;
  }
  auto it = info->find(std::string(name));
  if (it == info->end()) return 0;
  return std::strtoll(it->second.c_str(), nullptr, 10);
}

int64_t ConformanceTest::ErrorStat(std::string_view prefix) {
  Result<std::map<std::string, std::string>> info = kv_->Info("errorstats");
  if (!info.ok()) {
    ADD_FAILURE() << "INFO errorstats -> " << info.status();
    return 0;
  }
  auto it = info->find("errorstat_" + std::string(prefix));
  if (it == info->end()) return 0;
  if (it->second.rfind("count=", 0) != 0) {
    ADD_FAILURE() << "errorstat_" << prefix << " is not count=N: " << it->second;
    return 0;
  }
  return std::strtoll(it->second.c_str() + 6, nullptr, 10);
}

std::map<std::string, int64_t> ConformanceTest::KeyspaceDb0() {
  std::map<std::string, int64_t> out;
  Result<std::map<std::string, std::string>> info = kv_->Info("keyspace");
  if (!info.ok()) {
    ADD_FAILURE() << "INFO keyspace -> " << info.status();
    return out;
  }
  auto it = info->find("db0");
  if (it == info->end()) return out;
  std::string_view rest = it->second;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    size_t eq = item.find('=');
    if (eq != std::string_view::npos) {
      out[std::string(item.substr(0, eq))] =
          std::strtoll(std::string(item.substr(eq + 1)).c_str(), nullptr, 10);
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace stormkv::conformance

namespace stormkv::conformance {

INSTANTIATE_TEST_SUITE_P(All, ConformanceTest, ::testing::ValuesIn(AllBackendNames()),
                         BackendParamName);

}  // namespace stormkv::conformance
