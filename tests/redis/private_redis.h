// tests/redis/private_redis.h — a throw-away redis-server owned by one test (fault tests).
//
// Started from PATH with posix_spawnp on a loopback port from 23113 up (or
// STORMKV_PRIVATE_REDIS_PORT), in its own temporary directory, without persistence; stopped by
// its pid (SIGTERM, then SIGKILL) in Stop() and in the destructor. A missing redis-server is an
// error, so tests that need one fail instead of skipping.
#ifndef STORMKV_TESTS_REDIS_PRIVATE_REDIS_H_
#define STORMKV_TESTS_REDIS_PRIVATE_REDIS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "stormkv/status.h"

namespace stormkv::testing {

class PrivateRedis {
 public:
  // Starts a server with the harness's settings plus `extra_args` ("--requirepass", "pw", ...;
  // "{dir}" in an argument stands for dir()) and waits (bounded, 10 s) until it answers PING.
  static Result<std::unique_ptr<PrivateRedis>> Start(std::vector<std::string> extra_args = {});
  ~PrivateRedis();

  // Stops the server (it may be started again with Restart()).
  Status Stop();
  // SIGKILL (a crash: no shutdown, no final save), reaped before returning.
  Status Kill();
  // Stops (if running) and starts again on the same port, same arguments, empty dataset.
  Status Restart();

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  // "redis://127.0.0.1:<port>/<db>".
  std::string Url(int db = 0) const;

 private:
  PrivateRedis() = default;
  Status Launch();

  int port_ = 0;
  pid_t pid_ = -1;
  std::string dir_;
  std::vector<std::string> extra_args_;
};

// A loopback port from `first` up on which nothing listens right now, or 0.
int FindFreeLoopbackPort(int first);

}  // namespace stormkv::testing

#endif  // STORMKV_TESTS_REDIS_PRIVATE_REDIS_H_
