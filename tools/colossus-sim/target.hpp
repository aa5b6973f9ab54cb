// target.hpp: the modeled machine SPEC describes, and the tuners that pick
// algorithm, channels and chunk on it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "sim/fabric.hpp"
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
  // The best candidate of `algo` alone.
  tune::Candidate best_of(algorithms::Algo algo, const plan::CollArgs& args);

 private:
  tune::Tuner all_;
  std::vector<algorithms::Algo> algos_;
  std::vector<tune::Tuner> one_;  // parallel to algos_
};

// Whether the tuner predicted `c`'s time: above tune::kMaxTrafficRanks ranks
// it picks by a fixed rule and predicts nothing.
bool modeled(const tune::Candidate& c);

}  // namespace colossus::sim_tool
