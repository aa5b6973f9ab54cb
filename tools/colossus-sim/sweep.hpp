// sweep.hpp: the sizes, one simulated run, the trace, and the sweep over
// sizes and algorithms (colossus-sim without --loopback).
#pragma once

#include <string>
#include <vector>

#include "colossus-sim/options.hpp"
#include "colossus-sim/progress.hpp"
#include "colossus-sim/target.hpp"
#include "sim/engine.hpp"
#include "sim/workload.hpp"

namespace colossus::sim_tool {

// One size of the sweep: the whole vector's bytes (after rounding the count
// down to whole elements per rank) and the call.
struct SizePoint {
  std::size_t bytes = 0;
  plan::CollArgs args;
};
// -b, -b*f, ... <= -e. Sizes whose count rounds to 0 are left out and
// listed in *skipped.
std::vector<SizePoint> size_points(const Options& o, int nranks, std::vector<std::size_t>* skipped);

// busbw / algbw, as nccl-tests: allreduce 2(n-1)/n, allgather,
// reduce_scatter, alltoall(v), gather and scatter (n-1)/n, broadcast,
// reduce and send/recv 1.
double bus_factor(plan::Collective coll, int nranks);
// "1G", "512K", "1000" for labels.
std::string short_bytes(std::size_t bytes);

struct SimRun {
  std::string refused;  // non-empty: the engine refused the call (InvalidArgument)
  sim::SimResult result;
  double wall_ms = 0;
};

// simulate() of the workload, timed; the progress bar shows `label`.
SimRun run_sim(const Target& target, const sim::Workload& work, bool fold, Progress& progress,
               const std::string& label, sim::TraceRecorder* trace = nullptr);

// Simulates `c` once more with a recorder and writes the Chrome trace to
// o.trace_file. Returns "" or why no trace was written (the engine refused).
std::string write_trace(const Options& o, const Target& target, const plan::CollArgs& args,
                        const tune::Candidate& c, Progress& progress);

// The sweep: a row per size and algorithm on stdout. Returns the exit status.
int run_sweep(const Options& o, const Target& target, Progress& progress);

}  // namespace colossus::sim_tool
