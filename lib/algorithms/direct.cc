// direct.cc: send, recv, and gather and scatter with the root talking to
// every rank itself.
//
// Send and recv are one step each on the point-to-point channels: the
// sending lane only sends and the receiving lane only receives, so the
// transfer needs no chunking to stay deadlock-free (the executor still moves
// it in slot-sized pieces), and both ends cut it the same way whatever the
// tuner would have chosen for either.
#include "algorithms/algorithm.hpp"
#include "algorithms/blocks.hpp"
#include "colossus/error.hpp"

namespace colossus::algorithms {

using plan::Buffer;
using plan::ChannelBuilder;
using plan::Collective;

namespace {

void gather_channel(ChannelBuilder& b, const plan::CollArgs& a, int rank, Block part_of_block) {
  const int n = a.nranks, root = a.root;
  const std::size_t m = part_of_block.count, at = part_of_block.offset;
  if (rank != root) {
    b.send(root, {Buffer::Send, at, m});
    return;
  }
  b.copy({Buffer::Send, at, m}, {Buffer::Recv, static_cast<std::size_t>(root) * a.count + at, m},
         false);
  for (int k = 1; k < n; ++k) {
    const int q = (root + k) % n;
    b.recv(q, {Buffer::Recv, static_cast<std::size_t>(q) * a.count + at, m});
  }
}

void scatter_channel(ChannelBuilder& b, const plan::CollArgs& a, int rank, Block part_of_block) {
  const int n = a.nranks, root = a.root;
  const std::size_t m = part_of_block.count, at = part_of_block.offset;
  if (rank != root) {
    b.recv(root, {Buffer::Recv, at, m});
    return;
  }
  for (int k = 1; k < n; ++k) {
    const int q = (root + k) % n;
    b.send(q, {Buffer::Send, static_cast<std::size_t>(q) * a.count + at, m});
  }
  b.copy({Buffer::Send, static_cast<std::size_t>(root) * a.count + at, m}, {Buffer::Recv, at, m},
         false);
}

}  // namespace

plan::Plan direct_plan(const plan::CollArgs& args, int rank, const AlgoParams& params) {
  plan::Plan p;
  p.args = args;
  p.rank = rank;
  p.algorithm = "direct";
  switch (args.coll) {
    case Collective::Send:
    case Collective::Recv: {
      p.channel_base = plan::kP2PChannelBase;
      p.channels.resize(1);
      ChannelBuilder b(p.channels[0]);
      if (args.coll == Collective::Send) {
        b.send(args.root, {Buffer::Send, 0, args.count});
      } else {
        b.recv(args.root, {Buffer::Recv, 0, args.count});
      }
      return p;
    }
    case Collective::Gather:
    case Collective::Scatter: {
      const int nch = std::max(1, params.nchannels);
      const std::size_t align = vector_align(dtype_size(args.dtype));
      p.channels.resize(static_cast<std::size_t>(nch));
      for (int c = 0; c < nch; ++c) {
        ChannelBuilder b(p.channels[static_cast<std::size_t>(c)]);
        const Block part_c = channel_part({0, args.count}, nch, c, align);
        if (args.coll == Collective::Gather) {
          gather_channel(b, args, rank, part_c);
        } else {
          scatter_channel(b, args, rank, part_c);
        }
      }
      return p;
    }
    default:
      throw Error(ErrorCode::InvalidArgument,
                  std::string("direct does not implement ") + plan::to_string(args.coll));
  }
}

}  // namespace colossus::algorithms
