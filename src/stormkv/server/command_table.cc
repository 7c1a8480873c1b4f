#include "stormkv/server/command_table.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>

namespace stormkv::server {
namespace {

const char* const kInfoEntries[] = {
#include "stormkv/server/command_info.inc"
};

// A hash of `s` that ignores ASCII case (bit 5 of every byte set: a-z and A-Z hash alike; other
// bytes may collide, which the comparison after it sorts out). FNV-1a.
uint32_t FoldHash(std::string_view s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ (c | 0x20u)) * 16777619u;
  return h;
}

// `name` (any case) equals `lower` (a lower-case command name).
bool EqualsLowerName(std::string_view name, std::string_view lower) {
  if (name.size() != lower.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (c != lower[i]) return false;
  }
  return true;
}

// A reader for the generated entries (well-formed by construction).
RespNode ReadNode(std::string_view& in) {
  RespNode n;
  n.type = in[0];
  size_t eol = in.find("\r\n");
  std::string_view head = in.substr(1, eol - 1);
  in.remove_prefix(eol + 2);
  switch (n.type) {
    case '+': case '-': case ':': n.str = std::string(head); break;
    case '_': break;
    case '$': {
      size_t len = std::strtoul(std::string(head).c_str(), nullptr, 10);
      n.str = std::string(in.substr(0, len));
      in.remove_prefix(len + 2);
      break;
    }
    case '*': case '~': case '%': {
      size_t count = std::strtoul(std::string(head).c_str(), nullptr, 10);
      if (n.type == '%') count *= 2;
      for (size_t i = 0; i < count; ++i) n.kids.push_back(ReadNode(in));
      break;
    }
    default: std::abort();  // the generator emits only the types above
  }
  return n;
}

// The docs stormkv gives for each command: {name, summary, since, group, complexity}.
struct Doc {
  const char* name;
  const char* summary;
  const char* since;
  const char* group;
  const char* complexity;
};
constexpr Doc kDocs[] = {
    {"get", "Returns the string value of a key.", "1.0.0", "string", "O(1)"},
    {"set", "Sets a key to a string value, with an optional expiry and NX/XX/KEEPTTL/GET.", "1.0.0", "string", "O(1)"},
    {"del", "Deletes keys.", "1.0.0", "generic", "O(N) keys"},
    {"unlink", "Deletes keys (the embedded store frees at once).", "4.0.0", "generic", "O(N) keys"},
    {"exists", "Counts how many of the keys exist.", "1.0.0", "generic", "O(N) keys"},
    {"type", "Returns the type of a key's value.", "1.0.0", "generic", "O(1)"},
    {"incr", "Increments an integer string by one.", "1.0.0", "string", "O(1)"},
    {"decr", "Decrements an integer string by one.", "1.0.0", "string", "O(1)"},
    {"incrby", "Increments an integer string by a number.", "1.0.0", "string", "O(1)"},
    {"decrby", "Decrements an integer string by a number.", "1.0.0", "string", "O(1)"},
    {"expire", "Sets a key's time to live in seconds.", "1.0.0", "generic", "O(1)"},
    {"pexpire", "Sets a key's time to live in milliseconds.", "2.6.0", "generic", "O(1)"},
    {"expireat", "Sets a key's expiry as a Unix time in seconds.", "1.2.0", "generic", "O(1)"},
    {"pexpireat", "Sets a key's expiry as a Unix time in milliseconds.", "2.6.0", "generic", "O(1)"},
    {"ttl", "Returns a key's time to live in seconds.", "1.0.0", "generic", "O(1)"},
    {"pttl", "Returns a key's time to live in milliseconds.", "2.6.0", "generic", "O(1)"},
    {"persist", "Removes a key's expiry.", "2.2.0", "generic", "O(1)"},
    {"hset", "Sets hash fields.", "2.0.0", "hash", "O(N) fields"},
    {"hmset", "Sets hash fields (deprecated form of HSET).", "2.0.0", "hash", "O(N) fields"},
    {"hsetnx", "Sets a hash field only when it does not exist.", "2.0.0", "hash", "O(1)"},
    {"hget", "Returns a hash field's value.", "2.0.0", "hash", "O(1)"},
    {"hmget", "Returns the values of hash fields.", "2.0.0", "hash", "O(N) fields"},
    {"hgetall", "Returns every field and value of a hash.", "2.0.0", "hash", "O(N) size of the hash"},
    {"hincrby", "Increments an integer hash field.", "2.0.0", "hash", "O(1)"},
    {"hdel", "Deletes hash fields.", "2.0.0", "hash", "O(N) fields"},
    {"hlen", "Returns the number of fields of a hash.", "2.0.0", "hash", "O(1)"},
    {"hexists", "Tells whether a hash field exists.", "2.0.0", "hash", "O(1)"},
    {"sadd", "Adds members to a set.", "1.0.0", "set", "O(N) members"},
    {"srem", "Removes members from a set.", "1.0.0", "set", "O(N) members"},
    {"sismember", "Tells whether a member is in a set.", "1.0.0", "set", "O(1)"},
    {"scard", "Returns the number of members of a set.", "1.0.0", "set", "O(1)"},
    {"smembers", "Returns every member of a set.", "1.0.0", "set", "O(N) size of the set"},
    {"zadd", "Adds members with scores to a sorted set.", "1.2.0", "sorted-set", "O(log N) per member"},
    {"zrem", "Removes members from a sorted set.", "1.2.0", "sorted-set", "O(M log N)"},
    {"zcard", "Returns the number of members of a sorted set.", "1.2.0", "sorted-set", "O(1)"},
    {"zscore", "Returns a member's score.", "1.2.0", "sorted-set", "O(1)"},
    {"zrangebyscore", "Returns members within a score range.", "1.0.5", "sorted-set", "O(log N + M)"},
    {"zremrangebyscore", "Removes members within a score range.", "1.2.0", "sorted-set", "O(log N + M)"},
    {"scan", "Iterates over the keyspace.", "2.8.0", "generic", "O(1) per call"},
    {"dbsize", "Returns the number of keys.", "1.0.0", "server", "O(1)"},
    {"flushdb", "Removes every key.", "1.0.0", "server", "O(N) keys"},
    {"flushall", "Removes every key (one database).", "1.0.0", "server", "O(N) keys"},
    {"time", "Returns the server's (possibly virtual) time.", "2.6.0", "server", "O(1)"},
    {"ping", "Answers PONG, or echoes its argument.", "1.0.0", "connection", "O(1)"},
    {"echo", "Returns its argument.", "1.0.0", "connection", "O(1)"},
    {"info", "Returns server information and statistics.", "1.0.0", "server", "O(1)"},
    {"auth", "Authenticates the connection.", "1.0.0", "connection", "O(N) password length"},
    {"hello", "Selects the protocol version, optionally authenticating and naming the connection.", "6.0.0", "connection", "O(1)"},
    {"select", "Selects a database (stormkv serve has database 0 only).", "1.0.0", "connection", "O(1)"},
    {"quit", "Closes the connection.", "1.0.0", "connection", "O(1)"},
    {"reset", "Resets the connection's state.", "6.2.0", "connection", "O(1)"},
    {"multi", "Starts a transaction.", "1.2.0", "transactions", "O(1)"},
    {"exec", "Runs the queued commands atomically.", "1.2.0", "transactions", "O(N) queued commands"},
    {"discard", "Drops the queued commands.", "2.0.0", "transactions", "O(N) queued commands"},
    {"watch", "Makes the next EXEC conditional on the keys staying untouched.", "2.2.0", "transactions", "O(1) per key"},
    {"unwatch", "Forgets every watched key.", "2.2.0", "transactions", "O(1)"},
    {"eval", "Runs a Lua script.", "2.6.0", "scripting", "Depends on the script"},
    {"evalsha", "Runs a cached Lua script by its SHA-1.", "2.6.0", "scripting", "Depends on the script"},
    {"eval_ro", "Runs a read-only Lua script.", "7.0.0", "scripting", "Depends on the script"},
    {"evalsha_ro", "Runs a cached read-only Lua script by its SHA-1.", "7.0.0", "scripting", "Depends on the script"},
    {"memory", "Memory introspection commands.", "4.0.0", "server", "Depends on the subcommand"},
    {"memory|usage", "Estimates a key's memory as Redis 7.0 would.", "4.0.0", "server", "O(N) samples"},
    {"memory|stats", "Reports memory figures.", "4.0.0", "server", "O(1)"},
    {"memory|help", "Lists the subcommands.", "4.0.0", "server", "O(1)"},
    {"object", "Object introspection commands.", "2.2.3", "generic", "Depends on the subcommand"},
    {"object|encoding", "Returns a value's internal encoding.", "2.2.3", "generic", "O(1)"},
    {"object|help", "Lists the subcommands.", "6.2.0", "generic", "O(1)"},
    {"config", "Configuration commands.", "2.0.0", "server", "Depends on the subcommand"},
    {"config|get", "Returns configuration parameters the store models.", "2.0.0", "server", "O(N) parameters"},
    {"config|set", "Changes configuration parameters the store models.", "2.0.0", "server", "O(N) parameters"},
    {"config|resetstat", "Resets the statistics.", "2.0.0", "server", "O(1)"},
    {"config|help", "Lists the subcommands.", "5.0.0", "server", "O(1)"},
    {"client", "Connection commands.", "2.4.0", "connection", "Depends on the subcommand"},
    {"client|id", "Returns the connection's id.", "5.0.0", "connection", "O(1)"},
    {"client|setname", "Names the connection.", "2.6.9", "connection", "O(1)"},
    {"client|getname", "Returns the connection's name.", "2.6.9", "connection", "O(1)"},
    {"client|list", "Lists the open connections.", "2.4.0", "connection", "O(N) connections"},
    {"client|info", "Describes this connection.", "6.2.0", "connection", "O(1)"},
    {"client|help", "Lists the subcommands.", "5.0.0", "connection", "O(1)"},
    {"client|setinfo", "Records the client library's name and version.", "7.2.0", "connection", "O(1)"},
    {"command", "Describes the supported commands.", "2.8.13", "server", "O(N) commands"},
    {"command|count", "Returns the number of supported commands.", "2.8.13", "server", "O(1)"},
    {"command|info", "Returns metadata of commands.", "2.8.13", "server", "O(N) commands"},
    {"command|docs", "Returns documentation of commands.", "7.0.0", "server", "O(N) commands"},
    {"command|list", "Lists the supported command names.", "7.0.0", "server", "O(N) commands"},
    {"command|getkeys", "Extracts the keys of a command.", "2.8.13", "server", "O(N) arguments"},
    {"command|help", "Lists the subcommands.", "5.0.0", "server", "O(1)"},
    {"script", "Script cache commands.", "2.6.0", "scripting", "Depends on the subcommand"},
    {"script|load", "Caches a script and returns its SHA-1.", "2.6.0", "scripting", "O(N) script length"},
    {"script|exists", "Tells which scripts are cached.", "2.6.0", "scripting", "O(N) scripts"},
    {"script|flush", "Empties the script cache.", "2.6.0", "scripting", "O(N) scripts"},
    {"script|help", "Lists the subcommands.", "5.0.0", "scripting", "O(1)"},
    {"function", "Function commands (stormkv keeps no functions).", "7.0.0", "scripting", "Depends on the subcommand"},
    {"function|flush", "Deletes every function (there are none).", "7.0.0", "scripting", "O(1)"},
    {"function|help", "Lists the subcommands.", "7.0.0", "scripting", "O(1)"},
    {"cluster", "Cluster commands.", "3.0.0", "cluster", "Depends on the subcommand"},
    {"cluster|keyslot", "Returns the hash slot of a key.", "3.0.0", "cluster", "O(N) key length"},
    {"cluster|help", "Lists the subcommands.", "5.0.0", "cluster", "O(1)"},
    {"cluster|slots", "Returns the slot ranges and the node serving each (serve --cluster).", "3.0.0", "cluster", "O(N) nodes"},
    {"cluster|shards", "Returns the shards: slot ranges and nodes (serve --cluster).", "7.0.0", "cluster", "O(N) nodes"},
    {"cluster|nodes", "Returns the node table (serve --cluster).", "3.0.0", "cluster", "O(N) nodes"},
    {"cluster|info", "Returns the cluster's state (serve --cluster).", "3.0.0", "cluster", "O(1)"},
    {"cluster|myid", "Returns this node's id (serve --cluster).", "3.0.0", "cluster", "O(1)"},
    {"cluster|countkeysinslot", "Counts this node's keys of a slot (serve --cluster).", "3.0.0", "cluster", "O(N) keys of the node"},
    {"cluster|getkeysinslot", "Returns this node's keys of a slot (serve --cluster).", "3.0.0", "cluster", "O(N) keys of the node"},
    {"readonly", "Allows reads from a replica (serve --cluster has none: OK).", "3.0.0", "cluster", "O(1)"},
    {"readwrite", "Ends READONLY (serve --cluster: OK).", "3.0.0", "cluster", "O(1)"},
    {"stormkv.clock", "Reads or moves the server's clock: GET | SET <ms> | ADVANCE <ms>.", "0.1.0", "server", "O(1)"},
    {"stormkv.memory", "The per-family memory report of stormkv simulate.", "0.1.0", "server", "O(N) keys"},
};

RespNode Leaf(char type, std::string s) {
  RespNode n;
  n.type = type;
  n.str = std::move(s);
  return n;
}

// COMMAND INFO of stormkv's own admin commands (same shape as Redis's).
RespNode AdminInfo(const std::string& name, int arity, bool write) {
  RespNode n;
  n.type = '*';
  n.kids.push_back(Leaf('$', name));
  n.kids.push_back(Leaf(':', std::to_string(arity)));
  RespNode flags;
  flags.type = '~';
  if (write) flags.kids.push_back(Leaf('+', "write"));
  flags.kids.push_back(Leaf('+', "noscript"));
  flags.kids.push_back(Leaf('+', "loading"));
  n.kids.push_back(flags);
  for (int i = 0; i < 3; ++i) n.kids.push_back(Leaf(':', "0"));
  RespNode cats;
  cats.type = '~';
  cats.kids.push_back(Leaf('+', "@admin"));
  cats.kids.push_back(Leaf('+', "@slow"));
  n.kids.push_back(cats);
  for (int i = 0; i < 3; ++i) {
    RespNode empty;
    empty.type = i == 0 ? '~' : '*';
    n.kids.push_back(empty);
  }
  return n;
}

void FillFromInfo(CommandSpec& spec) {
  const std::vector<RespNode>& f = spec.info.kids;
  spec.name = f[0].str;
  spec.arity = std::atoi(f[1].str.c_str());
  for (const RespNode& flag : f[2].kids) {
    spec.write |= flag.str == "write";
    spec.denyoom |= flag.str == "denyoom";
    spec.readonly |= flag.str == "readonly";
    spec.noscript |= flag.str == "noscript";
    spec.movablekeys |= flag.str == "movablekeys";
  }
  spec.first_key = std::atoi(f[3].str.c_str());
  spec.last_key = std::atoi(f[4].str.c_str());
  spec.key_step = std::atoi(f[5].str.c_str());
  if (f.size() > 9) {
    for (const RespNode& sub : f[9].kids) {
      CommandSpec s;
      s.info = sub;
      FillFromInfo(s);
      std::string key = s.name.substr(s.name.find('|') + 1);
      spec.subcommands.emplace(key, std::move(s));
    }
  }
}

}  // namespace

