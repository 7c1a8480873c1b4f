// tools/cli/exit_codes.h — the stormkv CLI's process exit codes, and how a Status maps to one.
#ifndef STORMKV_TOOLS_CLI_EXIT_CODES_H_
#define STORMKV_TOOLS_CLI_EXIT_CODES_H_

#include "stormkv/status.h"

namespace stormkv::cli {

enum ExitCode : int {
  kExitOk = 0,           // success: the workload fits, triage found no error
  kExitFailed = 1,       // over budget, an error finding, or a runtime error
  kExitUsage = 2,        // bad command line, bad URL, unsupported backend
  kExitUnreachable = 3,  // the backend could not be reached (refused, timeout, LOADING...)
};

// kInvalidArgument -> kExitUsage; kUnavailable and kTimeout -> kExitUnreachable; ok -> kExitOk;
// everything else -> kExitFailed.
inline int ExitCodeFor(const Status& s) {
  if (s.ok()) return kExitOk;
  if (s.IsInvalidArgument()) return kExitUsage;
  if (s.IsUnavailable() || s.IsTimeout()) return kExitUnreachable;
  return kExitFailed;
}

}  // namespace stormkv::cli

#endif  // STORMKV_TOOLS_CLI_EXIT_CODES_H_
