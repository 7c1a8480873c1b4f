// The cluster backend: slot map, routing, redirects and retries; Run and Eval.
#include <algorithm>
#include <set>

#include "cluster_backend_impl.h"
#include "stormkv/script.h"

namespace stormkv {
namespace redis_internal {
namespace {

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string Address(const RedisEndpoint& ep) {
  return (ep.host.find(':') != std::string::npos ? "[" + ep.host + "]" : ep.host) + ":" +
         std::to_string(ep.port);
}

constexpr std::string_view kNotClusterReply = "ERR This instance has cluster support disabled";

}  // namespace

const ClusterMaster* ClusterTopology::OwnerOf(int slot) const {
  for (const ClusterMaster& m : masters) {
    for (const auto& [first, last] : m.ranges) {
      if (slot >= first && slot <= last) return &m;
    }
  }
  return nullptr;
}

bool Backoff::Next() {
  auto now = std::chrono::steady_clock::now();
  if (!started_) {
    started_ = true;
    start_ = now;
  }
  auto deadline = start_ + opts_.retry_deadline;
  if (now + delay_ > deadline) {
    // The last retry lands right at the deadline rather than being skipped.
    if (now >= deadline || deadline - now < std::chrono::milliseconds(1)) return false;
    std::this_thread::sleep_for(deadline - now);
  } else {
    std::this_thread::sleep_for(delay_);
  }
  delay_ = std::min(delay_ * 2, opts_.retry_backoff_max);
  ++attempts_;
  return true;
}

int64_t Backoff::elapsed_ms() const {
  if (!started_) return 0;
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start_)
      .count();
}

Failure ClassifyFailure(const Status& s, bool sent, const RedisNode& node) {
  std::string_view m = s.message();
  if (StartsWith(m, "TRYAGAIN") || StartsWith(m, "LOADING")) return Failure::kRetry;
  if (StartsWith(m, "CLUSTERDOWN") || StartsWith(m, "MASTERDOWN") || StartsWith(m, "READONLY")) {
    return Failure::kRefreshRetry;
  }
  // Refused / reset while connecting: nothing was written, so it may go elsewhere.
  if (!sent) return s.IsUnavailable() ? Failure::kRefreshRetry : Failure::kFinal;
  // A transport failure's message starts with the node; an error reply's does not.
  if ((s.IsUnavailable() || s.IsTimeout()) && StartsWith(m, node.Describe())) {
    return Failure::kTransport;
  }
  return Failure::kFinal;
}

ClusterBackend::ClusterBackend(RedisClusterSeeds seeds, RedisClusterOptions opts)
    : seeds_(std::move(seeds)),
      opts_(std::move(opts)),
      seeds_text_(seeds_.Describe()),
      slots_(new std::atomic<RedisNode*>[kClusterSlots]) {
  node_opts_.connect_timeout = opts_.connect_timeout;
  node_opts_.command_timeout = opts_.command_timeout;
  node_opts_.pool_size = opts_.pool_size;
  node_opts_.pool_wait_timeout = opts_.pool_wait_timeout;
  node_opts_.connect_eagerly = false;
  for (int i = 0; i < kClusterSlots; ++i) slots_[i].store(nullptr, std::memory_order_relaxed);
}

Status ClusterBackend::Open() {
  {
    std::lock_guard<std::mutex> lock(refresh_mu_);
    STORMKV_RETURN_IF_ERROR(RefreshLocked(nullptr));
  }
  std::shared_ptr<const ClusterTopology> topo = topology();
  for (int s = 0; s < kClusterSlots; ++s) {
    if (SlotNode(s) == nullptr) {
      return Status::Unavailable(seeds_text_ + ": slot " + std::to_string(s) +
                                 " has no master (is the cluster fully set up? CLUSTER INFO)");
    }
  }
  for (const ClusterMaster& m : topo->masters) {
    Status s = m.node->Open();
    if (!s.ok()) return s.WithContext(seeds_text_ + ": master " + m.address);
  }
  return Status::Ok();
}

std::shared_ptr<const ClusterTopology> ClusterBackend::topology() const {
  std::lock_guard<std::mutex> lock(topo_mu_);
  return topo_;
}

RedisNode* ClusterBackend::NodeFor(const std::string& host, int port) {
  RedisEndpoint ep;
  ep.host = host;
  ep.port = port;
  std::string key = Address(ep);
  std::lock_guard<std::mutex> lock(nodes_mu_);
  auto it = nodes_.find(key);
  if (it != nodes_.end()) return it->second.get();
  ep.user = seeds_.user;
  ep.password = seeds_.password;
  auto node = std::make_unique<RedisNode>(ep, node_opts_, RedisNode::Role::kClusterNode);
  RedisNode* raw = node.get();
  nodes_.emplace(std::move(key), std::move(node));
  return raw;
}

void ClusterBackend::BeforeCall() {
  if (needs_refresh_.load(std::memory_order_relaxed)) {
    (void)RefreshSince(generation_.load(std::memory_order_acquire), nullptr);
    return;
  }
  if (opts_.refresh_interval.count() <= 0) return;
  int64_t age = NowNs() - last_refresh_ns_.load(std::memory_order_relaxed);
  if (age < std::chrono::nanoseconds(opts_.refresh_interval).count()) return;
  // One thread refreshes; the others go on with the map they have.
  std::unique_lock<std::mutex> lock(refresh_mu_, std::try_to_lock);
  if (lock.owns_lock()) (void)RefreshLocked(nullptr);
}

Status ClusterBackend::Refresh() {
  std::lock_guard<std::mutex> lock(refresh_mu_);
  return RefreshLocked(nullptr);
}

Status ClusterBackend::RefreshSince(uint64_t seen, RedisNode* hint) {
  std::lock_guard<std::mutex> lock(refresh_mu_);
  if (generation_.load(std::memory_order_acquire) != seen) return Status::Ok();
  return RefreshLocked(hint);
}

Status ClusterBackend::RefreshLocked(RedisNode* hint) {
  // Who to ask: the hint (the node a MOVED named), the current masters, every other node met,
  // then the seeds.
  std::vector<RedisNode*> ask;
  auto add = [&](RedisNode* n) {
    if (n != nullptr && std::find(ask.begin(), ask.end(), n) == ask.end()) ask.push_back(n);
  };
  add(hint);
  if (std::shared_ptr<const ClusterTopology> topo = topology()) {
    for (const ClusterMaster& m : topo->masters) add(m.node);
  }
  {
    std::lock_guard<std::mutex> lock(nodes_mu_);
    for (const auto& [addr, n] : nodes_) add(n.get());
  }
  for (const RedisEndpoint& seed : seeds_.seeds) add(NodeFor(seed.host, seed.port));

  std::string errors;
  bool not_cluster = false;
  for (RedisNode* n : ask) {
    bool sent = true;
    Result<Reply> r = n->Call({"CLUSTER", "SLOTS"}, false, &sent);
    Status failure;
    if (r.ok()) {
      Result<std::vector<SlotRange>> ranges = ParseClusterSlots(*r, n->endpoint().host);
      if (ranges.ok() && !ranges->empty()) {
        Status installed = Install(*ranges);
        if (installed.ok()) return installed;
        failure = installed;
      } else {
        failure = ranges.ok() ? Status::Unavailable("CLUSTER SLOTS: no slot is assigned yet")
                              : ranges.status();
      }
    } else {
      failure = r.status();
      if (StartsWith(failure.message(), kNotClusterReply)) not_cluster = true;
    }
    std::string msg = failure.message();
    if (!StartsWith(msg, n->Describe())) msg = n->Describe() + ": " + msg;
    if (!errors.empty()) errors += "; ";
    errors += msg;
  }
  refresh_failures_.fetch_add(1, std::memory_order_relaxed);
  needs_refresh_.store(true, std::memory_order_relaxed);
  if (not_cluster) {
    return Status::InvalidArgument(seeds_text_ + ": not a cluster node: use redis:// (" + errors +
                                   ")");
  }
  return Status::Unavailable(seeds_text_ + ": no node answered CLUSTER SLOTS: " + errors);
}

Status ClusterBackend::Install(const std::vector<SlotRange>& ranges) {
  auto topo = std::make_shared<ClusterTopology>();
  std::map<std::string, size_t> by_address;
  std::vector<RedisNode*> owner(kClusterSlots, nullptr);
  for (const SlotRange& r : ranges) {
    RedisNode* node = NodeFor(r.host, r.port);
    std::string address = Address(node->endpoint());
    auto [it, added] = by_address.emplace(address, topo->masters.size());
    if (added) {
      ClusterMaster m;
      m.node = node;
      m.address = address;
      topo->masters.push_back(std::move(m));
    }
    topo->masters[it->second].ranges.emplace_back(r.first, r.last);
    for (int s = r.first; s <= r.last; ++s) owner[static_cast<size_t>(s)] = node;
  }
  for (ClusterMaster& m : topo->masters) {
    std::sort(m.ranges.begin(), m.ranges.end());
    m.min_slot = m.ranges.front().first;
  }
  std::sort(topo->masters.begin(), topo->masters.end(),
            [](const ClusterMaster& a, const ClusterMaster& b) { return a.min_slot < b.min_slot; });
  for (int s = 0; s < kClusterSlots; ++s) {
    slots_[s].store(owner[static_cast<size_t>(s)], std::memory_order_release);
  }
  {
    std::lock_guard<std::mutex> lock(topo_mu_);
    topo_ = std::move(topo);
  }
  generation_.fetch_add(1, std::memory_order_acq_rel);
  refreshes_.fetch_add(1, std::memory_order_relaxed);
  last_refresh_ns_.store(NowNs(), std::memory_order_relaxed);
  needs_refresh_.store(false, std::memory_order_relaxed);
  return Status::Ok();
}

Status ClusterBackend::GiveUp(int slot, const RedisNode* node, const Status& last,
                              const Backoff& b) const {
  std::string where = "slot " + std::to_string(slot) + " on " +
                      (node != nullptr ? node->Describe() : std::string("no master"));
  return Status::Unavailable(seeds_text_ + ": " + where + ": gave up after " +
                             std::to_string(b.attempts()) + " retries in " +
                             std::to_string(b.elapsed_ms()) + " ms (retry_deadline " +
                             std::to_string(opts_.retry_deadline.count()) +
                             " ms): " + last.message());
}

Status ClusterBackend::RedirectLoop(int slot, const std::string& visited, const Status& last) {
  redirect_loops_.fetch_add(1, std::memory_order_relaxed);
  needs_refresh_.store(true, std::memory_order_relaxed);
  return Status::Unavailable(seeds_text_ + ": slot " + std::to_string(slot) +
                             ": redirect loop: more than " + std::to_string(opts_.max_redirects) +
                             " redirects (nodes " + visited + "; last: " + last.message() + ")");
}

Result<Reply> ClusterBackend::Run(const Command& argv) {
  if (argv.empty()) return Status::InvalidArgument("ERR empty command");
  CommandRoute route;
  Status routed = RouteCommand(argv, &route);
  if (!routed.ok()) {
    crossslot_.fetch_add(1, std::memory_order_relaxed);
    return routed;
  }
  if (route.kind == RouteKind::kFanOut) return RunFanOut(route.fan_out, argv);
  return Route(route.slot, [&argv](RedisNode* node, bool asking, bool* sent) {
    return node->Call(argv, asking, sent);
  });
}

Result<Reply> ClusterBackend::Eval(const Script& script, const std::vector<std::string>& keys,
                                   const std::vector<std::string>& args) {
  CommandRoute route;
  Status routed = RouteKeys(keys, &route);
  if (!routed.ok()) {
    crossslot_.fetch_add(1, std::memory_order_relaxed);
    return routed;
  }
  const Command cmd = EvalShaCommand(script, keys, args);
  return Route(route.slot, [&](RedisNode* node, bool asking, bool* sent) {
    return node->CallScript(script, cmd, asking, sent);
  });
}

std::string ClusterBackend::Describe() const {
  std::shared_ptr<const ClusterTopology> topo = topology();
  size_t n = topo ? topo->masters.size() : 0;
  return seeds_text_ + " (" + std::to_string(n) + (n == 1 ? " master)" : " masters)");
}

std::vector<RedisClusterNode> ClusterBackend::Nodes() {
  BeforeCall();
  std::vector<RedisClusterNode> out;
  std::shared_ptr<const ClusterTopology> topo = topology();
  if (!topo) return out;
  for (const ClusterMaster& m : topo->masters) {
    out.push_back(RedisClusterNode{m.address, m.node, m.ranges});
  }
  return out;
}

RedisClusterStats ClusterBackend::Stats() const {
  RedisClusterStats s;
  s.refreshes = refreshes_.load(std::memory_order_relaxed);
  s.refresh_failures = refresh_failures_.load(std::memory_order_relaxed);
  s.generation = static_cast<int64_t>(generation_.load(std::memory_order_relaxed));
  s.moved = moved_.load(std::memory_order_relaxed);
  s.ask = ask_.load(std::memory_order_relaxed);
  s.retries = retries_.load(std::memory_order_relaxed);
  s.crossslot = crossslot_.load(std::memory_order_relaxed);
  s.redirect_loops = redirect_loops_.load(std::memory_order_relaxed);
  s.transport_errors = transport_errors_.load(std::memory_order_relaxed);
  if (std::shared_ptr<const ClusterTopology> topo = topology()) s.masters = topo->masters.size();
  std::lock_guard<std::mutex> lock(nodes_mu_);
  s.nodes = nodes_.size();
  for (const auto& [addr, n] : nodes_) {
    RedisBackendStats ns = n->Stats();
    s.script_loads += ns.script_loads;
    s.noscript_retries += ns.noscript_retries;
  }
  return s;
}

}  // namespace redis_internal

