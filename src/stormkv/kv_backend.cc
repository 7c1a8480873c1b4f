#include "stormkv/kv_backend.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unordered_set>

namespace stormkv {
namespace {

std::string Str(std::string_view s) { return std::string(s); }

Status Unexpected(const char* cmd, const Reply& r) {
  return Status::Internal(std::string("unexpected reply to ") + cmd + ": " + r.ToString());
}

Result<int64_t> AsInt(const char* cmd, Result<Reply> r) {
  if (!r.ok()) return r.status();
  if (!r->is_integer()) return Unexpected(cmd, *r);
  return r->integer();
}

Result<std::optional<std::string>> AsOptString(const char* cmd, Result<Reply> r) {
  if (!r.ok()) return r.status();
  if (r->is_nil()) return std::optional<std::string>();
  if (!r->is_bulk() && !r->is_status()) return Unexpected(cmd, *r);
  return std::optional<std::string>(r->str());
}

Result<std::vector<std::string>> AsStrings(const char* cmd, Result<Reply> r) {
  if (!r.ok()) return r.status();
  if (!r->is_array()) return Unexpected(cmd, *r);
  std::vector<std::string> out;
  out.reserve(r->elements().size());
  for (const Reply& e : r->elements()) out.push_back(e.str());
  return out;
}

bool ParseDouble(const std::string& s, double* out) {
  if (s == "inf" || s == "+inf") { *out = HUGE_VAL; return true; }
  if (s == "-inf") { *out = -HUGE_VAL; return true; }
  char* end = nullptr;
  errno = 0;
  *out = std::strtod(s.c_str(), &end);
  return end && *end == '\0' && !s.empty();
}

}  // namespace

std::vector<Result<Reply>> KvBackend::EvalBatch(const std::vector<ScriptCall>& calls) {
  std::vector<Result<Reply>> out;
  out.reserve(calls.size());
  for (const ScriptCall& c : calls) {
    if (c.script == nullptr) {
      out.emplace_back(Status::InvalidArgument("EvalBatch: call without a script"));
      continue;
    }
    out.push_back(Eval(*c.script, c.keys, c.args));
  }
  return out;
}

Result<std::optional<std::string>> KvBackend::Get(std::string_view key) {
  return AsOptString("GET", Run({"GET", Str(key)}));
}

Result<bool> KvBackend::Set(std::string_view key, std::string_view value, const SetOptions& o) {
  Command c{"SET", Str(key), Str(value)};
  if (o.ttl) {
    c.push_back("PX");
    c.push_back(std::to_string(o.ttl->count()));
  }
  if (o.nx) c.push_back("NX");
  if (o.xx) c.push_back("XX");
  if (o.keep_ttl) c.push_back("KEEPTTL");
  Result<Reply> r = Run(c);
  if (!r.ok()) return r.status();
  if (r->is_nil()) return false;
  if (r->is_status() && r->str() == "OK") return true;
  return Unexpected("SET", *r);
}

Result<int64_t> KvBackend::Del(const std::vector<std::string>& keys) {
  Command c{"DEL"};
  c.insert(c.end(), keys.begin(), keys.end());
  return AsInt("DEL", Run(c));
}

Result<int64_t> KvBackend::Exists(const std::vector<std::string>& keys) {
  Command c{"EXISTS"};
  c.insert(c.end(), keys.begin(), keys.end());
  return AsInt("EXISTS", Run(c));
}

Result<std::string> KvBackend::Type(std::string_view key) {
  Result<Reply> r = Run({"TYPE", Str(key)});
  if (!r.ok()) return r.status();
  if (!r->is_status() && !r->is_bulk()) return Unexpected("TYPE", *r);
  return r->str();
}

Result<int64_t> KvBackend::IncrBy(std::string_view key, int64_t delta) {
  return AsInt("INCRBY", Run({"INCRBY", Str(key), std::to_string(delta)}));
}

Result<bool> KvBackend::PExpire(std::string_view key, std::chrono::milliseconds ttl,
                                ExpireCondition cond) {
  Command c{"PEXPIRE", Str(key), std::to_string(ttl.count())};
  switch (cond) {
    case ExpireCondition::kAlways: break;
    case ExpireCondition::kNx: c.push_back("NX"); break;
    case ExpireCondition::kXx: c.push_back("XX"); break;
    case ExpireCondition::kGt: c.push_back("GT"); break;
    case ExpireCondition::kLt: c.push_back("LT"); break;
  }
  Result<int64_t> r = AsInt("PEXPIRE", Run(c));
  if (!r.ok()) return r.status();
  return *r == 1;
}

Result<int64_t> KvBackend::Pttl(std::string_view key) { return AsInt("PTTL", Run({"PTTL", Str(key)})); }

Result<int64_t> KvBackend::HSet(std::string_view key,
                                const std::vector<std::pair<std::string, std::string>>& fields) {
  Command c{"HSET", Str(key)};
  for (const auto& [f, v] : fields) {
    c.push_back(f);
    c.push_back(v);
  }
  return AsInt("HSET", Run(c));
}

Result<std::optional<std::string>> KvBackend::HGet(std::string_view key, std::string_view field) {
  return AsOptString("HGET", Run({"HGET", Str(key), Str(field)}));
}

Result<std::vector<std::pair<std::string, std::string>>> KvBackend::HGetAll(std::string_view key) {
  Result<std::vector<std::string>> flat = AsStrings("HGETALL", Run({"HGETALL", Str(key)}));
  if (!flat.ok()) return flat.status();
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i + 1 < flat->size(); i += 2) out.emplace_back((*flat)[i], (*flat)[i + 1]);
  return out;
}

