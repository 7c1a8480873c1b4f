#include "lua/lua_golden.h"

#include <cstdio>
#include <fstream>

namespace stormkv::testing_lua {
namespace {

std::string Escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string Encode(const Reply& r) {
  switch (r.type()) {
    case Reply::Type::kNil: return "_";
    case Reply::Type::kInteger: return ":" + std::to_string(r.integer());
    case Reply::Type::kBulk: return "$" + Escape(r.str());
    case Reply::Type::kStatus: return "+" + Escape(r.str());
    case Reply::Type::kError: return "-" + Escape(r.str());
    case Reply::Type::kArray: {
      std::string out = "*" + std::to_string(r.elements().size()) + "[";
      for (size_t i = 0; i < r.elements().size(); ++i) {
        if (i) out += ",";
        out += Encode(r.elements()[i]);
      }
      return out + "]";
    }
  }
  return "?";
}

}  // namespace

const std::map<std::string, std::string>& EngineCasesThatDiffer() {
  static const std::map<std::string, std::string> m = {
      {"return {math.random(100), math.random(100), math.random(1, 6)}",
       "math.random: reseeded for every run here, seeded once at startup by Redis"},
      {"return tostring(math.random())", "math.random: see above"},
      {"redis.call('RPUSH', 'l', 'a', 'b') return redis.call('LRANGE', 'l', 0, -1)",
       "the store has no lists (Unknown Redis command called from script)"},
      {"return redis.call('INCRBYFLOAT', 'f', '1.5')", "the store has no INCRBYFLOAT"},
      {"return redis.call('SELECT', 1)", "the store has one database (no SELECT)"},
  };
  return m;
}

std::string EncodeOutcome(const Result<Reply>& r) {
  return r.ok() ? Encode(*r) : "!" + Escape(r.status().message());
}

std::vector<LuaCase> EngineCases() {
  std::vector<LuaCase> out;
  for (LuaCase& c : BuildCorpus(1)) {
    if (c.kind == CaseKind::kEngine) out.push_back(std::move(c));
  }
  return out;
}

const char* GoldenPath() { return STORMKV_LUA_GOLDEN; }

std::map<std::string, std::string> ReadGolden() {
  std::map<std::string, std::string> m;
  std::ifstream in(GoldenPath());
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t tab = line.find('\t');
    if (tab != std::string::npos) m[line.substr(0, tab)] = line.substr(tab + 1);
  }
  return m;
}

Result<Reply> RunOnEmptyDatabase(KvBackend& kv, const LuaCase& c) {
  Result<Reply> flushed = kv.Run({"FLUSHDB"});
  if (!flushed.ok()) return flushed.status();
  return kv.Run({"EVAL", c.body, "0"});
}

}  // namespace stormkv::testing_lua
