// hierarchical.cc: rail-aware hierarchical algorithms over a Layout.
//
// Terms: G nodes; node h holds size(h) ranks, local indices 0..size(h)-1.
// A null layout is one node of all ranks (allreduce, allgather and
// reduce_scatter then degenerate to rings within it).
//
// Allreduce (this file), per channel part P of the data:
//  1. intra-node reduce-scatter: node h splits P into size(h) aligned blocks
//     of its own ("the node's partition"); a ring among its ranks leaves
//     block l, summed over the node, in the recv buffer of local index l;
//  2. inter-node allreduce, per segment: cut P at the block boundaries of
//     every node's partition. Each segment lies in exactly one block of each
//     node, so it has one owner per node; the owners allreduce it in a ring
//     in node order (reading the node sums, or the send buffer of a node
//     with a single rank) and finalize it. Owners walk their segments in
//     ascending order, so streams that two segments share carry them in the
//     same order at both ends. On a uniform layout every partition is the
//     same, the segments are the blocks and the owners of block l are the
//     local-index-l ranks: traffic between nodes stays on rail l;
//  3. intra-node allgather of the blocks in a ring.
//  Each ring step moves at most one chunk (phases 1 and 3 pass over the
//  blocks chunk by chunk; phase 2 loops over chunk * G).
//
// Allgather and reduce_scatter (hierarchical_gather.cc): per chunk of the
// per-rank block, rail l runs a ring among rail_ring(l) (inter-node, first
// for allgather, second for reduce_scatter) and each node a ring among its
// ranks; see there.
//
// Broadcast and reduce (this file): a tree. Each node has a leader: the root
// on the root's node, elsewhere the rank on the root's rail (local index
// root's % size). Leaders form a chain in node order starting at the root's
// node; each leader heads a chain through its node's ranks in local-index
// order starting after it. A leader's children are the next leader, then
// the first rank of its node chain. Pipelined in chunks as in tree.cc.
//
// All phases are ordered the same way on every rank (chunk, phase, rail or
// segment ascending), which is what keeps the shared streams matched and the
// FIFOs free of cycles; the verifier proves each layout shape in the tests.
#include "algorithms/hierarchical.hpp"

#include <algorithm>
#include <set>

#include "colossus/error.hpp"
#include "plan/builder.hpp"

