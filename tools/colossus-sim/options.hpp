// options.hpp: colossus-sim's command line (nccl-tests' size flags, plus the
// topology, the algorithms and the output format).
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

#include "colossus/types.hpp"
#include "plan/plan.hpp"
#include "sim/skew.hpp"

namespace colossus::sim_tool {

enum class Format { Table, Csv, Json };

// A point-to-point pattern (--coll sendrecv): every rank sends one message
// of SIZE bytes to at most one peer and receives one from at most one.
struct Pattern {
  enum Kind { Pipeline, Shift } kind = Pipeline;
  int value = 2;                 // pipeline: stages; shift: k (rank r sends to r + k)
  std::string describe() const;  // "pipeline:4"
};

struct Options {
  std::string topo;  // preset ("dgx-h100:nodes=8") or XML file, as COLOSSUS_TOPO takes it
  int nranks = 0;    // 0: every GPU of the topology (one rank per GPU-less host)
  plan::Collective coll = plan::Collective::AllReduce;
  bool sendrecv = false;  // --coll sendrecv (coll is then Send): a point-to-point pattern
  Pattern pattern;        // --pattern, with sendrecv
  sim::Skew skew;         // --skew, --jitter, --seed, with alltoallv
  DataType dtype = DataType::Float32;
  std::size_t min_bytes = 8, max_bytes = 128u << 20;
  std::size_t factor = 2;
  std::string algo;  // NCCL_ALGO syntax; "" = every algorithm
  Format format = Format::Table;
  std::string trace_file;       // "" = no trace
  int nchannels = 0;            // --nch: every candidate's channels (0: the tuner's)
  std::size_t chunk_bytes = 0;  // --chunk: every candidate's chunk (0: the tuner's)
  bool pick_only = false;       // --pick: simulate the tuner's pick only
  bool fold = true;
  bool progress = true;  // when stderr is a terminal
  bool loopback = false;
  bool help = false;
};

// A bad command line: main prints "colossus-sim: <what>" and exits 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws UsageError on an unknown flag, a missing or malformed value, or
// values that contradict each other (-b > -e, -f < 2, --loopback without -n,
// --skew without alltoallv, --pattern without sendrecv).
Options parse_options(int argc, char** argv);

const char* usage_text();

}  // namespace colossus::sim_tool