Result<std::unique_ptr<KvBackend>> NewRedisClusterBackend(const RedisClusterOptions& options) {
  Result<RedisClusterSeeds> seeds = ParseRedisClusterUrl(options.url);
  if (!seeds.ok()) return seeds.status();
  RedisOptions node;
  node.connect_timeout = options.connect_timeout;
  node.command_timeout = options.command_timeout;
  node.pool_size = options.pool_size;
  STORMKV_RETURN_IF_ERROR(redis_internal::ValidateRedisOptions(node, "RedisClusterOptions"));
  if (options.retry_deadline.count() < 0) {
    return Status::InvalidArgument("RedisClusterOptions.retry_deadline must be >= 0");
  }
  if (options.retry_backoff.count() <= 0 || options.retry_backoff_max < options.retry_backoff) {
    return Status::InvalidArgument(
        "RedisClusterOptions.retry_backoff must be > 0 and <= retry_backoff_max");
  }
  if (options.max_redirects <= 0) {
    return Status::InvalidArgument("RedisClusterOptions.max_redirects must be > 0");
  }
  if (options.refresh_interval.count() < 0) {
    return Status::InvalidArgument("RedisClusterOptions.refresh_interval must be >= 0");
  }
  auto backend =
      std::make_unique<redis_internal::ClusterBackend>(std::move(seeds).value(), options);
  if (options.connect_eagerly) STORMKV_RETURN_IF_ERROR(backend->Open());
  return std::unique_ptr<KvBackend>(std::move(backend));
}

RedisClusterBackend* AsRedisClusterBackend(KvBackend* kv) {
  return dynamic_cast<RedisClusterBackend*>(kv);
}

Result<std::unique_ptr<KvBackend>> NewRedisBackendFromUrl(std::string_view url,
                                                          const RedisOptions& options) {
  if (url.substr(0, 16) == "redis-cluster://") {
    RedisClusterOptions co;
    co.url = std::string(url);
    co.connect_timeout = options.connect_timeout;
    co.command_timeout = options.command_timeout;
    co.pool_size = options.pool_size;
    co.pool_wait_timeout = options.pool_wait_timeout;
    co.connect_eagerly = options.connect_eagerly;
    return NewRedisClusterBackend(co);
  }
  RedisOptions ro = options;
  ro.url = std::string(url);
  return NewRedisBackend(ro);
}

}  // namespace stormkv