namespace colossus::algorithms {

using plan::Buffer;
using plan::ChannelBuilder;
using plan::Collective;

namespace {

using hier::node;
using hier::size;

void allreduce_part(ChannelBuilder& b, const Layout& l, int rank, Range r, const Sizing& s) {
  const int g = l.node_of(rank), G = l.nnodes(), j = l.local_index(rank);
  const std::size_t M = r.size();
  if (M == 0) return;
  auto block = [&](int h, int q) {
    const Range p = part(M, size(l, h), q, s.align);
    return Range{r.begin + p.begin, r.begin + p.end};
  };
  const SubRing ring = hier::node_ring(l, rank);
  const std::size_t bs = max_part(M, size(l, g), s.align);
  // Pass `o` of the intra-node rings: one chunk of every block.
  auto sub = [&](std::size_t o, int q) {
    const Range k = block(g, q);
    const std::size_t lo = std::min(k.end, k.begin + o);
    return Range{lo, std::min(k.end, lo + s.chunk)};
  };

  if (ring.size() > 1) {  // 1. intra-node reduce-scatter
    for (std::size_t o = 0; o < bs; o += s.chunk) {
      ring_reduce_scatter(
          b, ring, [&](int q) { return slice_of(Buffer::Send, sub(o, q)); },
          slice_of(Buffer::Recv, sub(o, j)), /*finalize=*/G == 1);
    }
  }
  if (G > 1) {  // 2. inter-node allreduce of each segment of this rank's block
    const Range mine = block(g, j);
    std::set<std::size_t> cuts = {mine.begin, mine.end};
    std::set<int> sizes;  // distinct node sizes: one on a uniform layout
    for (int h = 0; h < G; ++h) sizes.insert(size(l, h));
    for (const int m : sizes) {
      const int first = part_of(M, m, mine.begin - r.begin, s.align);
      for (int q = first + 1; q < m; ++q) {
        const std::size_t x = r.begin + part(M, m, q, s.align).begin;
        if (x >= mine.end) break;
        cuts.insert(x);
      }
    }
    const Buffer partial = ring.size() > 1 ? Buffer::Recv : Buffer::Send;
    for (auto it = cuts.begin(); std::next(it) != cuts.end(); ++it) {
      const Range seg{*it, *std::next(it)};
      SubRing owners;
      owners.pos = g;
      for (int h = 0; h < G; ++h) {
        owners.ranks.push_back(node(
            l, h)[static_cast<std::size_t>(part_of(M, size(l, h), seg.begin - r.begin, s.align))]);
      }
      ring_allreduce(b, owners, seg, partial, Buffer::Recv, s.chunk, s.align, true);
    }
  }
  if (ring.size() > 1) {  // 3. intra-node allgather
    for (std::size_t o = 0; o < bs; o += s.chunk) {
      ring_allgather(b, ring, slice_of(Buffer::Recv, sub(o, j)),
                     [&](int q) { return slice_of(Buffer::Recv, sub(o, q)); });
    }
  }
}

// The broadcast/reduce tree described at the top.
TreeNode rooted_node(const Layout& l, int root, int rank) {
  const int G = l.nnodes(), hr = l.node_of(root), lr = l.local_index(root);
  auto leader_index = [&](int h) { return h == hr ? lr : lr % size(l, h); };
  auto leader = [&](int h) { return node(l, h)[static_cast<std::size_t>(leader_index(h))]; };
  const int g = l.node_of(rank), m = size(l, g);
  const int k = (g - hr + G) % G;  // position in the leaders' chain
  const int pos = (l.local_index(rank) - leader_index(g) + m) % m;  // position in the node chain
  auto in_chain = [&](int p) {
    return node(l, g)[static_cast<std::size_t>((leader_index(g) + p) % m)];
  };
  TreeNode t;
  if (pos == 0) {
    t.parent = k == 0 ? -1 : leader((hr + k - 1) % G);
    if (k + 1 < G) t.children.push_back(leader((hr + k + 1) % G));
  } else {
    t.parent = in_chain(pos - 1);
  }
  if (pos + 1 < m) t.children.push_back(in_chain(pos + 1));
  return t;
}

}  // namespace

plan::Plan hierarchical_plan(const plan::CollArgs& args, int rank, const AlgoParams& params) {
  const Layout single = params.layout ? Layout() : Layout::single_node(args.nranks);
  const Layout& l = params.layout ? *params.layout : single;
  if (l.nranks() != args.nranks) {
    throw Error(ErrorCode::InvalidArgument,
                "hierarchical: layout of " + std::to_string(l.nranks()) + " ranks for a call on " +
                    std::to_string(args.nranks));
  }
  const Sizing s = sizing(args, params);
  plan::Plan p = plan_header(args, rank, "hierarchical", s.nch);
  if (args.nranks == 1) {
    single_rank_copy(p, s.align);
    return p;
  }
  switch (args.coll) {
    case Collective::AllReduce:
      for (int c = 0; c < s.nch; ++c) {
        ChannelBuilder b(p.channels[static_cast<std::size_t>(c)]);
        allreduce_part(b, l, rank, part(args.count, s.nch, c, s.align), s);
      }
      break;
    case Collective::AllGather: hier::allgather(p, l, s); break;
    case Collective::ReduceScatter: hier::reduce_scatter(p, l, s); break;
    case Collective::Broadcast:
    case Collective::Reduce: rooted_tree_plan(p, rooted_node(l, args.root, rank), params); break;
    default:
      throw Error(ErrorCode::InvalidArgument,
                  std::string("hierarchical does not implement ") + plan::to_string(args.coll));
  }
  return p;
}

}  // namespace colossus::algorithms
