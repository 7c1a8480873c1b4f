#include "cluster/cluster_nodes.h"

#include <hiredis/hiredis.h>

#include <map>
#include <sstream>
#include <thread>

namespace stormkv::testing {
namespace {

std::string Flatten(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      return std::to_string(r->integer);
    case REDIS_REPLY_NIL:
      return "";
    case REDIS_REPLY_ARRAY: {
      std::string out;
      for (size_t i = 0; i < r->elements; ++i) {
        if (i > 0) out += '\n';
        out += Flatten(r->element[i]);
      }
      return out;
    }
    default:
      return std::string(r->str, r->len);
  }
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string part;
  std::stringstream ss(s);
  while (std::getline(ss, part, sep)) out.push_back(part);
  return out;
}

}  // namespace

Result<std::vector<NodeAddr>> ParseClusterSeeds(const std::string& url) {
  const std::string scheme = "redis-cluster://";
  if (url.rfind(scheme, 0) != 0) {
    return Status::InvalidArgument("not a redis-cluster:// URL: '" + url + "'");
  }
  std::vector<NodeAddr> out;
  for (const std::string& seed : Split(url.substr(scheme.size()), ',')) {
    size_t colon = seed.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == seed.size()) {
      return Status::InvalidArgument("seed '" + seed + "' of '" + url + "' is not host:port");
    }
    NodeAddr a;
    a.host = seed.substr(0, colon);
    try {
      a.port = std::stoi(seed.substr(colon + 1));
    } catch (...) {
      return Status::InvalidArgument("seed '" + seed + "' of '" + url + "' has a bad port");
    }
    out.push_back(a);
  }
  if (out.empty()) return Status::InvalidArgument("no seeds in '" + url + "'");
  return out;
}

Result<std::string> NodeCommand(const NodeAddr& node, const std::vector<std::string>& argv) {
  timeval tv{1, 0};
  redisContext* c = redisConnectWithTimeout(node.host.c_str(), node.port, tv);
  if (c == nullptr || c->err != 0) {
    std::string err = c != nullptr ? c->errstr : "out of memory";
    if (c != nullptr) redisFree(c);
    return Status::Unavailable("cannot connect to " + node.ToString() + ": " + err);
  }
  redisSetTimeout(c, tv);
  std::vector<const char*> args;
  std::vector<size_t> lens;
  for (const std::string& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* r = static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), args.data(), lens.data()));
  if (r == nullptr) {
    std::string err = c->errstr;
    redisFree(c);
    return Status::Unavailable(node.ToString() + ": " + (argv.empty() ? "" : argv[0]) + ": " + err);
  }
  Result<std::string> out = r->type == REDIS_REPLY_ERROR
                                ? Result<std::string>(Status::ServerError(std::string(r->str, r->len)))
                                : Result<std::string>(Flatten(r));
  freeReplyObject(r);
  redisFree(c);
  return out;
}

Result<std::map<std::string, std::string>> NodeInfo(const NodeAddr& node,
                                                     const std::string& section) {
  Result<std::string> text = section == "cluster" ? NodeCommand(node, {"CLUSTER", "INFO"})
                                                  : NodeCommand(node, {"INFO", section});
  if (!text.ok()) return text.status();
  std::map<std::string, std::string> out;
  for (std::string line : Split(*text, '\n')) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t colon = line.find(':');
    if (line.empty() || line[0] == '#' || colon == std::string::npos) continue;
    out[line.substr(0, colon)] = line.substr(colon + 1);
  }
  return out;
}

Result<std::vector<ClusterNodeLine>> ClusterNodes(const NodeAddr& node) {
  Result<std::string> text = NodeCommand(node, {"CLUSTER", "NODES"});
  if (!text.ok()) return text.status();
  std::vector<ClusterNodeLine> out;
  for (const std::string& line : Split(*text, '\n')) {
    std::vector<std::string> f = Split(line, ' ');
    if (f.size() < 8) continue;
    ClusterNodeLine n;
    n.id = f[0];
    // "host:port@busport[,hostname]"
    std::string addr = f[1].substr(0, f[1].find('@'));
    size_t colon = addr.rfind(':');
    if (colon == std::string::npos) continue;
    n.addr.host = addr.substr(0, colon);
    n.addr.port = std::atoi(addr.c_str() + colon + 1);
    for (const std::string& flag : Split(f[2], ',')) {
      if (flag == "myself") n.myself = true;
      if (flag == "master") n.master = true;
      if (flag == "fail" || flag == "fail?") n.failed = true;
    }
    if (f[3] != "-") n.master_id = f[3];
    for (size_t i = 8; i < f.size(); ++i) {
      if (f[i].empty() || f[i][0] == '[') continue;  // "[slot->-id]" migration markers
      size_t dash = f[i].find('-');
      int lo = std::atoi(f[i].c_str());
      int hi = dash == std::string::npos ? lo : std::atoi(f[i].c_str() + dash + 1);
      n.slots.emplace_back(lo, hi);
    }
    out.push_back(n);
  }
  return out;
}

Status WaitClusterHealthy(const std::vector<NodeAddr>& nodes, int masters,
                          std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  std::string missing;
  while (true) {
    missing.clear();
    std::map<int, bool> roles;  // port -> the node says it is a master
    for (const NodeAddr& n : nodes) {
      auto info = NodeInfo(n, "cluster");
      if (!info.ok()) {
        missing = info.status().message();
        break;
      }
      if ((*info)["cluster_state"] != "ok" || (*info)["cluster_slots_ok"] != "16384" ||
          (*info)["cluster_size"] != std::to_string(masters)) {
        missing = n.ToString() + ": cluster_state " + (*info)["cluster_state"] +
                  ", slots ok " + (*info)["cluster_slots_ok"] + ", size " +
                  (*info)["cluster_size"];
        break;
      }
      auto repl = NodeInfo(n, "replication");
      if (!repl.ok()) {
        missing = repl.status().message();
        break;
      }
      if ((*repl)["role"] == "slave" && (*repl)["master_link_status"] != "up") {
        missing = n.ToString() + ": replica link " + (*repl)["master_link_status"];
        break;
      }
      roles[n.port] = (*repl)["role"] == "master";
    }
    // Every node's CLUSTER NODES view agrees with each node's own role: right after a failover
    // one node may still list the demoted master as a master (it then refuses SETSLOT).
    for (size_t i = 0; missing.empty() && i < nodes.size(); ++i) {
      auto lines = ClusterNodes(nodes[i]);
      if (!lines.ok()) {
        missing = lines.status().message();
        break;
      }
      for (const ClusterNodeLine& l : *lines) {
        auto own = roles.find(l.addr.port);
        if (own != roles.end() && own->second != l.master) {
          missing = nodes[i].ToString() + " sees " + l.addr.ToString() + " as " +
                    (l.master ? "master" : "replica") + ", it says it is " +
                    (own->second ? "master" : "replica");
          break;
        }
      }
    }
    if (missing.empty()) return Status::Ok();
    if (std::chrono::steady_clock::now() > until) {
      return Status::Timeout("cluster not healthy after " + std::to_string(deadline.count()) +
                             " ms: " + missing);
    }
    // Polling a real process's state; bounded by `deadline`.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

const ClusterNodeLine* SlotOwner(const std::vector<ClusterNodeLine>& nodes, int slot) {
  for (const ClusterNodeLine& n : nodes) {
    if (!n.master) continue;
    for (auto [lo, hi] : n.slots) {
      if (slot >= lo && slot <= hi) return &n;
    }
  }
  return nullptr;
}

}  // namespace stormkv::testing
