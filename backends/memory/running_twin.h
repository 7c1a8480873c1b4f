// backends/memory/running_twin.h — which store's script runs on this thread.
//
// A native twin runs under its store's lock and must reach the store through its ScriptContext.
// A twin that calls the backend itself (kv.Run, kv.Get, kv.Eval...) would lock that store again
// and wait for itself forever. The embedded stores mark the thread while a twin runs and refuse
// such a call with a clear Status instead (CheckNotInsideOwnScript). Private to backends/memory.
#ifndef STORMKV_BACKENDS_MEMORY_RUNNING_TWIN_H_
#define STORMKV_BACKENDS_MEMORY_RUNNING_TWIN_H_

#include <string>
#include <string_view>

#include "stormkv/status.h"

namespace stormkv::memstore {

// Marks this thread as running `script` on the store identified by `store` (for the lifetime of
// the object; nests, e.g. a twin that calls another store's Eval). `store` must outlive it.
class RunningTwin {
 public:
  RunningTwin(std::string_view store, std::string_view script)
      : store_(store), script_(script), outer_(top_) {
    top_ = this;
  }
  ~RunningTwin() { top_ = outer_; }
  RunningTwin(const RunningTwin&) = delete;
  RunningTwin& operator=(const RunningTwin&) = delete;

  // Ok, or kInternal naming the script when this thread is inside a twin of `store` (the
  // caller, about to take the store's lock, would deadlock). `what` names the call.
  static Status CheckNotInsideOwnScript(std::string_view store, std::string_view what) {
    for (const RunningTwin* t = top_; t != nullptr; t = t->outer_) {
      if (t->store_ == store) {
        return Status::Internal(
            "script '" + std::string(t->script_) + "' called " + std::string(what) + " on " +
            std::string(store) +
            ", the store that runs it: a native twin must use its ScriptContext (ctx.Call), "
            "not the backend, which would wait forever for the lock the script holds");
      }
    }
    return Status::Ok();
  }

 private:
  std::string_view store_;
  std::string_view script_;
  const RunningTwin* outer_;
  static inline thread_local const RunningTwin* top_ = nullptr;
};

}  // namespace stormkv::memstore

#endif  // STORMKV_BACKENDS_MEMORY_RUNNING_TWIN_H_
