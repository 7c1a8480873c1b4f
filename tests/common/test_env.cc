#include "common/test_env.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

namespace stormkv {

std::string EnvOr(const char* name, std::string_view fallback) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string(fallback);
}

bool RedisRequired() { return EnvOr("STORMKV_REQUIRE_REDIS") == "1"; }

ServerCheck CheckServerVariable(const char* variable) {
  ServerCheck c;
  c.present = !EnvOr(variable).empty();
  if (c.present) return c;
  if (RedisRequired()) {
    c.failure = std::string("STORMKV_REQUIRE_REDIS=1 but ") + variable +
                " is not set: the server was promised and is not there";
  } else {
    c.skip_reason = std::string(variable) + " is not set (tools/test.sh starts the server and sets it)";
  }
  return c;
}

int ClosedLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 1;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  if (fd >= 0) ::close(fd);
  return port;
}

}  // namespace stormkv
