#include "fake_context.h"

#include <strings.h>

#include <cstdlib>

namespace stormkv::luatest {
namespace {

bool Is(const std::string& a, const char* b) { return strcasecmp(a.c_str(), b) == 0; }

struct Spec {
  const char* name;
  int arity;
  bool write;
};

const Spec kSpecs[] = {
    {"PING", -1, false}, {"ECHO", 2, false},  {"GET", 2, false},     {"SET", -3, true},
    {"DEL", -2, true},   {"INCR", 2, true},   {"HSET", -4, true},    {"HGET", 3, false},
    {"HGETALL", 2, false}, {"HMGET", -3, false}, {"SMEMBERS", 2, false}, {"ZSCORE", 3, false},
    {"EVAL", -3, false},
};

}  // namespace

Result<Reply> FakeContext::Call(const Command& argv) {
  trace.push_back(argv);
  const Spec* spec = nullptr;
  for (const Spec& s : kSpecs) {
    if (Is(argv[0], s.name)) spec = &s;
  }
  if (spec == nullptr) return Status::InvalidArgument("ERR Unknown Redis command called from script");
  int argc = static_cast<int>(argv.size());
  if ((spec->arity > 0 && argc != spec->arity) || (spec->arity < 0 && argc < -spec->arity)) {
    return Status::InvalidArgument("ERR Wrong number of args calling Redis command from script");
  }
  if (Is(argv[0], "EVAL")) return Status::InvalidArgument("ERR This Redis command is not allowed from script");
  if (spec->write && read_only) {
    return Status::InvalidArgument("ERR Write commands are not allowed from read-only scripts.");
  }
  if (spec->write && oom && !allow_oom && !Is(argv[0], "DEL")) {
    return Status::OutOfMemory("OOM command not allowed when used memory > 'maxmemory'.");
  }
  const std::string& cmd = argv[0];
  if (Is(cmd, "PING")) return Reply::StatusText("PONG");
  if (Is(cmd, "ECHO")) return Reply::Bulk(argv[1]);
  if (Is(cmd, "GET")) {
    if (hashes.count(argv[1])) {
      return Status::WrongType("WRONGTYPE Operation against a key holding the wrong kind of value");
    }
    auto it = strings.find(argv[1]);
    return it == strings.end() ? Reply::Nil() : Reply::Bulk(it->second);
  }
  if (Is(cmd, "SET")) {
    strings[argv[1]] = argv[2];
    return Reply::Ok();
  }
  if (Is(cmd, "DEL")) {
    int64_t n = 0;
    for (size_t i = 1; i < argv.size(); ++i) n += strings.erase(argv[i]) + hashes.erase(argv[i]);
    return Reply::Integer(n);
  }
  if (Is(cmd, "INCR")) {
    std::string& v = strings[argv[1]];
    char* end = nullptr;
    long long n = v.empty() ? 0 : std::strtoll(v.c_str(), &end, 10);
    if (!v.empty() && *end != '\0') return Status::InvalidArgument("ERR value is not an integer or out of range");
    v = std::to_string(n + 1);
    return Reply::Integer(n + 1);
  }
  if (Is(cmd, "HSET")) {
    if (argc % 2 != 0) return Status::InvalidArgument("ERR wrong number of arguments for 'hset' command");
    int64_t added = 0;
    auto& h = hashes[argv[1]];
    for (size_t i = 2; i + 1 < argv.size(); i += 2) added += h.insert_or_assign(argv[i], argv[i + 1]).second;
    return Reply::Integer(added);
  }
  if (Is(cmd, "HGET")) {
    auto it = hashes.find(argv[1]);
    if (it == hashes.end() || !it->second.count(argv[2])) return Reply::Nil();
    return Reply::Bulk(it->second[argv[2]]);
  }
  if (Is(cmd, "HGETALL")) {
    std::vector<Reply> out;
    auto it = hashes.find(argv[1]);
    if (it != hashes.end()) {
      for (const auto& [f, v] : it->second) {
        out.push_back(Reply::Bulk(f));
        out.push_back(Reply::Bulk(v));
      }
    }
    return Reply::Array(std::move(out));
  }
  if (Is(cmd, "HMGET")) {
    std::vector<Reply> out;
    auto it = hashes.find(argv[1]);
    for (size_t i = 2; i < argv.size(); ++i) {
      if (it == hashes.end() || !it->second.count(argv[i])) out.push_back(Reply::Nil());
      else out.push_back(Reply::Bulk(it->second[argv[i]]));
    }
    return Reply::Array(std::move(out));
  }
  if (Is(cmd, "SMEMBERS")) return Reply::Array({Reply::Bulk("a"), Reply::Bulk("b")});
  if (Is(cmd, "ZSCORE")) return argv[1] == "z" ? Reply::Bulk("1.5") : Reply::Nil();
  return Status::Internal("fake: unhandled command");
}

Result<ScriptContext*> FakeHost::BeginScript(const LuaScriptFlags& flags, bool read_only) {
  ++begun;
  last_flags = flags;
  last_read_only = read_only;
  if (over_maxmemory && flags.shebang && !flags.no_writes && !flags.allow_oom) {
    return Status::OutOfMemory("OOM command not allowed when used memory > 'maxmemory'.");
  }
  ctx.read_only = read_only;
  ctx.oom = over_maxmemory;
  ctx.allow_oom = flags.allow_oom;
  return &ctx;
}

Reply Eval(LuaEngine& engine, FakeHost& host, const std::string& body,
           const std::vector<std::string>& keys, const std::vector<std::string>& args,
           const char* command) {
  Command argv{command, body, std::to_string(keys.size())};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return engine.Execute(argv, host);
}

}  // namespace stormkv::luatest
