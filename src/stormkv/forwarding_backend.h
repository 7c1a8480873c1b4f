// stormkv/forwarding_backend.h — KvBackend wrappers: forward every call to a target (leveldb's
// EnvWrapper), count calls, or inject faults for tests.
#ifndef STORMKV_FORWARDING_BACKEND_H_
#define STORMKV_FORWARDING_BACKEND_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "stormkv/kv_backend.h"

namespace stormkv {

// Forwards every call to `target`. Subclass and override what you want to intercept.
// Thread-safe if the target is. Does not own the target unless constructed with a unique_ptr.
class ForwardingBackend : public KvBackend {
 public:
  explicit ForwardingBackend(KvBackend* target) : target_(target) {}
  explicit ForwardingBackend(std::unique_ptr<KvBackend> target)
      : owned_(std::move(target)), target_(owned_.get()) {}

  KvBackend* target() const { return target_; }

  Result<Reply> Run(const Command& argv) override { return target_->Run(argv); }
  std::vector<Result<Reply>> RunBatch(const std::vector<Command>& cmds) override {
    return target_->RunBatch(cmds);
  }
  Result<Reply> Eval(const Script& script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args) override {
    return target_->Eval(script, keys, args);
  }
  std::string Describe() const override { return target_->Describe(); }

 private:
  std::unique_ptr<KvBackend> owned_;
  KvBackend* target_;
};

// Injects failures in front of a target. Each call (Run, Eval, or one command of a batch)
// consumes one "operation". Configure with the Fail* methods; all are thread-safe.
//
//   FaultInjectionBackend faulty(real.get());
//   faulty.FailNext(2, Status::Unavailable("injected: connection reset"));
//   // the next two operations return that Status without reaching the target
class FaultInjectionBackend : public ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;

  // The next `n` operations fail with `status` without reaching the target.
  void FailNext(int64_t n, Status status);
  // Every operation fails with `status` until Heal().
  void FailAll(Status status);
  // Operations pass through again; pending FailNext counts are dropped.
  void Heal();
  // In the next batch, commands at index >= `first_failing` fail with `status` (those before it
  // reach the target): a pipeline cut half-way.
  void FailBatchFrom(std::size_t first_failing, Status status);
  // Operations that reached the target / that were failed by injection.
  int64_t passed() const { return passed_.load(); }
  int64_t injected() const { return injected_.load(); }

  Result<Reply> Run(const Command& argv) override;
  std::vector<Result<Reply>> RunBatch(const std::vector<Command>& cmds) override;
  Result<Reply> Eval(const Script& script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args) override;

 private:
  // Returns the injected Status for one operation, or ok to pass it through.
  Status Take();

  mutable std::mutex mu_;
  int64_t fail_next_ = 0;       // guarded by mu_
  bool fail_all_ = false;       // guarded by mu_
  Status status_;               // guarded by mu_
  bool batch_cut_ = false;      // guarded by mu_
  std::size_t batch_from_ = 0;  // guarded by mu_
  Status batch_status_;         // guarded by mu_
  std::atomic<int64_t> passed_{0};
  std::atomic<int64_t> injected_{0};
};

}  // namespace stormkv

#endif  // STORMKV_FORWARDING_BACKEND_H_
