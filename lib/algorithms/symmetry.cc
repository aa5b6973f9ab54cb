#include "algorithms/symmetry.hpp"

namespace colossus::algorithms {

namespace {
bool power_of_two(int x) { return x > 0 && (x & (x - 1)) == 0; }
}  // namespace

int Symmetry::apply(int p, int x) const {
  if (!active()) return x;
  const int k = p / per_node, node = x / per_node, local = x % per_node;
  const int to = group == Group::NodeRotation ? (node + k) % nodes : (node ^ k);
  return to * per_node + local;
}

int Symmetry::unapply(int p, int x) const {
  if (!active()) return x;
  const int k = p / per_node, node = x / per_node, local = x % per_node;
  const int to = group == Group::NodeRotation ? (node - k + nodes) % nodes : (node ^ k);
  return to * per_node + local;
}

std::string Symmetry::describe() const {
  if (!active()) return "none";
  return std::string(group == Group::NodeRotation ? "node rotation" : "node xor") + ": " +
         std::to_string(per_node) + " classes of " + std::to_string(nodes) + " ranks" +
         (exact ? " (exact)" : " (block rounding differs)");
}

Symmetry symmetry_of(const Layout& layout, const plan::CollArgs& args, Algo algo,
                     std::string* why) {
  auto none = [&](std::string reason) {
    *why = std::move(reason);
    return Symmetry{};
  };
  if (layout.nnodes() < 2) return none("one node");
  if (!layout.uniform())
    return none("nodes hold different numbers of ranks (" + layout.describe() + ")");
  const int per = layout.max_per_node();
  for (int r = 0; r < layout.nranks(); ++r) {
    if (layout.node_of(r) != r / per)
      return none("ranks are not in consecutive blocks per node (rank " + std::to_string(r) + ")");
  }
  if (args.coll == plan::Collective::Broadcast || args.coll == plan::Collective::Reduce)
    return none("the root plays a part no other rank plays");
  Symmetry s;
  switch (algo) {
    case Algo::Ring:
    case Algo::Hierarchical: s.group = Symmetry::Group::NodeRotation; break;
    case Algo::RecursiveDoubling:
      if (!power_of_two(args.nranks) || !power_of_two(layout.nnodes()))
        return none("recursive doubling on " + std::to_string(args.nranks) +
                    " ranks (not a power of two) gives the extra ranks their own part");
      s.group = Symmetry::Group::NodeXor;
      break;
    case Algo::Tree: return none("tree ranks play different parts (leaves, inner nodes)");
    case Algo::Pairwise:
    case Algo::Bruck:
    case Algo::Direct: return none(std::string(to_string(algo)) + " plans are not folded");
  }
  s.nodes = layout.nnodes();
  s.per_node = per;
  why->clear();
  return s;
}

}  // namespace colossus::algorithms
