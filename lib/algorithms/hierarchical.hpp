// hierarchical.hpp: internal to the hierarchical algorithm (hierarchical*.cc).
#pragma once

#include "algorithms/algorithm.hpp"
#include "algorithms/layout.hpp"
#include "algorithms/patterns.hpp"

namespace colossus::algorithms::hier {

// The ranks of node h, in local-index order, and their number.
inline const std::vector<int>& node(const Layout& l, int h) { return l.members(h); }
inline int size(const Layout& l, int h) { return static_cast<int>(l.members(h).size()); }

// Rail `rail` across the nodes, in node order: on each node h the rank with
// local index rail % size(h). On uniform layouts that is exactly the ranks
// with local index `rail`; a node with fewer ranks lets one rank serve
// several rails (every rank serves the rails congruent to its local index).
inline SubRing rail_ring(const Layout& l, int rail, int my_node) {
  SubRing r;
  r.pos = my_node;
  for (int h = 0; h < l.nnodes(); ++h)
    r.ranks.push_back(node(l, h)[static_cast<std::size_t>(rail % size(l, h))]);
  return r;
}

inline SubRing node_ring(const Layout& l, int rank) {
  return SubRing{node(l, l.node_of(rank)), l.local_index(rank)};
}

// Fill p (allgather / reduce_scatter) for `rank` under layout `l`.
void allgather(plan::Plan& p, const Layout& l, const Sizing& s);
void reduce_scatter(plan::Plan& p, const Layout& l, const Sizing& s);

}  // namespace colossus::algorithms::hier
