// backends/redis/redis_pool.h — internal: a thread-safe pool of hiredis connections to one server.
//
// Checkout() hands out one connection (RAII Lease) for a whole round trip: an idle one when there
// is one (checked for a server-side close first), else a new one while fewer than pool_size are
// open, else it waits up to pool_wait_timeout (kTimeout). A connection marked broken (transport
// error, timeout: out of sync) is discarded when the lease ends, the others go back idle.
// Connecting: TCP or unix connect, AUTH (password, or user + password), SELECT when db != 0,
// each bounded by connect_timeout; then the socket timeouts become command_timeout.
#ifndef STORMKV_BACKENDS_REDIS_REDIS_POOL_H_
#define STORMKV_BACKENDS_REDIS_REDIS_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "redis_wire.h"
#include "stormkv/redis_backend.h"

namespace stormkv::redis_internal {

struct Connection {
  ContextPtr ctx;
};

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

  // `server` is how messages name the server (RedisEndpoint::Describe() for the plain backend).
  ConnectionPool(RedisEndpoint ep, RedisOptions opts, std::string server);

  // A connection, or the connect / AUTH / SELECT failure (nothing was sent for the caller), or
  // kTimeout when every connection stayed busy for pool_wait_timeout.
  Result<Lease> Checkout();
  // Closes every idle connection; those checked out are unaffected.
  void CloseIdle();
  // connects, connect_failures, discarded, open, idle.
  void FillStats(RedisBackendStats* s) const;

  const std::string& server() const { return server_; }
  const RedisEndpoint& endpoint() const { return ep_; }

 private:
  void Return(std::unique_ptr<Connection> conn, bool broken);
  Status Setup(redisContext* c, const Command& cmd, std::string_view what);
  Result<std::unique_ptr<Connection>> Connect();

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

}  // namespace stormkv::redis_internal

#endif  // STORMKV_BACKENDS_REDIS_REDIS_POOL_H_
