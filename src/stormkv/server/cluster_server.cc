// stormkv/server/cluster_server.h: N listening sockets, one embedded cluster announcing them,
// one Server per node.
#include "stormkv/server/cluster_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "stormkv/key_schema.h"

namespace stormkv {
namespace {

// A TCP socket bound to bind:port and listening, as the server binds its own (SO_REUSEADDR,
// backlog 511); its fd or Unavailable / InvalidArgument.
Result<int> ListenTcp(const std::string& bind, int port) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, bind.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, bind.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v6;
  } else {
    return Status::InvalidArgument("--bind " + bind + ": not an IP address");
  }
  const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Unavailable(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 511) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::Unavailable("cannot listen on " + bind + ":" + std::to_string(port) + ": " +
                               std::strerror(err));
  }
  return fd;
}

int PortOf(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return -1;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

class ClusterServerImpl final : public ClusterServer {
 public:
  ~ClusterServerImpl() override { Stop(); }

  const std::vector<MemoryClusterNode>& nodes() const override { return nodes_; }
  std::vector<int> ports() const override {
    std::vector<int> out;
    for (const auto& s : servers_) out.push_back(s->port());
    return out;
  }
  std::shared_ptr<KvBackend> cluster() const override { return cluster_; }
  void Stop() override {
    for (auto& s : servers_) s->Stop();
  }

  std::shared_ptr<KvBackend> cluster_;
  std::vector<MemoryClusterNode> nodes_;
  std::vector<std::unique_ptr<Server>> servers_;
};

}  // namespace

Result<std::unique_ptr<ClusterServer>> ClusterServer::Start(ClusterServerOptions o) {
  if (o.nodes < 1 || o.nodes > kHashSlots) {
    return Status::InvalidArgument("--cluster: a cluster has 1 to 16384 nodes, not " +
                                   std::to_string(o.nodes));
  }
  if (o.server.backend || o.server.listen_fd >= 0 || !o.server.unixsocket.empty() ||
      o.server.cluster.enabled) {
    return Status::InvalidArgument(
        "serve --cluster: backend, listen_fd, unixsocket and cluster are set per node by "
        "ClusterServer::Start (a cluster node is reached over TCP only)");
  }
  if (o.server.port < 0 || (o.server.port > 0 && o.server.port + o.nodes - 1 > 65535)) {
    return Status::InvalidArgument("--port " + std::to_string(o.server.port) + " with --cluster " +
                                   std::to_string(o.nodes) +
                                   ": node i listens on port + i, so port must be 0 (free ports) "
                                   "or 1.." + std::to_string(65536 - o.nodes));
  }
  std::string host = o.announce_host;
  if (host.empty()) host = o.server.bind == "0.0.0.0" ? "127.0.0.1" : o.server.bind == "::" ? "::1" : o.server.bind;

  // The ports first: the cluster announces them.
  std::vector<int> fds;
  auto close_all = [&fds] {
    for (int fd : fds) ::close(fd);
    fds.clear();
  };
  std::vector<std::string> addresses;
  for (int i = 0; i < o.nodes; ++i) {
    Result<int> fd = ListenTcp(o.server.bind, o.server.port == 0 ? 0 : o.server.port + i);
    if (!fd.ok()) {
      close_all();
      return fd.status();
    }
    fds.push_back(*fd);
    addresses.push_back(host + ":" + std::to_string(PortOf(*fd)));
  }
  MemoryBackendOptions m = o.memory;
  m.cluster_nodes = o.nodes;
  m.cluster_addresses = addresses;
  Result<std::unique_ptr<KvBackend>> kv = NewMemoryClusterBackend(std::move(m));
  if (!kv.ok()) {
    close_all();
    return kv.status();
  }
  auto impl = std::make_unique<ClusterServerImpl>();
  impl->cluster_ = std::shared_ptr<KvBackend>(std::move(*kv));
  MemoryClusterBackend* mc = AsMemoryClusterBackend(impl->cluster_.get());
  impl->nodes_ = mc->Nodes();

  // One clock for the cluster: after SET / ADVANCE every node runs its expiry (DBSIZE fans out),
  // not only the node that was asked.
  ServerClock clock = o.server.clock;
  std::shared_ptr<KvBackend> whole = impl->cluster_;
  if (clock.set_ms) {
    clock.set_ms = [set = clock.set_ms, whole](int64_t ms) {
      set(ms);
      (void)whole->Run({"DBSIZE"});
    };
  }
  if (clock.advance) {
    clock.advance = [advance = clock.advance, whole](int64_t d) {
      advance(d);
      (void)whole->Run({"DBSIZE"});
    };
  }
  for (int i = 0; i < o.nodes; ++i) {
    ServerOptions s = o.server;
    s.clock = clock;
    s.backend = std::shared_ptr<KvBackend>(impl->cluster_, impl->nodes_[i].backend);
    s.listen_fd = fds[i];
    fds[i] = -1;  // Server::Start owns it, also when it fails
    s.cluster.enabled = true;
    s.cluster.redirect = [mc, i, keep = impl->cluster_, addresses](int slot) -> std::string {
      const int owner = mc->NodeOfSlot(slot);
      if (owner < 0 || owner == i) return "";
      return "MOVED " + std::to_string(slot) + " " + addresses[static_cast<size_t>(owner)];
    };
    Result<std::unique_ptr<Server>> server = Server::Start(std::move(s));
    if (!server.ok()) {
      for (int& fd : fds) {
        if (fd >= 0) ::close(fd);
      }
      return server.status();  // impl's destructor stops the nodes already started
    }
    impl->servers_.push_back(std::move(*server));
  }
  return std::unique_ptr<ClusterServer>(std::move(impl));
}

}  // namespace stormkv
