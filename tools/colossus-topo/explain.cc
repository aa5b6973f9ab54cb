#include "colossus-topo/explain.hpp"

#include "base/config.hpp"
#include "colossus/error.hpp"
#include "tune/from_topology.hpp"
#include "tune/tuner.hpp"

namespace colossus::topo_tool {

namespace {

plan::Collective parse_collective(const std::string& name) {
  if (const auto coll = plan::parse_collective(name)) return *coll;
  throw Error(ErrorCode::InvalidArgument,
              "--explain: unknown collective '" + name + "' (" + plan::collective_names() + ")");
}

}  // namespace

void print_explain(std::FILE* out, const topology::PathModel& paths, const std::string& coll,
                   const std::string& size, const std::string& algo) {
  plan::CollArgs args;
  args.coll = parse_collective(coll);
  args.nranks = paths.map().nranks();
  std::size_t bytes = 0;
  if (!base::parse_bytes(size, &bytes)) {
    throw Error(ErrorCode::InvalidArgument,
                "--explain: size '" + size + "' is not a size (8, 1M, 4G)");
  }
  // SIZE is the whole vector, as nccl-tests' -b/-e: allgather and
  // reduce_scatter pass count per rank, alltoall per block (SIZE is a
  // rank's buffer), gather and scatter per rank (SIZE is the root's buffer).
  using plan::Collective;
  const bool per_rank = args.coll == Collective::AllGather ||
                        args.coll == Collective::ReduceScatter ||
                        args.coll == Collective::AllToAll || args.coll == Collective::Gather ||
                        args.coll == Collective::Scatter;
  args.count = bytes / 4 / (per_rank ? static_cast<std::size_t>(args.nranks) : 1);

  const base::Config& env = base::env_config();
  tune::TunerLimits limits;
  limits.max_chunk_bytes =
      env.slot_bytes * static_cast<std::size_t>(std::max(2, env.fifo_depth) - 1);
  tune::Tuner tuner(tune::cost_model(paths, "colossus-topo"),
                    algorithms::Layout::from_nodes(paths.map().node_of_rank()),
                    tune::AlgoFilter::parse(algo.empty() ? env.algo : algo), limits);
  const tune::Choice choice = tuner.choose(args);
  std::fprintf(out, "\nTuner (%s; %s):\n", tuner.layout().describe().c_str(),
               tuner.model().describe().c_str());
  std::fputs(tune::explain(args, choice).c_str(), out);
  std::fprintf(out, "%s\n", tune::summary(args, choice).c_str());
}

}  // namespace colossus::topo_tool
