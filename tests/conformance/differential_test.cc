// Randomized differential test (leveldb's ModelDB pattern): the same seeded sequence of string,
// counter, hash and set commands runs on the backend and on a std::map model of Redis 7.0
// semantics; every reply (value or exact error text) and, periodically, every key must match.
// The seed is gtest's random seed (time-based unless --gtest_random_seed=N is given); every
// failure prints it, so `--gtest_random_seed=N` replays the exact sequence.
#include <charconv>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "conformance/conformance_fixture.h"

namespace stormkv::conformance {
namespace {

using Hash = std::map<std::string, std::string>;
using Set = std::set<std::string>;
using Value = std::variant<std::string, Hash, Set>;

// Redis's string2ll: optional '-', digits, no leading zeros, no "-0", no '+', no spaces, in range.
bool StrictInt(const std::string& s, int64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return false;
  if (std::to_string(v) != s) return false;
  *out = v;
  return true;
}

bool AddOverflows(int64_t a, int64_t b) {
  return (b < 0 && a < 0 && b < std::numeric_limits<int64_t>::min() - a) ||
         (b > 0 && a > 0 && b > std::numeric_limits<int64_t>::max() - a);
}

// The model's answer: a reply or an error text.
struct Expect {
  Reply reply;
  std::string error;  // non-empty: the command fails with this text
};
Expect R(Reply r) { return {std::move(r), ""}; }
Expect E(std::string_view e) { return {Reply::Nil(), std::string(e)}; }

class Model {
 public:
  // `base_keys`: keys the database holds that the model does not (counted by DBSIZE).
  explicit Model(int64_t base_keys) : base_keys_(base_keys) {}

  Expect Apply(const Command& c) {
    const std::string& op = c[0];
    if (op == "GET") {
      auto it = db_.find(c[1]);
      if (it == db_.end()) return R(Nil());
      if (!std::holds_alternative<std::string>(it->second)) return E(kWrongType);
      return R(Bulk(std::get<std::string>(it->second)));
    }
    if (op == "SET") return SetCmd(c);
    if (op == "DEL") {
      int64_t n = 0;
      for (size_t i = 1; i < c.size(); ++i) n += db_.erase(c[i]);
      return R(Int(n));
    }
    if (op == "EXISTS") {
      int64_t n = 0;
      for (size_t i = 1; i < c.size(); ++i) n += db_.count(c[i]);
      return R(Int(n));
    }
    if (op == "TYPE") {
      auto it = db_.find(c[1]);
      if (it == db_.end()) return R(StatusReply("none"));
      static const char* kNames[] = {"string", "hash", "set"};
      return R(StatusReply(kNames[it->second.index()]));
    }
    if (op == "INCR") return IncrBy(c[1], 1);
    if (op == "INCRBY" || op == "DECRBY") {
      int64_t d = 0;
      if (!StrictInt(c[2], &d)) return E(kNotInteger);
      if (op == "DECRBY") {
        if (d == std::numeric_limits<int64_t>::min()) return E("ERR decrement would overflow");
        d = -d;
      }
      return IncrBy(c[1], d);
    }
    if (op == "DBSIZE") return R(Int(base_keys_ + static_cast<int64_t>(db_.size())));
    if (op[0] == 'H') return HashCmd(c);
    return SetFamilyCmd(c);
  }

  const std::map<std::string, Value>& db() const { return db_; }

 private:
  template <typename T>
  T* Lookup(const std::string& k, bool* wrong) {
    *wrong = false;
    auto it = db_.find(k);
    if (it == db_.end()) return nullptr;
    T* v = std::get_if<T>(&it->second);
    *wrong = v == nullptr;
    return v;
  }

  Expect SetCmd(const Command& c) {
    bool nx = false, xx = false, get = false;
    for (size_t i = 3; i < c.size(); ++i) {
      nx |= c[i] == "NX";
      xx |= c[i] == "XX";
      get |= c[i] == "GET";
    }
    auto it = db_.find(c[1]);
    bool exists = it != db_.end();
    Reply old = Nil();
    if (get && exists) {
      if (!std::holds_alternative<std::string>(it->second)) return E(kWrongType);
      old = Bulk(std::get<std::string>(it->second));
    }
    if ((nx && exists) || (xx && !exists)) return R(get ? old : Nil());
    db_[c[1]] = c[2];
    return R(get ? old : Ok());
  }

