#include "redis/private_redis.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>


namespace stormkv::testing {
namespace {

bool Pings(int port) {
  timeval tv{0, 200000};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  bool ok = false;
  if (c != nullptr && c->err == 0) {
    redisSetTimeout(c, tv);
    auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
    // A password-protected server answers NOAUTH: it is up as well.
    ok = r != nullptr &&
         (r->type == REDIS_REPLY_STATUS ||
          (r->type == REDIS_REPLY_ERROR && std::string(r->str).rfind("NOAUTH", 0) == 0));
    if (r != nullptr) freeReplyObject(r);
  }
  if (c != nullptr) redisFree(c);
  return ok;
}

bool InPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (!dir.empty() && access((dir + "/" + name).c_str(), X_OK) == 0) return true;
  }
  return false;
}

}  // namespace

int FindFreeLoopbackPort(int first) {
  for (int port = first; port < first + 50; ++port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    if (free) return port;
  }
  return 0;
}

Result<std::unique_ptr<PrivateRedis>> PrivateRedis::Start(std::vector<std::string> extra_args) {
  if (!InPath("redis-server")) {
    return Status::Unavailable(
        "redis-server is not in PATH: install redis-server (Debian package)");
  }
  std::unique_ptr<PrivateRedis> r(new PrivateRedis());
  const char* env_port = std::getenv("STORMKV_PRIVATE_REDIS_PORT");
  int first = env_port != nullptr ? std::atoi(env_port) : 23113;
  // A cluster node also listens on its bus port, port + 10000: both must be free.
  bool cluster = std::find(extra_args.begin(), extra_args.end(), "--cluster-enabled") !=
                 extra_args.end();
  r->port_ = FindFreeLoopbackPort(first);
  while (cluster && r->port_ != 0 && FindFreeLoopbackPort(r->port_ + 10000) != r->port_ + 10000) {
    r->port_ = FindFreeLoopbackPort(r->port_ + 1);
  }
  if (r->port_ == 0) return Status::Unavailable("no free loopback port from 23113 up");
  char tmpl[] = "/tmp/stormkv-private-redis.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return Status::Internal("mkdtemp failed");
  r->dir_ = tmpl;
  r->extra_args_ = std::move(extra_args);
  STORMKV_RETURN_IF_ERROR(r->Launch());
  return r;
}

Status PrivateRedis::Launch() {
  std::vector<std::string> args = {"redis-server",
                                   "--port",
                                   std::to_string(port_),
                                   "--bind",
                                   "127.0.0.1",
                                   "--save",
                                   "",
                                   "--appendonly",
                                   "no",
                                   "--daemonize",
                                   "no",
                                   "--dir",
                                   dir_,
                                   "--logfile",
                                   dir_ + "/redis.log",
                                   "--enable-debug-command",
                                   "local"};
  for (std::string a : extra_args_) {
    for (size_t at = a.find("{dir}"); at != std::string::npos; at = a.find("{dir}"))
      a.replace(at, 5, dir_);
    args.push_back(a);
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // fork + exec (not posix_spawn) so that the child can ask to be killed with this process:
  // a test that crashes never leaves a server behind. Its stdout/stderr go to /dev/null (the log
  // is in its dir), so it never holds the test's output pipe open either (ctest waits on it).
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return Status::Unavailable("cannot start redis-server: " + std::string(strerror(errno)));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);  // the parent died before prctl
    const int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) {
      dup2(devnull, STDOUT_FILENO);
      dup2(devnull, STDERR_FILENO);
    }
    execvp("redis-server", argv.data());
    _exit(127);
  }
  pid_ = pid;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (Pings(port_)) return Status::Ok();
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      std::ifstream log(dir_ + "/redis.log");
      std::stringstream text;
      text << log.rdbuf();
      return Status::Unavailable("redis-server on port " + std::to_string(port_) +
                                 " exited at start: " + text.str());
    }
    // Waiting for a real process to come up; the only wait of these tests.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Stop().ok();
  return Status::Timeout("redis-server on port " + std::to_string(port_) +
                         " did not answer PING in 10 s");
}

Status PrivateRedis::Stop() {
  if (pid_ <= 0) return Status::Ok();
  kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int wstatus = 0;
  while (waitpid(pid_, &wstatus, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &wstatus, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_ = -1;
  return Status::Ok();
}

Status PrivateRedis::Kill() {
  if (pid_ <= 0) return Status::Ok();
  kill(pid_, SIGKILL);
  int wstatus = 0;
  waitpid(pid_, &wstatus, 0);
  pid_ = -1;
  return Status::Ok();
}

Status PrivateRedis::Restart() {
  STORMKV_RETURN_IF_ERROR(Stop());
  return Launch();
}

std::string PrivateRedis::Url(int db) const {
  return "redis://127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db);
}

PrivateRedis::~PrivateRedis() {
  Stop().ok();
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

}  // namespace stormkv::testing
