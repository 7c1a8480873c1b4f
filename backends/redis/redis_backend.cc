#include "stormkv/redis_backend.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <unordered_set>
#include <utility>
#include <vector>

#include "stormkv/script.h"

namespace stormkv {
namespace {

struct ReplyDeleter {
  void operator()(redisReply* r) const {
    if (r != nullptr) freeReplyObject(r);
  }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

struct ContextDeleter {
  void operator()(redisContext* c) const {
    if (c != nullptr) redisFree(c);
  }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

timeval ToTimeval(std::chrono::milliseconds d) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

bool IsTimeoutErrno(int e) {
  return e == EAGAIN || e == EWOULDBLOCK || e == ETIMEDOUT || e == EINPROGRESS;
}

// The one mapping from a hiredis failure or an error reply to a Status.
//  * `reply` of type error: the server's text, coded by StatusFromErrorReply (no prefix: callers
//    may compare it with what the memory backend says); with `during` (connection setup) the
//    server and the step go in front.
//  * otherwise a transport failure: `kind` is hiredis's REDIS_ERR_* (the context's err, or
//    REDIS_ERR_IO for our own send), `text` its description, `saved_errno` errno right after the
//    failing call: timeouts -> kTimeout; refused/reset/EOF/unresolvable -> kUnavailable; a
//    protocol error (the peer does not speak RESP) -> kServerError. The message starts with
//    `server`.
Status MapRedisError(const std::string& server, int kind, std::string_view text, int saved_errno,
                     const redisReply* reply, std::string_view during = {}) {
  if (reply != nullptr && reply->type == REDIS_REPLY_ERROR) {
    Status s = StatusFromErrorReply(std::string_view(reply->str, reply->len));
    if (during.empty()) return s;
    return s.WithContext(server + ": " + std::string(during));
  }
  std::string prefix = server + ": ";
  if (!during.empty()) prefix += std::string(during) + ": ";
  std::string what = text.empty() ? std::string("unknown hiredis error") : std::string(text);
  switch (kind) {
    case REDIS_ERR_IO: {
      bool timeout = IsTimeoutErrno(saved_errno) || what.find("timed out") != std::string::npos ||
                     what == std::strerror(EAGAIN);
      if (timeout) return Status::Timeout(prefix + "timed out (" + what + ")");
      return Status::Unavailable(prefix + what);
    }
    case REDIS_ERR_EOF:
      return Status::Unavailable(prefix + what);
    case REDIS_ERR_PROTOCOL:
      return Status::ServerError(prefix + "protocol error, is this a Redis server? " + what);
    case REDIS_ERR_OOM:
      return Status::Internal(prefix + "hiredis out of memory");
    case 0:
      return Status::Internal(prefix + "hiredis returned no reply and no error");
    default:
      return Status::Unavailable(prefix + what);
  }
}

// MapRedisError for a failure recorded in a hiredis context (nullptr: allocation failed).
Status ContextError(const std::string& server, const redisContext* c, int saved_errno,
                    std::string_view during = {}) {
  if (c == nullptr) return Status::Internal(server + ": hiredis could not allocate a context");
  return MapRedisError(server, c->err, c->errstr, saved_errno, nullptr, during);
}

Result<Reply> ConvertReply(const std::string& server, const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_STRING:
      return Reply::Bulk(std::string(r->str, r->len));
    case REDIS_REPLY_STATUS:
      return Reply::StatusText(std::string(r->str, r->len));
    case REDIS_REPLY_INTEGER:
      return Reply::Integer(r->integer);
    case REDIS_REPLY_NIL:
      return Reply::Nil();
    case REDIS_REPLY_ERROR:
      return Reply::Error(std::string(r->str, r->len));
    case REDIS_REPLY_ARRAY: {
      std::vector<Reply> elements;
      elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) {
        Result<Reply> e = ConvertReply(server, r->element[i]);
        if (!e.ok()) return e.status();
        elements.push_back(std::move(e).value());
      }
      return Reply::Array(std::move(elements));
    }
    default:
      return Status::Internal(server + ": reply of unexpected type " + std::to_string(r->type));
  }
}

// The top-level reply of one command: an error reply becomes a Status.
Result<Reply> TopLevel(const std::string& server, const redisReply* r) {
  if (r->type == REDIS_REPLY_ERROR) return MapRedisError(server, 0, {}, 0, r);
  return ConvertReply(server, r);
}

void AppendDecimal(std::string* out, size_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, end);
}

// Appends the RESP encoding of `cmd` (an array of bulk strings) to `out`.
void EncodeCommand(const Command& cmd, std::string* out) {
  out->push_back('*');
  AppendDecimal(out, cmd.size());
  out->append("\r\n");
  for (const std::string& arg : cmd) {
    out->push_back('$');
    AppendDecimal(out, arg.size());
    out->append("\r\n");
    out->append(arg);
    out->append("\r\n");
  }
}

// Writes all of `data` to the connection's socket. We write ourselves rather than through
// hiredis's output buffer: MSG_NOSIGNAL makes a peer that went away an EPIPE error instead of a
// process-killing SIGPIPE (hiredis 0.14 uses write()), and the batch is not copied again.
// SO_SNDTIMEO (the command timeout) bounds each send.
Status SendAll(const std::string& server, redisContext* c, std::string_view data,
               std::string_view during = {}) {
  while (!data.empty()) {
    ssize_t n = send(c->fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      int saved = errno;
      return MapRedisError(server, REDIS_ERR_IO, std::strerror(saved), saved, nullptr, during);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Reads the next reply from the connection (blocking, bounded by SO_RCVTIMEO).
Status ReadReply(const std::string& server, redisContext* c, ReplyPtr* out,
                 std::string_view during = {}) {
  void* raw = nullptr;
  if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) {
    int saved = errno;
    return ContextError(server, c, saved, during);
  }
  out->reset(static_cast<redisReply*>(raw));
  return Status::Ok();
}

// The per-thread buffer commands are encoded into (reused: no allocation per call; released
// after a batch of more than 4 MiB).
std::string& WireBuffer() {
  thread_local std::string buf;
  buf.clear();
  if (buf.capacity() > (size_t{4} << 20)) buf.shrink_to_fit();
  return buf;
}

struct Connection {
  ContextPtr ctx;
};

// True when an idle connection has something to read: the server closed it (EOF, reset) or
// sent something nobody asked for. Either way it cannot be used.
bool LooksDead(const redisContext* c) {
  if (c->err != 0 || c->fd < 0) return true;
  pollfd p{c->fd, POLLIN, 0};
  int n;
  do {
    n = poll(&p, 1, 0);
  } while (n < 0 && errno == EINTR);
  return n != 0;
}

class ConnectionPool {
 public:
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<Connection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&& o) noexcept : pool_(o.pool_), conn_(std::move(o.conn_)), broken_(o.broken_) {
      o.pool_ = nullptr;
    }
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (pool_ != nullptr && conn_ != nullptr) pool_->Return(std::move(conn_), broken_);
    }
    redisContext* ctx() const { return conn_->ctx.get(); }
    // The connection is out of sync or dead: discard it instead of returning it.
    void MarkBroken() { broken_ = true; }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Connection> conn_;
    bool broken_ = false;
  };

