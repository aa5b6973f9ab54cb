// loopback.hpp: laptop mode (colossus-sim --loopback): the tuner's pick for
// the target fabric, run with real data by N ranks as threads of this
// process, checked element by element, timed here and simulated there.
#pragma once

#include <cstddef>
#include <string>

#include "colossus-sim/options.hpp"
#include "colossus-sim/progress.hpp"
#include "colossus-sim/target.hpp"

namespace colossus::sim_tool {

// Largest buffer one rank may hold (send or receive): 64 ranks x 2 buffers
// of 64 MiB already take 8 GiB.
inline constexpr std::size_t kMaxLoopbackBuffer = std::size_t{64} << 20;

// Runs the loopback sweep, one row per size on stdout. Returns the exit
// status: 1 when an output differs from the reference.
int run_loopback(const Options& o, const Target& target, Progress& progress);

}  // namespace colossus::sim_tool
