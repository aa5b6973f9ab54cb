#include "colossus-sim/target.hpp"

#include <algorithm>
#include <memory>

#include "base/config.hpp"
#include "colossus-sim/options.hpp"
#include "colossus/error.hpp"
#include "sim/skew.hpp"
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

tune::Candidate Tuners::best_of(Algo algo, const plan::CollArgs& args, const tune::Choice& choice) {
  if (choice.rule.empty()) {
    for (const tune::Candidate& c : choice.candidates)
      if (c.algo == algo) return c;
  }
  const auto it = std::find(algos_.begin(), algos_.end(), algo);
  if (it == algos_.end()) {
    throw Error(ErrorCode::InternalError,
                std::string("colossus-sim: no tuner for ") + algorithms::to_string(algo));
  }
  return one_[static_cast<std::size_t>(it - algos_.begin())].choose(args).best;
}

bool modeled(const tune::Candidate& c) { return c.predicted_us > 0; }

std::string call_name(const Options& o) {
  return o.sendrecv ? "sendrecv " + o.pattern.describe() : plan::to_string(o.coll);
}

bool tuned(const Options& o) { return !o.sendrecv && o.coll != plan::Collective::AllToAllv; }

tune::Candidate fixed_candidate(const Options& o) {
  tune::Candidate c;
  if (o.sendrecv) {
    c.algo = algorithms::Algo::Direct;
    c.nchannels = 1;
    c.chunk_bytes = 0;  // one step per message: no chunking (direct.cc)
  } else {
    const base::Config& env = base::env_config();
    c.algo = algorithms::Algo::Pairwise;
    c.nchannels = o.nchannels > 0 ? o.nchannels : (env.nchannels_set ? env.nchannels : 2);
    c.chunk_bytes =
        o.chunk_bytes > 0
            ? o.chunk_bytes
            : env.slot_bytes * static_cast<std::size_t>(std::max(2, env.fifo_depth) - 1);
  }
  c.bottleneck = "fixed (not tuned)";
  return c;
}

void check_workload(const Options& o, int nranks) {
  if (!o.sendrecv) return;
  const int v = o.pattern.value;
  if (o.pattern.kind == Pattern::Pipeline && nranks % v != 0) {
    throw UsageError("--pattern " + o.pattern.describe() + ": " + std::to_string(v) +
                     " stages do not divide " + std::to_string(nranks) + " ranks");
  }
  if (o.pattern.kind == Pattern::Shift && v >= nranks) {
    throw UsageError("--pattern " + o.pattern.describe() + ": the shift must be below " +
                     std::to_string(nranks) + " ranks");
  }
}

sim::Workload workload_of(const Options& o, const Target& target, const plan::CollArgs& args,
                          const tune::Candidate& c) {
  if (o.sendrecv) {
    return o.pattern.kind == Pattern::Pipeline
               ? sim::pipeline(args.nranks, o.pattern.value, args.count, args.dtype)
               : sim::shift(args.nranks, o.pattern.value, args.count, args.dtype);
  }
  algorithms::AlgoParams params;
  params.nchannels = c.nchannels;
  params.chunk_bytes = c.chunk_bytes;
  params.layout = &target.layout();
  if (o.coll == plan::Collective::AllToAllv) {
    const auto counts = std::make_shared<const sim::SkewedCounts>(args.nranks, args.count, o.skew);
    return sim::alltoallv(
        args.nranks, args.dtype, [counts](int from, int to) { return counts->count(from, to); },
        c.algo, params);
  }
  return sim::collective(args, c.algo, params);
}

std::vector<std::string> describe_workload(const Options& o, int nranks, std::size_t mean_count) {
  if (o.sendrecv) {
    const int v = o.pattern.value;
    return {o.pattern.kind == Pattern::Pipeline
                ? "pattern " + o.pattern.describe() + ": " + std::to_string(v) + " stages of " +
                      std::to_string(nranks / v) +
                      " ranks, rank r of stage s < S-1 sends SIZE bytes to rank r + " +
                      std::to_string(nranks / v)
                : "pattern " + o.pattern.describe() + ": rank r sends SIZE bytes to r + " +
                      std::to_string(v) + " (mod " + std::to_string(nranks) + ")"};
  }
  if (o.coll == plan::Collective::AllToAllv) {
    const sim::SkewedCounts counts(nranks, mean_count, o.skew);
    return {"alltoallv counts: block = mean x popularity x noise; " + counts.describe()};
  }
  return {};
}

}  // namespace colossus::sim_tool
