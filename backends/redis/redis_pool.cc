#include "redis_pool.h"

#include <cerrno>
#include <utility>

namespace stormkv::redis_internal {

ConnectionPool::ConnectionPool(RedisEndpoint ep, RedisOptions opts, std::string server)
    : ep_(std::move(ep)), opts_(std::move(opts)), server_(std::move(server)) {}

Result<ConnectionPool::Lease> ConnectionPool::Checkout() {
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

void ConnectionPool::CloseIdle() {
  std::vector<std::unique_ptr<Connection>> closing;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing.swap(idle_);
    open_ -= closing.size();
    cv_.notify_all();
  }
}

void ConnectionPool::FillStats(RedisBackendStats* s) const {
  s->connects = connects_.load(std::memory_order_relaxed);
  s->connect_failures = connect_failures_.load(std::memory_order_relaxed);
  s->discarded = discarded_.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu_);
  s->open = open_;
  s->idle = idle_.size();
}

void ConnectionPool::Return(std::unique_ptr<Connection> conn, bool broken) {
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
Status ConnectionPool::Setup(redisContext* c, const Command& cmd, std::string_view what) {
  std::string& wire = WireBuffer();
  EncodeCommand(cmd, &wire);
  STORMKV_RETURN_IF_ERROR(SendAll(server_, c, wire, what));
  ReplyPtr r;
  STORMKV_RETURN_IF_ERROR(ReadReply(server_, c, &r, what));
  if (r->type == REDIS_REPLY_ERROR) return MapRedisError(server_, 0, {}, 0, r.get(), what);
  return Status::Ok();
}

Result<std::unique_ptr<Connection>> ConnectionPool::Connect() {
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

}  // namespace stormkv::redis_internal
