#include "algorithms/patterns.hpp"

#include <algorithm>

namespace colossus::algorithms {

using plan::Buffer;
using plan::ChannelBuilder;
using plan::Collective;
using plan::Slice;

void ring_reduce_scatter(ChannelBuilder& b, const SubRing& ring, const SliceAt& src, Slice dst,
                         bool finalize) {
  const int n = ring.size();
  b.send(ring.next(), src(ring.behind(1)));
  for (int j = 1; j < n - 1; ++j)
    b.recv_reduce_send(ring.prev(), ring.next(), src(ring.behind(j + 1)));
  b.recv_reduce(ring.prev(), src(ring.pos), dst, finalize);
}

void ring_allgather(ChannelBuilder& b, const SubRing& ring, Slice own, const SliceAt& dst,
                    bool copy_own) {
  const int n = ring.size();
  b.send(ring.next(), own);
  if (copy_own) b.copy(own, dst(ring.pos), false);
  for (int j = 1; j < n - 1; ++j) b.recv_copy_send(ring.prev(), ring.next(), dst(ring.behind(j)));
  b.recv(ring.prev(), dst(ring.behind(n - 1)));
}

void ring_allreduce(ChannelBuilder& b, const SubRing& ring, Range r, Buffer src, Buffer dst,
                    std::size_t chunk, std::size_t align, bool finalize) {
  const int n = ring.size();
  const std::size_t loop = chunk * static_cast<std::size_t>(n);
  for (std::size_t off = r.begin; off < r.end; off += loop) {
    const std::size_t m = std::min(loop, r.end - off);
    auto block = [&](int q) {
      const Range p = part(m, n, q, align);
      return Range{off + p.begin, off + p.end};
    };
    auto in = [&](int q) { return slice_of(src, block(q)); };
    auto out = [&](int q) { return slice_of(dst, block(q)); };
    // Reduce-scatter; the block completed here goes straight on into the allgather.
    b.send(ring.next(), in(ring.behind(0)));
    for (int j = 1; j < n - 1; ++j)
      b.recv_reduce_send(ring.prev(), ring.next(), in(ring.behind(j)));
    const int mine = ring.behind(n - 1);
    b.recv_reduce_copy_send(ring.prev(), ring.next(), in(mine), out(mine), finalize);
    for (int j = 1; j < n - 1; ++j)
      b.recv_copy_send(ring.prev(), ring.next(), out(ring.behind(n - 1 + j)));
    b.recv(ring.prev(), out(ring.behind(2 * n - 2)));
  }
}

void tree_reduce(ChannelBuilder& b, const TreeNode& t, Slice in, Slice acc, Slice out,
                 bool finalize) {
  const std::size_t k = t.children.size();
  if (t.root()) {
    if (k == 0) {
      b.copy(in, out, finalize);
      return;
    }
    Slice cur = in;
    for (std::size_t i = 0; i < k; ++i) {
      b.recv_reduce(t.children[i], cur, out, finalize && i + 1 == k);
      cur = out;
    }
    return;
  }
  if (k == 0) {
    b.send(t.parent, in);
    return;
  }
  Slice cur = in;
  for (std::size_t i = 0; i + 1 < k; ++i) {
    b.recv_reduce(t.children[i], cur, acc, false);
    cur = acc;
  }
  b.recv_reduce_send(t.children[k - 1], t.parent, cur);
}

void tree_broadcast(ChannelBuilder& b, const TreeNode& t, Slice in, Slice out) {
  if (t.root()) {
    for (const int c : t.children) b.send(c, in);
    return;
  }
  if (t.children.empty()) {
    b.recv(t.parent, out);
    return;
  }
  b.recv_copy_send(t.parent, t.children.front(), out);
  for (std::size_t i = 1; i < t.children.size(); ++i) b.send(t.children[i], out);
}

void rooted_tree_plan(plan::Plan& p, const TreeNode& t, const AlgoParams& params) {
  const plan::CollArgs& a = p.args;
  const Sizing s = sizing(a, params);
  const bool reduce = a.coll == Collective::Reduce;
  const bool needs_acc = reduce && !t.root() && t.children.size() >= 2;
  // One chunk of scratch per channel, reused chunk after chunk.
  const std::size_t cap = std::min(s.chunk, part(a.count, s.nch, 0, s.align).size());
  if (needs_acc) p.scratch_count = cap * static_cast<std::size_t>(s.nch);
  for (int c = 0; c < s.nch; ++c) {
    ChannelBuilder b(p.channels[static_cast<std::size_t>(c)]);
    const Range r = part(a.count, s.nch, c, s.align);
    for (std::size_t off = r.begin; off < r.end; off += s.chunk) {
      const std::size_t m = std::min(s.chunk, r.end - off);
      const Slice in = plan::send_slice(off, m), out = plan::recv_slice(off, m);
      if (reduce) {
        const Slice acc{Buffer::Scratch, static_cast<std::size_t>(c) * cap, m};
        tree_reduce(b, t, in, acc, out, true);
      } else {
        tree_broadcast(b, t, in, out);
      }
    }
    // The root's own broadcast output: one copy of the part (a no-op in place).
    if (!reduce && t.root())
      b.copy(plan::send_slice(r.begin, r.size()), plan::recv_slice(r.begin, r.size()), false);
  }
}

Sizing sizing(const plan::CollArgs& args, const AlgoParams& params) {
  Sizing s;
  const std::size_t esize = dtype_size(args.dtype);
  s.align = vector_align(esize);  // 16-byte blocks keep the reduction kernels on their vector path
  s.chunk = chunk_elements(params.chunk_bytes, esize, s.align);
  s.nch = std::max(1, params.nchannels);
  return s;
}

plan::Plan plan_header(const plan::CollArgs& args, int rank, const char* algorithm, int nchannels) {
  plan::Plan p;
  p.args = args;
  p.rank = rank;
  p.algorithm = algorithm;
  p.channels.resize(static_cast<std::size_t>(nchannels));
  return p;
}

void single_rank_copy(plan::Plan& p, std::size_t align) {
  const bool fin = p.args.coll != Collective::AllGather && p.args.coll != Collective::Broadcast;
  const int nch = static_cast<int>(p.channels.size());
  for (int c = 0; c < nch; ++c) {
    ChannelBuilder b(p.channels[static_cast<std::size_t>(c)]);
    const Range r = part(p.args.count, nch, c, align);
    b.copy(plan::send_slice(r.begin, r.size()), plan::recv_slice(r.begin, r.size()), fin);
  }
}

}  // namespace colossus::algorithms