  Expect IncrBy(const std::string& k, int64_t d) {
    bool wrong;
    std::string* s = Lookup<std::string>(k, &wrong);
    if (wrong) return E(kWrongType);
    int64_t v = 0;
    if (s && !StrictInt(*s, &v)) return E(kNotInteger);
    if (AddOverflows(v, d)) return E(kOverflow);
    db_[k] = std::to_string(v + d);
    return R(Int(v + d));
  }

  Expect HashCmd(const Command& c) {
    const std::string& op = c[0];
    const std::string& k = c[1];
    int64_t delta = 0;
    if (op == "HINCRBY" && !StrictInt(c[3], &delta)) return E(kNotInteger);
    bool wrong;
    Hash* h = Lookup<Hash>(k, &wrong);
    if (wrong) return E(kWrongType);
    static const Hash kEmpty;
    const Hash& view = h ? *h : kEmpty;
    if (op == "HGET") {
      auto f = view.find(c[2]);
      return R(f == view.end() ? Nil() : Bulk(f->second));
    }
    if (op == "HLEN") return R(Int(static_cast<int64_t>(view.size())));
    if (op == "HEXISTS") return R(Int(static_cast<int64_t>(view.count(c[2]))));
    if (op == "HDEL") {
      if (!h) return R(Int(0));
      int64_t n = 0;
      for (size_t i = 2; i < c.size(); ++i) n += h->erase(c[i]);
      if (h->empty()) db_.erase(k);
      return R(Int(n));
    }
    Hash& w = h ? *h : std::get<Hash>(db_[k] = Hash{});
    if (op == "HSET") {
      int64_t added = 0;
      for (size_t i = 2; i + 1 < c.size(); i += 2) {
        added += w.count(c[i]) ? 0 : 1;
        w[c[i]] = c[i + 1];
      }
      return R(Int(added));
    }
    if (op == "HSETNX") {
      if (w.count(c[2])) return R(Int(0));
      w[c[2]] = c[3];
      return R(Int(1));
    }
    // HINCRBY
    int64_t v = 0;
    auto f = w.find(c[2]);
    if (f != w.end() && !StrictInt(f->second, &v)) return E("ERR hash value is not an integer");
    if (AddOverflows(v, delta)) return E(kOverflow);
    w[c[2]] = std::to_string(v + delta);
    return R(Int(v + delta));
  }

  Expect SetFamilyCmd(const Command& c) {
    const std::string& op = c[0];
    const std::string& k = c[1];
    bool wrong;
    Set* s = Lookup<Set>(k, &wrong);
    if (wrong) return E(kWrongType);
    if (op == "SISMEMBER") return R(Int(s && s->count(c[2]) ? 1 : 0));
    if (op == "SCARD") return R(Int(s ? static_cast<int64_t>(s->size()) : 0));
    if (op == "SREM") {
      if (!s) return R(Int(0));
      int64_t n = 0;
      for (size_t i = 2; i < c.size(); ++i) n += s->erase(c[i]);
      if (s->empty()) db_.erase(k);
      return R(Int(n));
    }
    // SADD
    Set& w = s ? *s : std::get<Set>(db_[k] = Set{});
    int64_t n = 0;
    for (size_t i = 2; i < c.size(); ++i) n += w.insert(c[i]).second ? 1 : 0;
    return R(Int(n));
  }

  int64_t base_keys_;
  std::map<std::string, Value> db_;
};

class Generator {
 public:
  Generator(uint32_t seed, std::vector<std::string> keys) : rng_(seed), keys_(std::move(keys)) {}

  Command Next() {
    switch (Pick(20)) {
      case 0:
        return {"GET", Key()};
      case 1:
      case 2: {
        Command c{"SET", Key(), Val()};
        static const std::vector<std::vector<std::string>> kOpts = {
            {}, {}, {"NX"}, {"XX"}, {"GET"}, {"NX", "GET"}, {"XX", "GET"}};
        for (const std::string& o : kOpts[Pick(kOpts.size())]) c.push_back(o);
        return c;
      }
      case 3:
        return {"DEL", Key(), Key()};
      case 4:
        return {"EXISTS", Key(), Key(), Key()};
      case 5:
        return {"TYPE", Key()};
      case 6:
        return {"INCR", Key()};
      case 7:
        return {"INCRBY", Key(), Delta()};
      case 8:
        return {"DECRBY", Key(), Delta()};
      case 9: {
        Command c{"HSET", Key()};
        for (size_t n = 1 + Pick(3); n > 0; --n) {
          c.push_back(Field());
          c.push_back(Val());
        }
        return c;
      }
      case 10:
        return {"HGET", Key(), Field()};
      case 11:
        return {"HDEL", Key(), Field(), Field()};
      case 12:
        return {"HINCRBY", Key(), Field(), Delta()};
      case 13:
        return Pick(2) ? Command{"HLEN", Key()} : Command{"HEXISTS", Key(), Field()};
      case 14:
        return {"HSETNX", Key(), Field(), Val()};
      case 15:
      case 16: {
        Command c{"SADD", Key()};
        for (size_t n = 1 + Pick(3); n > 0; --n) c.push_back(Member());
        return c;
      }
      case 17:
        return {"SREM", Key(), Member(), Member()};
      case 18:
        return {"SISMEMBER", Key(), Member()};
      default:
        return Pick(4) ? Command{"SCARD", Key()} : Command{"DBSIZE"};
    }
  }

