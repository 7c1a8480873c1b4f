#include "fidelity/differential_workload.h"

#include <algorithm>

namespace stormkv::fidelity {

// Short TTLs are at least this long: the step's own OBJECT ENCODING / MEMORY USAGE run on the
// server a little after its PEXPIRE (the store's clock stands still within a step), and a 1 ms
// TTL could run out in between on a loaded machine (seen once in 10 x 100,000 steps).
constexpr int64_t kShortTtlMinMs = 30;

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::string CommandText(const Command& c) {
  std::string s;
  for (size_t i = 0; i < c.size(); ++i) {
    if (i == 12 && c.size() > 14) {
      s += " ... (" + std::to_string(c.size()) + " args)";
      break;
    }
    if (i > 0) s += ' ';
    std::string a = c[i];
    if (a.size() > 24) a = a.substr(0, 12) + "..<" + std::to_string(a.size()) + ">";
    s += a.empty() ? "\"\"" : a;
  }
  return s;
}

Generator::Generator(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 12345) {
  small_ = seed % 2 == 1;
  hash_entries_ = small_ ? 8 : 512;
  hash_value_ = small_ ? 16 : 64;
  intset_entries_ = small_ ? 8 : 512;
  zset_entries_ = small_ ? 8 : 128;
  zset_value_ = small_ ? 16 : 64;
  // Key names of several sds classes (1, 20, 31/32 bytes, 44+, 100).
  const std::vector<std::string> names = {
      "a", "b", "k1", "k2", "key:03", "key:04", "key:0000000000000005", "key:0000000000000006",
      std::string(31, 'h') + "7", std::string(30, 's') + "8", std::string(44, 'z') + "9",
      std::string(100, 'L') + "10", "c", "d", "key:13", "key:14", "key:15", "key:16", "e:17",
      "f:18", "g:19", "h:20", "i:21", "j:22"};
  for (size_t i = 0; i < names.size(); ++i)
    keys_.push_back(Key{names[i], static_cast<Type>(i % 4)});
}

uint64_t Generator::Rand() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::vector<Command> Generator::Config() const {
  return {{"CONFIG", "SET", "hash-max-listpack-entries", std::to_string(hash_entries_)},
          {"CONFIG", "SET", "hash-max-listpack-value", std::to_string(hash_value_)},
          {"CONFIG", "SET", "set-max-intset-entries", std::to_string(intset_entries_)},
          {"CONFIG", "SET", "zset-max-listpack-entries", std::to_string(zset_entries_)},
          {"CONFIG", "SET", "zset-max-listpack-value", std::to_string(zset_value_)}};
}

std::vector<Command> Generator::WarmUp() const {
  return {{"SET", "w", "1"},          {"GET", "w"},
          {"INCR", "w"},              {"DECR", "w"},
          {"INCRBY", "w", "2"},       {"DECRBY", "w", "2"},
          {"EXPIRE", "w", "100"},     {"PEXPIRE", "w", "100000"},
          {"EXPIREAT", "w", "1"},     {"PEXPIREAT", "w", "1"},
          {"TTL", "w"},               {"PTTL", "w"},
          {"PERSIST", "w"},           {"EXISTS", "w"},
          {"TYPE", "w"},              {"DEL", "w"},
          {"HSET", "wh", "a", "1"},   {"HMSET", "wh", "c", "1"},
          {"HSETNX", "wh", "b", "1"},
          {"HGET", "wh", "a"},        {"HMGET", "wh", "a"},
          {"HGETALL", "wh"},          {"HINCRBY", "wh", "a", "1"},
          {"HDEL", "wh", "a"},        {"HLEN", "wh"},
          {"HEXISTS", "wh", "a"},     {"SADD", "ws", "1"},
          {"SREM", "ws", "1"},        {"SISMEMBER", "ws", "1"},
          {"SCARD", "ws"},            {"SMEMBERS", "ws"},
          {"ZADD", "wz", "1", "a"},   {"ZREM", "wz", "a"},
          {"ZCARD", "wz"},            {"ZSCORE", "wz", "a"},
          {"ZRANGEBYSCORE", "wz", "-inf", "+inf"},
          {"ZREMRANGEBYSCORE", "wz", "-inf", "+inf"},
          {"DBSIZE"},                 {"PING"},
          // One error of each code: Redis 7.0 keeps a per-code counter (errorstats) in a
          // radix tree that grows on an error code's first occurrence.
          {"SET", "w", "x"},          {"HGET", "w", "a"},
          {"INCR", "w"},
          {"OBJECT", "ENCODING", "w"}, {"MEMORY", "USAGE", "w", "SAMPLES", "0"},
          // The first OBJECT ENCODING and MEMORY USAGE of a missing key each free 32 bytes
          // on Redis 7.0.15 (measured), once.
          {"OBJECT", "ENCODING", "nokey"}, {"MEMORY", "USAGE", "nokey", "SAMPLES", "0"},
          {"TTL", "nokey"},           {"PTTL", "nokey"},
          {"GET", "nokey"},           {"TYPE", "nokey"},
          {"EXISTS", "nokey"},        {"HGET", "nokey", "a"},
          {"INFO", "memory"},         {"INFO", "clients"},
          {"DEBUG", "PAUSE-CRON", "0"}, {"CONFIG", "GET", "maxmemory"},
          {"FLUSHDB"}};
}

size_t Generator::Length() {
  static const size_t kBoundaries[] = {0,  1,  15, 16, 17, 20, 31, 32, 33, 43, 44, 45, 46,
                                       62, 63, 64, 65, 66, 70, 100, 120, 255, 256, 300};
  if (Chance(55)) return 1 + Below(12);
  return kBoundaries[Below(sizeof kBoundaries / sizeof kBoundaries[0])];
}

size_t Generator::AroundThreshold(size_t t) {
  switch (Below(4)) {
    case 0: return t - 1;
    case 1: return t;
    case 2: return t + 1;
    default: return 1 + Below(t + t / 2);
  }
}

std::string Generator::Text(size_t n) {
  std::string s(n, 'a');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + Below(26));
  return s;
}

