// backends/redis/cluster_backend_impl.h — internal: the cluster backend's class, shared by
// cluster_backend.cc (map, routing, retries, Run, Eval), cluster_batch.cc (RunBatch) and
// cluster_fanout.cc (keyspace-wide commands). Contract: stormkv/redis_cluster_backend.h.
#ifndef STORMKV_BACKENDS_REDIS_CLUSTER_BACKEND_IMPL_H_
#define STORMKV_BACKENDS_REDIS_CLUSTER_BACKEND_IMPL_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cluster_slots.h"
#include "redis_node.h"
#include "stormkv/redis_cluster_backend.h"

namespace stormkv::redis_internal {

// One master of a slot map.
struct ClusterMaster {
  RedisNode* node = nullptr;
  std::string address;                      // "host:port"
  std::vector<std::pair<int, int>> ranges;  // ascending, inclusive
  int min_slot = 0;
};

// An installed slot map's masters, ordered by min_slot (immutable once installed).
struct ClusterTopology {
  std::vector<ClusterMaster> masters;
  // The master owning `slot`, or nullptr.
  const ClusterMaster* OwnerOf(int slot) const;
};

// The retry budget of one call: exponential backoff until the deadline, counted from the first
// failure.
class Backoff {
 public:
  explicit Backoff(const RedisClusterOptions& o) : opts_(o), delay_(o.retry_backoff) {}
  // Sleeps before the next retry and returns true, or returns false when the deadline has
  // passed (or would pass before the retry).
  bool Next();
  int attempts() const { return attempts_; }
  int64_t elapsed_ms() const;

 private:
  const RedisClusterOptions& opts_;
  std::chrono::milliseconds delay_;
  std::chrono::steady_clock::time_point start_{};
  bool started_ = false;
  int attempts_ = 0;
};

// What to do after a failed send to one node.
enum class Failure {
  kFinal,          // give this result to the caller
  kTransport,      // final, and the map is refreshed before the next call
  kRetry,          // retry after backoff on the slot's owner (TRYAGAIN, LOADING)
  kRefreshRetry,   // refresh the map, then retry after backoff (CLUSTERDOWN, MASTERDOWN,
                   // READONLY, a refused connection before sending)
};
Failure ClassifyFailure(const Status& s, bool sent, const RedisNode& node);

class ClusterBackend final : public RedisClusterBackend {
 public:
  ClusterBackend(RedisClusterSeeds seeds, RedisClusterOptions opts);

  // Reads the first map from the seeds and PINGs every master.
  Status Open();

  Result<Reply> Run(const Command& argv) override;
  std::vector<Result<Reply>> RunBatch(const std::vector<Command>& cmds) override;
  // cluster_batch.cc: the scripts loaded on each master concerned, then RunBatch of the EVALSHA
  // commands (one pipeline per master); NOSCRIPT entries run again through Eval, in order.
  std::vector<Result<Reply>> EvalBatch(const std::vector<ScriptCall>& calls) override;
  Result<Reply> Eval(const Script& script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args) override;
  std::string Describe() const override;
  std::vector<RedisClusterNode> Nodes() override;
  Status Refresh() override;
  int SlotOf(std::string_view key) const override { return KeySlot(key); }
  RedisClusterStats Stats() const override;

 private:
  // The master of `slot` in the current map (nullptr: none). Lock-free.
  RedisNode* SlotNode(int slot) const { return slots_[slot].load(std::memory_order_acquire); }
  std::shared_ptr<const ClusterTopology> topology() const;
  // The node object for host:port, created on first use (never destroyed before the backend).
  RedisNode* NodeFor(const std::string& host, int port);
  // Refreshes when a transport error asked for it, or when the map is older than
  // refresh_interval.
  void BeforeCall();
  // Refreshes unless another thread installed a map since generation `seen` (coalescing);
  // `hint` (may be null) is asked first.
  Status RefreshSince(uint64_t seen, RedisNode* hint);
  // Caller holds refresh_mu_.
  Status RefreshLocked(RedisNode* hint);
  Status Install(const std::vector<SlotRange>& ranges);

  // Sends one command (or script) to its slot's master, following redirects and retrying per the
  // contract. `send(node, asking, &sent)` does one attempt.
  template <typename Send>
  Result<Reply> Route(int slot, Send&& send);
  Status GiveUp(int slot, const RedisNode* node, const Status& last, const Backoff& b) const;
  Status RedirectLoop(int slot, const std::string& visited, const Status& last);

