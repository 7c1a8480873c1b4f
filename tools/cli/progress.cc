#include "progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "units.h"

namespace stormkv::cli {

bool ProgressBar::StderrIsTerminal() { return ::isatty(STDERR_FILENO) == 1; }

ProgressBar::ProgressBar(std::string label, int64_t total, bool enabled)
    : label_(std::move(label)),
      total_(std::max<int64_t>(total, 1)),
      active_(enabled && StderrIsTerminal()) {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(int64_t done) {
  if (!active_) return;
  auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100) && done < total_) return;
  last_draw_ = now;
  Draw(done);
}

void ProgressBar::Draw(int64_t done) {
  constexpr int kWidth = 30;
  done = std::clamp<int64_t>(done, 0, total_);
  int filled = static_cast<int>(done * kWidth / total_);
  std::string bar(filled, '#');
  bar += std::string(kWidth - filled, '.');
  std::fprintf(stderr, "\r%s [%s] %3d%%  %s/%s\x1b[K", label_.c_str(), bar.c_str(),
               static_cast<int>(done * 100 / total_), FormatCount(done).c_str(),
               FormatCount(total_).c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::Finish() {
  if (!active_ || !drawn_) return;
  std::fprintf(stderr, "\r\x1b[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace stormkv::cli