std::string Generator::IntText() {
  static const char* kInts[] = {"0",          "1",           "9999",        "10000",
                                "-1",         "127",         "128",         "4095",
                                "4096",       "32767",       "32768",       "-32768",
                                "-32769",     "8388607",     "8388608",     "2147483647",
                                "2147483648", "-2147483649", "1099511627776", "9223372036854775807",
                                "-9223372036854775808", "007", "-0", "+5", "1e3", " 12"};
  if (Chance(50)) return std::to_string(static_cast<int64_t>(Below(20000)) - 100);
  return kInts[Below(sizeof kInts / sizeof kInts[0])];
}

std::string Generator::StringValue() {
  if (Chance(30)) return IntText();
  return Text(Length());
}

std::string Generator::Field(size_t pool) {
  if (Chance(8)) return Text(AroundThreshold(hash_value_));
  if (Chance(8)) return IntText();
  return "f" + std::to_string(Below(pool));
}

std::string Generator::HashValue() {
  if (Chance(10)) return Text(AroundThreshold(hash_value_));
  if (Chance(30)) return IntText();
  return Text(Length() % (hash_value_ + 8));
}

std::string Generator::Member(size_t pool) {
  if (Chance(75)) {
    if (Chance(90)) return std::to_string(Below(pool));
    return IntText();
  }
  if (Chance(20)) return Text(Length());
  return "m" + std::to_string(Below(pool));
}

std::string Generator::ZMember(size_t pool) {
  if (Chance(10)) return Text(AroundThreshold(zset_value_));
  if (Chance(10)) return IntText();
  return "z" + std::to_string(Below(pool));
}

std::string Generator::Score() {
  switch (Below(10)) {
    case 0: return "1.5";
    case 1: return std::to_string(static_cast<int64_t>(Below(2000)) - 1000) + ".25";
    case 2: return Chance(50) ? "-inf" : "+inf";
    case 3: return "0";
    default: return std::to_string(Below(50));
  }
}

Generator::Type Generator::RandomType() { return static_cast<Type>(Below(4)); }

Step Generator::Next() {
  Key& k = keys_[Below(keys_.size())];
  if (Chance(12)) return KeyOp(k);
  Type t = Chance(93) ? k.type : RandomType();
  switch (t) {
    case Type::kString: return StringOp(k);
    case Type::kHash: return HashOp(k);
    case Type::kSet: return SetOp(k);
    default: return ZsetOp(k);
  }
}

