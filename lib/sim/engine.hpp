// engine.hpp: the discrete-event simulator of Plans on a Fabric.
//
// simulate() runs the Plans the runtime would run (algorithms::make_plan,
// rank by rank, folded where folding.hpp allows; or any Workload: alltoallv
// with per-rank counts, point-to-point patterns, workload.hpp) in virtual
// time:
//
//   - each (rank, Plan, channel) walks its steps in order (a rank's Plans
//     of one group as the executor runs them: lanes sharing a stream with
//     an earlier Plan's lane start after it); a step that receives
//     waits for its message (matched in order per stream, as the executor
//     does: the walker of plan/replay.hpp, shared with the tuner's critical
//     path), then pays the CostModel's step_us, then moves its bytes;
//   - a sending step is a flow from its rank to the peer over the Fabric's
//     resources (the sender's port or NIC, the receiver's, the sender's
//     memory engine x the step's memory passes, and its node's shared cores
//     where ranks outnumber them); a receive-only or local
//     step is a flow on its rank's memory engine alone;
//   - concurrent flows share every resource max-min fairly (weighted
//     progressive filling, recomputed per connected component whenever a
//     flow starts or ends); a message arrives its route's latency after its
//     flow ends (store-and-forward per message; FIFOs unbounded, which a
//     verified Plan tolerates).
//
// With every rate infinite this is the tuner's latency-only replay
// (tune/traffic.cc) exactly, up to the off-node latency per pair
// (tune/cost_model.hpp). The result is the time of the last step of any rank. The engine holds
// every simulated rank's Plan: calls whose Plans exceed kMaxSimSteps are
// refused with InvalidArgument, never simulated partially.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "algorithms/algorithm.hpp"
#include "sim/fabric.hpp"
#include "sim/folding.hpp"
#include "sim/trace.hpp"
#include "sim/workload.hpp"

namespace colossus::sim {

// Steps of all simulated Plans held at once. The bound is time, not
// memory (64 bytes a step): unfolded at 100k ranks the engine handles about
// 0.3M steps per second on this project's 2-core machine (cache misses
// across 100k Plans), folded about 0.7M; 3M steps stay near 10 s.
inline constexpr std::size_t kMaxSimSteps = 3'000'000;

struct SimOptions {
  bool fold = true;                // fold symmetric ranks where choose_folding allows
  TraceRecorder* trace = nullptr;  // record steps and flows
  // Called now and then with the share of steps done (0..1); for a progress bar.
  std::function<void(double)> progress;
};

struct SimResult {
  double time_us = 0;        // virtual time of the call (last step of any rank)
  std::uint64_t events = 0;  // events processed
  std::uint64_t steps = 0;   // steps simulated (of the held Plans)
  int slots = 0;             // ranks simulated (representatives when folded)
  Folding folding;           // how ranks were folded (or not)
  // Busiest resource of each class: bytes it carried / (rate x time_us).
  double nic_util = 0, intra_util = 0, memory_util = 0;  // memory: engines and shared cores
  // tune::bound_of: "NIC", "intra-node", "memory" (busy > half the time) or "latency".
  std::string bound;
};

// The call's Plans under `algo` and `params` (params.layout is set to the
// fabric's) on `fabric`. Throws InvalidArgument when the algorithm does not
// support the call, when the call differs by rank (alltoallv, send, recv:
// simulate their Workload), when args.nranks differs from the fabric's, or
// when the Plans to hold exceed kMaxSimSteps (the message says how many and
// why folding did not apply).
SimResult simulate(const Fabric& fabric, const plan::CollArgs& args, algorithms::Algo algo,
                   algorithms::AlgoParams params, const SimOptions& options = {});
// Any workload's Plans (their layout, where they take one, must be the
// fabric's). Throws InvalidArgument as above.
SimResult simulate(const Fabric& fabric, const Workload& work, const SimOptions& options = {});

}  // namespace colossus::sim
