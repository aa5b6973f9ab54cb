// folding.hpp: simulating one representative per class of symmetric ranks.
//
// When the fabric treats every node alike and an algorithm's Plans are
// equivariant under a group of rank permutations that moves whole nodes
// (rotation of the node order for ring and hierarchical, XOR of the node
// index for recursive doubling on powers of two), every rank of a class
// runs its steps at the same virtual times as its representative. The
// engine then holds the Plans of one node only: rank r stands for the
// ranks g(r) of its class, a message from peer p is the message of rep(p)
// seen through the g that carries rep(p) to p, and a resource of rank x is
// the resource of rep(x).
//
// Folding is only used after check(): the Plans of sampled ranks g(r) are
// compared step by step with their representatives' mapped by g (kinds,
// peers, counts). Counts may differ by rounding of uneven blocks; the
// result says so ("approximate"). Latencies that differ along a class's
// orbit (switch tiers) are averaged over the orbit; the simulator's tests
// measure folding against no folding.
#pragma once

#include <string>

#include "algorithms/algorithm.hpp"
#include "sim/fabric.hpp"

namespace colossus::sim {

struct Folding {
  enum class Group { None, NodeRotation, NodeXor };
  Group group = Group::None;
  int nodes = 1, per_node = 1;
  bool exact = true;  // sampled counts all equal (else within rounding of blocks)

  bool active() const { return group != Group::None; }
  // Representative of rank x's class: the rank of node 0 with x's local index.
  int rep(int x) const { return active() ? x % per_node : x; }
  // With g the element that carries rep(p) to p: g(x) and g^-1(x).
  int apply(int p, int x) const;
  int unapply(int p, int x) const;
  // Ranks the engine holds: per_node when folded, else all.
  int slots(int nranks) const { return active() ? per_node : nranks; }
  // "node rotation: 8 classes of 12500 ranks (exact)" or "none".
  std::string describe() const;
};

// The folding `algo` admits for `args` on `fabric`, after checking sampled
// ranks' Plans; Group::None with `why` filled when it admits none.
Folding choose_folding(const Fabric& fabric, const plan::CollArgs& args, algorithms::Algo algo,
                       const algorithms::AlgoParams& params, std::string* why);

}  // namespace colossus::sim
