#include "stormkv/redis_backend.h"

#include <utility>

#include "redis_node.h"
#include "redis_wire.h"
#include "stormkv/script.h"

namespace stormkv {
namespace redis_internal {
namespace {

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace

Command EvalShaCommand(const Script& script, const std::vector<std::string>& keys,
                       const std::vector<std::string>& args) {
  Command cmd;
  cmd.reserve(3 + keys.size() + args.size());
  // A read-only script runs as one on Redis too (the memory store refuses its writes).
  cmd.push_back(script.read_only() ? "EVALSHA_RO" : "EVALSHA");
  cmd.push_back(script.sha1());
  cmd.push_back(std::to_string(keys.size()));
  cmd.insert(cmd.end(), keys.begin(), keys.end());
  cmd.insert(cmd.end(), args.begin(), args.end());
  return cmd;
}

bool IsNoScript(const Status& s) { return StartsWith(s.message(), "NOSCRIPT"); }

Status ValidateRedisOptions(const RedisOptions& options, std::string_view what) {
  std::string w(what);
  if (options.connect_timeout.count() <= 0) {
    return Status::InvalidArgument(w + ".connect_timeout must be > 0");
  }
  if (options.command_timeout.count() < 0) {
    return Status::InvalidArgument(w + ".command_timeout must be >= 0 (0 = no timeout)");
  }
  if (options.pool_size == 0) return Status::InvalidArgument(w + ".pool_size must be > 0");
  return Status::Ok();
}

RedisNode::RedisNode(RedisEndpoint ep, RedisOptions opts, Role role)
    : role_(role), pool_(ep, std::move(opts), ep.Describe()) {}

Status RedisNode::Open() {
  Result<Reply> r = Run({"PING"});
  if (r.ok() || r.status().message().rfind(pool_.server(), 0) == 0) return r.status();
  return r.status().WithContext(pool_.server() + ": PING failed");
}

// A standalone backend that meets a redirect is talking to a cluster node: say what to use.
Result<Reply> RedisNode::ForCaller(Result<Reply> r) const {
  if (r.ok() || role_ != Role::kStandalone) return r;
  std::string_view m = r.status().message();
  if (!StartsWith(m, "MOVED ") && !StartsWith(m, "ASK ")) return r;
  const RedisEndpoint& ep = pool_.endpoint();
  std::string host = ep.host.find(':') != std::string::npos ? "[" + ep.host + "]" : ep.host;
  return Status(r.status().code(),
                std::string(m) + " (" + pool_.server() +
                    " is a Redis Cluster node: use redis-cluster://" + host + ":" +
                    std::to_string(ep.port) + ")");
}

Result<Reply> RedisNode::Run(const Command& argv) {
  bool sent = true;
  return ForCaller(Call(argv, false, &sent));
}

Result<Reply> RedisNode::Call(const Command& argv, bool asking, bool* sent) {
  *sent = false;
  if (argv.empty()) return Status::InvalidArgument("ERR empty command");
  Result<ConnectionPool::Lease> lease = pool_.Checkout();
  if (!lease.ok()) return lease.status();
  *sent = true;
  return Execute(*lease, argv, asking);
}

std::vector<Result<Reply>> RedisNode::RunBatch(const std::vector<Command>& cmds) {
  // Every entry is replaced by its command's reply or error (ReadPipeline).
  std::vector<Result<Reply>> out(cmds.size(), Status::Internal("batch: command not sent"));
  if (cmds.empty()) return out;
  std::vector<PipelineItem> items(cmds.size());
  for (size_t i = 0; i < cmds.size(); ++i) items[i].cmd = &cmds[i];
  PendingPipeline p = SendPipeline(items);
  bool sent = true;
  ReadPipeline(p, items, out.data(), &sent);
  if (role_ == Role::kStandalone) {
    for (Result<Reply>& r : out) {
      if (!r.ok()) r = ForCaller(std::move(r));
    }
  }
  return out;
}

PendingPipeline RedisNode::SendPipeline(const std::vector<PipelineItem>& items) {
  PendingPipeline p;
  Result<ConnectionPool::Lease> lease = pool_.Checkout();
  if (!lease.ok()) {
    p.checkout = lease.status();
    return p;
  }
  p.lease.emplace(std::move(lease).value());
  std::string& wire = WireBuffer();
  for (const PipelineItem& item : items) {
    if (item.cmd->empty()) continue;
    if (item.asking) EncodeCommand({"ASKING"}, &wire);
    EncodeCommand(*item.cmd, &wire);
  }
  p.sent = SendAll(pool_.server(), p.lease->ctx(), wire);
  return p;
}

void RedisNode::ReadPipeline(PendingPipeline& p, const std::vector<PipelineItem>& items,
                             Result<Reply>* out, bool* sent) {
  if (!p.lease) {
    *sent = false;
    for (size_t i = 0; i < items.size(); ++i) out[i] = p.checkout;
    return;
  }
  *sent = true;
  redisContext* c = p.lease->ctx();
  // After a failed send, replies the server wrote before the connection broke may still be
  // readable (it executes what it received); after a send timeout, do not wait again.
  Status transport = p.sent.ok() || p.sent.IsUnavailable() ? Status::Ok() : p.sent;
  auto read = [&](ReplyPtr* r) {
    if (!transport.ok()) return false;
    transport = ReadReply(pool_.server(), c, r);
    if (!transport.ok() && !p.sent.ok()) transport = p.sent;
    return transport.ok();
  };
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].cmd->empty()) {
      out[i] = Status::InvalidArgument("ERR empty command");
      continue;
    }
    ReplyPtr r;
    if (items[i].asking && read(&r) && r->type == REDIS_REPLY_ERROR) {
      // ASKING refused: the command after it is read but answered with that error.
      Result<Reply> asking_error = TopLevel(pool_.server(), r.get());
      if (read(&r)) out[i] = std::move(asking_error);
      else out[i] = transport;
      continue;
    }
    if (!read(&r)) {
      out[i] = transport;
      continue;
    }
    out[i] = TopLevel(pool_.server(), r.get());
  }
  if (!transport.ok() || !p.sent.ok()) p.lease->MarkBroken();
  p.lease.reset();
}

