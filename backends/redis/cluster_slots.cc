#include "cluster_slots.h"

#include <array>
#include <cctype>
#include <charconv>
#include <algorithm>

namespace stormkv::redis_internal {
namespace {

bool ParseInt(std::string_view s, int* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

// How a command names its keys.
enum class Keys {
  kFirst,        // argv[1]
  kAll,          // argv[1..]
  kEveryOther,   // argv[1], argv[3], ... (MSET)
  kFirstTwo,     // argv[1], argv[2]
  kSecond,       // argv[2] (MEMORY USAGE, OBJECT ENCODING)
  kNumKeysAt2,   // argv[2] = numkeys, keys from argv[3] (EVAL, EVALSHA, FCALL)
  kNumKeysAt1,   // argv[1] = numkeys, keys from argv[2] (ZUNION, ZINTER, ZDIFF)
  kDestNumKeys,  // argv[1] = destination, argv[2] = numkeys, keys from argv[3] (ZUNIONSTORE)
  kNone,         // keyless: any master
  kFanOut,
};

struct Spec {
  std::string_view name;
  Keys keys;
  FanOutKind fan_out = FanOutKind::kNone;
};

// Commands whose keys are not just argv[1] (every other command with arguments is routed by
// argv[1]; a wrong guess costs one MOVED).
constexpr Spec kSpecs[] = {
    {"DEL", Keys::kAll},
    {"EXISTS", Keys::kAll},
    {"UNLINK", Keys::kAll},
    {"TOUCH", Keys::kAll},
    {"MGET", Keys::kAll},
    {"WATCH", Keys::kAll},
    {"PFCOUNT", Keys::kAll},
    {"PFMERGE", Keys::kAll},
    {"SINTER", Keys::kAll},
    {"SUNION", Keys::kAll},
    {"SDIFF", Keys::kAll},
    {"SINTERSTORE", Keys::kAll},
    {"SUNIONSTORE", Keys::kAll},
    {"SDIFFSTORE", Keys::kAll},
    {"MSET", Keys::kEveryOther},
    {"MSETNX", Keys::kEveryOther},
    {"RENAME", Keys::kFirstTwo},
    {"RENAMENX", Keys::kFirstTwo},
    {"SMOVE", Keys::kFirstTwo},
    {"LMOVE", Keys::kFirstTwo},
    {"RPOPLPUSH", Keys::kFirstTwo},
    {"COPY", Keys::kFirstTwo},
    {"EVAL", Keys::kNumKeysAt2},
    {"EVALSHA", Keys::kNumKeysAt2},
    {"EVAL_RO", Keys::kNumKeysAt2},
    {"EVALSHA_RO", Keys::kNumKeysAt2},
    {"FCALL", Keys::kNumKeysAt2},
    {"FCALL_RO", Keys::kNumKeysAt2},
    {"ZUNION", Keys::kNumKeysAt1},
    {"ZINTER", Keys::kNumKeysAt1},
    {"ZDIFF", Keys::kNumKeysAt1},
    {"ZUNIONSTORE", Keys::kDestNumKeys},
    {"ZINTERSTORE", Keys::kDestNumKeys},
    {"ZDIFFSTORE", Keys::kDestNumKeys},
    {"PING", Keys::kNone},
    {"ECHO", Keys::kNone},
    {"TIME", Keys::kNone},
    {"CLIENT", Keys::kNone},
    {"ACL", Keys::kNone},
    {"COMMAND", Keys::kNone},
    {"CLUSTER", Keys::kNone},
    {"LASTSAVE", Keys::kNone},
    {"ROLE", Keys::kNone},
    {"SLOWLOG", Keys::kNone},
    {"LATENCY", Keys::kNone},
    {"LOLWUT", Keys::kNone},
    {"WAIT", Keys::kNone},
    {"SAVE", Keys::kNone},
    {"BGSAVE", Keys::kNone},
    {"BGREWRITEAOF", Keys::kNone},
    {"FUNCTION", Keys::kNone},
    {"AUTH", Keys::kNone},
    {"HELLO", Keys::kNone},
    {"SELECT", Keys::kNone},
    {"RANDOMKEY", Keys::kNone},
    {"DBSIZE", Keys::kFanOut, FanOutKind::kDbSize},
    {"FLUSHDB", Keys::kFanOut, FanOutKind::kAllMasters},
    {"FLUSHALL", Keys::kFanOut, FanOutKind::kAllMasters},
    {"KEYS", Keys::kFanOut, FanOutKind::kKeys},
    {"SCAN", Keys::kFanOut, FanOutKind::kScan},
    {"INFO", Keys::kFanOut, FanOutKind::kInfo},
    // CONFIG, SCRIPT, MEMORY, OBJECT, DEBUG: by subcommand, below.
};

bool EqualsUpper(std::string_view upper, std::string_view s) {
  if (upper.size() != s.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(s[i])) != upper[i]) return false;
  }
  return true;
}

// Slot of argv[first], argv[first+step], ... up to `end`; CROSSSLOT when they differ.
Status SlotOfKeys(const Command& argv, size_t first, size_t end, size_t step, CommandRoute* out) {
  if (first >= end || first >= argv.size()) {
    out->kind = RouteKind::kAnyMaster;
    return Status::Ok();
  }
  end = std::min(end, argv.size());
  int slot = KeySlot(argv[first]);
  for (size_t i = first + step; i < end; i += step) {
    if (KeySlot(argv[i]) != slot) return CrossSlotError();
  }
  out->kind = RouteKind::kKeyed;
  out->slot = slot;
  return Status::Ok();
}

}  // namespace

