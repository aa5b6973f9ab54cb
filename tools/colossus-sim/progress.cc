#include "colossus-sim/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace colossus::sim_tool {

namespace {
constexpr auto kRedraw = std::chrono::milliseconds(100);
constexpr int kWidth = 30;  // '#' cells of a full bar
}  // namespace

Progress::Progress(bool wanted) : enabled_(wanted && isatty(STDERR_FILENO) == 1) {}

Progress::~Progress() { clear(); }

std::function<void(double)> Progress::start(std::string label) {
  clear();
  if (!enabled_) return {};
  label_ = std::move(label);
  last_ = std::chrono::steady_clock::now();
  return [this](double done) { update(done); };
}

void Progress::update(double done) {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < kRedraw) return;
  last_ = now;
  done = std::clamp(done, 0.0, 1.0);
  const int filled = static_cast<int>(done * kWidth);
  char bar[kWidth + 1];
  for (int i = 0; i < kWidth; ++i) bar[i] = i < filled ? '#' : ' ';
  bar[kWidth] = '\0';
  // \r and erase-to-end: the new line may be shorter than the last one.
  std::fprintf(stderr, "\r[%s] %3d%% %s\033[K", bar, static_cast<int>(done * 100), label_.c_str());
  std::fflush(stderr);
  shown_ = true;
}

void Progress::clear() {
  if (!shown_) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  shown_ = false;
}

}  // namespace colossus::sim_tool