void RespNode::WriteTo(RespWriter& w) const {
  switch (type) {
    case '+': w.Status(str); break;
    case '-': w.Error(str); break;
    case ':': w.Integer(std::strtoll(str.c_str(), nullptr, 10)); break;
    case '$': w.Bulk(str); break;
    case '_': w.Nil(); break;
    case '*':
      w.ArrayHeader(kids.size());
      for (const RespNode& k : kids) k.WriteTo(w);
      break;
    case '~':
      w.SetHeader(kids.size());
      for (const RespNode& k : kids) k.WriteTo(w);
      break;
    case '%':
      w.MapHeader(kids.size() / 2);
      for (const RespNode& k : kids) k.WriteTo(w);
      break;
    default: w.Nil(); break;
  }
}

CommandTable::CommandTable() {
  for (const char* entry : kInfoEntries) {
    std::string_view in(entry);
    CommandSpec spec;
    spec.info = ReadNode(in);
    FillFromInfo(spec);
    commands_.emplace(spec.name, std::move(spec));
  }
  for (auto [name, arity, write] : {std::tuple<const char*, int, bool>{"stormkv.clock", -2, true},
                                    {"stormkv.memory", 1, false}}) {
    CommandSpec spec;
    spec.info = AdminInfo(name, arity, write);
    FillFromInfo(spec);
    commands_.emplace(spec.name, std::move(spec));
  }
  for (const Doc& d : kDocs) {
    std::string_view name(d.name);
    size_t bar = name.find('|');
    CommandSpec* spec = nullptr;
    auto it = commands_.find(name.substr(0, bar));
    if (it == commands_.end()) continue;
    spec = &it->second;
    if (bar != std::string_view::npos) {
      auto sub = spec->subcommands.find(name.substr(bar + 1));
      if (sub == spec->subcommands.end()) continue;
      spec = &sub->second;
    }
    spec->summary = d.summary;
    spec->since = d.since;
    spec->group = d.group;
    spec->complexity = d.complexity;
  }
  int id = 0;
  for (auto& [name, spec] : commands_) {
    spec.id = id++;
    size_t i = FoldHash(spec.name) & (kSlots - 1);
    while (slots_[i] != nullptr) i = (i + 1) & (kSlots - 1);
    slots_[i] = &spec;
  }
}

