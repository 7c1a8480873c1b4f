#include "stormkv/redis_backend.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <atomic>
#include <cerrno>
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

// Blocks SIGPIPE for this thread while a hiredis call may write to a socket the server closed,
// and swallows the SIGPIPE that write raised (hiredis 0.14 writes without MSG_NOSIGNAL).
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~SigpipeGuard() {
    int saved = errno;
    if (!was_pending_) {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        timespec zero{0, 0};
        while (sigtimedwait(&pipe_, nullptr, &zero) == -1 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    errno = saved;
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
};

timeval ToTimeval(std::chrono::milliseconds d) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

bool IsTimeoutErrno(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == ETIMEDOUT || e == EINPROGRESS; }

// The one mapping from a hiredis failure or an error reply to a Status.
//  * `reply` of type error: the server's text, coded by StatusFromErrorReply (no prefix: callers
//    may compare it with what the memory backend says).
//  * otherwise the context's transport error, `saved_errno` being errno right after the failing
//    call: timeouts -> kTimeout; refused/reset/EOF/unresolvable -> kUnavailable; a protocol error
//    (the peer does not speak RESP) -> kServerError. The message starts with `server`.
Status MapRedisError(const std::string& server, const redisContext* ctx, int saved_errno,
                     const redisReply* reply, std::string_view during = {}) {
  if (reply != nullptr && reply->type == REDIS_REPLY_ERROR) {
    Status s = StatusFromErrorReply(std::string_view(reply->str, reply->len));
    if (during.empty()) return s;
    return s.WithContext(server + ": " + std::string(during));
  }
  std::string prefix = server + ": ";
  if (!during.empty()) prefix += std::string(during) + ": ";
  if (ctx == nullptr) return Status::Internal(prefix + "hiredis could not allocate a context");
  std::string text = ctx->errstr[0] != '\0' ? std::string(ctx->errstr) : "unknown hiredis error";
  switch (ctx->err) {
    case REDIS_ERR_IO: {
      bool timeout = IsTimeoutErrno(saved_errno) ||
                     text.find("timed out") != std::string::npos ||
                     text == std::strerror(EAGAIN);
      if (timeout) return Status::Timeout(prefix + "timed out (" + text + ")");
      return Status::Unavailable(prefix + text);
    }
    case REDIS_ERR_EOF:
      return Status::Unavailable(prefix + text);
    case REDIS_ERR_PROTOCOL:
      return Status::ServerError(prefix + "protocol error, is this a Redis server? " + text);
    case REDIS_ERR_OOM:
      return Status::Internal(prefix + "hiredis out of memory");
    case 0:
      return Status::Internal(prefix + "hiredis returned no reply and no error");
    default:
      return Status::Unavailable(prefix + text);
  }
}

Result<Reply> ConvertReply(const std::string& server, const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_STRING: return Reply::Bulk(std::string(r->str, r->len));
    case REDIS_REPLY_STATUS: return Reply::StatusText(std::string(r->str, r->len));
    case REDIS_REPLY_INTEGER: return Reply::Integer(r->integer);
    case REDIS_REPLY_NIL: return Reply::Nil();
    case REDIS_REPLY_ERROR: return Reply::Error(std::string(r->str, r->len));
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
  if (r->type == REDIS_REPLY_ERROR) return MapRedisError(server, nullptr, 0, r);
  return ConvertReply(server, r);
}

struct ArgvView {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  explicit ArgvView(const Command& cmd) {
    argv.reserve(cmd.size());
    lens.reserve(cmd.size());
    for (const std::string& a : cmd) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
  }
  int argc() const { return static_cast<int>(argv.size()); }
};

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

class RedisBackendImpl;

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
    ArgvView v(cmd);
    ReplyPtr r(static_cast<redisReply*>(redisCommandArgv(c, v.argc(), v.argv.data(), v.lens.data())));
    int saved = errno;
    if (r == nullptr) return MapRedisError(server_, c, saved, nullptr, what);
    if (r->type == REDIS_REPLY_ERROR) return MapRedisError(server_, c, 0, r.get(), what);
    return Status::Ok();
  }

  Result<std::unique_ptr<Connection>> Connect() {
    timeval connect_tv = ToTimeval(opts_.connect_timeout);
    ContextPtr c(ep_.kind == RedisEndpoint::Kind::kUnix
                     ? redisConnectUnixWithTimeout(ep_.path.c_str(), connect_tv)
                     : redisConnectWithTimeout(ep_.host.c_str(), ep_.port, connect_tv));
    int saved = errno;
    if (c == nullptr || c->err != 0) return MapRedisError(server_, c.get(), saved, nullptr, "connect");
    SigpipeGuard guard;
    if (redisSetTimeout(c.get(), connect_tv) != REDIS_OK) {
      return MapRedisError(server_, c.get(), errno, nullptr, "connect");
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
      return MapRedisError(server_, c.get(), errno, nullptr, "connect");
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
    std::vector<std::optional<Result<Reply>>> slots(cmds.size());
    std::vector<size_t> sent;
    sent.reserve(cmds.size());
    redisContext* c = lease->ctx();
    SigpipeGuard guard;
    for (size_t i = 0; i < cmds.size(); ++i) {
      if (cmds[i].empty()) {
        slots[i].emplace(Status::InvalidArgument("ERR empty command"));
        continue;
      }
      ArgvView v(cmds[i]);
      if (redisAppendCommandArgv(c, v.argc(), v.argv.data(), v.lens.data()) != REDIS_OK) {
        slots[i].emplace(MapRedisError(pool_.server(), c, errno, nullptr));
        continue;
      }
      sent.push_back(i);
    }
    std::optional<Status> transport;
    for (size_t i : sent) {
      if (transport) {
        slots[i].emplace(*transport);
        continue;
      }
      void* raw = nullptr;
      if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) {
        transport = MapRedisError(pool_.server(), c, errno, nullptr);
        lease->MarkBroken();
        slots[i].emplace(*transport);
        continue;
      }
      ReplyPtr r(static_cast<redisReply*>(raw));
      slots[i].emplace(TopLevel(pool_.server(), r.get()));
    }
    for (auto& slot : slots) out.push_back(std::move(*slot));
    return out;
  }

  Result<Reply> Eval(const Script& script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args) override {
    Result<ConnectionPool::Lease> lease = pool_.Checkout();
    if (!lease.ok()) return lease.status();
    if (!IsLoaded(script.sha1())) STORMKV_RETURN_IF_ERROR(Load(*lease, script));
    Command cmd;
    cmd.reserve(3 + keys.size() + args.size());
    cmd.push_back("EVALSHA");
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
    ArgvView v(argv);
    redisContext* c = lease.ctx();
    ReplyPtr r;
    int saved;
    {
      SigpipeGuard guard;
      r.reset(static_cast<redisReply*>(redisCommandArgv(c, v.argc(), v.argv.data(), v.lens.data())));
      saved = errno;
    }
    if (r == nullptr) {
      lease.MarkBroken();
      return MapRedisError(pool_.server(), c, saved, nullptr);
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
      return Status::Internal(pool_.server() + ": SCRIPT LOAD of " + script.name() +
                              " returned " + r->ToString() + ", expected " + script.sha1());
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
