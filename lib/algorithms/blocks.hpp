// blocks.hpp: where an all-to-all's (or gather's, scatter's) per-peer blocks
// lie in the send and recv buffers, written once for the algorithms.
#pragma once

#include <cstddef>

#include "algorithms/partition.hpp"
#include "plan/builder.hpp"

namespace colossus::algorithms {

// Rank q's block: elements [offset, offset + count) of a buffer.
struct Block {
  std::size_t offset = 0, count = 0;
};

// alltoall: block q at q*count; alltoallv: the call's counts and displacements.
inline Block send_block(const plan::CollArgs& a, int q) {
  const auto i = static_cast<std::size_t>(q);
  if (a.coll == plan::Collective::AllToAllv) return {a.v->send_displs[i], a.v->send_counts[i]};
  return {i * a.count, a.count};
}
inline Block recv_block(const plan::CollArgs& a, int q) {
  const auto i = static_cast<std::size_t>(q);
  if (a.coll == plan::Collective::AllToAllv) return {a.v->recv_displs[i], a.v->recv_counts[i]};
  return {i * a.count, a.count};
}

// Channel c's share of a block: `parts` near-equal aligned parts.
inline Block channel_part(Block b, int parts, int c, std::size_t align) {
  const Range r = part(b.count, parts, c, align);
  return {b.offset + r.begin, r.size()};
}

// Sends `out` to `to` and receives `in` from `from`, alternating one chunk of
// each, so that two ranks sending to each other first never both wait on a
// full FIFO (a chunk fits the FIFO, see plan.hpp). Zero-sized sides add nothing.
inline void exchange(plan::ChannelBuilder& b, int to, plan::Slice out, int from, plan::Slice in,
                     std::size_t chunk) {
  for (std::size_t done = 0; done < out.count || done < in.count; done += chunk) {
    if (done < out.count) {
      b.send(to, {out.buffer, out.offset + done, std::min(chunk, out.count - done)});
    }
    if (done < in.count) {
      b.recv(from, {in.buffer, in.offset + done, std::min(chunk, in.count - done)});
    }
  }
}

}  // namespace colossus::algorithms
