#include "redis/private_cluster.h"

#include <map>
#include <thread>

#include "stormkv/redis_backend.h"

namespace stormkv::testing {

std::string InfoField(const std::string& text, const std::string& name) {
  std::map<std::string, std::string> f = ParseInfo(text);
  auto it = f.find(name);
  return it == f.end() ? "" : it->second;
}

Result<Reply> PrivateCluster::Run(int i, const Command& argv) {
  RedisOptions o;
  o.url = "redis://" + (password_.empty() ? "" : ":" + password_ + "@") + "127.0.0.1:" +
          std::to_string(port(i)) + "/0";
  o.pool_size = 1;
  o.connect_timeout = std::chrono::milliseconds(1000);
  o.command_timeout = std::chrono::milliseconds(5000);
  o.connect_eagerly = false;
  Result<std::unique_ptr<KvBackend>> kv = NewRedisBackend(o);
  if (!kv.ok()) return kv.status();
  return (*kv)->Run(argv);
}

std::string PrivateCluster::Url(const std::string& userinfo) const {
  std::string url = "redis-cluster://" + (userinfo.empty() ? "" : userinfo + "@");
  for (size_t i = 0; i < nodes_.size(); ++i) {
    url += (i ? ",127.0.0.1:" : "127.0.0.1:") + std::to_string(nodes_[i]->port());
  }
  return url;
}

Result<std::unique_ptr<PrivateCluster>> PrivateCluster::Start(int masters, int replicas,
                                                               std::vector<std::string> extra) {
  std::unique_ptr<PrivateCluster> c(new PrivateCluster());
  std::vector<std::string> args = {"--cluster-enabled", "yes", "--cluster-config-file",
                                   "{dir}/nodes.conf", "--cluster-node-timeout", "1000",
                                   "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay",
                                   "0"};
  args.insert(args.end(), extra.begin(), extra.end());
  for (size_t i = 0; i < extra.size(); ++i) {
    if (extra[i] == "--requirepass" && i + 1 < extra.size()) c->password_ = extra[i + 1];
  }
  const int n = masters * (1 + replicas);
  for (int i = 0; i < n; ++i) {
    // A start can lose a race for its port or its cluster bus port (port + 10000): try again.
    Result<std::unique_ptr<PrivateRedis>> r = PrivateRedis::Start(args);
    for (int attempt = 0; attempt < 4 && !r.ok(); ++attempt) r = PrivateRedis::Start(args);
    if (!r.ok()) return r.status().WithContext("cluster node " + std::to_string(i));
    c->nodes_.push_back(std::move(r).value());
  }
  for (int i = 0; i < n; ++i) {
    Result<Reply> id = c->Run(i, {"CLUSTER", "MYID"});
    if (!id.ok()) return id.status().WithContext("CLUSTER MYID");
    c->ids_.push_back(id->str());
    STORMKV_RETURN_IF_ERROR(c->Run(i, {"CLUSTER", "SET-CONFIG-EPOCH", std::to_string(i + 1)}).status());
  }
  for (int m = 0; m < masters; ++m) {
    int first = 16384 * m / masters, last = 16384 * (m + 1) / masters - 1;
    STORMKV_RETURN_IF_ERROR(
        c->Run(m, {"CLUSTER", "ADDSLOTSRANGE", std::to_string(first), std::to_string(last)})
            .status());
  }
  for (int i = 1; i < n; ++i) {
    STORMKV_RETURN_IF_ERROR(
        c->Run(0, {"CLUSTER", "MEET", "127.0.0.1", std::to_string(c->port(i))}).status());
  }
  STORMKV_RETURN_IF_ERROR(c->WaitHealthy(std::chrono::seconds(20)));
  for (int i = masters; i < n; ++i) {
    STORMKV_RETURN_IF_ERROR(
        c->Run(i, {"CLUSTER", "REPLICATE", c->ids_[static_cast<size_t>(i % masters)]}).status());
  }
  STORMKV_RETURN_IF_ERROR(c->WaitHealthy(std::chrono::seconds(20)));
  return c;
}

Status PrivateCluster::WaitHealthy(std::chrono::milliseconds deadline, std::vector<int> which) {
  if (which.empty()) {
    for (int i = 0; i < size(); ++i) which.push_back(i);
  }
  auto until = std::chrono::steady_clock::now() + deadline;
  std::string missing;
  for (;;) {
    missing.clear();
    for (int i : which) {
      Result<Reply> info = Run(i, {"CLUSTER", "INFO"});
      if (!info.ok()) {
        missing = "node " + std::to_string(i) + ": " + info.status().message();
        break;
      }
      if (InfoField(info->str(), "cluster_state") != "ok" ||
          InfoField(info->str(), "cluster_known_nodes") != std::to_string(which.size()) ||
          InfoField(info->str(), "cluster_slots_ok") != "16384") {
        missing = "node " + std::to_string(i) + ": " + info->str();
        break;
      }
      Result<Reply> repl = Run(i, {"INFO", "replication"});
      if (!repl.ok()) {
        missing = "node " + std::to_string(i) + ": " + repl.status().message();
        break;
      }
      if (InfoField(repl->str(), "role") == "slave" &&
          InfoField(repl->str(), "master_link_status") != "up") {
        missing = "node " + std::to_string(i) + ": replica link not up";
        break;
      }
    }
    if (missing.empty()) return Status::Ok();
    if (std::chrono::steady_clock::now() > until) {
      return Status::Timeout("the private cluster did not become healthy: " + missing);
    }
    // Waiting for real servers to agree (gossip, replication): polled, bounded.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Result<int> PrivateCluster::OwnerOf(int slot, int asked) {
  Result<Reply> r = Run(asked, {"CLUSTER", "SLOTS"});
  if (!r.ok()) return r.status();
  for (const Reply& e : r->elements()) {
    if (slot < e.elements()[0].integer() || slot > e.elements()[1].integer()) continue;
    int port = static_cast<int>(e.elements()[2].elements()[1].integer());
    for (int i = 0; i < size(); ++i) {
      if (this->port(i) == port) return i;
    }
  }
  return -1;
}

}  // namespace stormkv::testing