Result<int64_t> KvBackend::HIncrBy(std::string_view key, std::string_view field, int64_t delta) {
  return AsInt("HINCRBY", Run({"HINCRBY", Str(key), Str(field), std::to_string(delta)}));
}

Result<int64_t> KvBackend::HLen(std::string_view key) { return AsInt("HLEN", Run({"HLEN", Str(key)})); }

Result<int64_t> KvBackend::SAdd(std::string_view key, const std::vector<std::string>& members) {
  Command c{"SADD", Str(key)};
  c.insert(c.end(), members.begin(), members.end());
  return AsInt("SADD", Run(c));
}

Result<std::vector<std::string>> KvBackend::SMembers(std::string_view key) {
  return AsStrings("SMEMBERS", Run({"SMEMBERS", Str(key)}));
}

Result<int64_t> KvBackend::SCard(std::string_view key) { return AsInt("SCARD", Run({"SCARD", Str(key)})); }

Result<int64_t> KvBackend::ZAdd(std::string_view key, double score, std::string_view member) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", score);
  return AsInt("ZADD", Run({"ZADD", Str(key), buf, Str(member)}));
}

Result<int64_t> KvBackend::ZCard(std::string_view key) { return AsInt("ZCARD", Run({"ZCARD", Str(key)})); }

Result<std::optional<double>> KvBackend::ZScore(std::string_view key, std::string_view member) {
  Result<std::optional<std::string>> s = AsOptString("ZSCORE", Run({"ZSCORE", Str(key), Str(member)}));
  if (!s.ok()) return s.status();
  if (!s->has_value()) return std::optional<double>();
  double d = 0;
  if (!ParseDouble(**s, &d)) return Status::Internal("ZSCORE returned a non-number: " + **s);
  return std::optional<double>(d);
}

Result<ScanPage> KvBackend::Scan(std::string_view cursor, std::string_view match, int64_t count,
                                 std::string_view type) {
  Command c{"SCAN", Str(cursor)};
  if (!match.empty()) {
    c.push_back("MATCH");
    c.push_back(Str(match));
  }
  c.push_back("COUNT");
  c.push_back(std::to_string(count));
  if (!type.empty()) {
    c.push_back("TYPE");
    c.push_back(Str(type));
  }
  Result<Reply> r = Run(c);
  if (!r.ok()) return r.status();
  if (!r->is_array() || r->elements().size() != 2 || !r->elements()[1].is_array()) {
    return Unexpected("SCAN", *r);
  }
  ScanPage page;
  page.cursor = r->elements()[0].str();
  for (const Reply& k : r->elements()[1].elements()) page.keys.push_back(k.str());
  return page;
}

Status KvBackend::ScanAll(std::string_view match, const std::function<Status(const std::string&)>& fn,
                          int64_t count, std::string_view type) {
  std::unordered_set<std::string> seen;
  std::string cursor = "0";
  do {
    Result<ScanPage> page = Scan(cursor, match, count, type);
    if (!page.ok()) return page.status();
    for (const std::string& k : page->keys) {
      if (!seen.insert(k).second) continue;
      STORMKV_RETURN_IF_ERROR(fn(k));
    }
    cursor = page->cursor;
  } while (cursor != "0");
  return Status::Ok();
}

