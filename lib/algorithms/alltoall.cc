// alltoall.cc: all-to-all by pairwise exchange (any size, alltoallv too) and
// by Bruck's algorithm (small blocks: log2 n packed messages per rank).
#include "algorithms/algorithm.hpp"
#include "algorithms/blocks.hpp"
#include "colossus/error.hpp"

namespace colossus::algorithms {

using plan::Buffer;
using plan::ChannelBuilder;
using plan::Slice;

namespace {

plan::Plan start(const plan::CollArgs& args, int rank, const char* name, int nch) {
  plan::Plan p;
  p.args = args;
  p.rank = rank;
  p.algorithm = name;
  p.channels.resize(static_cast<std::size_t>(std::max(1, nch)));
  return p;
}

}  // namespace

// Blocks up to this size are sent all at once (see pairwise_plan): about a
// NIC's bandwidth-latency product (50 GB/s x 2.6 us on the colossus preset),
// below which a round's latency would cost more than its transfer.
constexpr std::size_t kSmallBlockBytes = 128 << 10;

plan::Plan pairwise_plan(const plan::CollArgs& args, int rank, const AlgoParams& params) {
  if (args.coll != plan::Collective::AllToAll && args.coll != plan::Collective::AllToAllv) {
    throw Error(ErrorCode::InvalidArgument, "pairwise implements alltoall and alltoallv only");
  }
  const int n = args.nranks;
  const auto un = static_cast<std::size_t>(n);
  if (args.coll == plan::Collective::AllToAllv &&
      (!args.v || args.v->send_counts.size() != un || args.v->send_displs.size() != un ||
       args.v->recv_counts.size() != un || args.v->recv_displs.size() != un)) {
    throw Error(ErrorCode::InvalidArgument,
                "pairwise: alltoallv needs a count and a displacement per rank (CollArgs::v)");
  }
  const int nch = std::max(1, params.nchannels);
  const std::size_t esize = dtype_size(args.dtype);
  const std::size_t align = vector_align(esize);
  const std::size_t chunk = chunk_elements(params.chunk_bytes, esize, align);
  const std::size_t small = std::min(chunk, std::max<std::size_t>(1, kSmallBlockBytes / esize));
  // A small call (every block it sends is small): channel 0 copies the own
  // block between its sends and its receives, while the messages travel.
  // Otherwise channel nch only copies it, beside the first round instead of
  // before it (it talks to no peer and writes only the own block, which no
  // other channel touches).
  bool small_call = true;
  for (int q = 0; q < n; ++q) small_call = small_call && send_block(args, q).count <= small;
  plan::Plan p = start(args, rank, "pairwise", n > 1 && !small_call ? nch + 1 : nch);
  const Block own_out = send_block(args, rank), own_in = recv_block(args, rank);
  const plan::Slice own_src{Buffer::Send, own_out.offset, own_out.count};
  const plan::Slice own_dst{Buffer::Recv, own_in.offset, own_in.count};
  if (n == 1 || !small_call) ChannelBuilder(p.channels.back()).copy(own_src, own_dst, false);
  for (int c = 0; c < nch && n > 1; ++c) {
    ChannelBuilder b(p.channels[static_cast<std::size_t>(c)]);
    auto out_of = [&](int k) {
      const Block out = channel_part(send_block(args, (rank + k) % n), nch, c, align);
      return plan::Slice{Buffer::Send, out.offset, out.count};
    };
    auto in_of = [&](int k) {
      const Block in = channel_part(recv_block(args, (rank - k + n) % n), nch, c, align);
      return plan::Slice{Buffer::Recv, in.offset, in.count};
    };
    // When every block this channel sends is small (and fits one chunk, so
    // its stream's FIFO, plan.hpp), post every send, then every receive: no
    // round waits for the one before it, which is most of a small call's
    // time. Larger blocks keep pairwise's one-peer-at-a-time rounds: their
    // latency hides behind the transfer, and no receiver gets every
    // sender's data at once (incast).
    bool one_chunk = true;
    for (int k = 1; k < n; ++k) one_chunk = one_chunk && out_of(k).count <= small;
    if (one_chunk) {
      for (int k = 1; k < n; ++k) b.send((rank + k) % n, out_of(k));
      if (small_call && c == 0) b.copy(own_src, own_dst, false);
      for (int k = 1; k < n; ++k) {  // cut as the sender cuts (exchange), whatever its mode
        exchange(b, -1, {Buffer::Send, 0, 0}, (rank - k + n) % n, in_of(k), chunk);
      }
      continue;
    }
    for (int k = 1; k < n; ++k) {
      exchange(b, (rank + k) % n, out_of(k), (rank - k + n) % n, in_of(k), chunk);
    }
  }
  return p;
}

// Rank r's working array W (scratch, n blocks) starts as W[i] = send block
// r+i. A block at index i travels +k in each round k whose bit is set in i,
// so it ends at rank r+i, still at index i: W[i] at rank r then holds the
// block rank r-i sent to r, which is recv block r-i. Round k packs the
// blocks with bit k into P (scratch after W), sends P to r+k in chunks and
// receives r-k's P into P, chunk after sent chunk, then unpacks it into W.
// Channel c handles its part of every block and packs into its own part of P.
plan::Plan bruck_plan(const plan::CollArgs& args, int rank, const AlgoParams& params) {
  if (args.coll != plan::Collective::AllToAll) {
    throw Error(ErrorCode::InvalidArgument, "bruck implements alltoall only");
  }
  const int n = args.nranks;
  const std::size_t count = args.count;
  const std::size_t un = static_cast<std::size_t>(n);
  const int nch = std::max(1, params.nchannels);
  plan::Plan p = start(args, rank, "bruck", nch);
  const std::size_t esize = dtype_size(args.dtype);
  const std::size_t align = vector_align(esize);
  const std::size_t chunk = chunk_elements(params.chunk_bytes, esize, align);
  const std::size_t packed_blocks = un / 2;  // indices in [1, n) with any one bit set: at most n/2
  p.scratch_count = n > 1 ? (un + packed_blocks) * count : 0;
  const std::size_t w = 0, pk = un * count;  // offsets of W and P in scratch
  for (int c = 0; c < nch; ++c) {
    ChannelBuilder b(p.channels[static_cast<std::size_t>(c)]);
    const Range part_c = part(count, nch, c, align);
    const std::size_t m = part_c.size();
    if (m == 0) continue;
    auto block = [&](Buffer buf, std::size_t base, std::size_t i) {
      return Slice{buf, base + i * count + part_c.begin, m};
    };
    if (n == 1) {
      b.copy(block(Buffer::Send, 0, 0), block(Buffer::Recv, 0, 0), false);
      continue;
    }
    // W[i] = send block (rank + i) mod n: two contiguous runs when m == count.
    for (int i = 0; i < n; ++i) {
      b.copy(block(Buffer::Send, 0, static_cast<std::size_t>((rank + i) % n)),
             block(Buffer::Scratch, w, static_cast<std::size_t>(i)), false);
    }
    const std::size_t pbase = pk + packed_blocks * part_c.begin;  // this channel's P
    for (int k = 1; k < n; k <<= 1) {
      std::size_t t = 0;
      for (int i = 1; i < n; ++i) {
        if ((i & k) == 0) continue;
        b.copy(block(Buffer::Scratch, w, static_cast<std::size_t>(i)),
               {Buffer::Scratch, pbase + t * m, m}, false);
        ++t;
      }
      const Slice packed{Buffer::Scratch, pbase, t * m};
      exchange(b, (rank + k) % n, packed, (rank - k + n) % n, packed, chunk);
      t = 0;
      for (int i = 1; i < n; ++i) {
        if ((i & k) == 0) continue;
        b.copy({Buffer::Scratch, pbase + t * m, m},
               block(Buffer::Scratch, w, static_cast<std::size_t>(i)), false);
        ++t;
      }
    }
    for (int j = 0; j < n; ++j) {
      b.copy(block(Buffer::Scratch, w, static_cast<std::size_t>((rank - j + n) % n)),
             block(Buffer::Recv, 0, static_cast<std::size_t>(j)), false);
    }
  }
  return p;
}

}  // namespace colossus::algorithms
