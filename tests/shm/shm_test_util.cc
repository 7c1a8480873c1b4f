#include "shm/shm_test_util.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

namespace stormkv::shmtest {

std::string UniqueName(std::string_view tag) {
  static std::atomic<int> counter{0};
  return "stormkv-shmtest-" + std::to_string(::getpid()) + "-" + std::string(tag) + "-" +
         std::to_string(counter++);
}

SegmentGuard::~SegmentGuard() { (void)RemoveShmSegment(name); }

CpuLoad::CpuLoad(int loops) {
  for (int i = 0; i < loops; ++i) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      volatile uint64_t spin = 0;
      for (;;) spin = spin + 1;
    }
    if (pid > 0) pids_.push_back(pid);
  }
}

CpuLoad::~CpuLoad() {
  for (pid_t pid : pids_) ::kill(pid, SIGKILL);
  for (pid_t pid : pids_) ::waitpid(pid, nullptr, 0);
}

ShmBackendOptions CreateOptions(const std::string& name, int64_t size) {
  ShmBackendOptions o;
  o.name = name;
  o.open = ShmBackendOptions::OpenMode::kCreate;
  o.size = size;
  return o;
}

ShmBackendOptions AttachOptions(const std::string& name) {
  ShmBackendOptions o;
  o.name = name;
  o.open = ShmBackendOptions::OpenMode::kAttach;
  return o;
}

namespace {
int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}
}  // namespace

int RunInChild(const std::function<int()>& fn) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int rc = 99;
    try {
      rc = fn();
    } catch (...) {
      rc = 99;
    }
    ::_exit(rc);
  }
  if (pid < 0) return -1;
  int status = 0;
  ::waitpid(pid, &status, 0);
  return DecodeStatus(status);
}

Child::Child(const std::function<int(int)>& fn) {
  int fds[2];
  if (::pipe(fds) != 0) std::abort();
  pid_ = ::fork();
  if (pid_ == 0) {
    ::close(fds[0]);
    int rc = 99;
    try {
      rc = fn(fds[1]);
    } catch (...) {
      rc = 99;
    }
    ::_exit(rc);
  }
  ::close(fds[1]);
  from_child_ = fds[0];
}

Child::~Child() {
  if (pid_ > 0) Kill();
  if (from_child_ >= 0) ::close(from_child_);
}

int Child::ReadByte() {
  unsigned char c;
  for (;;) {
    ssize_t n = ::read(from_child_, &c, 1);
    if (n == 1) return c;
    if (n == 0) return -1;
    if (errno != EINTR) return -1;
  }
}

int Child::Kill() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGKILL);
  return Wait();
}

int Child::Wait() {
  if (pid_ <= 0) return -1;
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return DecodeStatus(status);
}

std::string InfoField(KvBackend& kv, const std::string& field) {
  Result<std::map<std::string, std::string>> info = kv.Info("everything");
  if (!info.ok()) return "";
  auto it = info->find(field);
  return it == info->end() ? "" : it->second;
}

}  // namespace stormkv::shmtest
