// tree.cc: double binary tree allreduce; binary tree broadcast and reduce.
//
// The binary tree is NCCL's: over labels 0..n-1, label v != 0 with lowest
// set bit b hangs below (v ^ b) | 2b, or below v ^ b where that is out of
// range. Odd labels are leaves, 0 is the root with a single child, and the
// depth is at most about log2(n). The second tree relabels the first: mirrored
// (v -> n-1-v) for even n, shifted by one (v -> v-1) for odd n, so that the
// leaves of one tree are the interior nodes of the other and each rank
// forwards data in at most one of them.
//
// Allreduce: plan channel c carries tree c % 2 over part c of the data, so
// the two trees never share a stream and each carries half the data; there
// are max(2, nchannels rounded up to even) channels. Each channel reduces all
// its chunks up the tree (leaves send, interior nodes recv_reduce their
// children into the recv buffer and send the sum on, with no local store for
// a single child; the root's last receive finalizes), then broadcasts them
// all back down (recv_copy_send, send, recv), as NCCL's tree does. Chunks
// pipeline through each phase. Interleaving the phases would let the root
// start each chunk's broadcast at once, but a rank whose parent is already
// sending down while it still sends up then needs a FIFO deep enough to hold
// the difference: with slot-sized pieces even a lag of two chunks deadlocks
// at n = 2 (the verifier finds it). Whole phases need one slot per stream.
//
// Broadcast and reduce: the first tree, relabelled so that the call's root
// is label 0, pipelined in chunks over each channel's part.
#include <algorithm>

#include "algorithms/algorithm.hpp"
#include "algorithms/partition.hpp"
#include "algorithms/patterns.hpp"
#include "colossus/error.hpp"
#include "plan/builder.hpp"

namespace colossus::algorithms {

using plan::ChannelBuilder;
using plan::Collective;
using plan::recv_slice;
using plan::send_slice;

namespace {

int btree_parent(int n, int v) {
  if (v == 0) return -1;
  const int bit = v & -v;
  const int up = (v ^ bit) | (bit << 1);
  return up < n ? up : v ^ bit;
}

// Label v's place in the binary tree over labels 0..n-1. Children differ
// from their parent in one bit, so the candidates are v +- 2^k.
TreeNode btree_node(int n, int v) {
  TreeNode t;
  t.parent = btree_parent(n, v);
  for (long bit = 1; bit < n; bit <<= 1) {
    for (const long c : {v - bit, v + bit}) {
      if (c > 0 && c < n && btree_parent(n, static_cast<int>(c)) == v)
        t.children.push_back(static_cast<int>(c));
    }
  }
  std::sort(t.children.begin(), t.children.end());
  return t;
}

// Rank `rank`'s node of tree `which` (0 or 1) of the double binary tree.
// Tree 1 is tree 0 under the relabelling described above.
TreeNode dtree_node(int n, int rank, int which) {
  auto to_label = [&](int r) { return which == 0 ? r : n % 2 == 0 ? n - 1 - r : (r - 1 + n) % n; };
  auto to_rank = [&](int v) { return which == 0 ? v : n % 2 == 0 ? n - 1 - v : (v + 1) % n; };
  TreeNode t = btree_node(n, to_label(rank));
  if (t.parent >= 0) t.parent = to_rank(t.parent);
  for (int& c : t.children) c = to_rank(c);
  return t;
}

void allreduce_channel(ChannelBuilder& b, const TreeNode& t, Range r, std::size_t chunk) {
  for (std::size_t off = r.begin; off < r.end; off += chunk) {
    const std::size_t m = std::min(chunk, r.end - off);
    tree_reduce(b, t, send_slice(off, m), recv_slice(off, m), recv_slice(off, m), true);
  }
  for (std::size_t off = r.begin; off < r.end; off += chunk) {
    const std::size_t m = std::min(chunk, r.end - off);
    tree_broadcast(b, t, recv_slice(off, m), recv_slice(off, m));
  }
}

}  // namespace

plan::Plan tree_plan(const plan::CollArgs& args, int rank, const AlgoParams& params) {
  if (args.coll == Collective::Gather || args.coll == Collective::Scatter) {
    return tree_gather_plan(args, rank, params);  // the binomial tree, gather_tree.cc
  }
  if (!supports(Algo::Tree, args.coll)) {
    throw Error(ErrorCode::InvalidArgument,
                "tree implements allreduce, broadcast, reduce, gather and scatter only");
  }
  const Sizing s = sizing(args, params);
  const int n = args.nranks;
  const bool allreduce = args.coll == Collective::AllReduce;
  const int nch = allreduce ? std::max(2, s.nch + s.nch % 2) : s.nch;
  plan::Plan p = plan_header(args, rank, "tree", nch);
  if (n == 1) {
    single_rank_copy(p, s.align);
    return p;
  }
  if (!allreduce) {
    TreeNode t = btree_node(n, (rank - args.root + n) % n);
    auto to_rank = [&](int v) { return (v + args.root) % n; };
    if (t.parent >= 0) t.parent = to_rank(t.parent);
    for (int& c : t.children) c = to_rank(c);
    rooted_tree_plan(p, t, {s.nch, params.chunk_bytes, nullptr});
    return p;
  }
  const TreeNode trees[2] = {dtree_node(n, rank, 0), dtree_node(n, rank, 1)};
  for (int c = 0; c < nch; ++c) {
    ChannelBuilder b(p.channels[static_cast<std::size_t>(c)]);
    allreduce_channel(b, trees[c % 2], part(args.count, nch, c, s.align), s.chunk);
  }
  return p;
}

}  // namespace colossus::algorithms
