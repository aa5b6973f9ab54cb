// layout.hpp: which node each rank of a communicator lives on.
//
// Hierarchical algorithms split a collective into an intra-node part (shm,
// NVLink) and an inter-node part among ranks with the same local index, i.e.
// on the same rail. A Layout is that grouping and nothing else: it comes
// from the bootstrap's host identities (or a topology file / preset mapping)
// and is the same on every rank.
//
// Ranks of one node need not be consecutive, and nodes may hold different
// numbers of ranks ("uneven"); local indices are dense per node, in rank order.
#pragma once

#include <string>
#include <vector>

namespace colossus::algorithms {

class Layout {
 public:
  // Every rank on one node.
  static Layout single_node(int nranks);
  // `nodes` consecutive blocks of `per_node` ranks (ranks = nodes * per_node).
  static Layout blocks(int nodes, int per_node);
  // node_of[r] = node id of rank r; ids are renumbered densely in order of first appearance.
  static Layout from_nodes(const std::vector<int>& node_of);

  int nranks() const { return static_cast<int>(node_.size()); }
  int nnodes() const { return static_cast<int>(members_.size()); }
  int node_of(int rank) const { return node_[static_cast<std::size_t>(rank)]; }
  int local_index(int rank) const { return local_[static_cast<std::size_t>(rank)]; }
  // Ranks of node `node`, ascending; local index i is members(node)[i].
  const std::vector<int>& members(int node) const {
    return members_[static_cast<std::size_t>(node)];
  }
  int max_per_node() const;
  bool uniform() const;          // every node holds the same number of ranks
  std::string describe() const;  // "2 nodes x 4 ranks" or "3 nodes, 2..5 ranks each"

 private:
  std::vector<int> node_;
  std::vector<int> local_;
  std::vector<std::vector<int>> members_;
};

}  // namespace colossus::algorithms
