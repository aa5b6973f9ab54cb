// hierarchical_gather.cc: rail-aware allgather and reduce_scatter.
//
// Both walk each channel's part of the per-rank block [0, count) in chunks;
// "x's block" below is that chunk of rank x's block. With m the size of this
// rank's node and j its local index, the rank serves rails j, j+m, j+2m, ...
// below the largest node size (hier::rail_ring): its own rail j, and on an
// uneven layout the rails its node has no rank for.
//
// Allgather:
//  1. rails (G > 1), ascending: on rail l a ring in node order allgathers
//     the blocks of the ranks with local index l (a node with fewer than l+1
//     ranks has no block there and only collects). A rank then holds the
//     blocks of every rank whose local index it serves.
//  2. node (m > 1): for each source node h and round t, a ring among the
//     node's ranks allgathers the blocks of h's ranks with local indices
//     t*m .. t*m+m-1; position q holds local index t*m+q, if h has it.
// Reduce_scatter is the mirror image:
//  1. node (m > 1): for each destination node h and round t, a ring
//     reduce-scatter sums over the node the blocks destined to h's ranks
//     t*m+q, into position q's scratch (one chunk per destination served);
//  2. rails (G > 1), ascending: on rail l a ring reduce-scatter in node order
//     sums the node sums of the blocks destined to local index l and
//     finalizes each into its destination's recv buffer.
// On a uniform layout rail l holds exactly the local-index-l ranks, so no
// message between nodes leaves its rail. A single node is a plain ring; a
// single-rank node reads its inputs straight from the send buffer.
#include <algorithm>

#include "algorithms/hierarchical.hpp"
#include "plan/builder.hpp"

namespace colossus::algorithms::hier {

using plan::Buffer;
using plan::ChannelBuilder;
using plan::recv_slice;
using plan::send_slice;
using plan::Slice;

void allgather(plan::Plan& p, const Layout& l, const Sizing& s) {
  const int rank = p.rank, g = l.node_of(rank), G = l.nnodes(), j = l.local_index(rank);
  const int m = size(l, g), widest = l.max_per_node();
  const std::size_t count = p.args.count;
  const SubRing ring = node_ring(l, rank);
  for (int c = 0; c < s.nch; ++c) {
    ChannelBuilder b(p.channels[static_cast<std::size_t>(c)]);
    const Range r = part(count, s.nch, c, s.align);
    b.copy(send_slice(r.begin, r.size()), recv_slice(rank * count + r.begin, r.size()), false);
    for (std::size_t off = r.begin; off < r.end; off += s.chunk) {
      const std::size_t len = std::min(s.chunk, r.end - off);
      // The block of node h's rank with local index li, if there is one.
      auto block = [&](int h, int li) {
        if (li >= size(l, h)) return empty_slice();
        return recv_slice(
            static_cast<std::size_t>(node(l, h)[static_cast<std::size_t>(li)]) * count + off, len);
      };
      for (int rail = j; G > 1 && rail < widest; rail += m) {
        ring_allgather(b, rail_ring(l, rail, g), rail == j ? send_slice(off, len) : empty_slice(),
                       [&](int h) { return block(h, rail); });
      }
      for (int h = 0; m > 1 && h < G; ++h) {
        for (int t = 0; t * m < size(l, h); ++t) {
          ring_allgather(b, ring, block(h, t * m + j), [&](int q) { return block(h, t * m + q); });
        }
      }
    }
  }
}

void reduce_scatter(plan::Plan& p, const Layout& l, const Sizing& s) {
  const int rank = p.rank, g = l.node_of(rank), G = l.nnodes(), j = l.local_index(rank);
  const int m = size(l, g), widest = l.max_per_node();
  const std::size_t count = p.args.count;
  const SubRing ring = node_ring(l, rank);
  // Scratch: one chunk per channel for each destination (h, li) this rank
  // serves (li = j mod m), in (h, li) order; first[h] is h's first slot.
  const bool staged = m > 1 && G > 1;
  std::vector<std::size_t> first(static_cast<std::size_t>(G) + 1, 0);
  for (int h = 0; h < G; ++h) {
    const int sz = size(l, h);
    first[static_cast<std::size_t>(h) + 1] =
        first[static_cast<std::size_t>(h)] +
        (sz > j ? ceil_div(static_cast<std::size_t>(sz - j), static_cast<std::size_t>(m)) : 0);
  }
  const std::size_t slots = first.back();
  const std::size_t cap = std::min(s.chunk, part(count, s.nch, 0, s.align).size());
  if (staged) p.scratch_count = static_cast<std::size_t>(s.nch) * slots * cap;

  for (int c = 0; c < s.nch; ++c) {
    ChannelBuilder b(p.channels[static_cast<std::size_t>(c)]);
    const Range r = part(count, s.nch, c, s.align);
    for (std::size_t off = r.begin; off < r.end; off += s.chunk) {
      const std::size_t len = std::min(s.chunk, r.end - off);
      // This rank's input destined to node h's rank with local index li, if any.
      auto input = [&](int h, int li) {
        if (li >= size(l, h)) return empty_slice();
        return send_slice(
            static_cast<std::size_t>(node(l, h)[static_cast<std::size_t>(li)]) * count + off, len);
      };
      // The node's sum destined to (h, li), for li = j mod m: staged in scratch, or the input
      // itself.
      auto node_sum = [&](int h, int li) {
        if (li >= size(l, h) || !staged) return input(h, li);
        const std::size_t slot =
            first[static_cast<std::size_t>(h)] + static_cast<std::size_t>(li / m);
        return Slice{Buffer::Scratch, (static_cast<std::size_t>(c) * slots + slot) * cap, len};
      };
      for (int h = 0; m > 1 && h < G; ++h) {
        for (int t = 0; t * m < size(l, h); ++t) {
          const Slice dst = G == 1 ? recv_slice(off, len) : node_sum(h, t * m + j);
          ring_reduce_scatter(
              b, ring, [&](int q) { return input(h, t * m + q); }, dst, G == 1);
        }
      }
      for (int rail = j; G > 1 && rail < widest; rail += m) {
        ring_reduce_scatter(
            b, rail_ring(l, rail, g), [&](int h) { return node_sum(h, rail); },
            rail == j ? recv_slice(off, len) : empty_slice(), true);
      }
    }
  }
}

}  // namespace colossus::algorithms::hier
