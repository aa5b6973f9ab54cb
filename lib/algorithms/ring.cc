// ring.cc: ring algorithms for the five collectives.
//
// Data is split into one contiguous part per channel; each channel walks its
// part in chunks. Ring step s of rank r handles block (r - s) mod n, so every
// rank sends what its successor needs next and the FIFO between neighbours
// pipelines consecutive steps and chunks. The steps themselves are the
// shared ring patterns (patterns.hpp) over the ring of all ranks; broadcast
// and reduce are the rooted tree pattern over a chain.
#include <algorithm>
#include <numeric>

#include "algorithms/algorithm.hpp"
#include "algorithms/patterns.hpp"

namespace colossus::algorithms {

using plan::Buffer;
using plan::ChannelBuilder;
using plan::Collective;
using plan::recv_slice;
using plan::send_slice;

namespace {

// The ring of all ranks, 0 -> 1 -> ... -> n-1 -> 0, seen from `rank`.
SubRing full_ring(int n, int rank) {
  SubRing ring;
  ring.ranks.resize(static_cast<std::size_t>(n));
  std::iota(ring.ranks.begin(), ring.ranks.end(), 0);
  ring.pos = rank;
  return ring;
}

// The ring cut open into a chain. Broadcast: root -> root+1 -> ... -> root-1;
// reduce: root+1 -> root+2 -> ... -> root. A chain is a tree with one child each.
TreeNode chain_node(const SubRing& ring, int root, bool towards_root) {
  TreeNode t;
  const int pos = towards_root ? ring.wrap(ring.pos - root - 1) : ring.wrap(ring.pos - root);
  const int n = ring.size();
  const int first = towards_root ? n - 1 : 0;  // the chain's root: the collective's root
  const int up = towards_root ? ring.next() : ring.prev();
  const int down = towards_root ? ring.prev() : ring.next();
  if (pos != first) t.parent = up;
  const bool leaf = towards_root ? pos == 0 : pos == n - 1;
  if (!leaf) t.children.push_back(down);
  return t;
}

}  // namespace

plan::Plan ring_plan(const plan::CollArgs& args, int rank, const AlgoParams& params) {
  const Sizing s = sizing(args, params);
  plan::Plan p = plan_header(args, rank, "ring", s.nch);
  const int n = args.nranks;
  if (n == 1) {
    single_rank_copy(p, s.align);
    return p;
  }
  const SubRing ring = full_ring(n, rank);
  if (args.coll == Collective::Broadcast || args.coll == Collective::Reduce) {
    rooted_tree_plan(p, chain_node(ring, args.root, args.coll == Collective::Reduce), params);
    return p;
  }
  for (int c = 0; c < s.nch; ++c) {
    auto& steps = p.channels[static_cast<std::size_t>(c)].steps;
    ChannelBuilder b(p.channels[static_cast<std::size_t>(c)]);
    const Range r = part(args.count, s.nch, c, s.align);
    // Each chunk (allreduce: each loop of n chunks) costs at most 2n steps.
    const std::size_t per =
        args.coll == Collective::AllReduce ? s.chunk * static_cast<std::size_t>(n) : s.chunk;
    steps.reserve(ceil_div(r.size(), per) * 2 * static_cast<std::size_t>(n) + 1);
    if (args.coll == Collective::AllReduce) {
      ring_allreduce(b, ring, r, Buffer::Send, Buffer::Recv, s.chunk, s.align, true);
      continue;
    }
    const std::size_t count = args.count;
    for (std::size_t off = r.begin; off < r.end; off += s.chunk) {
      const std::size_t m = std::min(s.chunk, r.end - off);
      if (args.coll == Collective::AllGather) {
        // Own block out first, then into its place in the output (a no-op in place).
        ring_allgather(
            b, ring, send_slice(off, m),
            [&](int q) { return recv_slice(static_cast<std::size_t>(q) * count + off, m); }, true);
      } else {
        ring_reduce_scatter(
            b, ring,
            [&](int q) { return send_slice(static_cast<std::size_t>(q) * count + off, m); },
            recv_slice(off, m), true);
      }
    }
  }
  return p;
}

}  // namespace colossus::algorithms