Result<Reply> RedisNode::Eval(const Script& script, const std::vector<std::string>& keys,
                              const std::vector<std::string>& args) {
  bool sent = true;
  return ForCaller(CallScript(script, EvalShaCommand(script, keys, args), false, &sent));
}

Result<Reply> RedisNode::CallScript(const Script& script, const Command& evalsha, bool asking,
                                    bool* sent) {
  *sent = false;
  Result<ConnectionPool::Lease> lease = pool_.Checkout();
  if (!lease.ok()) return lease.status();
  *sent = true;
  if (!IsLoaded(script.sha1())) STORMKV_RETURN_IF_ERROR(Load(*lease, script));
  Result<Reply> r = Execute(*lease, evalsha, asking);
  if (r.ok() || !IsNoScript(r.status())) return r;
  noscript_retries_.fetch_add(1, std::memory_order_relaxed);
  Forget(script.sha1());
  STORMKV_RETURN_IF_ERROR(Load(*lease, script));
  return Execute(*lease, evalsha, asking);
}

std::vector<Result<Reply>> RedisNode::EvalBatch(const std::vector<ScriptCall>& calls) {
  // Every entry is replaced by its call's reply or error below.
  std::vector<Result<Reply>> out(calls.size(), Status::Internal("eval batch: call not sent"));
  if (calls.empty()) return out;
  std::vector<Command> cmds(calls.size());
  std::vector<PipelineItem> items;
  std::vector<size_t> at;  // calls[at[k]] is items[k]
  items.reserve(calls.size());
  at.reserve(calls.size());
  for (size_t i = 0; i < calls.size(); ++i) {
    if (calls[i].script == nullptr) {
      out[i] = Status::InvalidArgument("EvalBatch: call without a script");
      continue;
    }
    cmds[i] = EvalShaCommand(*calls[i].script, calls[i].keys, calls[i].args);
    items.push_back(PipelineItem{&cmds[i], false});
    at.push_back(i);
  }
  if (items.empty()) return out;
  Result<ConnectionPool::Lease> lease = pool_.Checkout();
  if (!lease.ok()) {
    for (size_t i : at) out[i] = lease.status();
    return out;
  }
  // Load each script of the batch once (a batch usually holds one script).
  for (size_t i : at) {
    const Script& script = *calls[i].script;
    if (IsLoaded(script.sha1())) continue;
    if (Status loaded = Load(*lease, script); !loaded.ok()) {
      for (size_t j : at) out[j] = loaded;
      return out;
    }
  }
  PendingPipeline p;
  p.lease.emplace(std::move(lease).value());
  std::string& wire = WireBuffer();
  for (const PipelineItem& item : items) EncodeCommand(*item.cmd, &wire);
  p.sent = SendAll(pool_.server(), p.lease->ctx(), wire);
  std::vector<Result<Reply>> replies(items.size(), Status::Internal("eval batch: no reply read"));
  bool sent = true;
  ReadPipeline(p, items, replies.data(), &sent);
  bool forgot = false;
  for (size_t k = 0; k < items.size(); ++k) {
    const size_t i = at[k];
    if (!replies[k].ok() && IsNoScript(replies[k].status())) {
      // The script was flushed while the batch ran: this call did not run. Run it now.
      noscript_retries_.fetch_add(1, std::memory_order_relaxed);
      if (!forgot) Forget(calls[i].script->sha1());
      forgot = true;
      bool again = true;
      out[i] = ForCaller(CallScript(*calls[i].script, cmds[i], false, &again));
      continue;
    }
    out[i] = role_ == Role::kStandalone ? ForCaller(std::move(replies[k])) : std::move(replies[k]);
  }
  return out;
}

