// driver.hpp: the loop every *_perf tool runs, nccl-tests' BenchTime.
//
// For each type, op and root the tool iterates, and each size: warm up,
// then per out-of-place and in-place call (in-place only where the
// operation has an in-place form): one untimed call, all ranks
// released together by a barrier, `iters` back-to-back calls timed per
// rank, the per-rank times combined (-a), then `check` separate calls
// whose results are compared with the expected values. Timed calls never
// include checks. The first thread of the printing process prints.
#pragma once

#include "perf/collective.hpp"
#include "perf/group.hpp"
#include "perf/options.hpp"

namespace colossus::perf {

// Runs the benchmark over `group`; returns the process exit code (0: all
// checks passed).
int run_benchmark(const Collective& coll, const PerfOptions& options, GroupProvider& group);

// main() of a tool: parses argv, makes the group (threads, -t), runs.
int run_tool(const Collective& coll, int argc, char** argv);

}  // namespace colossus::perf
