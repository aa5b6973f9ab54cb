// target.hpp: the modeled machine SPEC describes, the tuners that pick
// algorithm, channels and chunk on it (or the fixed parameters of calls the
// communicator does not tune), and the Plans each row simulates.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "colossus-sim/options.hpp"
#include "sim/fabric.hpp"
#include "sim/workload.hpp"
#include "topology/mapping.hpp"
#include "tune/tuner.hpp"

namespace colossus::sim_tool {

// The target: SPEC's topology with the ranks mapped as the library maps
// them (topology::map_ranks, as Options::topology does), and everything the
// tuner and the simulator read off it. Not movable: the PathModel refers to
// the topology and the Fabric to the PathModel.
class Target {
 public:
  // nranks 0: every GPU (one rank per GPU-less host), as colossus-topo
  // --explain. Throws UsageError for a bad preset name or ranks that do not
  // fit, colossus::Error for a file that does not load.
  Target(const std::string& spec, int nranks);
  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;

  const std::string& spec() const { return spec_; }
  int nranks() const { return paths_->map().nranks(); }
  const topology::PathModel& paths() const { return *paths_; }
  const tune::CostModel& model() const { return model_; }
  const sim::Fabric& fabric() const { return *fabric_; }
  const algorithms::Layout& layout() const { return layout_; }
  // Lines for the table's header: topology, ranks, layout, fabric, cost model.
  std::vector<std::string> describe() const;

 private:
  std::string spec_;
  topology::Topology topo_;
  std::unique_ptr<topology::PathModel> paths_;
  tune::CostModel model_;
  std::unique_ptr<sim::Fabric> fabric_;
  algorithms::Layout layout_;
};

// The tuner as colossus-topo --explain builds it (chunk bounded by the
// transport's slot x (FIFO depth - 1)), on the target, narrowed by --algo,
// and one tuner per algorithm for that algorithm's best parameters.
class Tuners {
 public:
  // nch / chunk > 0 fix every candidate's channels / chunk (--nch, --chunk).
  Tuners(const Target& target, const std::string& algo_spec, plan::Collective coll, int nch = 0,
         std::size_t chunk = 0);
  // Algorithms of the sweep: those the tuner may pick from for the
  // collective (--algo applied as the tuner applies it).
  const std::vector<algorithms::Algo>& algos() const { return algos_; }
  tune::Candidate pick(const plan::CollArgs& args) { return all_.choose(args).best; }
  // The tuner's whole choice (candidates, rule), for its summary.
  tune::Choice choose(const plan::CollArgs& args) { return all_.choose(args); }
  // The best candidate of `algo` alone: the first of `algo` among the
  // choice's candidates (they are every allowed algorithm's, fastest
  // first), else (a rule picked) its own tuner's.
  tune::Candidate best_of(algorithms::Algo algo, const plan::CollArgs& args,
                          const tune::Choice& choice);

 private:
  tune::Tuner all_;
  std::vector<algorithms::Algo> algos_;
  std::vector<tune::Tuner> one_;  // parallel to algos_
};

// Whether the tuner predicted `c`'s time: above tune::kMaxTrafficRanks ranks
// it picks by a fixed rule and predicts nothing.
bool modeled(const tune::Candidate& c);

// The call each row of the sweep simulates, as a sim::Workload. Collectives
// the communicator tunes (allreduce ... reduce, alltoall, gather, scatter)
// run algorithms::make_plan under the row's candidate. Alltoallv and
// send/recv bypass the tuner in the communicator (CommImpl::fixed_plan),
// and so here: alltoallv is pairwise with the configured channels
// (COLOSSUS_NCHANNELS, else 2) and the largest chunk the FIFO takes
// (slot x (depth - 1)), --nch and --chunk overriding; send/recv is
// direct_plan's one transfer per message, in a pattern (--pattern).

// "alltoall", "sendrecv pipeline:4": the call for labels and headers.
std::string call_name(const Options& o);

// Whether the tuner picks the call's parameters (false: alltoallv, sendrecv).
bool tuned(const Options& o);

// The parameters of an untuned call, as the communicator fixes them.
tune::Candidate fixed_candidate(const Options& o);

// Throws UsageError when the call does not fit the target's ranks (a
// pipeline whose stages do not divide them, a shift by N or more).
void check_workload(const Options& o, int nranks);

// The Plans of one row: `args` (alltoallv: count is the mean block;
// sendrecv: count is one message) under candidate `c`.
sim::Workload workload_of(const Options& o, const Target& target, const plan::CollArgs& args,
                          const tune::Candidate& c);

// Lines for the table's header that say what is simulated beyond the
// collective's name (the pattern; the skew at the first size's mean block).
std::vector<std::string> describe_workload(const Options& o, int nranks, std::size_t mean_count);

}  // namespace colossus::sim_tool