 private:
  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  std::string Key() { return keys_[Pick(keys_.size())]; }
  std::string Val() {
    static const std::vector<std::string> kVals = {"0",
                                                   "1",
                                                   "-1",
                                                   "42",
                                                   "100",
                                                   "9223372036854775807",
                                                   "-9223372036854775808",
                                                   "9223372036854775806",
                                                   "abc",
                                                   "007",
                                                   " 1",
                                                   "",
                                                   "1.5",
                                                   "x y",
                                                   "-0",
                                                   "+3"};
    return kVals[Pick(kVals.size())];
  }
  std::string Delta() {
    static const std::vector<std::string> kDeltas = {
        "1",   "-1", "5",   "0",   "2", "-7", "9223372036854775807", "-9223372036854775808",
        "abc", "+1", "007", "1.0", ""};
    return kDeltas[Pick(kDeltas.size())];
  }
  std::string Field() { return "f" + std::to_string(Pick(4)); }
  std::string Member() {
    static const std::vector<std::string> kMembers = {"a", "b", "c", "1", "2", "300", "-5", ""};
    return kMembers[Pick(kMembers.size())];
  }

  std::mt19937 rng_;
  std::vector<std::string> keys_;
};

std::string Render(const Command& c) {
  std::string out;
  for (const std::string& a : c) out += (out.empty() ? "" : " ") + ('"' + a + '"');
  return out;
}

TEST_P(ConformanceTest, RandomizedAgainstModel) {
  uint32_t seed = static_cast<uint32_t>(::testing::UnitTest::GetInstance()->random_seed());
  if (seed == 0) seed = 301;
  constexpr int kRounds = 4;
  constexpr int kOpsPerRound = 1500;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " round " + std::to_string(round));
    std::vector<std::string> keys;
    for (int i = 0; i < 6; ++i) {
      keys.push_back(K("r" + std::to_string(round) + "k" + std::to_string(i)));
    }
    Generator gen(seed * 7919u + static_cast<uint32_t>(round), keys);
    ASSERT_OK_AND_ASSIGN(int64_t base_keys, kv().DbSize());
    Model model(base_keys);
    int mismatches = 0;
    for (int step = 0; step < kOpsPerRound && mismatches < 5; ++step) {
      Command c = gen.Next();
      Expect want = model.Apply(c);
      Result<Reply> got = Run(c);
      bool same = want.error.empty() ? got.ok() && *got == want.reply
                                     : !got.ok() && got.status().message() == want.error;
      if (!same) {
        ++mismatches;
        ADD_FAILURE() << "step " << step << ": " << Render(c) << "\n  model:   "
                      << (want.error.empty() ? want.reply.ToString() : "(error) " + want.error)
                      << "\n  backend: "
                      << (got.ok() ? got->ToString() : "(error) " + got.status().ToString());
      }
      if (step % 100 == 99 || step == kOpsPerRound - 1) {
        for (const std::string& k : keys) {
          KeySnapshot snap = Snapshot(k);
          KeySnapshot expect;
          auto it = model.db().find(k);
          if (it == model.db().end()) {
            expect.type = "none";
          } else if (auto* s = std::get_if<std::string>(&it->second)) {
            expect.type = "string";
            expect.value = {*s};
          } else if (auto* h = std::get_if<Hash>(&it->second)) {
            expect.type = "hash";
            for (const auto& [f, v] : *h) {
              expect.value.push_back(f);
              expect.value.push_back(v);
            }
          } else {
            expect.type = "set";
            const Set& set = std::get<Set>(it->second);
            expect.value.assign(set.begin(), set.end());
          }
          EXPECT_EQ(snap, expect) << "key " << k << " after step " << step;
        }
      }
    }
  }
}

}  // namespace
}  // namespace stormkv::conformance