Status RedisNode::EnsureLoaded(const Script& script) {
  if (IsLoaded(script.sha1())) return Status::Ok();
  Result<ConnectionPool::Lease> lease = pool_.Checkout();
  if (!lease.ok()) return lease.status();
  return Load(*lease, script);
}

RedisBackendStats RedisNode::Stats() const {
  RedisBackendStats s;
  pool_.FillStats(&s);
  s.script_loads = script_loads_.load(std::memory_order_relaxed);
  s.noscript_retries = noscript_retries_.load(std::memory_order_relaxed);
  return s;
}

Result<Reply> RedisNode::Execute(ConnectionPool::Lease& lease, const Command& argv, bool asking) {
  if (asking) {
    std::string& wire = WireBuffer();
    EncodeCommand({"ASKING"}, &wire);
    EncodeCommand(argv, &wire);
    Status transport = SendAll(pool_.server(), lease.ctx(), wire);
    ReplyPtr ok, r;
    if (transport.ok()) transport = ReadReply(pool_.server(), lease.ctx(), &ok);
    if (transport.ok()) transport = ReadReply(pool_.server(), lease.ctx(), &r);
    if (!transport.ok()) {
      lease.MarkBroken();
      return transport;
    }
    if (ok->type == REDIS_REPLY_ERROR) return TopLevel(pool_.server(), ok.get());
    return TopLevel(pool_.server(), r.get());
  }
  redisContext* c = lease.ctx();
  std::string& wire = WireBuffer();
  EncodeCommand(argv, &wire);
  ReplyPtr r;
  Status transport = SendAll(pool_.server(), c, wire);
  if (transport.ok()) transport = ReadReply(pool_.server(), c, &r);
  if (!transport.ok()) {
    lease.MarkBroken();
    return transport;
  }
  return TopLevel(pool_.server(), r.get());
}

bool RedisNode::IsLoaded(const std::string& sha) const {
  std::lock_guard<std::mutex> lock(scripts_mu_);
  return loaded_.count(sha) != 0;
}

void RedisNode::Forget(const std::string& sha) {
  std::lock_guard<std::mutex> lock(scripts_mu_);
  loaded_.erase(sha);
}

Status RedisNode::Load(ConnectionPool::Lease& lease, const Script& script) {
  script_loads_.fetch_add(1, std::memory_order_relaxed);
  Result<Reply> r = Execute(lease, {"SCRIPT", "LOAD", script.lua()}, false);
  if (!r.ok()) return r.status().WithContext("SCRIPT LOAD of " + script.name());
  if (r->str() != script.sha1()) {
    return Status::Internal(pool_.server() + ": SCRIPT LOAD of " + script.name() + " returned " +
                            r->ToString() + ", expected " + script.sha1());
  }
  std::lock_guard<std::mutex> lock(scripts_mu_);
  loaded_.insert(script.sha1());
  return Status::Ok();
}

}  // namespace redis_internal

Result<std::unique_ptr<KvBackend>> NewRedisBackend(const RedisOptions& options) {
  Result<RedisEndpoint> ep = ParseRedisUrl(options.url);
  if (!ep.ok()) return ep.status();
  STORMKV_RETURN_IF_ERROR(redis_internal::ValidateRedisOptions(options, "RedisOptions"));
  auto backend = std::make_unique<redis_internal::RedisNode>(
      std::move(ep).value(), options, redis_internal::RedisNode::Role::kStandalone);
  if (options.connect_eagerly) STORMKV_RETURN_IF_ERROR(backend->Open());
  return std::unique_ptr<KvBackend>(std::move(backend));
}

RedisBackend* AsRedisBackend(KvBackend* kv) { return dynamic_cast<RedisBackend*>(kv); }

}  // namespace stormkv
