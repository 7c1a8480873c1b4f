// backends/memory/cluster_node.cc — one master of the embedded cluster (cluster_node.h).
#include "cluster_node.h"

#include <charconv>
#include <climits>
#include <string_view>

#include "memory_node.h"
#include "stormkv/key_schema.h"

namespace stormkv::memstore {

namespace {

// The script running on this thread: which node runs it and which keys it declared. Set around
// a node's Eval / EVAL by ScriptScope; read by the store's ScriptCallHook, which the node's store
// calls on this same thread for each command of the script (under the node's lock).
struct ScriptFrame {
  const ClusterNode* node = nullptr;
  const std::vector<std::string>* declared = nullptr;  // Eval's keys, or
  const Command* argv = nullptr;                       // EVAL's argv and
  const std::vector<std::size_t>* positions = nullptr;  // the positions of its KEYS
  bool Declares(std::string_view key) const {
    if (declared != nullptr) {
      for (const std::string& k : *declared) {
        if (k == key) return true;
      }
    }
    if (argv != nullptr && positions != nullptr) {
      for (std::size_t p : *positions) {
        if ((*argv)[p] == key) return true;
      }
    }
    return false;
  }
};
thread_local const ScriptFrame* t_frame = nullptr;

class ScriptScope {
 public:
  explicit ScriptScope(const ScriptFrame* frame) : saved_(t_frame) { t_frame = frame; }
  ~ScriptScope() { t_frame = saved_; }
  ScriptScope(const ScriptScope&) = delete;
  ScriptScope& operator=(const ScriptScope&) = delete;