  // cluster_batch.cc
  void RunSegment(const std::vector<Command>& cmds, const std::vector<size_t>& idx,
                  const std::vector<int>& slots, std::vector<Result<Reply>>* out);
  // cluster_fanout.cc
  Result<Reply> RunFanOut(FanOutKind kind, const Command& argv);
  // One pass over the masters of the current map; *stale when one of them answered READONLY or
  // refused the connection.
  Result<Reply> RunFanOutOnce(FanOutKind kind, const Command& argv, bool* stale);
  Result<std::shared_ptr<const ClusterTopology>> MastersForFanOut();
  Result<Reply> Scan(const Command& argv);
  Result<Reply> InfoAll(const Command& argv);
  Result<Reply> ConfigGetAll(const Command& argv);

  const RedisClusterSeeds seeds_;
  const RedisClusterOptions opts_;
  RedisOptions node_opts_;
  const std::string seeds_text_;

  std::unique_ptr<std::atomic<RedisNode*>[]> slots_;  // kClusterSlots entries

  mutable std::mutex nodes_mu_;
  std::map<std::string, std::unique_ptr<RedisNode>> nodes_;  // guarded by nodes_mu_

  mutable std::mutex topo_mu_;
  std::shared_ptr<const ClusterTopology> topo_;  // guarded by topo_mu_

  std::mutex refresh_mu_;  // one refresh at a time
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> needs_refresh_{true};
  std::atomic<int64_t> last_refresh_ns_{0};

  std::atomic<int64_t> refreshes_{0};
  std::atomic<int64_t> refresh_failures_{0};
  std::atomic<int64_t> moved_{0};
  std::atomic<int64_t> ask_{0};
  std::atomic<int64_t> retries_{0};
  std::atomic<int64_t> crossslot_{0};
  std::atomic<int64_t> redirect_loops_{0};
  std::atomic<int64_t> transport_errors_{0};
};

template <typename Send>
Result<Reply> ClusterBackend::Route(int slot, Send&& send) {
  BeforeCall();
  RedisNode* node = nullptr;
  bool lookup = true;  // take the node from the map (else: the one a redirect named)
  bool asking = false;
  int redirects = 0;
  std::string visited;
  Backoff backoff(opts_);
  for (;;) {
    // The generation is read before the map: a reply to a send through an older map can then
    // never trigger a second refresh of a map installed meanwhile.
    uint64_t gen = generation_.load(std::memory_order_acquire);
    if (lookup) node = SlotNode(slot);
    lookup = false;
    if (node == nullptr) {
      Status none = Status::Unavailable("no master serves slot " + std::to_string(slot) +
                                        " in the slot map of " + seeds_text_);
      if (!backoff.Next()) return GiveUp(slot, nullptr, none, backoff);
      retries_.fetch_add(1, std::memory_order_relaxed);
      (void)RefreshSince(gen, nullptr);
      lookup = true;
      continue;
    }
    bool sent = true;
    Result<Reply> r = send(node, asking, &sent);
    asking = false;
    if (r.ok()) return r;
    Redirect red;
    if (ParseRedirect(r.status().message(), &red)) {
      if (!visited.empty()) visited += ", ";
      visited += node->endpoint().host + ":" + std::to_string(node->endpoint().port);
      if (++redirects > opts_.max_redirects) return RedirectLoop(slot, visited, r.status());
      RedisNode* target = NodeFor(red.host.empty() ? node->endpoint().host : red.host, red.port);
      if (red.ask) {
        ask_.fetch_add(1, std::memory_order_relaxed);
        asking = true;
      } else {
        moved_.fetch_add(1, std::memory_order_relaxed);
        (void)RefreshSince(gen, target);
      }
      node = target;
      continue;
    }
    switch (ClassifyFailure(r.status(), sent, *node)) {
      case Failure::kFinal:
        return r;
      case Failure::kTransport:
        transport_errors_.fetch_add(1, std::memory_order_relaxed);
        needs_refresh_.store(true, std::memory_order_relaxed);
        return r;
      case Failure::kRetry:
      case Failure::kRefreshRetry:
        if (!backoff.Next()) return GiveUp(slot, node, r.status(), backoff);
        retries_.fetch_add(1, std::memory_order_relaxed);
        if (ClassifyFailure(r.status(), sent, *node) == Failure::kRefreshRetry) {
          (void)RefreshSince(gen, nullptr);
        }
        lookup = true;
        continue;
    }
  }
}

}  // namespace stormkv::redis_internal

#endif  // STORMKV_BACKENDS_REDIS_CLUSTER_BACKEND_IMPL_H_
