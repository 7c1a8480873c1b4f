// stormkv/server/command_table.h — what `stormkv serve` knows about each command it supports:
// Redis 7.0's COMMAND INFO metadata (arity, flags, key positions, ACL categories, key specs) and
// a short COMMAND DOCS entry. Private to the server library.
#ifndef STORMKV_SERVER_COMMAND_TABLE_H_
#define STORMKV_SERVER_COMMAND_TABLE_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "stormkv/server/resp.h"

namespace stormkv::server {

// A RESP3-typed value (what COMMAND INFO/DOCS return), written in either protocol.
struct RespNode {
  char type = '_';            // one of + - : $ * ~ % _
  std::string str;            // + - : $
  std::vector<RespNode> kids;  // * ~ (elements), % (key, value, key, value...)
  void WriteTo(RespWriter& w) const;
};

struct CommandSpec {
  std::string name;   // lower case; "client|list" for a subcommand
  int id = -1;        // a top-level command's index in CommandTable::all() (0..size-1)
  int arity = 0;      // Redis convention: > 0 exact, < 0 at least -arity (argv[0] included)
  bool write = false, denyoom = false, readonly = false, noscript = false, movablekeys = false;
  int first_key = 0, last_key = 0, key_step = 0;
  std::string summary, since, group, complexity;  // COMMAND DOCS
  RespNode info;  // the COMMAND INFO entry
  std::map<std::string, CommandSpec, std::less<>> subcommands;  // by lower-case subcommand name
};

class CommandTable {
 public:
  static const CommandTable& Get();

  // The spec of argv[0] (case-insensitive), or nullptr.
  const CommandSpec* Find(std::string_view name) const;
  const std::map<std::string, CommandSpec, std::less<>>& all() const { return commands_; }

  // The keys `argv` names according to its spec (first/last/step; EVAL-style numkeys for the
  // scripting commands; nothing for keyless commands).
  static std::vector<std::string_view> Keys(const CommandSpec& spec, const std::vector<std::string>& argv);

 private:
  CommandTable();
  std::map<std::string, CommandSpec, std::less<>> commands_;
  // The same, for Find (once per command): open addressing on FoldHash of the name, probed
  // until an empty slot; no copy of the name, no call out.
  static constexpr size_t kSlots = 512;  // a power of two, > 4x the commands
  std::array<const CommandSpec*, kSlots> slots_{};
};

// Redis's "wrong number of arguments" check: true when argc fits `arity`.
inline bool ArityOk(int arity, size_t argc) {
  return arity > 0 ? static_cast<int>(argc) == arity : static_cast<int>(argc) >= -arity;
}

}  // namespace stormkv::server

#endif  // STORMKV_SERVER_COMMAND_TABLE_H_
