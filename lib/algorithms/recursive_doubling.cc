// recursive_doubling.cc: latency-optimal allreduce for small messages.
//
// With p the largest power of two <= n and r = n - p, the first 2r ranks pair
// up: each even one hands its input to its odd neighbour and later receives
// the result from it. The p remaining ("core") ranks, renumbered 0..p-1,
// exchange their whole partial result with core partner id ^ 2^k for
// k = 0..log2(p)-1 and reduce it in. Every core rank combines the same
// operands in mirrored order, and all ops are commutative, so every rank ends
// with the same bits. Messages are chunked so that a send never needs more
// FIFO slots than exist while the partner is sending too.
#include "algorithms/algorithm.hpp"
#include "algorithms/partition.hpp"
#include "colossus/error.hpp"
#include "plan/builder.hpp"

namespace colossus::algorithms {

using plan::ChannelBuilder;
using plan::recv_slice;
using plan::send_slice;

namespace {

struct Doubling {
  int n = 1, p = 1, r = 0;
  explicit Doubling(int nranks) : n(nranks) {
    while (p * 2 <= n) p *= 2;
    r = n - p;
  }
  // Core id of `rank`, or -1 for the even ranks of the first 2r that hand off.
  int core_id(int rank) const {
    if (rank < 2 * r) return rank % 2 == 1 ? rank / 2 : -1;
    return rank - r;
  }
  int rank_of(int id) const { return id < r ? 2 * id + 1 : id + r; }
};

void doubling_chunk(ChannelBuilder& b, const Doubling& d, int rank, std::size_t off,
                    std::size_t m) {
  const auto in = send_slice(off, m);
  const auto out = recv_slice(off, m);
  const int id = d.core_id(rank);
  if (id < 0) {  // hand the input to the odd neighbour, get the result back
    b.send(rank + 1, in);
    b.recv(rank + 1, out);
    return;
  }
  bool reduced = false;  // whether `out` holds a partial result yet
  const bool has_rounds = d.p > 1;
  if (rank < 2 * d.r) {
    b.recv_reduce(rank - 1, in, out, /*finalize=*/!has_rounds);
    reduced = true;
  }
  for (int mask = 1; mask < d.p; mask <<= 1) {
    const int partner = d.rank_of(id ^ mask);
    const bool last = (mask << 1) >= d.p;
    b.send(partner, reduced ? out : in);
    b.recv_reduce(partner, reduced ? out : in, out, last);
    reduced = true;
  }
  if (rank < 2 * d.r) b.send(rank - 1, out);
}

}  // namespace

plan::Plan recursive_doubling_plan(const plan::CollArgs& args, int rank, const AlgoParams& params) {
  if (args.coll != plan::Collective::AllReduce) {
    throw Error(ErrorCode::InvalidArgument, "recursive_doubling implements allreduce only");
  }
  plan::Plan p;
  p.args = args;
  p.rank = rank;
  p.algorithm = "recursive_doubling";
  const std::size_t esize = dtype_size(args.dtype);
  const std::size_t align = vector_align(esize);
  const std::size_t chunk = chunk_elements(params.chunk_bytes, esize, align);
  const int nch = std::max(1, params.nchannels);
  p.channels.resize(static_cast<std::size_t>(nch));
  const Doubling d(args.nranks);
  for (int c = 0; c < nch; ++c) {
    ChannelBuilder b(p.channels[static_cast<std::size_t>(c)]);
    const Range part_c = part(args.count, nch, c, align);
    if (args.nranks == 1) {
      b.copy(send_slice(part_c.begin, part_c.size()), recv_slice(part_c.begin, part_c.size()),
             true);
      continue;
    }
    for (std::size_t off = part_c.begin; off < part_c.end; off += chunk) {
      doubling_chunk(b, d, rank, off, std::min(chunk, part_c.end - off));
    }
  }
  return p;
}

}  // namespace colossus::algorithms
