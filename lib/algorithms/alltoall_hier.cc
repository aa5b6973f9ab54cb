// alltoall_hier.cc: rail-aware hierarchical all-to-all (as NCCL's PXN routes it).
//
// G nodes of P ranks each (uniform layouts only); (a, i) is local index i of
// node a. The block from (a, i) to (b, j) first moves inside node a to
// (a, j), the rank on the destination's rail, which then sends it across the
// network on rail j to (b, j). Every inter-node message so joins two ranks of
// one rail, and carries the blocks of all P ranks of node a for (b, j)
// together: G-1 network messages per rank (per chunk) instead of (G-1) P.
//
// Message space (units.hpp): the P blocks of one source node for one
// destination, in local-index order, [0, P*count); position i*count + y is
// element y of local index i's block. Rank (a, j) stages, for each other
// node b = a + d (d = 1..G-1), the space of the blocks node a sends to
// (b, j) at scratch T(d) = (d-1) P count, so that each network message is
// one contiguous range of it.
//  1. intra-node, pairwise rounds k = 1..P-1: (a, i) sends (a, i+k) its
//     blocks for (a+d, i+k), d = 0..G-1, at position i of each space: d = 0
//     lands in the receiver's recv buffer (the own node's blocks go
//     directly), d >= 1 in its T(d). Its own blocks for (a+d, i) it copies
//     into its own T(d).
//  2. inter-node, pairwise rounds k = 1..G-1 on the rail: (a, i) sends
//     T(k) to (a+k, i) and receives (a-k, i)'s staged space into its recv
//     buffer, at the blocks of node a-k's ranks (cut where those are not
//     consecutive ranks, so that both ends cut alike).
// Each round alternates one piece out with one piece in (blocks.hpp's
// exchange), and every round of a phase has peers of its own on each
// channel, so no send waits on a full FIFO the partner cannot drain. Rounds
// go to a+k and come from a-k: node rotations carry every rank's Plan to
// another's (symmetry.hpp). One node: phase 1 alone, a pairwise exchange.
#include <string>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/patterns.hpp"
#include "algorithms/units.hpp"
#include "colossus/error.hpp"

