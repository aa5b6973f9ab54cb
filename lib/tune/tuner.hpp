// tuner.hpp: picks algorithm, channels and chunk for a collective call.
//
// For every candidate (allowed algorithm x channels x chunk) it predicts
//
//   time = hops * latency  +  (stages - 1) * latency per hop  +  steps * step_us
//        + max(bytes on the busiest NIC / NIC rate, bytes of the busiest rank on-node / intra rate,
//              bytes the busiest rank's loops read and write / its memory rate)
//
// from the candidate's own Plans (traffic.hpp) and the CostModel, and picks
// the fastest; the table of all candidates is kept for --explain and the
// INFO log. Choices are cached per call shape by the communicator, not here.
//
// Where no candidate can be counted (above kMaxTrafficRanks ranks when no
// allowed algorithm's Plans fold; alltoallv, send and recv, whose Plans
// differ by rank) a fixed rule picks, and says so (Choice::rule):
//   - allreduce and friends: small -> recursive doubling, else tree; large -> ring;
//   - alltoall: Bruck when a block is so small that its extra passes of the
//     buffer cost less than the messages it saves, else hierarchical where
//     it implements alltoall and is allowed, else pairwise;
//   - gather, scatter: tree when a block moves in less than a step's cost
//     (the root's per-message costs dominate) and tree implements them,
//     else direct;
//   - alltoallv: pairwise (the communicator's fixed plan); send, recv: direct.
//
// Thread safety: one Tuner per communicator, used by one thread at a time.
#pragma once

#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "tune/algo_filter.hpp"
#include "tune/cost_model.hpp"
#include "tune/traffic.hpp"

namespace colossus::tune {

struct Candidate {
  algorithms::Algo algo = algorithms::Algo::Ring;
  int nchannels = 1;
  std::size_t chunk_bytes = 0;
  double predicted_us = 0;
  double latency_us = 0;    // hops, pipeline stages and step costs
  double bandwidth_us = 0;  // the busiest resource's bytes over its rate
  std::string bottleneck;   // "NIC", "intra-node", "memory", "latency" (or why it was not modeled)
};

struct Choice {
  Candidate best;
  std::vector<Candidate> candidates;  // every candidate, fastest first
  bool forced = false;                // COLOSSUS_ALGO left one algorithm
  // Non-empty when no candidate was counted and a fixed rule picked: the
  // rule and why it applies ("small alltoall (block 64 B): bruck").
  std::string rule;
  // Candidates that were not counted, and why (one line per algorithm and
  // channel count: "bruck, 8 ch: ... steps to count (limit ...)").
  std::vector<std::string> not_counted;
};

struct TunerLimits {
  std::vector<int> nchannels = {1, 2, 4, 8};  // tried unless fixed
  std::vector<std::size_t> chunk_bytes = {128u << 10, 512u << 10};
  std::size_t max_chunk_bytes = 1536u << 10;  // slot x (FIFO depth - 1)

  // Keeps the tried channel counts within [lo, hi] (NCCL_MIN_NCHANNELS,
  // NCCL_MAX_NCHANNELS): each is clamped into it, duplicates dropped.
  void bound_nchannels(int lo, int hi);
};

class Tuner {
 public:
  Tuner(CostModel model, algorithms::Layout layout, AlgoFilter filter, TunerLimits limits);

  // Throws InvalidArgument when the filter leaves no algorithm for the collective.
  Choice choose(const plan::CollArgs& args);
  // Prediction for one candidate (fills its times).
  Candidate predict(const plan::CollArgs& args, algorithms::Algo algo, int nchannels,
                    std::size_t chunk_bytes);

  const CostModel& model() const { return model_; }
  const algorithms::Layout& layout() const { return layout_; }

 private:
  Choice fallback(const plan::CollArgs& args, const std::vector<algorithms::Algo>& algos,
                  Choice choice) const;
  // The fixed rule's pick among `algos` and why.
  std::pair<algorithms::Algo, std::string> rule(const plan::CollArgs& args,
                                                const std::vector<algorithms::Algo>& algos) const;
  const Traffic& traffic(const plan::CollArgs& args, algorithms::Algo algo, int nchannels);

  CostModel model_;
  algorithms::Layout layout_;
  AlgoFilter filter_;
  TunerLimits limits_;
  // A count, or why the candidate's Plans could not be counted (kept too:
  // refusing can cost as much as counting).
  struct Counted {
    Traffic traffic;
    std::string refused;
  };
  // coll, algo, nchannels, root, count (0: at or above the representative count)
  std::map<std::tuple<int, int, int, int, std::size_t>, Counted> traffic_;
};

// The candidates as a table, fastest first, the pick marked with '*', then
// the rule that picked (if one did) and the candidates not counted.
std::string explain(const plan::CollArgs& args, const Choice& choice);
// "allreduce 1048576 B float on 16 ranks: hierarchical, 2 ch, chunk 524288 B, predicted 812 us
// (NIC-bound); runner-up ring 1410 us", or "...: bruck, 1 ch, chunk 524288 B, by rule: small
// alltoall (...)".
std::string summary(const plan::CollArgs& args, const Choice& choice);

}  // namespace colossus::tune