Step Generator::KeyOp(Key& k) {
  Step s;
  s.touched = {k.name};
  switch (Below(16)) {
    case 0:
    case 1: {
      Key& other = keys_[Below(keys_.size())];
      s.cmd = {"DEL", k.name};
      if (other.name != k.name && Chance(30)) {
        s.cmd.push_back(other.name);
        s.touched.push_back(other.name);
        other.type = RandomType();
      }
      k.type = RandomType();
      break;
    }
    case 2: s.cmd = {"EXISTS", k.name}; break;
    case 3: s.cmd = {"TYPE", k.name}; break;
    case 4:
    case 5: s.cmd = {"EXPIRE", k.name, std::to_string(1000 + Below(100000))}; break;
    case 6: s.cmd = {"PEXPIRE", k.name, std::to_string(1000000 + Below(100000000))}; break;
    case 7: {
      int64_t ms = kShortTtlMinMs + static_cast<int64_t>(Below(30));
      s.cmd = {"PEXPIRE", k.name, std::to_string(ms)};
      s.short_ttl_ms = ms;
      break;
    }
    case 8:
      s.cmd = Chance(50) ? Command{"EXPIRE", k.name, Chance(50) ? "0" : "-5"}
                         : Command{"EXPIREAT", k.name, "1"};
      k.type = RandomType();
      break;
    case 9: s.cmd = {"PERSIST", k.name}; break;
    case 10:
    case 11: s.cmd = {"TTL", k.name}; break;
    case 12: s.cmd = {"PTTL", k.name}; break;
    case 13: s.cmd = {"DBSIZE"}; s.touched.clear(); break;
    case 14:
      if (Chance(3)) {
        s.cmd = {"FLUSHDB"};
        s.touched.clear();
        for (Key& x : keys_) {
          x.type = RandomType();
          x.deadline_us = 0;
        }
      } else {
        const std::string& other = keys_[Below(keys_.size())].name;
        s.cmd = {"EXISTS", k.name, other};
        if (other != k.name) s.touched.push_back(other);
      }
      break;
    default: s.cmd = {"EXPIRE", k.name, std::to_string(500 + Below(1000)), "GT"}; break;
  }
  return s;
}

Step Generator::StringOp(Key& k) {
  Step s;
  s.touched = {k.name};
  switch (Below(10)) {
    case 0:
    case 1:
    case 2: s.cmd = {"SET", k.name, StringValue()}; break;
    case 3: {
      s.cmd = {"SET", k.name, StringValue()};
      switch (Below(5)) {
        case 0: s.cmd.insert(s.cmd.end(), {"EX", std::to_string(1000 + Below(9000))}); break;
        case 1: {
          int64_t ms = kShortTtlMinMs + static_cast<int64_t>(Below(30));
          s.cmd.insert(s.cmd.end(), {"PX", std::to_string(ms)});
          s.short_ttl_ms = ms;
          break;
        }
        case 2: s.cmd.push_back("KEEPTTL"); break;
        case 3: s.cmd.push_back(Chance(50) ? "NX" : "XX"); break;
        default: s.cmd.push_back("GET"); break;
      }
      break;
    }
    case 4:
    case 5: s.cmd = {"GET", k.name}; break;
    case 6: s.cmd = {"INCR", k.name}; break;
    case 7: s.cmd = {"INCRBY", k.name, IntText()}; break;
    case 8: s.cmd = {"DECRBY", k.name, std::to_string(Below(20000))}; break;
    default: s.cmd = {"DECR", k.name}; break;
  }
  if (EqualsNoCase(s.cmd[0], "set")) k.type = Type::kString;
  return s;
}

Step Generator::HashOp(Key& k) {
  Step s;
  s.touched = {k.name};
  const size_t pool = hash_entries_ + hash_entries_ / 4 + 4;
  switch (Below(14)) {
    case 0:
    case 1:
    case 2:
    case 3: {
      s.cmd = {Chance(90) ? "HSET" : "HMSET", k.name};
      size_t n = 1 + Below(3);
      for (size_t i = 0; i < n; ++i) s.cmd.insert(s.cmd.end(), {Field(pool), HashValue()});
      break;
    }
    case 4: {
      // Bulk: around hash-max-listpack-entries in one command (conversion on creation).
      s.cmd = {"HSET", k.name};
      size_t n = AroundThreshold(hash_entries_);
      size_t base = Below(pool);
      for (size_t i = 0; i < n; ++i)
        s.cmd.insert(s.cmd.end(), {"f" + std::to_string(base + i), Text(1 + Below(10))});
      if (Chance(20)) s.cmd.insert(s.cmd.end(), {"long", Text(AroundThreshold(hash_value_))});
      break;
    }
    case 5: s.cmd = {"HSETNX", k.name, Field(pool), HashValue()}; break;
    case 6: s.cmd = {"HGET", k.name, Field(pool)}; break;
    case 7: s.cmd = {"HMGET", k.name, Field(pool), Field(pool), Field(pool)}; break;
    case 8: s.cmd = {"HGETALL", k.name}; break;
    case 9: s.cmd = {"HINCRBY", k.name, Field(pool), IntText()}; break;
    case 10: {
      s.cmd = {"HDEL", k.name};
      size_t n = Chance(15) ? pool : 1 + Below(3);
      size_t base = Below(pool);
      for (size_t i = 0; i < n; ++i) s.cmd.push_back("f" + std::to_string((base + i) % pool));
      break;
    }
    case 11: s.cmd = {"HLEN", k.name}; break;
    case 12: s.cmd = {"HEXISTS", k.name, Field(pool)}; break;
    default: s.cmd = {"HDEL", k.name, Field(pool)}; break;
  }
  return s;
}

