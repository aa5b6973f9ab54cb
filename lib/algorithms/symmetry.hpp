// symmetry.hpp: groups of rank permutations an algorithm's Plans respect.
//
// On a layout of equal nodes in consecutive blocks (rank = node * per_node
// + local), the ring and hierarchical algorithms give rank g(x) the Plan of
// rank x with every peer carried by g, where g rotates the node order;
// so do pairwise and Bruck all-to-all, whose peers are rank +- k mod n
// (g adds a multiple of per_node to every rank: round k of rank g(x) talks
// to g(x + k) and g(x - k), only the blocks' offsets move); recursive
// doubling on a power of two does the same for g = XOR of the node index. Every rank of a class
// {g(x)} then does the same work at the same times, so the tuner and the simulator need the Plans
// of one node only: rank x stands for its class, a message from peer p is the message of rep(p)
// seen through the g that carries rep(p) to p.
//
// symmetry_of() states what an algorithm is built to respect; it does not
// prove it for a call. check_symmetry() does, on sampled ranks' Plans,
// before the simulator folds (sim/folding.hpp) or the tuner counts one node
// (tune/traffic.hpp); block sizes may differ by one vector unit between
// ranks (balanced partition), so folding is exact only on even counts.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "algorithms/algorithm.hpp"

namespace colossus::algorithms {

struct Symmetry {
  enum class Group { None, NodeRotation, NodeXor };
  Group group = Group::None;
  int nodes = 1, per_node = 1;
  bool exact = true;  // every sampled step moves the same count (set by checks)

  bool active() const { return group != Group::None; }
  // Representative of rank x's class: the rank of node 0 with x's local index.
  int rep(int x) const { return active() ? x % per_node : x; }
  // With g the element that carries rep(p) to p: g(x) and g^-1(x).
  int apply(int p, int x) const;
  int unapply(int p, int x) const;
  // Ranks to hold: per_node when folded, else all.
  int slots(int nranks) const { return active() ? per_node : nranks; }
  // "node rotation: 8 classes of 12500 ranks (exact)" or "none".
  std::string describe() const;
};

// The group `algo`'s Plans for `args` respect on `layout` (which must be
// uniform and blocked; see Layout::blocked()), or Group::None with `why`.
Symmetry symmetry_of(const Layout& layout, const plan::CollArgs& args, Algo algo, std::string* why);

// A rank's Plans: one for a collective, a group's in job order.
using PlansOf = std::function<std::vector<plan::Plan>(int rank)>;

// Proves `s` on sampled ranks: for the first, middle and last local index
// x and g carrying node 0 to a neighbour node, the farthest and the last,
// the Plans of g(x) are those of x with every peer carried by g: kinds and
// peers step by step, and each channel's elements within a block or two
// (uneven blocks move the short one to another step; s->exact is cleared
// then). "" if so, else where they differ.
std::string check_symmetry(Symmetry* s, const PlansOf& plans_of);

}  // namespace colossus::algorithms