const CommandTable& CommandTable::Get() {
  static const CommandTable* table = new CommandTable();
  return *table;
}

const CommandSpec* CommandTable::Find(std::string_view name) const {
  if (name.size() > 32) return nullptr;  // every command name is shorter
  for (size_t i = FoldHash(name) & (kSlots - 1);; i = (i + 1) & (kSlots - 1)) {
    const CommandSpec* spec = slots_[i];
    if (spec == nullptr) return nullptr;
    if (EqualsLowerName(name, spec->name)) return spec;
  }
}

std::vector<std::string_view> CommandTable::Keys(const CommandSpec& spec,
                                                 const std::vector<std::string>& argv) {
  std::vector<std::string_view> keys;
  if (spec.movablekeys && argv.size() >= 3) {
    // EVAL script numkeys key... (the only movable-key commands served)
    char* end = nullptr;
    long n = std::strtol(argv[2].c_str(), &end, 10);
    if (end && *end == '\0' && n > 0) {
      for (long i = 0; i < n && 3 + static_cast<size_t>(i) < argv.size(); ++i) keys.push_back(argv[3 + i]);
    }
    return keys;
  }
  if (spec.first_key <= 0) return keys;
  int last = spec.last_key < 0 ? static_cast<int>(argv.size()) + spec.last_key : spec.last_key;
  int step = spec.key_step > 0 ? spec.key_step : 1;
  for (int i = spec.first_key; i <= last && i < static_cast<int>(argv.size()); i += step) keys.push_back(argv[i]);
  return keys;
}

}  // namespace stormkv::server