Status CrossSlotError() {
  return StatusFromErrorReply("CROSSSLOT Keys in request don't hash to the same slot");
}

Result<std::vector<SlotRange>> ParseClusterSlots(const Reply& reply, std::string_view queried_host) {
  auto bad = [&](const std::string& why) {
    return Status::Internal("unexpected CLUSTER SLOTS reply (" + why + "): " + reply.ToString());
  };
  if (!reply.is_array()) return bad("not an array");
  std::vector<SlotRange> out;
  out.reserve(reply.elements().size());
  for (const Reply& e : reply.elements()) {
    const std::vector<Reply>& f = e.elements();
    if (!e.is_array() || f.size() < 3 || !f[0].is_integer() || !f[1].is_integer() ||
        !f[2].is_array() || f[2].elements().size() < 2 || !f[2].elements()[1].is_integer()) {
      return bad("an entry is not [first, last, [host, port, ...], ...]");
    }
    SlotRange r;
    int64_t first = f[0].integer(), last = f[1].integer();
    if (first < 0 || last >= kClusterSlots || first > last) {
      return bad("slot range " + std::to_string(first) + "-" + std::to_string(last));
    }
    r.first = static_cast<int>(first);
    r.last = static_cast<int>(last);
    const Reply& host = f[2].elements()[0];
    r.host = host.is_nil() ? "" : host.str();
    if (r.host.empty() || r.host == "?") r.host = std::string(queried_host);
    int64_t port = f[2].elements()[1].integer();
    if (port < 1 || port > 65535) return bad("port " + std::to_string(port));
    r.port = static_cast<int>(port);
    out.push_back(std::move(r));
  }
  return out;
}

bool ParseRedirect(std::string_view m, Redirect* out) {
  if (m.substr(0, 6) == "MOVED ") {
    out->ask = false;
    m.remove_prefix(6);
  } else if (m.substr(0, 4) == "ASK ") {
    out->ask = true;
    m.remove_prefix(4);
  } else {
    return false;
  }
  size_t space = m.find(' ');
  if (space == std::string_view::npos || !ParseInt(m.substr(0, space), &out->slot) ||
      out->slot < 0 || out->slot >= kClusterSlots) {
    return false;
  }
  std::string_view addr = m.substr(space + 1);
  size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos || !ParseInt(addr.substr(colon + 1), &out->port) ||
      out->port < 1 || out->port > 65535) {
    return false;
  }
  std::string_view host = addr.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  out->host = std::string(host);
  return true;
}

