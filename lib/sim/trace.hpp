// trace.hpp: a simulated run as Chrome trace events (Perfetto, chrome://tracing).
//
// One process per rank, one thread per lane (a collective's channels; a
// group's Plans' channels one after another, in job order), one complete ("X") slice
// per step (name = step kind, args = bytes and peers), and a flow arrow
// ("s" -> "f") from each message's sending step to its receiving step.
// Times in microseconds of virtual time. Folded runs record the
// representative ranks only (the trace's metadata says so).
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "plan/plan.hpp"

namespace colossus::sim {

struct TraceStep {
  int rank = 0, channel = 0;  // channel: the rank's lane (thread), see above
  std::size_t index = 0;      // step index in the channel
  plan::StepKind kind = plan::StepKind::Copy;
  double start_us = 0, end_us = 0;
  std::uint64_t bytes = 0;
  int send_peer = -1, recv_peer = -1;
};

struct TraceFlow {
  int from_rank = 0, from_channel = 0;
  double sent_us = 0;  // the middle of the sending step (viewers bind the arrow's tail to it)
  int to_rank = 0, to_channel = 0;
  double received_us = 0;  // start of the receiving step (message consumed)
};

struct TraceRecorder {
  std::size_t limit = 2'000'000;  // events kept; later ones dropped and counted
  std::vector<TraceStep> steps;
  std::vector<TraceFlow> flows;
  std::size_t dropped = 0;
  bool full() const { return steps.size() + flows.size() >= limit; }
};

// Writes {"traceEvents": [...], "displayTimeUnit": "ns", "otherData": {...}}.
// `title` goes to otherData (the call, algorithm, fabric, folding).
void write_chrome_trace(std::ostream& out, const TraceRecorder& trace, const std::string& title);

}  // namespace colossus::sim
