// ring.cc: ring algorithms for the five collectives.
//
// Data is split into one contiguous part per channel; each channel walks its
// part in chunks. Ring step s of rank r handles block (r - s) mod n, so every
// rank sends what its successor needs next and the FIFO between neighbours
// pipelines consecutive steps and chunks.
#include <algorithm>

#include "algorithms/algorithm.hpp"
#include "algorithms/partition.hpp"
#include "plan/builder.hpp"

namespace colossus::algorithms {

using plan::ChannelBuilder;
using plan::Collective;
using plan::recv_slice;
using plan::send_slice;

namespace {

struct Ring {
  int n, rank;
  int next() const { return (rank + 1) % n; }
  int prev() const { return (rank + n - 1) % n; }
  // Block index k steps behind this rank, mod n.
  std::size_t behind(int k) const { return static_cast<std::size_t>(((rank - k) % n + n) % n); }
};

// Allreduce over one loop of the channel: reduce-scatter then allgather.
void allreduce_loop(ChannelBuilder& b, const Ring& ring, std::size_t off, std::size_t m,
                    std::size_t align) {
  const int n = ring.n;
  auto block = [&](std::size_t k) {
    const Range p = part(m, n, static_cast<int>(k), align);
    return Range{off + p.begin, off + p.end};
  };
  auto at_send = [](Range r) { return send_slice(r.begin, r.size()); };
  auto at_recv = [](Range r) { return recv_slice(r.begin, r.size()); };

  b.send(ring.next(), at_send(block(ring.behind(0))));
  for (int j = 1; j < n - 1; ++j) {
    b.recv_reduce_send(ring.prev(), ring.next(), at_send(block(ring.behind(j))));
  }
  const Range mine = block(ring.behind(n - 1));  // fully reduced here first
  b.recv_reduce_copy_send(ring.prev(), ring.next(), at_send(mine), at_recv(mine), true);
  for (int j = 1; j < n - 1; ++j) {
    b.recv_copy_send(ring.prev(), ring.next(), at_recv(block(ring.behind(n - 1 + j))));
  }
  b.recv(ring.prev(), at_recv(block(ring.behind(2 * n - 2))));
}

void allgather_chunk(ChannelBuilder& b, const Ring& ring, std::size_t count, std::size_t off,
                     std::size_t m) {
  auto own_block_at = [&](std::size_t q) { return recv_slice(q * count + off, m); };
  b.send(ring.next(), send_slice(off, m));
  b.copy(send_slice(off, m), own_block_at(ring.behind(0)), false);  // no-op when in place
  for (int j = 1; j < ring.n - 1; ++j) {
    b.recv_copy_send(ring.prev(), ring.next(), own_block_at(ring.behind(j)));
  }
  b.recv(ring.prev(), own_block_at(ring.behind(ring.n - 1)));
}

void reduce_scatter_chunk(ChannelBuilder& b, const Ring& ring, std::size_t count,
                          std::size_t off, std::size_t m) {
  auto input_block = [&](std::size_t q) { return send_slice(q * count + off, m); };
  b.send(ring.next(), input_block(ring.behind(1)));
  for (int j = 1; j < ring.n - 1; ++j) {
    b.recv_reduce_send(ring.prev(), ring.next(), input_block(ring.behind(j + 1)));
  }
  b.recv_reduce(ring.prev(), input_block(ring.behind(0)), recv_slice(off, m), true);
}

// Broadcast: a pipelined chain root -> root+1 -> ... -> root-1.
void broadcast_chunk(ChannelBuilder& b, const Ring& ring, int root, std::size_t off,
                     std::size_t m) {
  const int pos = (ring.rank - root + ring.n) % ring.n;
  if (pos == 0) {
    b.send(ring.next(), send_slice(off, m));
  } else if (pos < ring.n - 1) {
    b.recv_copy_send(ring.prev(), ring.next(), recv_slice(off, m));
  } else {
    b.recv(ring.prev(), recv_slice(off, m));
  }
}

// Reduce: a pipelined chain root+1 -> root+2 -> ... -> root.
void reduce_chunk(ChannelBuilder& b, const Ring& ring, int root, std::size_t off, std::size_t m) {
  const int pos = (ring.rank - root - 1 + 2 * ring.n) % ring.n;
  if (pos == 0) {
    b.send(ring.next(), send_slice(off, m));
  } else if (pos < ring.n - 1) {
    b.recv_reduce_send(ring.prev(), ring.next(), send_slice(off, m));
  } else {
    b.recv_reduce(ring.prev(), send_slice(off, m), recv_slice(off, m), true);
  }
}

}  // namespace

plan::Plan ring_plan(const plan::CollArgs& args, int rank, const AlgoParams& params) {
  plan::Plan p;
  p.args = args;
  p.rank = rank;
  p.algorithm = "ring";
  const int n = args.nranks;
  const Ring ring{n, rank};
  const std::size_t esize = dtype_size(args.dtype);
  // 16-byte aligned blocks keep the reduction kernels on their vector path.
  const std::size_t align = vector_align(esize);
  const std::size_t chunk = chunk_elements(params.chunk_bytes, esize, align);
  const int nch = std::max(1, params.nchannels);
  p.channels.resize(static_cast<std::size_t>(nch));

  for (int c = 0; c < nch; ++c) {
    auto& steps = p.channels[static_cast<std::size_t>(c)].steps;
    ChannelBuilder b(p.channels[static_cast<std::size_t>(c)]);
    const Range r = part(args.count, nch, c, align);
    // Each chunk (allreduce: each loop of n chunks) costs at most 2n steps.
    const std::size_t per = args.coll == Collective::AllReduce ? chunk * static_cast<std::size_t>(n) : chunk;
    steps.reserve(ceil_div(r.size(), per) * 2 * static_cast<std::size_t>(n) + 1);
    if (n == 1) {
      const bool fin = args.coll != Collective::AllGather && args.coll != Collective::Broadcast;
      b.copy(send_slice(r.begin, r.size()), recv_slice(r.begin, r.size()), fin);
      continue;
    }
    if (args.coll == Collective::AllReduce) {
      const std::size_t loop = chunk * static_cast<std::size_t>(n);
      for (std::size_t off = r.begin; off < r.end; off += loop) {
        allreduce_loop(b, ring, off, std::min(loop, r.end - off), align);
      }
      continue;
    }
    for (std::size_t off = r.begin; off < r.end; off += chunk) {
      const std::size_t m = std::min(chunk, r.end - off);
      switch (args.coll) {
        case Collective::AllGather: allgather_chunk(b, ring, args.count, off, m); break;
        case Collective::ReduceScatter: reduce_scatter_chunk(b, ring, args.count, off, m); break;
        case Collective::Broadcast: broadcast_chunk(b, ring, args.root, off, m); break;
        case Collective::Reduce: reduce_chunk(b, ring, args.root, off, m); break;
        case Collective::AllReduce: break;
      }
    }
    // The root's own output of a broadcast: one copy of the channel's part (no-op in place).
    if (args.coll == Collective::Broadcast && rank == args.root) {
      b.copy(send_slice(r.begin, r.size()), recv_slice(r.begin, r.size()), false);
    }
  }
  return p;
}

}  // namespace colossus::algorithms