Status RouteKeys(const std::vector<std::string>& keys, CommandRoute* out) {
  out->fan_out = FanOutKind::kNone;
  if (keys.empty()) {
    out->kind = RouteKind::kAnyMaster;
    out->slot = 0;
    return Status::Ok();
  }
  int slot = KeySlot(keys[0]);
  for (size_t i = 1; i < keys.size(); ++i) {
    if (KeySlot(keys[i]) != slot) return CrossSlotError();
  }
  out->kind = RouteKind::kKeyed;
  out->slot = slot;
  return Status::Ok();
}

Status RouteCommand(const Command& argv, CommandRoute* out) {
  out->fan_out = FanOutKind::kNone;
  out->slot = 0;
  const std::string& name = argv[0];
  char upper[16];
  size_t n = name.size();
  if (n < sizeof upper) {
    for (size_t i = 0; i < n; ++i) {
      upper[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[i])));
    }
  } else {
    n = 0;  // no command of interest is that long: route by argv[1]
  }
  std::string_view up(upper, n);
  auto sub_is = [&](std::string_view s) { return argv.size() >= 2 && EqualsUpper(s, argv[1]); };
  if (up == "CONFIG") {
    out->kind = RouteKind::kFanOut;
    out->fan_out = sub_is("GET") ? FanOutKind::kConfigGet : FanOutKind::kAllMasters;
    return Status::Ok();
  }
  if (up == "SCRIPT") {
    out->kind = RouteKind::kFanOut;
    out->fan_out = sub_is("EXISTS") ? FanOutKind::kScriptExists : FanOutKind::kAllMasters;
    return Status::Ok();
  }
  if (up == "MEMORY" || up == "OBJECT" || up == "DEBUG") {
    bool keyed = up == "OBJECT" || sub_is("USAGE") || sub_is("OBJECT");
    if (keyed && argv.size() >= 3) return SlotOfKeys(argv, 2, 3, 1, out);
    out->kind = RouteKind::kAnyMaster;
    return Status::Ok();
  }
  Keys keys = Keys::kFirst;
  for (const Spec& s : kSpecs) {
    if (s.name == up) {
      keys = s.keys;
      out->fan_out = s.fan_out;
      break;
    }
  }
  size_t numkeys_at = 0, first_key = 0;
  switch (keys) {
    case Keys::kFirst:
      return SlotOfKeys(argv, 1, 2, 1, out);
    case Keys::kAll:
      return SlotOfKeys(argv, 1, argv.size(), 1, out);
    case Keys::kEveryOther:
      return SlotOfKeys(argv, 1, argv.size(), 2, out);
    case Keys::kFirstTwo:
      return SlotOfKeys(argv, 1, 3, 1, out);
    case Keys::kSecond:
      return SlotOfKeys(argv, 2, 3, 1, out);
    case Keys::kNone:
      out->kind = RouteKind::kAnyMaster;
      return Status::Ok();
    case Keys::kFanOut:
      out->kind = RouteKind::kFanOut;
      return Status::Ok();
    case Keys::kNumKeysAt2:
      numkeys_at = 2;
      first_key = 3;
      break;
    case Keys::kNumKeysAt1:
      numkeys_at = 1;
      first_key = 2;
      break;
    case Keys::kDestNumKeys:
      numkeys_at = 2;
      first_key = 3;
      break;
  }
  int numkeys = 0;
  if (argv.size() <= numkeys_at || !ParseInt(argv[numkeys_at], &numkeys) || numkeys < 0 ||
      first_key + static_cast<size_t>(numkeys) > argv.size()) {
    // Malformed: let a master answer with Redis's own error.
    out->kind = RouteKind::kAnyMaster;
    return Status::Ok();
  }
  if (keys == Keys::kDestNumKeys) {
    int slot = KeySlot(argv[1]);
    for (size_t i = first_key; i < first_key + static_cast<size_t>(numkeys); ++i) {
      if (KeySlot(argv[i]) != slot) return CrossSlotError();
    }
    out->kind = RouteKind::kKeyed;
    out->slot = slot;
    return Status::Ok();
  }
  return SlotOfKeys(argv, first_key, first_key + static_cast<size_t>(numkeys), 1, out);
}

}  // namespace stormkv::redis_internal