Result<int64_t> KvBackend::DbSize() { return AsInt("DBSIZE", Run({"DBSIZE"})); }

Status KvBackend::FlushDb() {
  Result<Reply> r = Run({"FLUSHDB"});
  return r.status();
}

Result<std::optional<int64_t>> KvBackend::MemoryUsage(std::string_view key) {
  Result<Reply> r = Run({"MEMORY", "USAGE", Str(key), "SAMPLES", "0"});
  if (!r.ok()) return r.status();
  if (r->is_nil()) return std::optional<int64_t>();
  if (!r->is_integer()) return Unexpected("MEMORY USAGE", *r);
  return std::optional<int64_t>(r->integer());
}

std::map<std::string, std::string> ParseInfo(std::string_view text) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = end + 1;
    if (line.empty() || line[0] == '#') continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    out.emplace(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  return out;
}

Result<std::map<std::string, std::string>> KvBackend::Info(std::string_view section) {
  Command c{"INFO"};
  if (!section.empty()) c.push_back(Str(section));
  Result<Reply> r = Run(c);
  if (!r.ok()) return r.status();
  if (!r->is_bulk() && !r->is_status()) return Unexpected("INFO", *r);
  return ParseInfo(r->str());
}

Result<int64_t> KvBackend::UsedMemory() {
  auto info = Info("memory");
  if (!info.ok()) return info.status();
  auto it = info->find("used_memory");
  if (it == info->end()) return Status::Internal("INFO memory has no used_memory");
  return static_cast<int64_t>(std::strtoll(it->second.c_str(), nullptr, 10));
}

Result<std::optional<std::string>> KvBackend::ConfigGet(std::string_view name) {
  Result<Reply> r = Run({"CONFIG", "GET", Str(name)});
  if (!r.ok()) return r.status();
  if (!r->is_array()) return Unexpected("CONFIG GET", *r);
  if (r->elements().size() < 2) return std::optional<std::string>();
  return std::optional<std::string>(r->elements()[1].str());
}

Status KvBackend::ConfigSet(std::string_view name, std::string_view value) {
  return Run({"CONFIG", "SET", Str(name), Str(value)}).status();
}

Status StatusFromErrorReply(std::string_view text) {
  auto starts = [&](std::string_view p) { return text.substr(0, p.size()) == p; };
  std::string msg(text);
  if (starts("WRONGTYPE")) return Status::WrongType(msg);
  if (starts("OOM")) return Status::OutOfMemory(msg);
  if (starts("NOSCRIPT") || starts("BUSY")) return Status::ScriptError(msg);
  // The server cannot serve the command right now, and it did not run: retrying later may
  // succeed (loading, failover, persistence failure, a replica, a slot in migration).
  if (starts("LOADING") || starts("MASTERDOWN") || starts("TRYAGAIN") || starts("CLUSTERDOWN") ||
      starts("READONLY") || starts("MISCONF")) {
    return Status::Unavailable(msg);
  }
  // Redis's refusal of a multi-key command or script whose keys are in different slots.
  if (starts("CROSSSLOT")) return Status::InvalidArgument(msg);
  if (starts("ERR")) {
    // Redis 7.0 appends " script: <sha>, on @user_script:N." to errors raised inside a script.
    // A command error raised by redis.call keeps its code (as on the memory twin); only failures
    // of the script itself are script errors: Lua runtime errors ("ERR user_script:1: ...") and
    // misuse of redis.call. "Error running script" is the pre-7.0 wrapper.
    std::string_view body = text.substr(4);
    bool in_script = text.find("@user_script") != std::string_view::npos;
    auto body_starts = [&](std::string_view p) { return body.substr(0, p.size()) == p; };
    // The embedded engine's own refusals (compile errors, runaway/heap/reply limits) too.
    if (text.find("Error running script") != std::string_view::npos ||
        body_starts("Error compiling script") || body_starts("Script killed by") ||
        body_starts("Script exceeded the Lua memory limit") ||
        body_starts("Script reply is too large") ||
        (in_script && (body_starts("user_script:") ||
                       body_starts("Unknown Redis command called from script") ||
                       body_starts("Wrong number of args calling Redis command from script") ||
                       body_starts("This Redis command is not allowed from script")))) {
      return Status::ScriptError(msg);
    }
    return Status::InvalidArgument(msg);
  }
  return Status::ServerError(msg);
}

}  // namespace stormkv