namespace colossus::algorithms {

using plan::Buffer;
using plan::ChannelBuilder;
using plan::Slice;

namespace {

// Sends the pieces `out` to `to` and receives the pieces `in` from `from`,
// one of each in turn (blocks.hpp's exchange() for lists of pieces).
void exchange_pieces(ChannelBuilder& b, int to, const std::vector<Slice>& out, int from,
                     const std::vector<Slice>& in) {
  for (std::size_t t = 0; t < out.size() || t < in.size(); ++t) {
    if (t < out.size()) b.send(to, out[t]);
    if (t < in.size()) b.recv(from, in[t]);
  }
}

}  // namespace

plan::Plan hierarchical_alltoall_plan(const plan::CollArgs& args, int rank,
                                      const AlgoParams& params) {
  if (args.coll != plan::Collective::AllToAll) {
    throw Error(ErrorCode::InvalidArgument,
                std::string("hierarchical all-to-all called for ") + plan::to_string(args.coll));
  }
  const Layout single = params.layout ? Layout() : Layout::single_node(args.nranks);
  const Layout& l = params.layout ? *params.layout : single;
  if (l.nranks() != args.nranks) {
    throw Error(ErrorCode::InvalidArgument,
                "hierarchical alltoall: layout of " + std::to_string(l.nranks()) +
                    " ranks for a call on " + std::to_string(args.nranks));
  }
  if (!l.uniform()) {
    throw Error(ErrorCode::InvalidArgument,
                "hierarchical alltoall needs every node to hold the same number of ranks; the "
                "layout is " +
                    l.describe() + " (use pairwise or bruck)");
  }
  const Sizing s = sizing(args, params);
  plan::Plan p = plan_header(args, rank, "hierarchical", s.nch);
  const int G = l.nnodes(), P = l.max_per_node();
  const int a = l.node_of(rank), i = l.local_index(rank);
  const std::size_t count = args.count, uP = static_cast<std::size_t>(P);
  const std::size_t space = uP * count;
  p.scratch_count = static_cast<std::size_t>(G - 1) * space;
  auto member = [&](int node, int local) {
    return l.members(((node % G) + G) % G)[static_cast<std::size_t>(((local % P) + P) % P)];
  };
  auto at = [&](int r) { return static_cast<std::size_t>(r) * count; };          // rank r's block
  auto staged = [&](int d) { return static_cast<std::size_t>(d - 1) * space; };  // T(d)
  auto pos = [&](int local) { return static_cast<std::size_t>(local) * count; };
  // Where a space of node h's blocks is not contiguous in a receiver's recv
  // buffer: between local indices that are not consecutive ranks.
  auto breaks = [&](int h) {
    std::vector<std::size_t> cuts;
    for (int q = 1; q < P; ++q) {
      if (member(h, q) != member(h, q - 1) + 1) cuts.push_back(pos(q));
    }
    return cuts;
  };
  const std::vector<std::size_t> none;
  const Units units(space, s.nch, s.chunk, s.align);

  for (int c = 0; c < s.nch; ++c) {
    ChannelBuilder b(p.channels[static_cast<std::size_t>(c)]);
    // Each piece of local index q's block (position q of a space) on this channel.
    auto block_pieces = [&](int q, auto&& f) {
      units.each(pos(q), pos(q + 1), c, none,
                 [&](std::size_t x0, std::size_t x1) { f(x0 - pos(q), x0, x1 - x0); });
    };
    block_pieces(i, [&](std::size_t y, std::size_t, std::size_t m) {
      b.copy({Buffer::Send, at(rank) + y, m}, {Buffer::Recv, at(rank) + y, m}, false);
    });

    for (int k = 1; k < P; ++k) {  // 1. intra-node
      const int j = (i + k) % P, jf = (i - k + P) % P;
      const int to = member(a, j), from = member(a, jf);
      std::vector<Slice> out, in;
      for (int d = 0; d < G; ++d) {
        const int dest = member(a + d, j);
        block_pieces(i, [&](std::size_t y, std::size_t, std::size_t m) {
          out.push_back({Buffer::Send, at(dest) + y, m});
        });
        block_pieces(jf, [&](std::size_t y, std::size_t x, std::size_t m) {
          in.push_back(d == 0 ? Slice{Buffer::Recv, at(from) + y, m}
                              : Slice{Buffer::Scratch, staged(d) + x, m});
        });
      }
      exchange_pieces(b, to, out, from, in);
    }
    if (G == 1) continue;

    for (int d = 1; d < G; ++d) {  // this rank's own blocks for its rail peers
      const int dest = member(a + d, i);
      block_pieces(i, [&](std::size_t y, std::size_t x, std::size_t m) {
        b.copy({Buffer::Send, at(dest) + y, m}, {Buffer::Scratch, staged(d) + x, m}, false);
      });
    }
    for (int k = 1; k < G; ++k) {  // 2. inter-node, on rail i
      const int src_node = (a - k + G) % G;
      std::vector<Slice> out, in;
      units.each(0, space, c, breaks(a), [&](std::size_t x0, std::size_t x1) {
        out.push_back({Buffer::Scratch, staged(k) + x0, x1 - x0});
      });
      units.each(0, space, c, breaks(src_node), [&](std::size_t x0, std::size_t x1) {
        const int q = static_cast<int>(x0 / count);
        in.push_back({Buffer::Recv, at(member(src_node, q)) + x0 % count, x1 - x0});
      });
      exchange_pieces(b, member(a + k, i), out, member(src_node, i), in);
    }
  }
  return p;
}

}  // namespace colossus::algorithms