  ConnectionPool(RedisEndpoint ep, RedisOptions opts)
      : ep_(std::move(ep)), opts_(std::move(opts)), server_(ep_.Describe()) {}

  Result<Lease> Checkout() {
    std::unique_ptr<Connection> conn;
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto deadline = std::chrono::steady_clock::now() + opts_.pool_wait_timeout;
      while (idle_.empty() && open_ >= opts_.pool_size) {
        if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
            open_ >= opts_.pool_size) {
          return Status::Timeout(server_ + ": all " + std::to_string(opts_.pool_size) +
                                 " pooled connections stayed busy for " +
                                 std::to_string(opts_.pool_wait_timeout.count()) + " ms");
        }
      }
      if (!idle_.empty()) {
        conn = std::move(idle_.back());
        idle_.pop_back();
      } else {
        ++open_;
      }
    }
    if (conn != nullptr) {
      if (!LooksDead(conn->ctx.get())) return Lease(this, std::move(conn));
      conn.reset();
      discarded_.fetch_add(1, std::memory_order_relaxed);
    }
    Result<std::unique_ptr<Connection>> fresh = Connect();
    if (!fresh.ok()) {
      connect_failures_.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard<std::mutex> lock(mu_);
      --open_;
      cv_.notify_one();
      return fresh.status();
    }
    connects_.fetch_add(1, std::memory_order_relaxed);
    return Lease(this, std::move(fresh).value());
  }

  void CloseIdle() {
    std::vector<std::unique_ptr<Connection>> closing;
    {
      std::lock_guard<std::mutex> lock(mu_);
      closing.swap(idle_);
      open_ -= closing.size();
      cv_.notify_all();
    }
  }

  void FillStats(RedisBackendStats* s) const {
    s->connects = connects_.load(std::memory_order_relaxed);
    s->connect_failures = connect_failures_.load(std::memory_order_relaxed);
    s->discarded = discarded_.load(std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(mu_);
    s->open = open_;
    s->idle = idle_.size();
  }

  const std::string& server() const { return server_; }
  const RedisEndpoint& endpoint() const { return ep_; }

 private:
  void Return(std::unique_ptr<Connection> conn, bool broken) {
    if (broken || conn->ctx->err != 0) {
      discarded_.fetch_add(1, std::memory_order_relaxed);
      conn.reset();
      std::lock_guard<std::mutex> lock(mu_);
      --open_;
      cv_.notify_one();
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(std::move(conn));
    cv_.notify_one();
  }

  // Runs one setup command (AUTH, SELECT) on a fresh connection.
  Status Setup(redisContext* c, const Command& cmd, std::string_view what) {
    std::string& wire = WireBuffer();
    EncodeCommand(cmd, &wire);
    STORMKV_RETURN_IF_ERROR(SendAll(server_, c, wire, what));
    ReplyPtr r;
    STORMKV_RETURN_IF_ERROR(ReadReply(server_, c, &r, what));
    if (r->type == REDIS_REPLY_ERROR) return MapRedisError(server_, 0, {}, 0, r.get(), what);
    return Status::Ok();
  }

  Result<std::unique_ptr<Connection>> Connect() {
    timeval connect_tv = ToTimeval(opts_.connect_timeout);
    ContextPtr c(ep_.kind == RedisEndpoint::Kind::kUnix
                     ? redisConnectUnixWithTimeout(ep_.path.c_str(), connect_tv)
                     : redisConnectWithTimeout(ep_.host.c_str(), ep_.port, connect_tv));
    int saved = errno;
    if (c == nullptr || c->err != 0) return ContextError(server_, c.get(), saved, "connect");
    if (redisSetTimeout(c.get(), connect_tv) != REDIS_OK) {
      return ContextError(server_, c.get(), errno, "connect");
    }
    if (!ep_.password.empty()) {
      Command auth = ep_.user.empty() ? Command{"AUTH", ep_.password}
                                      : Command{"AUTH", ep_.user, ep_.password};
      STORMKV_RETURN_IF_ERROR(Setup(c.get(), auth, "AUTH failed"));
    }
    if (ep_.db != 0) {
      STORMKV_RETURN_IF_ERROR(Setup(c.get(), {"SELECT", std::to_string(ep_.db)}, "SELECT failed"));
    }
    if (redisSetTimeout(c.get(), ToTimeval(opts_.command_timeout)) != REDIS_OK) {
      return ContextError(server_, c.get(), errno, "connect");
    }
    auto conn = std::make_unique<Connection>();
    conn->ctx = std::move(c);
    return conn;
  }

  const RedisEndpoint ep_;
  const RedisOptions opts_;
  const std::string server_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_
  std::size_t open_ = 0;                           // guarded by mu_
  std::atomic<int64_t> connects_{0};
  std::atomic<int64_t> connect_failures_{0};
  std::atomic<int64_t> discarded_{0};
};

class RedisBackendImpl final : public RedisBackend {
 public:
  RedisBackendImpl(RedisEndpoint ep, RedisOptions opts) : pool_(std::move(ep), std::move(opts)) {}

  // Connects one pooled connection and PINGs through it.
  Status Open() {
    Result<Reply> r = Run({"PING"});
    if (r.ok() || r.status().message().rfind(pool_.server(), 0) == 0) return r.status();
    return r.status().WithContext(pool_.server() + ": PING failed");
  }

  Result<Reply> Run(const Command& argv) override {
    if (argv.empty()) return Status::InvalidArgument("ERR empty command");
    Result<ConnectionPool::Lease> lease = pool_.Checkout();
    if (!lease.ok()) return lease.status();
    return Execute(*lease, argv);
  }

  std::vector<Result<Reply>> RunBatch(const std::vector<Command>& cmds) override {
    std::vector<Result<Reply>> out;
    if (cmds.empty()) return out;
    out.reserve(cmds.size());
    Result<ConnectionPool::Lease> lease = pool_.Checkout();
    if (!lease.ok()) {
      for (size_t i = 0; i < cmds.size(); ++i) out.push_back(lease.status());
      return out;
    }
    redisContext* c = lease->ctx();
    std::string& wire = WireBuffer();
    for (const Command& cmd : cmds) {
      if (!cmd.empty()) EncodeCommand(cmd, &wire);
    }
    // After a failed send, replies the server wrote before the connection broke may still be
    // readable (it executes what it received); after a send timeout, do not wait again.
    Status sent = SendAll(pool_.server(), c, wire);
    Status transport = sent.ok() || sent.IsUnavailable() ? Status::Ok() : sent;
    for (const Command& cmd : cmds) {
      if (cmd.empty()) {
        out.push_back(Status::InvalidArgument("ERR empty command"));
        continue;
      }
      ReplyPtr r;
      if (transport.ok()) {
        transport = ReadReply(pool_.server(), c, &r);
        if (!transport.ok() && !sent.ok()) transport = sent;
      }
      if (!transport.ok()) {
        out.push_back(transport);
        continue;
      }
      out.push_back(TopLevel(pool_.server(), r.get()));
    }
    if (!transport.ok() || !sent.ok()) lease->MarkBroken();
    return out;
  }

  Result<Reply> Eval(const Script& script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args) override {
    Result<ConnectionPool::Lease> lease = pool_.Checkout();
    if (!lease.ok()) return lease.status();
    if (!IsLoaded(script.sha1())) STORMKV_RETURN_IF_ERROR(Load(*lease, script));
    Command cmd;
    cmd.reserve(3 + keys.size() + args.size());
    // A read-only script runs as one on Redis too (the memory store refuses its writes).
    cmd.push_back(script.read_only() ? "EVALSHA_RO" : "EVALSHA");
    cmd.push_back(script.sha1());
    cmd.push_back(std::to_string(keys.size()));
    cmd.insert(cmd.end(), keys.begin(), keys.end());
    cmd.insert(cmd.end(), args.begin(), args.end());
    Result<Reply> r = Execute(*lease, cmd);
    if (r.ok() || !IsNoScript(r.status())) return r;
    noscript_retries_.fetch_add(1, std::memory_order_relaxed);
    Forget(script.sha1());
    STORMKV_RETURN_IF_ERROR(Load(*lease, script));
    return Execute(*lease, cmd);
  }

  std::string Describe() const override { return pool_.server(); }

  void CloseIdleConnections() override { pool_.CloseIdle(); }

  RedisBackendStats Stats() const override {
    RedisBackendStats s;
    pool_.FillStats(&s);
    s.script_loads = script_loads_.load(std::memory_order_relaxed);
    s.noscript_retries = noscript_retries_.load(std::memory_order_relaxed);
    return s;
  }

  const RedisEndpoint& endpoint() const override { return pool_.endpoint(); }

 private:
  Result<Reply> Execute(ConnectionPool::Lease& lease, const Command& argv) {
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

  static bool IsNoScript(const Status& s) { return s.message().rfind("NOSCRIPT", 0) == 0; }

  bool IsLoaded(const std::string& sha) const {
    std::lock_guard<std::mutex> lock(scripts_mu_);
    return loaded_.count(sha) != 0;
  }
  void Forget(const std::string& sha) {
    std::lock_guard<std::mutex> lock(scripts_mu_);
    loaded_.erase(sha);
  }

  Status Load(ConnectionPool::Lease& lease, const Script& script) {
    script_loads_.fetch_add(1, std::memory_order_relaxed);
    Result<Reply> r = Execute(lease, {"SCRIPT", "LOAD", script.lua()});
    if (!r.ok()) return r.status().WithContext("SCRIPT LOAD of " + script.name());
    if (r->str() != script.sha1()) {
      return Status::Internal(pool_.server() + ": SCRIPT LOAD of " + script.name() + " returned " +
                              r->ToString() + ", expected " + script.sha1());
    }
    std::lock_guard<std::mutex> lock(scripts_mu_);
    loaded_.insert(script.sha1());
    return Status::Ok();
  }

  ConnectionPool pool_;
  mutable std::mutex scripts_mu_;
  std::unordered_set<std::string> loaded_;  // guarded by scripts_mu_: SHA1s loaded on the server
  std::atomic<int64_t> script_loads_{0};
  std::atomic<int64_t> noscript_retries_{0};
};

}  // namespace

Result<std::unique_ptr<KvBackend>> NewRedisBackend(const RedisOptions& options) {
  Result<RedisEndpoint> ep = ParseRedisUrl(options.url);
  if (!ep.ok()) return ep.status();
  if (options.connect_timeout.count() <= 0) {
    return Status::InvalidArgument("RedisOptions.connect_timeout must be > 0");
  }
  if (options.command_timeout.count() < 0) {
    return Status::InvalidArgument("RedisOptions.command_timeout must be >= 0 (0 = no timeout)");
  }
  if (options.pool_size == 0) return Status::InvalidArgument("RedisOptions.pool_size must be > 0");
  auto backend = std::make_unique<RedisBackendImpl>(std::move(ep).value(), options);
  if (options.connect_eagerly) STORMKV_RETURN_IF_ERROR(backend->Open());
  return std::unique_ptr<KvBackend>(std::move(backend));
}

RedisBackend* AsRedisBackend(KvBackend* kv) { return dynamic_cast<RedisBackend*>(kv); }

}  // namespace stormkv
