// The dispatcher in cluster mode (ServerOptions::cluster): CLUSTER through the node backend with
// Redis 7.0's RESP3 shapes, and the slot rules of MULTI/EXEC.
#include <string>
#include <vector>

#include "stormkv/key_schema.h"
#include "stormkv/server/dispatch_text.h"
#include "stormkv/server/dispatcher.h"

namespace stormkv::server {
namespace {

using text::ErrorText;
using text::Lower;

constexpr const char* kCrossSlot = "CROSSSLOT Keys in request don't hash to the same slot";

// Commands EXEC answers outside the backend (dispatcher_tx.cc's IsLocal): they declare no keys.
bool AnsweredByServer(std::string_view name) {
  return name == "ping" || name == "echo" || name == "select" || name == "client" ||
         name == "command" || name == "function" || name == "cluster" || name == "hello" ||
         name == "auth";
}

// A flat name/value array as a map (RESP3), its "nodes" value an array of such maps.
void WriteShard(const Reply& shard, RespWriter& w) {
  const std::vector<Reply>& e = shard.elements();
  w.MapHeader(e.size() / 2);
  for (size_t i = 0; i + 1 < e.size(); i += 2) {
    w.Write(e[i]);
    if (e[i].is_bulk() && e[i].str() == "nodes" && e[i + 1].is_array()) {
      w.ArrayHeader(e[i + 1].elements().size());
      for (const Reply& node : e[i + 1].elements()) {
        const std::vector<Reply>& f = node.elements();
        w.MapHeader(f.size() / 2);
        for (const Reply& x : f) w.Write(x);
      }
    } else {
      w.Write(e[i + 1]);
    }
  }
}

}  // namespace

void Dispatcher::ClusterCmd(const Command& argv, Out& w) {
  if (!options_.cluster.enabled) return Err(w, "ERR This instance has cluster support disabled");
  Result<Reply> r = options_.backend->Run(argv);
  if (!r.ok()) return w.Error(ErrorText(r.status()));
  WriteClusterReply(*r, w, Lower(argv[1]));
}

void Dispatcher::WriteClusterReply(const Reply& reply, Out& w, std::string_view sub) {
  if (w.proto() != 3) return w.Write(reply);
  // RESP3 as Redis 7.0.15 answers (checked against the test cluster): NODES and INFO are
  // verbatim text, SLOTS' per-node metadata a map, SHARDS maps.
  if ((sub == "nodes" || sub == "info") && reply.is_bulk()) return w.Verbatim(reply.str());
  if (sub == "slots" && reply.is_array()) {
    w.ArrayHeader(reply.elements().size());
    for (const Reply& range : reply.elements()) {
      const std::vector<Reply>& e = range.elements();
      w.ArrayHeader(e.size());
      for (size_t i = 0; i < e.size(); ++i) {
        if (i < 2 || !e[i].is_array()) {
          w.Write(e[i]);
          continue;
        }
        const std::vector<Reply>& node = e[i].elements();
        w.ArrayHeader(node.size());
        for (size_t j = 0; j < node.size(); ++j) {
          if (j == 3 && node[j].is_array()) {
            w.MapHeader(node[j].elements().size() / 2);
            for (const Reply& x : node[j].elements()) w.Write(x);
          } else {
            w.Write(node[j]);
          }
        }
      }
    }
    return;
  }
  if (sub == "shards" && reply.is_array()) {
    w.ArrayHeader(reply.elements().size());
    for (const Reply& shard : reply.elements()) WriteShard(shard, w);
    return;
  }
  w.Write(reply);
}

std::string Dispatcher::ClusterQueueError(const CommandSpec& spec, const Command& argv) const {
  int slot = -1;
  for (std::string_view key : CommandTable::Keys(spec, argv)) {
    const int s = HashSlot(key);
    if (slot >= 0 && s != slot) return kCrossSlot;
    slot = s;
  }
  return slot < 0 ? std::string() : options_.cluster.redirect(slot);
}

bool Dispatcher::ClusterExecKeys(ClientState* c, const std::vector<Command>& cmds,
                                 std::vector<std::pair<bool, std::string>>* watched,
                                 std::vector<std::string>* keys, Out& w) {
  // Redis 7.0 (getNodeByQuery for EXEC): every queued command's keys in one slot of this node.
  int slot = -1;
  for (const Command& argv : cmds) {
    const CommandSpec* spec = table_.Find(argv[0]);
    if (spec == nullptr || AnsweredByServer(spec->name)) continue;
    for (std::string_view key : CommandTable::Keys(*spec, argv)) {
      const int s = HashSlot(key);
      if (slot >= 0 && s != slot) {
        Unwatch(c);
        Err(w, kCrossSlot);
        return false;
      }
      slot = s;
      keys->emplace_back(key);
    }
  }
  if (slot >= 0) {
    std::string moved = options_.cluster.redirect(slot);
    if (!moved.empty()) {
      Unwatch(c);
      Err(w, moved);
      return false;
    }
  }
  // A watched key is this node's (WATCH redirected the others). Those of the transaction's slot
  // (all of them when it has no keys and they share one) are declared and checked for expiry
  // inside the atomic section; the node refuses undeclared keys there, so a watched key of
  // another slot is checked just before it.
  std::vector<std::pair<bool, std::string>> inside;
  for (const auto& entry : *watched) {
    const int s = HashSlot(entry.second);
    if (slot < 0) slot = s;
    if (s == slot) {
      keys->push_back(entry.second);
      inside.push_back(entry);
      continue;
    }
    if (!entry.first) continue;  // it did not exist: only a write breaks it, and writes are seen
    Result<Reply> r = options_.backend->Run({"EXISTS", entry.second});
    if (r.ok() && r->is_integer() && r->integer() == 0) {
      Unwatch(c);
      w.NilArray();
      return false;
    }
  }
  *watched = std::move(inside);
  return true;
}

}  // namespace stormkv::server
