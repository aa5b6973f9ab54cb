// options.hpp: the command line of the *_perf tools, as nccl-tests has it.
//
// Same flags, same defaults (one 32 MiB size, 5 warm-up and 20 timed
// iterations, check on, average time across ranks), same size syntax
// (K/M/G suffixes, powers of 1024). Flags that only make sense for GPUs
// are accepted where a single value is meaningful here (-g 1). Buffers are
// host memory unless --buffers device puts them on the GPU (nccl-tests'
// only mode), where -G N replays the timed calls from a CUDA graph.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "colossus/types.hpp"

namespace colossus::perf {

// How per-rank times become the reported time (-a).
enum class Average : int { Rank0 = 0, Mean = 1, Min = 2, Max = 3 };

struct PerfOptions {
  int nthreads = 1;                                // -t: ranks of this process, one thread each
  int ngpus = 1;                                   // -g: only 1
  std::size_t min_bytes = 32u << 20;               // -b
  std::size_t max_bytes = 32u << 20;               // -e
  std::size_t step_bytes = 1u << 20;               // -i, used when step_factor == 1
  std::size_t step_factor = 1;                     // -f
  int iters = 20;                                  // -n
  int agg_iters = 1;                               // -m: calls per timed iteration
  int warmup_iters = 5;                            // -w
  int check = 1;                                   // -c: check repetitions, 0 = off
  int parallel_init = 0;                           // -p: accepted; communicators come from one call
  std::vector<DataType> types{DataType::Float32};  // -d (all: every type)
  std::vector<ReduceOp> ops{ReduceOp::Sum};        // -o (all: every op)
  int root = 0;                                    // -r, -1 = every rank in turn
  int blocking = 0;                                // -z: barrier after each call
  int timeout_s = 0;                               // -T: per-wait deadline, 0 = library default
  int report_cputime = 0;                          // -C: calls are blocking, so cputime == time
  Average average = Average::Mean;                 // -a
  bool device_buffers = false;                     // --buffers device: GPU buffers, stream calls
  int graph_launches = 0;                          // -G: CUDA graph launches (device buffers only)
};

// Parses argv. On -h prints usage to stdout and returns 0 in *exit_code;
// on a bad flag or value prints the problem and usage to stderr and
// returns 1 in *exit_code. Returns the options otherwise.
std::optional<PerfOptions> parse_options(int argc, char** argv, int* exit_code);

// Sizes in bytes that the run visits, nccl-tests' stepping.
std::vector<std::size_t> size_steps(const PerfOptions& o);

// Where call `iter` of a size whose buffers span `total` bytes starts in
// buffers of `max_bytes`: successive calls walk through the whole
// allocation, so that no call finds its data in cache from the one before
// (at 1 MiB a cache-resident copy runs several times faster than one from
// memory). colossus's tools and the MPI peers follow this same rule.
std::size_t rotation_offset(std::size_t total, std::size_t max_bytes, int iter);

}  // namespace colossus::perf
