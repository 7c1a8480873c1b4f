// backends/redis/redis_node.h — internal: the KvBackend over one Redis server, as the plain
// backend (NewRedisBackend) and as one master of the cluster backend. Not installed.
//
// Beyond KvBackend, the cluster layer needs to know whether a failed call wrote anything (a
// refused connection did not: it can be sent elsewhere; a reset after sending may have run), to
// send ASKING in front of a command on the same connection, and to pipeline to several nodes at
// once (send to all, then read from each). Those are the Call* and pipeline methods below.
#ifndef STORMKV_BACKENDS_REDIS_REDIS_NODE_H_
#define STORMKV_BACKENDS_REDIS_REDIS_NODE_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "redis_pool.h"
#include "stormkv/redis_backend.h"

namespace stormkv::redis_internal {

// One command of a pipeline; `asking`: send ASKING right before it (its reply is consumed).
struct PipelineItem {
  const Command* cmd = nullptr;
  bool asking = false;
};

// A pipeline written to one node and not read yet (see RedisNode::SendPipeline).
struct PendingPipeline {
  std::optional<ConnectionPool::Lease> lease;  // empty: checkout failed, nothing was sent
  Status checkout;                             // why there is no lease
  Status sent;                                 // the send's outcome
};

class RedisNode final : public RedisBackend {
 public:
  enum class Role {
    kStandalone,   // NewRedisBackend: a MOVED/ASK reply means the URL names a cluster node
    kClusterNode,  // a master of the cluster backend: redirects go back to it untouched
  };
  RedisNode(RedisEndpoint ep, RedisOptions opts, Role role);

  // Connects one pooled connection and PINGs through it.
  Status Open();

  Result<Reply> Run(const Command& argv) override;
  std::vector<Result<Reply>> RunBatch(const std::vector<Command>& cmds) override;
  Result<Reply> Eval(const Script& script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args) override;
  // One pipeline on one connection: SCRIPT LOAD of each script not loaded yet, then every
  // EVALSHA; entries answering NOSCRIPT (a flush meanwhile) run again after it, in order.
  std::vector<Result<Reply>> EvalBatch(const std::vector<ScriptCall>& calls) override;
  std::string Describe() const override { return pool_.server(); }
  void CloseIdleConnections() override { pool_.CloseIdle(); }
  RedisBackendStats Stats() const override;
  const RedisEndpoint& endpoint() const override { return pool_.endpoint(); }

  // ---- for the cluster layer -----------------------------------------------------------------
  // Runs `argv` (after ASKING on the same connection when `asking`). *sent = false when the call
  // failed before writing anything (no connection: refused, AUTH failed, pool wait timed out).
  Result<Reply> Call(const Command& argv, bool asking, bool* sent);
  // Runs `evalsha` (EVALSHA sha numkeys keys... args...) of `script`: SCRIPT LOAD first when
  // this node has not loaded it, and on NOSCRIPT load and retry once; ASKING precedes each
  // EVALSHA when `asking`. *sent as for Call.
  Result<Reply> CallScript(const Script& script, const Command& evalsha, bool asking, bool* sent);
  // SCRIPT LOAD of `script` unless this node loaded it already (the cluster's EvalBatch runs it
  // on each master before pipelining EVALSHA to it). Errors: the load's.
  Status EnsureLoaded(const Script& script);
  // Checks out a connection and writes every item. Read the replies with ReadPipeline.
  PendingPipeline SendPipeline(const std::vector<PipelineItem>& items);
  // Reads the replies of `p` into out[0..items.size()), in order. Nothing was sent when the
  // checkout failed (every entry gets that Status and *sent = false); after a transport failure
  // every unanswered entry gets the transport Status and the connection is discarded.
  void ReadPipeline(PendingPipeline& p, const std::vector<PipelineItem>& items,
                    Result<Reply>* out, bool* sent);

 private:
  Result<Reply> Execute(ConnectionPool::Lease& lease, const Command& argv, bool asking);
  Result<Reply> ForCaller(Result<Reply> r) const;
  bool IsLoaded(const std::string& sha) const;
  void Forget(const std::string& sha);
  Status Load(ConnectionPool::Lease& lease, const Script& script);

  const Role role_;
  ConnectionPool pool_;
  mutable std::mutex scripts_mu_;
  std::unordered_set<std::string> loaded_;  // guarded by scripts_mu_: SHA1s loaded on the server
  std::atomic<int64_t> script_loads_{0};
  std::atomic<int64_t> noscript_retries_{0};
};

// EVALSHA sha1 numkeys keys... args... for `script`.
Command EvalShaCommand(const Script& script, const std::vector<std::string>& keys,
                       const std::vector<std::string>& args);

// true when `s` is the reply NOSCRIPT.
bool IsNoScript(const Status& s);

// Checks RedisOptions' fields (shared by both factories).
Status ValidateRedisOptions(const RedisOptions& options, std::string_view what);

}  // namespace stormkv::redis_internal

#endif  // STORMKV_BACKENDS_REDIS_REDIS_NODE_H_
