// progress.hpp: a one-line progress bar on stderr for long simulations.
//
// "[#####     ] 52% allreduce 1G ring", redrawn at most 10 times a second
// and only once a run has lasted 100 ms (short runs never draw), erased
// before anything else is printed. Off unless stderr is a terminal.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace colossus::sim_tool {

class Progress {
 public:
  // Draws only if `wanted` and stderr is a terminal.
  explicit Progress(bool wanted);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  bool enabled() const { return enabled_; }
  // Starts a new run named `label` and returns the callback for
  // SimOptions::progress (empty when disabled: the engine then skips it).
  std::function<void(double)> start(std::string label);
  // Erases the bar if one is shown.
  void clear();

 private:
  void update(double done);

  bool enabled_ = false;
  bool shown_ = false;
  std::string label_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace colossus::sim_tool
