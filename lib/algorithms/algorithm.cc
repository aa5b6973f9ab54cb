#include "algorithms/algorithm.hpp"

#include <cctype>
#include <string>

#include "colossus/error.hpp"

namespace colossus::algorithms {

const char* to_string(Algo a) {
  switch (a) {
    case Algo::Ring: return "ring";
    case Algo::Tree: return "tree";
    case Algo::Hierarchical: return "hierarchical";
    case Algo::RecursiveDoubling: return "recursive_doubling";
    case Algo::Pairwise: return "pairwise";
    case Algo::Bruck: return "bruck";
    case Algo::Direct: return "direct";
  }
  return "?";
}

std::optional<Algo> parse_algo(std::string_view s) {
  std::string low;
  for (const char c : s) low += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (int i = 0; i < kNumAlgos; ++i) {
    if (low == to_string(static_cast<Algo>(i))) return static_cast<Algo>(i);
  }
  if (low == "rd") return Algo::RecursiveDoubling;
  if (low == "hier") return Algo::Hierarchical;
  return std::nullopt;
}

bool supports(Algo algo, plan::Collective coll) {
  using plan::Collective;
  const bool classic = static_cast<int>(coll) <= static_cast<int>(Collective::Reduce);
  switch (algo) {
    case Algo::Ring: return classic;
    case Algo::Tree:
      return coll == Collective::AllReduce || coll == Collective::Broadcast ||
             coll == Collective::Reduce || coll == Collective::Gather ||
             coll == Collective::Scatter;
    case Algo::Hierarchical: return classic || coll == Collective::AllToAll;
    case Algo::RecursiveDoubling: return coll == Collective::AllReduce;
    case Algo::Pairwise: return coll == Collective::AllToAll || coll == Collective::AllToAllv;
    case Algo::Bruck: return coll == Collective::AllToAll;
    case Algo::Direct:
      return coll == Collective::Gather || coll == Collective::Scatter || plan::is_p2p(coll);
  }
  return false;
}

plan::Plan make_plan(Algo algo, const plan::CollArgs& args, int rank, const AlgoParams& params) {
  using plan::Collective;
  if (!supports(algo, args.coll)) {
    throw Error(ErrorCode::InvalidArgument,
                std::string(to_string(algo)) + " does not implement " + plan::to_string(args.coll));
  }
  switch (algo) {
    case Algo::Ring: return ring_plan(args, rank, params);
    case Algo::Tree:
      return args.coll == Collective::Gather || args.coll == Collective::Scatter
                 ? tree_gather_plan(args, rank, params)
                 : tree_plan(args, rank, params);
    case Algo::Hierarchical:
      return args.coll == Collective::AllToAll ? hierarchical_alltoall_plan(args, rank, params)
                                               : hierarchical_plan(args, rank, params);
    case Algo::RecursiveDoubling: return recursive_doubling_plan(args, rank, params);
    case Algo::Pairwise: return pairwise_plan(args, rank, params);
    case Algo::Bruck: return bruck_plan(args, rank, params);
    case Algo::Direct: return direct_plan(args, rank, params);
  }
  return ring_plan(args, rank, params);
}

}  // namespace colossus::algorithms
