// tools/cli/progress.h — a progress bar on stderr for long runs.
#ifndef STORMKV_TOOLS_CLI_PROGRESS_H_
#define STORMKV_TOOLS_CLI_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <string>

namespace stormkv::cli {

// Draws "label [#######.......]  45%  12,345/27,000" on one stderr line, redrawn in place at most
// ten times a second. Disabled (every call a no-op) when stderr is not a terminal or when asked,
// so piped and captured output never contains control characters.
// Thread-compatible: one thread drives a bar.
class ProgressBar {
 public:
  // `total` > 0 units of work. `enabled` = false forces the bar off.
  ProgressBar(std::string label, int64_t total, bool enabled = true);
  ~ProgressBar();  // Finish()

  // Records that `done` units (cumulative) are complete; redraws when due.
  void Update(int64_t done);
  // Clears the bar's line. Idempotent.
  void Finish();

  bool active() const { return active_; }

  // True when stderr is a terminal (isatty).
  static bool StderrIsTerminal();

 private:
  void Draw(int64_t done);

  std::string label_;
  int64_t total_;
  bool active_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace stormkv::cli

#endif  // STORMKV_TOOLS_CLI_PROGRESS_H_