Step Generator::SetOp(Key& k) {
  Step s;
  s.touched = {k.name};
  const size_t pool = intset_entries_ + intset_entries_ / 4 + 4;
  switch (Below(11)) {
    case 0:
    case 1:
    case 2:
    case 3: {
      s.cmd = {"SADD", k.name};
      size_t n = 1 + Below(3);
      for (size_t i = 0; i < n; ++i) s.cmd.push_back(Member(pool));
      break;
    }
    case 4: {
      // Bulk: around set-max-intset-entries integers, sometimes one string among them.
      s.cmd = {"SADD", k.name};
      size_t n = AroundThreshold(intset_entries_);
      size_t base = Below(pool);
      for (size_t i = 0; i < n; ++i) s.cmd.push_back(std::to_string(base + i));
      if (Chance(20)) s.cmd.push_back(Text(1 + Below(20)));
      break;
    }
    case 5: {
      s.cmd = {"SREM", k.name};
      size_t n = Chance(15) ? pool : 1 + Below(3);
      size_t base = Below(pool);
      for (size_t i = 0; i < n; ++i) s.cmd.push_back(std::to_string((base + i) % pool));
      break;
    }
    case 6: s.cmd = {"SISMEMBER", k.name, Member(pool)}; break;
    case 7: s.cmd = {"SCARD", k.name}; break;
    case 8: s.cmd = {"SMEMBERS", k.name}; break;
    default: s.cmd = {"SREM", k.name, Member(pool)}; break;
  }
  return s;
}

Step Generator::ZsetOp(Key& k) {
  Step s;
  s.touched = {k.name};
  const size_t pool = zset_entries_ + zset_entries_ / 4 + 4;
  switch (Below(12)) {
    case 0:
    case 1:
    case 2:
    case 3: {
      s.cmd = {"ZADD", k.name};
      if (Chance(15)) s.cmd.push_back(Chance(50) ? "NX" : "XX");
      if (Chance(10)) s.cmd.push_back("CH");
      size_t n = 1 + Below(3);
      for (size_t i = 0; i < n; ++i) s.cmd.insert(s.cmd.end(), {Score(), ZMember(pool)});
      break;
    }
    case 4: {
      // Bulk: around zset-max-listpack-entries members in one command.
      s.cmd = {"ZADD", k.name};
      size_t n = AroundThreshold(zset_entries_);
      size_t base = Below(pool);
      for (size_t i = 0; i < n; ++i)
        s.cmd.insert(s.cmd.end(), {std::to_string(Below(100)), "z" + std::to_string(base + i)});
      if (Chance(20)) s.cmd.insert(s.cmd.end(), {"7", Text(AroundThreshold(zset_value_))});
      break;
    }
    case 5: {
      s.cmd = {"ZREM", k.name};
      size_t n = 1 + Below(3);
      for (size_t i = 0; i < n; ++i) s.cmd.push_back(ZMember(pool));
      break;
    }
    case 6: s.cmd = {"ZCARD", k.name}; break;
    case 7: s.cmd = {"ZSCORE", k.name, ZMember(pool)}; break;
    case 8: {
      std::string lo = std::to_string(Below(50)), hi = std::to_string(Below(100));
      s.cmd = {"ZRANGEBYSCORE", k.name, Chance(20) ? "-inf" : lo, Chance(20) ? "+inf" : hi};
      if (Chance(50)) s.cmd.push_back("WITHSCORES");
      if (Chance(30)) s.cmd.insert(s.cmd.end(), {"LIMIT", std::to_string(Below(5)), "3"});
      break;
    }
    case 9: {
      std::string lo = std::to_string(Below(60));
      s.cmd = {"ZREMRANGEBYSCORE", k.name, Chance(20) ? "-inf" : lo,
               Chance(20) ? "+inf" : std::to_string(Below(40) + 20)};
      break;
    }
    case 10: s.cmd = {"ZADD", k.name, "INCR", Score(), ZMember(pool)}; break;
    default: s.cmd = {"ZADD", k.name, Score(), ZMember(pool)}; break;
  }
  return s;
}

void Generator::Executed(const Step& s, int64_t now_us) {
  if (s.short_ttl_ms <= 0 || s.touched.empty()) return;
  for (Key& k : keys_) {
    if (k.name == s.touched[0]) k.deadline_us = now_us + s.short_ttl_ms * 1000;
  }
}

int64_t Generator::ExpiryBarrierUs(const std::vector<std::string>& keys) {
  constexpr int64_t kMarginUs = 25000;
  int64_t until = 0;
  for (Key& k : keys_) {
    if (k.deadline_us == 0) continue;
    if (std::find(keys.begin(), keys.end(), k.name) == keys.end()) continue;
    until = std::max(until, k.deadline_us + kMarginUs);
    k.deadline_us = 0;
  }
  return until;
}

}  // namespace stormkv::fidelity
