#include "stormkv/forwarding_backend.h"

#include <algorithm>

namespace stormkv {

void FaultInjectionBackend::FailNext(int64_t n, Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_next_ = n;
  status_ = std::move(status);
}

void FaultInjectionBackend::FailAll(Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_all_ = true;
  status_ = std::move(status);
}

void FaultInjectionBackend::Heal() {
  std::lock_guard<std::mutex> lock(mu_);
  fail_all_ = false;
  fail_next_ = 0;
  batch_cut_ = false;
}

void FaultInjectionBackend::FailBatchFrom(std::size_t first_failing, Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  batch_cut_ = true;
  batch_from_ = first_failing;
  batch_status_ = std::move(status);
}

Status FaultInjectionBackend::Take() {
  std::lock_guard<std::mutex> lock(mu_);
  if (fail_all_) return status_;
  if (fail_next_ > 0) {
    --fail_next_;
    return status_;
  }
  return Status::Ok();
}

Result<Reply> FaultInjectionBackend::Run(const Command& argv) {
  Status s = Take();
  if (!s.ok()) {
    ++injected_;
    return s;
  }
  ++passed_;
  return ForwardingBackend::Run(argv);
}

Result<Reply> FaultInjectionBackend::Eval(const Script& script, const std::vector<std::string>& keys,
                                          const std::vector<std::string>& args) {
  Status s = Take();
  if (!s.ok()) {
    ++injected_;
    return s;
  }
  ++passed_;
  return ForwardingBackend::Eval(script, keys, args);
}

std::vector<Result<Reply>> FaultInjectionBackend::RunBatch(const std::vector<Command>& cmds) {
  std::size_t cut = cmds.size();
  Status cut_status;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (batch_cut_) {
      cut = std::min(batch_from_, cmds.size());
      cut_status = batch_status_;
      batch_cut_ = false;
    }
  }
  // Commands before the cut go through in one pipeline unless a per-operation fault hits.
  std::vector<Command> forwarded;
  std::vector<Result<Reply>> out;
  out.reserve(cmds.size());
  std::vector<int> slot(cmds.size(), -1);
  std::vector<Status> pre(cmds.size());
  for (std::size_t i = 0; i < cut; ++i) {
    Status s = Take();
    if (!s.ok()) {
      pre[i] = s;
      ++injected_;
      continue;
    }
    slot[i] = static_cast<int>(forwarded.size());
    forwarded.push_back(cmds[i]);
  }
  std::vector<Result<Reply>> got;
  if (!forwarded.empty()) got = ForwardingBackend::RunBatch(forwarded);
  passed_ += static_cast<int64_t>(forwarded.size());
  for (std::size_t i = 0; i < cmds.size(); ++i) {
    if (i >= cut) {
      ++injected_;
      out.emplace_back(cut_status);
    } else if (slot[i] < 0) {
      out.emplace_back(pre[i]);
    } else {
      out.push_back(std::move(got[static_cast<std::size_t>(slot[i])]));
    }
  }
  return out;
}

}  // namespace stormkv
