// tests/shm/shm_test_util.h — helpers for the shared-segment tests: unique names, a guard that
// removes a segment, forked children, pipes, INFO fields.
#ifndef STORMKV_TESTS_SHM_SHM_TEST_UTIL_H_
#define STORMKV_TESTS_SHM_SHM_TEST_UTIL_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "stormkv/kv_backend.h"
#include "stormkv/shm_backend.h"

namespace stormkv::shmtest {

// prefix + decimal i (built by append: GCC 12 warns falsely on "literal" + std::to_string).
inline std::string Key(std::string_view prefix, int64_t i) {
  std::string k(prefix);
  k.append(std::to_string(i));
  return k;
}

// "stormkv-shmtest-<pid>-<tag>-<n>": unique per process and call.
std::string UniqueName(std::string_view tag);

// Removes the segment at scope exit (ignoring "does not exist").
struct SegmentGuard {
  std::string name;
  ~SegmentGuard();
};

// Options to create `name` (kCreate, `size` bytes); the segment stays until removed.
ShmBackendOptions CreateOptions(const std::string& name, int64_t size = int64_t{64} << 20);
// Options to attach to `name`.
ShmBackendOptions AttachOptions(const std::string& name);

// Runs `fn` in a forked child and returns its exit status: fn's result, 99 when it threw,
// 128 + signal when it was killed. The child leaves with _exit (no destructors, no gtest).
int RunInChild(const std::function<int()>& fn);

// A forked child that keeps running while the test talks to it through pipes.
class Child {
 public:
  // Starts `fn` in a child; fn gets the write end of the child-to-parent pipe.
  explicit Child(const std::function<int(int to_parent)>& fn);
  ~Child();  // kills and reaps the child if still running
  pid_t pid() const { return pid_; }
  // Blocks until the child writes one byte (returns it), or -1 at EOF.
  int ReadByte();
  // SIGKILL + waitpid; returns the wait status.
  int Kill();
  // waitpid; returns the exit code (or 128 + signal).
  int Wait();

 private:
  pid_t pid_ = -1;
  int from_child_ = -1;
};

// Busy loops in forked children (they die with the test process too, PR_SET_PDEATHSIG), to run a
// timing-sensitive case with both cores busy; killed and reaped at scope exit, by pid.
class CpuLoad {
 public:
  explicit CpuLoad(int loops);
  ~CpuLoad();
  CpuLoad(const CpuLoad&) = delete;
  CpuLoad& operator=(const CpuLoad&) = delete;

 private:
  std::vector<pid_t> pids_;
};

// Runs `fn` on another thread and returns its result; when it does not return within `bound`
// (a survivor wedged on the segment), prints `what` and ends the test binary with exit code 3
// instead of hanging it.
template <class Fn>
auto WithinBoundedTime(std::string_view what, std::chrono::seconds bound, Fn fn) {
  auto done = std::async(std::launch::async, std::move(fn));
  if (done.wait_for(bound) != std::future_status::ready) {
    std::cerr << "FATAL: " << what << " did not return within " << bound.count()
              << " s (wedged)" << std::endl;
    std::_Exit(3);
  }
  return done.get();
}

// One field of INFO (all sections) as text; "" when absent.
std::string InfoField(KvBackend& kv, const std::string& field);

}  // namespace stormkv::shmtest

#endif  // STORMKV_TESTS_SHM_SHM_TEST_UTIL_H_
