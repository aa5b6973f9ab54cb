// mono_clock.hpp: one clock for every process of the machine
// (steady_clock is CLOCK_MONOTONIC), in nanoseconds, so that forked ranks
// can stamp events in shared memory and compare each other's stamps.
#pragma once

#include <chrono>
#include <cstdint>

namespace colossus::test {

inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline double since_s(std::int64_t t_ns) { return static_cast<double>(now_ns() - t_ns) * 1e-9; }

}  // namespace colossus::test