 private:
  const ScriptFrame* saved_;
};

Status ErrorStatus(std::string_view text) { return StatusFromErrorReply(text); }

bool ParseInt64(std::string_view s, long long* out) {
  if (s.empty() || s.front() == '+') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

Reply WrongArity(std::string_view what) {
  return Reply::Error("ERR wrong number of arguments for '" + std::string(what) + "' command");
}

std::string RangeText(const ClusterSlotRange& r) {
  return r.first == r.last ? std::to_string(r.first)
                           : std::to_string(r.first) + "-" + std::to_string(r.last);
}

}  // namespace

Reply ClusterSelectReply(const Command& argv) {
  if (argv.size() != 2) return WrongArity("select");
  long long id = 0;
  if (!ParseInt64(argv[1], &id)) return Reply::Error("ERR value is not an integer or out of range");
  if (id < INT_MIN || id > INT_MAX) {
    return Reply::Error("ERR value is out of range, value must between -2147483648 and 2147483647");
  }
  if (id != 0) return Reply::Error(std::string(kErrSelectCluster));
  return Reply::Ok();
}

std::optional<Reply> ClusterTopologyReply(const ClusterTopology& topology, int self,
                                          const Command& argv) {
  if (argv.size() < 2) return WrongArity("cluster");
  const std::string sub = LowerName(argv[1]);
  const std::size_t n = topology.ranges.size();
  if (sub == "keyslot") {
    if (argv.size() != 3) return WrongArity("cluster|keyslot");
    return Reply::Integer(HashSlot(argv[2]));
  }
  if (sub == "slots") {
    if (argv.size() != 2) return WrongArity("cluster|slots");
    std::vector<Reply> out;
    for (std::size_t i = 0; i < n; ++i) {
      std::vector<Reply> node;
      node.push_back(Reply::Bulk(topology.hosts[i]));
      node.push_back(Reply::Integer(topology.ports[i]));
      node.push_back(Reply::Bulk(topology.ids[i]));
      node.push_back(Reply::Array({}));
      std::vector<Reply> range;
      range.push_back(Reply::Integer(topology.ranges[i].first));
      range.push_back(Reply::Integer(topology.ranges[i].last));
      range.push_back(Reply::Array(std::move(node)));
      out.push_back(Reply::Array(std::move(range)));
    }
    return Reply::Array(std::move(out));
  }
  if (sub == "shards") {
    // Redis 7.0.15's shape in RESP2 (RESP3 has maps where these are flat name/value arrays).
    if (argv.size() != 2) return WrongArity("cluster|shards");
    std::vector<Reply> out;
    for (std::size_t i = 0; i < n; ++i) {
      std::vector<Reply> node;
      node.push_back(Reply::Bulk("id"));
      node.push_back(Reply::Bulk(topology.ids[i]));
      node.push_back(Reply::Bulk("port"));
      node.push_back(Reply::Integer(topology.ports[i]));
      node.push_back(Reply::Bulk("ip"));
      node.push_back(Reply::Bulk(topology.hosts[i]));
      node.push_back(Reply::Bulk("endpoint"));
      node.push_back(Reply::Bulk(topology.hosts[i]));
      node.push_back(Reply::Bulk("role"));
      node.push_back(Reply::Bulk("master"));
      node.push_back(Reply::Bulk("replication-offset"));
      node.push_back(Reply::Integer(0));
      node.push_back(Reply::Bulk("health"));
      node.push_back(Reply::Bulk("online"));
      std::vector<Reply> nodes;
      nodes.push_back(Reply::Array(std::move(node)));
      std::vector<Reply> shard;
      shard.push_back(Reply::Bulk("slots"));
      shard.push_back(Reply::Array({Reply::Integer(topology.ranges[i].first),
                                    Reply::Integer(topology.ranges[i].last)}));
      shard.push_back(Reply::Bulk("nodes"));
      shard.push_back(Reply::Array(std::move(nodes)));
      out.push_back(Reply::Array(std::move(shard)));
    }
    return Reply::Array(std::move(out));
  }
  if (sub == "myid") {
    if (argv.size() != 2) return WrongArity("cluster|myid");
    return Reply::Bulk(topology.ids[static_cast<std::size_t>(self)]);
  }
  if (sub == "info") {
    if (argv.size() != 2) return WrongArity("cluster|info");
    std::string s = "cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:16384\r\n"
                    "cluster_slots_pfail:0\r\ncluster_slots_fail:0\r\n";
    s += "cluster_known_nodes:" + std::to_string(n) + "\r\n";
    s += "cluster_size:" + std::to_string(n) + "\r\n";
    s += "cluster_current_epoch:" + std::to_string(n) + "\r\n";
    s += "cluster_my_epoch:" + std::to_string(self + 1) + "\r\n";
    s += "cluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\n"
         "total_cluster_links_buffer_limit_exceeded:0\r\n";
    return Reply::Bulk(std::move(s));
  }
  if (sub == "nodes") {
    if (argv.size() != 2) return WrongArity("cluster|nodes");
    std::string s;
    for (std::size_t i = 0; i < n; ++i) {
      s += topology.ids[i] + " " + topology.addresses[i] + "@" +
           std::to_string(topology.ports[i] + 10000) +
           (static_cast<int>(i) == self ? " myself,master" : " master") + " - 0 0 " +
           std::to_string(i + 1) + " connected " + RangeText(topology.ranges[i]) + "\n";
    }
    return Reply::Bulk(std::move(s));
  }
  if (sub == "countkeysinslot" || sub == "getkeysinslot") return std::nullopt;
  return Reply::Error("ERR unknown subcommand '" + std::string(argv[1]).substr(0, 128) +
                      "'. Try CLUSTER HELP.");
}

ClusterNode::ClusterNode(int index, std::shared_ptr<const ClusterTopology> topology)
    : index_(index), topology_(std::move(topology)) {}

Status ClusterNode::Init(const MemoryBackendOptions& options) {
  Result<std::unique_ptr<KvBackend>> store =
      NewMemoryClusterNodeStore(options, &ClusterNode::ScriptHook, this);
  if (!store.ok()) return store.status();
  store_ = std::move(*store);
  return Status::Ok();
}

std::string ClusterNode::Describe() const {
  return "memory cluster node " + std::to_string(index_) + " (" +
         topology_->addresses[static_cast<std::size_t>(index_)] + ", slots " +
         RangeText(topology_->ranges[static_cast<std::size_t>(index_)]) + ")";
}

std::optional<Status> ClusterNode::SlotError(int slot) const {
  if (slot == -1) return std::nullopt;
  if (slot == -2) return Status::InvalidArgument(std::string(kErrCrossSlot));
  const std::size_t owner = topology_->owner[static_cast<std::size_t>(slot)];
  if (static_cast<int>(owner) == index_) return std::nullopt;
  return Status::ServerError("MOVED " + std::to_string(slot) + " " + topology_->addresses[owner]);
}

Result<Reply> ClusterNode::Run(const Command& argv) {
  CommandKeys keys = KeysOf(argv);
  if (keys.route == ClusterRoute::kKeyed || keys.route == ClusterRoute::kScript) {
    if (std::optional<Status> err = SlotError(SlotOfKeys(argv, keys.positions))) return *err;
  }
  return RunChecked(argv, keys);
}

std::vector<Result<Reply>> ClusterNode::RunBatch(const std::vector<Command>& cmds) {
  std::vector<Result<Reply>> out;
  out.reserve(cmds.size());
  for (const Command& c : cmds) out.push_back(Run(c));
  return out;
}

Result<Reply> ClusterNode::RunChecked(const Command& argv, const CommandKeys& keys) {
  switch (keys.route) {
    case ClusterRoute::kSelect: {
      Reply r = ClusterSelectReply(argv);
      if (r.is_error()) return ErrorStatus(r.str());
      return r;
    }
    case ClusterRoute::kCluster:
      return ClusterCommand(argv);
    case ClusterRoute::kScript: {
      ScriptFrame frame;
      frame.node = this;
      frame.argv = &argv;
      frame.positions = &keys.positions;
      ScriptScope scope(&frame);
      return store_->Run(argv);
    }
    default:
      return store_->Run(argv);
  }
}

Result<Reply> ClusterNode::Eval(const Script& script, const std::vector<std::string>& keys,
                                const std::vector<std::string>& args) {
  if (std::optional<Status> err = SlotError(SlotOfKeyList(keys))) return *err;
  return EvalChecked(script, keys, args);
}

Result<Reply> ClusterNode::EvalChecked(const Script& script, const std::vector<std::string>& keys,
                                       const std::vector<std::string>& args) {
  ScriptFrame frame;
  frame.node = this;
  frame.declared = &keys;
  ScriptScope scope(&frame);
  return store_->Eval(script, keys, args);
}

Result<Reply> ClusterNode::ClusterCommand(const Command& argv) {
  if (std::optional<Reply> r = ClusterTopologyReply(*topology_, index_, argv)) {
    if (r->is_error()) return ErrorStatus(r->str());
    return std::move(*r);
  }
  const std::string sub = LowerName(argv[1]);
  const bool get = sub == "getkeysinslot";
  if (argv.size() != (get ? 4u : 3u)) return ErrorStatus(WrongArity("cluster|" + sub).str());
  long long slot = 0;
  long long max_keys = 0;
  if (!ParseInt64(argv[2], &slot) || (get && !ParseInt64(argv[3], &max_keys))) {
    return ErrorStatus("ERR value is not an integer or out of range");
  }
  if (slot < 0 || slot >= kHashSlots || (get && max_keys < 0)) {
    return ErrorStatus(get ? "ERR Invalid slot or number of keys" : "ERR Invalid slot");
  }
  // The node's keys of that slot: a full SCAN of this node (Redis keeps a per-slot list; the
  // answer is the same, the cost O(keys of the node)).
  int64_t count = 0;
  std::vector<Reply> found;
  Status st = store_->ScanAll("", [&](const std::string& key) {
    if (HashSlot(key) == slot) {
      ++count;
      if (get && static_cast<long long>(found.size()) < max_keys) found.push_back(Reply::Bulk(key));
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  if (get) return Reply::Array(std::move(found));
  return Reply::Integer(count);
}

std::optional<Reply> ClusterNode::ScriptHook(void* ctx, const Command& argv) {
  return static_cast<const ClusterNode*>(ctx)->CheckScriptCommand(argv);
}

std::optional<Reply> ClusterNode::CheckScriptCommand(const Command& argv) const {
  const CommandKeys keys = KeysOf(argv);
  if (keys.route == ClusterRoute::kSelect) return ClusterSelectReply(argv);
  if (keys.route == ClusterRoute::kCluster && argv.size() >= 2 &&
      LowerName(argv[1]) == "keyslot") {
    return ClusterTopologyReply(*topology_, index_, argv);
  }
  if (keys.route != ClusterRoute::kKeyed || keys.positions.empty()) return std::nullopt;
  // Redis 7.0 (scriptVerifyClusterState): the command's keys must be in one slot this node owns.
  const int slot = SlotOfKeys(argv, keys.positions);
  if (slot == -2 || topology_->owner[static_cast<std::size_t>(slot)] != index_) {
    return Reply::Error(std::string(kErrNonLocalKey));
  }
  if (!topology_->strict_scripts) return std::nullopt;
  const ScriptFrame* frame = t_frame != nullptr && t_frame->node == this ? t_frame : nullptr;
  for (std::size_t p : keys.positions) {
    if (frame == nullptr || !frame->Declares(argv[p])) {
      return Reply::Error(
          "ERR Script attempted to access a key not declared in KEYS: '" +
          std::string(argv[p]).substr(0, 128) +
          "' (stormkv's cluster mode is strict: a real cluster lets a script reach any key of "
          "its node, so whether this works there depends on where the key's slot lands; "
          "cluster_strict_scripts = false, memory://?cluster=N&strict=0 or serve "
          "--cluster-lenient-scripts allows it)");
    }
  }
  return std::nullopt;
}

}  // namespace stormkv::memstore
