// patterns.hpp: building blocks the ring, tree and hierarchical algorithms share.
//
// Rings over any subset of ranks (a node's ranks, one rail of nodes) and one
// tree node's part of a reduce or broadcast, each appending a short sequence
// of primitives to a channel. Blocks are given by functions of the ring
// position so that callers can map them onto any buffer layout; a block may
// be empty, and the builder drops zero-element steps at both ends alike, so
// rings with empty blocks stay matched.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/partition.hpp"
#include "plan/builder.hpp"

namespace colossus::algorithms {

// A ring over `ranks` (in ring order) seen from position `pos`.
struct SubRing {
  std::vector<int> ranks;
  int pos = 0;
  int size() const { return static_cast<int>(ranks.size()); }
  int wrap(int q) const { return ((q % size()) + size()) % size(); }
  int next() const { return ranks[static_cast<std::size_t>(wrap(pos + 1))]; }
  int prev() const { return ranks[static_cast<std::size_t>(wrap(pos - 1))]; }
  int behind(int k) const { return wrap(pos - k); }  // the position k steps behind this one
};

using SliceAt = std::function<plan::Slice(int position)>;

inline plan::Slice slice_of(plan::Buffer buf, Range r) { return {buf, r.begin, r.size()}; }
inline plan::Slice empty_slice() { return {plan::Buffer::Send, 0, 0}; }

// Ring reduce-scatter (size >= 2): the blocks src(q) of every position are
// reduced into `dst` at position q; block q travels q+1 -> q+2 -> ... -> q.
void ring_reduce_scatter(plan::ChannelBuilder& b, const SubRing& ring, const SliceAt& src,
                         plan::Slice dst, bool finalize);

// Ring allgather (size >= 2): `own` (this position's block) goes round the
// ring; the block of position q lands in dst(q) on every other position.
// With copy_own, `own` is also copied to dst(pos) here, right after it is
// sent (a no-op when it is there already, in place).
void ring_allgather(plan::ChannelBuilder& b, const SubRing& ring, plan::Slice own,
                    const SliceAt& dst, bool copy_own = false);

// Ring allreduce (size >= 2) of elements `r`, read from `src` and left in
// `dst`, in loops of chunk * size so that no step moves more than `chunk`.
void ring_allreduce(plan::ChannelBuilder& b, const SubRing& ring, Range r, plan::Buffer src,
                    plan::Buffer dst, std::size_t chunk, std::size_t align, bool finalize);

// One rank's place in a tree. Children in the order their messages are handled.
struct TreeNode {
  int parent = -1;  // -1: the root
  std::vector<int> children;
  bool root() const { return parent < 0; }
};

// Reduce towards the root, one chunk. `in`: this rank's input; `acc`: where
// an interior non-root node with several children collects its partial sum;
// at the root the result lands in `out`, finalized when `finalize`.
void tree_reduce(plan::ChannelBuilder& b, const TreeNode& t, plan::Slice in, plan::Slice acc,
                 plan::Slice out, bool finalize);

// Broadcast from the root, one chunk: the root sends `in` to its children;
// every other rank receives into `out` and forwards it.
void tree_broadcast(plan::ChannelBuilder& b, const TreeNode& t, plan::Slice in, plan::Slice out);

// A broadcast or reduce of p.args over the tree `t` (rooted at args.root):
// params.nchannels parts, each pipelined in chunks. Reduce nodes that need a
// place for partial sums (non-root, two or more children) get one chunk of
// scratch per channel.
void rooted_tree_plan(plan::Plan& p, const TreeNode& t, const AlgoParams& params);

// Plan header and the sizes every algorithm derives from the call.
struct Sizing {
  std::size_t align = 1, chunk = 1;
  int nch = 1;
};
Sizing sizing(const plan::CollArgs& args, const AlgoParams& params);
plan::Plan plan_header(const plan::CollArgs& args, int rank, const char* algorithm, int nchannels);

// n == 1: each channel's part is one copy (finalized for reductions).
void single_rank_copy(plan::Plan& p, std::size_t align);

}  // namespace colossus::algorithms
