#include "colossus-sim/target.hpp"

#include <algorithm>

#include "base/config.hpp"
#include "colossus-sim/options.hpp"
#include "colossus/error.hpp"
#include "topology/presets.hpp"
#include "topology/xml.hpp"
#include "tune/from_topology.hpp"

namespace colossus::sim_tool {

using algorithms::Algo;

namespace {

// The rule comm::place_local applies to Options::topology: --loopback hands
// SPEC to the communicator, so both must read it the same way.
bool is_file(const std::string& spec) {
  return spec.find('/') != std::string::npos ||
         (spec.size() > 4 && spec.compare(spec.size() - 4, 4, ".xml") == 0);
}

topology::Topology load(const std::string& spec) {
  if (is_file(spec)) return topology::load_xml(spec);  // a bad file is an error, not bad usage
  try {
    return topology::make_preset(spec);
  } catch (const Error& e) {
    throw UsageError(std::string("--topo: ") + e.what());
  }
}

// As colossus-topo --explain: slot x (FIFO depth - 1) bounds the chunk,
// which is what the communicator's own tuner allows on a loopback group.
// --nch / --chunk fix the candidates' channels and chunk (0: the tuner's lists).
tune::TunerLimits explain_limits(int nch, std::size_t chunk) {
  const base::Config& env = base::env_config();
  tune::TunerLimits limits;
  limits.max_chunk_bytes =
      env.slot_bytes * static_cast<std::size_t>(std::max(2, env.fifo_depth) - 1);
  if (nch > 0) limits.nchannels = {nch};
  if (chunk > 0) {
    limits.chunk_bytes = {chunk};
    limits.max_chunk_bytes = std::max(limits.max_chunk_bytes, chunk);
  }
  return limits;
}

}  // namespace

Target::Target(const std::string& spec, int nranks) : spec_(spec), topo_(load(spec)) {
  if (topo_.hosts.empty()) throw UsageError("--topo " + spec + ": the topology has no host");
  const long hosts = static_cast<long>(topo_.hosts.size());
  const long gpus_per_host = topo_.hosts[0].num_gpu;
  if (nranks == 0) {
    long all = 0;
    for (const auto& h : topo_.hosts) all += h.num_gpu > 0 ? h.num_gpu : 1;
    if (all > 10'000'000) throw UsageError("--topo " + spec + ": more than 10M ranks; give -n");
    nranks = static_cast<int>(all);
  }
  // map_ranks puts GPUs-per-host ranks on each host; more do not fit.
  if (gpus_per_host > 0 && nranks > hosts * gpus_per_host) {
    throw UsageError("-n " + std::to_string(nranks) + ": " + spec + " holds at most " +
                     std::to_string(hosts * gpus_per_host) + " ranks (" + std::to_string(hosts) +
                     " host(s) x " + std::to_string(gpus_per_host) +
                     " GPUs; a preset takes :nodes=N for more)");
  }
  paths_ = std::make_unique<topology::PathModel>(topo_, topology::map_ranks(topo_, nranks));
  model_ = tune::cost_model(*paths_, "colossus-sim");
  fabric_ = std::make_unique<sim::Fabric>(sim::Fabric::from_paths(*paths_, model_));
  layout_ = algorithms::Layout::from_nodes(paths_->map().node_of_rank());
}

std::vector<std::string> Target::describe() const {
  std::vector<std::string> lines = {
      "topology " + spec_ + " (" + topo_.source + "): " + paths_->map().describe(),
      "layout " + layout_.describe() + "; fabric " + fabric_->describe(),
      "cost model " + model_.describe()};
  if (!fabric_->asymmetry().empty()) lines.push_back("not folded: " + fabric_->asymmetry());
  return lines;
}

Tuners::Tuners(const Target& target, const std::string& algo_spec, plan::Collective coll, int nch,
               std::size_t chunk)
    : all_(target.model(), target.layout(), tune::AlgoFilter::parse(algo_spec),
           explain_limits(nch, chunk)) {
  // The tuner's own rule: a list without "collective:" that names no
  // algorithm of this collective leaves it unrestricted.
  const tune::AlgoFilter filter = tune::AlgoFilter::parse(algo_spec);
  for (const bool use_filter : {true, false}) {
    for (int i = 0; i < algorithms::kNumAlgos; ++i) {
      const auto a = static_cast<Algo>(i);
      if (algorithms::supports(a, coll) && (!use_filter || filter.allows(coll, a))) {
        algos_.push_back(a);
      }
    }
    if (!algos_.empty() || filter.named(coll)) break;
  }
  for (const Algo a : algos_) {
    one_.emplace_back(target.model(), target.layout(),
                      tune::AlgoFilter::parse(algorithms::to_string(a)),
                      explain_limits(nch, chunk));
  }
}

tune::Candidate Tuners::best_of(Algo algo, const plan::CollArgs& args) {
  const auto it = std::find(algos_.begin(), algos_.end(), algo);
  if (it == algos_.end()) {
    throw Error(ErrorCode::InternalError,
                std::string("colossus-sim: no tuner for ") + algorithms::to_string(algo));
  }
  return one_[static_cast<std::size_t>(it - algos_.begin())].choose(args).best;
}

bool modeled(const tune::Candidate& c) { return c.predicted_us > 0; }

}  // namespace colossus::sim_tool
